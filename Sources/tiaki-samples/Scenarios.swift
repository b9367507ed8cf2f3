import Foundation
import Logging
import Synchronization
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

/// The audit scenarios: a simulated cluster term (the same code as `tiaki simulate`), then one planted problem per
/// scenario, exported as a bundle with the findings `tiaki audit findings --json` must print for it.
enum Scenarios {
    static let seed: UInt64 = 2026
    static let subjects = 24
    static let days = 90
    /// The simulation starts on 2 February 2026; problems are planted the day after it ends and audited the day
    /// after that.
    static let plantDay = Day("2026-05-04") ?? Day(number: 0)
    static let auditDay = Day("2026-05-05") ?? Day(number: 0)

    static func write(out: String, policies: String) async throws {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("tiaki-scenarios-\(UUID().uuidString)").path
        defer { try? fm.removeItem(atPath: work) }
        let policy = try PolicySet.load(directory: policies)
        var logger = Logger(label: "samples")
        logger.logLevel = .warning
        var configuration = SimulationConfiguration()
        configuration.seed = seed
        configuration.subjects = subjects
        configuration.days = days
        let base = work + "/base"
        _ = try await ClusterSimulation.run(
            directory: LedgerDirectory(path: base),
            policy: policy,
            configuration: configuration,
            logger: logger
        )
        let scenarios: [(String, (Planter) async throws -> Void)] = [
            ("disclosure-after-withdrawal", { try await $0.disclosureAfterWithdrawal() }),
            ("disclosure-without-decision", { try await $0.disclosureWithoutDecision() }),
            ("disclosure-beyond-scope", { try await $0.disclosureBeyondScope() }),
            ("retention-overdue", { try await $0.retentionOverdue() }),
            ("decision-replay-mismatch", { try await $0.replayMismatch() }),
            ("collection-notice-overdue", { try await $0.collectionNoticeOverdue() }),
            ("withdrawal-not-acknowledged", { try await $0.withdrawalNotAcknowledged() }),
            ("breach-not-notified", { try await $0.breachNotNotified() }),
        ]
        for (n, (name, plant)) in scenarios.enumerated() {
            let data = work + "/" + name
            try fm.copyItem(atPath: base, toPath: data)
            let planter = try await Planter(data: data, policy: policy, seed: seed + UInt64(n), logger: logger)
            try await plant(planter)
            await planter.tiaki.close()
            let dir = out + "/scenarios/" + name
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if let receipt = planter.receipt {
                // The receipt as given, and one whose entry was changed afterwards (it must not verify).
                var altered = receipt
                altered.entry = receipt.entry.replacingOccurrences(of: "2026-05-01", with: "2030-05-01")
                for (file, value) in [("receipt.json", receipt), ("receipt-altered.json", altered)] {
                    var bytes = try CanonicalJSON.encode(try JSONValueEncoder().encode(value))
                    bytes.append(0x0A)
                    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + file))
                }
            }
            _ = try LedgerExport.write(from: LedgerDirectory(path: data), to: dir + "/bundle")
            let options = AuditOptions(asOf: auditDay)
            let result = try LedgerAudit.run(EntryReader(path: dir + "/bundle"), options: options)
            var json = try result.findingsJSON(options: options)
            json.append(0x0A)
            try Data(json).write(to: URL(fileURLWithPath: dir + "/findings.json"))
            let planted = result.findings.filter { $0.time?.hasPrefix(plantDay.description) ?? false }
            print(
                "\(name): \(result.entries) entries, \(result.findings.count) findings, planted: \(planted.map(\.kind.rawValue))"
            )
        }
    }

    /// Plants problems through the same registry and decision service the server uses, on a fixed clock.
    final class Planter {
        let tiaki: TiakiServices
        let actor: EntryActor

        init(data: String, policy: PolicySet, seed: UInt64, logger: Logger) async throws {
            var configuration = LedgerConfiguration()
            let start =
                Date(timeIntervalSince1970: TimeInterval(Int(Scenarios.plantDay.number) * 86_400 + 10 * 3600))
            let clock = Mutex(start)
            configuration.clock = {
                clock.withLock {
                    $0 = $0.addingTimeInterval(60)
                    return $0
                }
            }
            configuration.calendar = { clock.withLock { $0 } }
            // A simulated year keeps its own calendar, in UTC, so that the same seed gives the same bytes anywhere.
            configuration.timeZone = LocalTime.utc.zone
            tiaki = try await TiakiServices.open(
                LedgerDirectory(path: data),
                configuration: configuration,
                policy: policy,
                random: RandomSource(seed: seed),
                logger: logger
            )
            actor = EntryActor(org: "school-kowhai")
        }

        var day: String { Scenarios.plantDay.description }

        /// A child with a consent in force (on `on`, given by then), and a request that consent covers and the
        /// policy permits, for that day.
        func permitted(
            on: Day = Scenarios.plantDay
        ) throws -> (
            subject: String, consent: ConsentState.Consent, request: ShareRequest, DecisionRecord
        ) {
            let (candidates, codes, orgs) = tiaki.core.read { s in
                (
                    s.subjects.values.filter { $0.erased == nil }.sorted { $0.registered < $1.registered }
                        .flatMap { subject in
                            s.consents(of: subject.id).filter {
                                $0.isCurrent(on: Scenarios.plantDay) && $0.informed <= on
                            }
                        },
                    s.codes, s.organisations.values.sorted { $0.registered < $1.registered }
                )
            }
            for c in candidates {
                let kinds = codes.codes(in: c.audienceKinds, .organisationKind)
                guard let recipient = orgs.first(where: { kinds.contains($0.kind) }),
                    let purpose = codes.codes(in: c.purposes, .purpose).first,
                    let information = codes.codes(in: c.information, .information).first,
                    let channel = codes.codes(in: c.channels, .channel).first,
                    let region = codes.codes(in: c.storageRegions, .storageRegion).first,
                    let home = tiaki.core.read({ $0.subjects[c.subject]?.org })
                else { continue }
                let request = ShareRequest(
                    subject: c.subject,
                    share: Share(
                        recipient: recipient.id,
                        purpose: purpose,
                        information: [information],
                        channel: channel,
                        storageRegion: region
                    ),
                    date: on.description,
                    requester: home,
                    requesterRole: "member"
                )
                let decision = try tiaki.decisions.decide(request)
                if decision.effect == .permit { return (c.subject, c, request, decision) }
            }
            throw TiakiError(.conflict, "the simulation left no consent that permits a share")
        }

        func actor(for subject: String) -> EntryActor {
            EntryActor(org: tiaki.core.read { $0.subjects[subject]?.org } ?? "school-kowhai")
        }

        /// A share is decided and made; the consent is withdrawn; the school shares again under the old decision.
        func disclosureAfterWithdrawal() async throws {
            let (subject, consent, request, _) = try permitted()
            let who = actor(for: subject)
            let (_, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: who)
            let disclosure = DisclosureInput(
                subject: subject,
                decision: recorded.receipt.index,
                share: request.share,
                date: request.date
            )
            _ = try await tiaki.disclosures.record(disclosure, actor: who)
            _ = try await tiaki.consents.withdraw(consent.id, WithdrawalInput(by: "parent", date: day), actor: who)
            _ = try await tiaki.disclosures.record(disclosure, actor: who)
        }

        /// Information shared without asking first.
        func disclosureWithoutDecision() async throws {
            let (subject, _, request, _) = try permitted()
            _ = try await tiaki.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    share: request.share,
                    date: request.date,
                    note: "Sent before the meeting; forgot to ask."
                ),
                actor: actor(for: subject)
            )
        }

        /// A permitted share, and a disclosure that sends more than was asked for.
        func disclosureBeyondScope() async throws {
            let (subject, _, request, _) = try permitted()
            let who = actor(for: subject)
            let (_, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: who)
            var more = request.share
            more.information.append(request.information.contains("behaviour") ? "attendance" : "behaviour")
            _ = try await tiaki.disclosures.record(
                DisclosureInput(subject: subject, decision: recorded.receipt.index, share: more, date: request.date),
                actor: who
            )
        }

        /// A child whose only consent came off the register before the audit day, and who was not erased.
        func retentionOverdue() async throws {
            let who = EntryActor(org: "school-rimu")
            let subject =
                try await tiaki.subjects.register(
                    SubjectInput(birthMonth: "2016-09", nsn: "140000001", name: "Tama Ngata"),
                    actor: who
                ).entry.subject ?? ""
            let consent = ConsentInput(
                purposes: ["transition"],
                information: ["register-entry"],
                audience: .init(kinds: ["school"]),
                sharing: .init(channels: ["secure-email"], storageRegions: ["nz"], protection: "encrypted email"),
                retention: .init(until: "2026-05-01"),
                accuracy: .init(contact: "the SENCO", method: "ask to see it"),
                withdrawal: .init(effect: "the move goes ahead without it", how: "tell the school"),
                consenters: [.init(role: "parent", name: "Hine Ngata")],
                informed: .init(date: "2026-02-20", noticeVersion: "v2", language: "en", method: "meeting"),
                text: "We would like to send Tama's register entry to his new school for the move in term 2."
            )
            let recorded = try await tiaki.consents.grant(subject: subject, consent, actor: who)
            guard let terms = recorded.entry.body as? ConsentTerms else { return }
            receipt = ConsentReceipt(
                entry: recorded.receipt.entry,
                index: recorded.receipt.index,
                proof: try tiaki.ledger.inclusionProof(
                    index: recorded.receipt.index,
                    size: recorded.receipt.checkpoint.size
                ).hashes,
                checkpoint: recorded.receipt.checkpoint,
                vkey: tiaki.ledger.verifier.vkey,
                terms: terms,
                vocabulary: ConsentSummary.labels(tiaki.core.vocabulary)
            )
        }

        /// The receipt the whānau were given, when the scenario records a consent.
        var receipt: ConsentReceipt?

        /// A share to a health agency because of a serious threat, on 10 April: reviewed by the privacy officer,
        /// but the agency never told the whānau (IPP 3A), due ten working days later.
        func collectionNoticeOverdue() async throws {
            let (subject, _, base, _) = try permitted(on: Day("2026-04-10") ?? Scenarios.plantDay)
            var request = base
            request.recipient = "health-child"
            request.information = ["health-disability"]
            request.seriousThreat = true
            let who = actor(for: subject)
            let (decision, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: who)
            guard decision.effect == .permit, decision.consents.isEmpty else {
                throw TiakiError(.conflict, "the serious-threat share was not permitted as planned")
            }
            let disclosure = try await tiaki.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    decision: recorded.receipt.index,
                    share: request.share,
                    date: request.date
                ),
                actor: who
            )
            _ = try await tiaki.disclosures.review(
                disclosure.receipt.index,
                ReviewInput(outcome: .justified, date: "2026-04-11", notes: "The threat was real and immediate."),
                actor: EntryActor(org: "mol-ls")
            )
        }

        /// A share on 20 April, the consent withdrawn on 22 April, and the recipient never acknowledges it.
        func withdrawalNotAcknowledged() async throws {
            let (subject, consent, request, _) = try permitted(on: Day("2026-04-20") ?? Scenarios.plantDay)
            let who = actor(for: subject)
            let (_, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: who)
            _ = try await tiaki.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    decision: recorded.receipt.index,
                    share: request.share,
                    date: request.date
                ),
                actor: who
            )
            _ = try await tiaki.consents.withdraw(
                consent.id,
                WithdrawalInput(by: "parent", date: "2026-04-22"),
                actor: who
            )
        }

        /// A report sent by email to the wrong place on 28 April, found on 1 May at 9 am, assessed the same day as
        /// likely to cause serious harm, and neither the Commissioner nor the whānau told since.
        func breachNotNotified() async throws {
            let (subject, _, request, _) = try permitted(on: Day("2026-04-28") ?? Scenarios.plantDay)
            let who = actor(for: subject)
            let (_, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: who)
            let disclosure = try await tiaki.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    decision: recorded.receipt.index,
                    share: request.share,
                    date: request.date
                ),
                actor: who
            )
            let office = EntryActor(org: "mol-ls")
            let breach = try await tiaki.breaches.record(
                BreachInput(
                    found: "2026-05-01T09:00:00+12:00",
                    description: "The email with the child's register entry went to a parent of another child.",
                    disclosures: [disclosure.index]
                ),
                actor: office
            )
            guard let b = breach.entry.body as? BreachRecorded else { return }
            _ = try await tiaki.breaches.assess(
                b.breach,
                BreachAssessmentInput(
                    seriousHarm: true,
                    factors: [.whoObtained, .natureOfHarm],
                    reasons: "Someone in the child's community now knows the child needs learning support.",
                    assessed: "2026-05-01T15:00:00+12:00"
                ),
                actor: office
            )
        }

        /// A decision the policy denies, recorded as a permit (as a tampered or buggy client might).
        func replayMismatch() async throws {
            let (subject, _, request, _) = try permitted()
            var outside = request
            outside.recipient = "social-whanau"
            var decision = try tiaki.decisions.decide(outside)
            guard decision.effect == .deny else {
                throw TiakiError(.conflict, "the planted request was permitted; pick another")
            }
            decision.effect = .permit
            decision.reasons = ["Permitted."]
            _ = try await tiaki.decisions.recordAsGiven(decision, actor: actor(for: subject))
        }
    }
}
