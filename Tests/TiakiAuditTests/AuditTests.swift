import Foundation
import Logging
import Testing
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func quietLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// The entries of a bundle or data directory, in order.
func ledgerEntries(_ path: String) throws -> [(UInt64, [UInt8])] {
    var all: [(UInt64, [UInt8])] = []
    try EntryReader(path: path).read { all.append(($0, $1)) }
    return all
}

/// A bundle directory holding only `entries` (what a projection reads at start); the caller removes it.
func bundleDirectory(_ entries: ArraySlice<(UInt64, [UInt8])>) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-part-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var bytes: [UInt8] = []
    for (_, entry) in entries { bytes += entry + [0x0A] }
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/entries.jsonl"))
    return dir
}

/// A seeded cluster simulation's data directory under the repository's policies (the caller removes it), and
/// its entries in order.
func simulatedLedger(
    subjects: Int,
    days: Int,
    seed: UInt64
) async throws -> (
    path: String, entries: [(UInt64, [UInt8])]
) {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-sim-\(UUID())").path
    var configuration = SimulationConfiguration()
    configuration.subjects = subjects
    configuration.days = days
    configuration.seed = seed
    let policy = try PolicySet.load(directory: repositoryRoot.appendingPathComponent("Policies").path)
    do {
        _ = try await ClusterSimulation.run(
            directory: LedgerDirectory(path: path),
            policy: policy,
            configuration: configuration,
            logger: quietLogger()
        )
        return (path, try ledgerEntries(path))
    } catch {
        try? FileManager.default.removeItem(atPath: path)
        throw error
    }
}

/// The services on a fresh data directory under the repository's policies, with a school, an RTLB service and a
/// social agency; closed and removed however the test ends.
struct AuditFixture {
    let path: String
    let services: TiakiServices
    let school = EntryActor(org: "school-a")

    static func run(_ body: (AuditFixture) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-audit-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let policy = try PolicySet.load(directory: repositoryRoot.appendingPathComponent("Policies").path)
        let services = try await TiakiServices.open(LedgerDirectory(path: path), policy: policy, logger: quietLogger())
        do {
            for (id, kind) in [("school-a", "school"), ("rtlb", "rtlb"), ("social", "social-agency")] {
                _ = try await services.organisations.register(.init(id: id, kind: kind, name: "The \(id)"))
            }
            try await body(AuditFixture(path: path, services: services))
        } catch {
            await services.close()
            throw error
        }
        await services.close()
    }

    var decisions: DecisionService { services.decisions }

    func child(name: String = "Aroha Smith") async throws -> String {
        try #require(
            try await services.subjects.register(
                SubjectInput(birthMonth: "2016-04", nsn: String(Int.random(in: 100_000_000..<999_999_999)), name: name),
                actor: school
            ).entry.subject
        )
    }

    func consent(_ subject: String, until: String = "2027-12-31", parent: String = "Mere Smith") async throws -> Int {
        let input = ConsentInput(
            purposes: ["referral"],
            information: ["register-entry", "assessment-progress"],
            audience: .init(kinds: ["rtlb"]),
            sharing: .init(channels: ["secure-email"], storageRegions: ["nz"], protection: "encrypted email"),
            retention: .init(until: until),
            accuracy: .init(contact: "the SENCO", method: "ask to see it"),
            withdrawal: .init(effect: "support continues; sharing stops", how: "tell the school"),
            consenters: [.init(role: "parent", name: parent)],
            informed: .init(date: "2026-02-10", noticeVersion: "v1", language: "en", method: "meeting"),
            text: "We would like to share Aroha's register entry with the RTLB."
        )
        return try await services.consents.grant(subject: subject, input, actor: school).index
    }

    func request(_ subject: String, recipient: String = "rtlb", date: String = "2026-03-01") -> ShareRequest {
        ShareRequest(
            subject: subject,
            share: Share(
                recipient: recipient,
                purpose: "referral",
                information: ["register-entry"],
                channel: "secure-email",
                storageRegion: "nz"
            ),
            date: date,
            requester: "school-a",
            requesterRole: "member"
        )
    }

    /// Records the disclosure of exactly what `request` asked, relying on `decision`.
    @discardableResult
    func disclose(_ request: ShareRequest, decision: Int?, share: Share? = nil) async throws -> Int {
        try await services.disclosures.record(
            DisclosureInput(
                subject: request.subject,
                decision: decision.flatMap { UInt64(exactly: $0) },
                share: share ?? request.share,
                date: request.date
            ),
            actor: school
        ).index
    }

    func audit(asOf: String = "2026-06-01") throws -> AuditResult {
        try LedgerAudit.run(EntryReader(path: path), options: AuditOptions(asOf: Day(asOf) ?? Day(Date())))
    }
}

@Suite("Audit findings")
struct FindingTests {
    @Test("each kind of problem is found, with the entries that prove it, and nothing when all is well")
    func kinds() async throws {
        try await AuditFixture.run { f in
            let clean = try await f.child()
            let consent = try await f.consent(clean)
            let permitted = try await f.decisions.decideAndRecord(f.request(clean), actor: f.school).recorded.index
            try await f.disclose(f.request(clean), decision: permitted)
            #expect(try f.audit().findings.isEmpty, "a permitted share, made as decided, is not a finding")

            // Shared again after the whānau withdrew: the earlier recipient is told (and must acknowledge), the
            // later share is wrong.
            let withdrawal = try await f.services.consents.withdraw(
                consent,
                WithdrawalInput(by: "parent", date: "2026-04-01"),
                actor: f.school
            ).index
            let late = try await f.disclose(f.request(clean, date: "2026-04-02"), decision: permitted)
            // Shared with no decision, and beyond a decision.
            let other = try await f.child(name: "Nikau Brown")
            _ = try await f.consent(other)
            let none = try await f.disclose(f.request(other), decision: nil)
            let decided = try await f.decisions.decideAndRecord(f.request(other), actor: f.school).recorded.index
            var beyond = f.request(other).share
            beyond.recipient = "social"
            let beyondIndex = try await f.disclose(f.request(other), decision: decided, share: beyond)
            // A credential used after it was revoked.
            let credential = try await f.services.credentials.issue(
                .init(org: "school-a", role: .member, holder: "a test")
            ).id
            _ = try await f.services.credentials.revoke(id: credential)
            let used = try await f.decisions.decideAndRecord(
                f.request(other),
                actor: EntryActor(org: "school-a", credential: credential)
            ).recorded.index

            let findings = try f.audit().findings
            func find(_ kind: FindingKind) -> Finding? { findings.first { $0.kind == kind } }
            // The withdrawal named rtlb, which received the earlier share, and it has not acknowledged in ten days.
            #expect(find(.withdrawalNotAcknowledged)?.indexes.first == UInt64(withdrawal))
            #expect(find(.withdrawalNotAcknowledged)?.recipients == ["rtlb"])
            #expect(find(.withdrawalRecipientsToTell) == nil)
            #expect(find(.disclosureAfterWithdrawal)?.indexes == [UInt64(late), UInt64(permitted), UInt64(withdrawal)])
            #expect(find(.disclosureWithoutPermit)?.indexes == [UInt64(none)])
            #expect(find(.disclosureBeyondDecision)?.indexes == [UInt64(beyondIndex), UInt64(decided)])
            #expect(find(.disclosureBeyondDecision)?.summary.contains("to social, not rtlb") == true)
            #expect(find(.credentialUsedAfterRevocation)?.indexes.first == UInt64(used))
            #expect(findings.allSatisfy { $0.severity == $0.kind.severity })
            #expect(find(.decisionReplayMismatch) == nil, "decisions made by the service replay to their effect")
        }
    }

    @Test("retention: expiring soon, then overdue until the child is erased; serious-threat shares until reviewed")
    func stateFindings() async throws {
        try await AuditFixture.run { f in
            let child = try await f.child()
            let consent = try await f.consent(child, until: "2026-06-20")
            var options = AuditOptions(asOf: Day("2026-06-01") ?? Day(Date()))
            var result = try LedgerAudit.run(EntryReader(path: f.path), options: options)
            #expect(result.findings.map(\.kind) == [.consentExpiring])
            options.expiringWithinDays = 10
            result = try LedgerAudit.run(EntryReader(path: f.path), options: options)
            #expect(result.findings.isEmpty, "ending in 19 days is not within 10")
            #expect(try f.audit(asOf: "2026-07-01").findings.map(\.kind) == [.retentionOverdue])
            #expect(try f.audit(asOf: "2026-07-01").findings.first?.indexes == [UInt64(consent)])

            var threat = f.request(child, recipient: "social")
            threat.seriousThreat = true
            let decided = try await f.decisions.decideAndRecord(threat, actor: f.school)
            #expect(decided.decision.effect == .permit)
            let shared = try await f.disclose(threat, decision: decided.recorded.index)
            #expect(
                try f.audit().findings.contains {
                    $0.kind == .seriousThreatReviewPending && $0.indexes == [UInt64(shared)]
                }
            )
            _ = try await f.services.disclosures.review(
                UInt64(shared),
                ReviewInput(outcome: .justified),
                actor: EntryActor(org: "rtlb")
            )
            #expect(try !f.audit().findings.contains { $0.kind == .seriousThreatReviewPending })

            _ = try await f.services.subjects.erase(
                child,
                ErasureInput(reason: .retentionEnded),
                actor: EntryActor(org: "rtlb")
            )
            #expect(try !f.audit(asOf: "2026-07-01").findings.contains { $0.kind == .retentionOverdue })
        }
    }

    @Test("a share of what the whānau declined is a finding, until a consent given since covers the purpose")
    func refusals() async throws {
        try await AuditFixture.run { f in
            let child = try await f.child()
            let refused = try await f.services.consents.refuse(
                subject: child,
                RefusalInput(
                    purposes: ["referral"],
                    information: ["register-entry", "assessment-progress"],
                    by: ["parent"],
                    date: "2026-02-20"
                ),
                actor: f.school
            ).index
            let shared = try await f.disclose(f.request(child), decision: nil)
            var found = try f.audit().findings.filter { $0.kind == .disclosureAfterRefusal }
            #expect(found.map(\.indexes) == [[UInt64(shared), UInt64(refused)]])
            #expect(found.first?.severity == .medium)
            #expect(found.first?.summary.contains("declined to share on 2026-02-20") == true)
            // Another purpose, or information they did not decline, is not what they declined.
            var other = f.request(child)
            other.purpose = "learning-support-planning"
            _ = try await f.disclose(other, decision: nil)
            #expect(try f.audit().findings.filter { $0.kind == .disclosureAfterRefusal }.count == 1)
            // They change their minds: a consent for the purpose, and a share under it, is no longer a finding.
            _ = try await f.consent(child)
            let later = try await f.disclose(f.request(child), decision: nil)
            found = try f.audit().findings.filter { $0.kind == .disclosureAfterRefusal }
            #expect(!found.contains { $0.indexes.first == UInt64(later) })
        }
    }

    @Test("a simulated year replays decision for decision, on each decision's own basis")
    func replaySimulation() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-replay-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = SimulationConfiguration()
        configuration.subjects = 60
        configuration.days = 200
        let summary = try await ClusterSimulation.run(
            directory: LedgerDirectory(path: path),
            policy: PolicySet.load(directory: repositoryRoot.appendingPathComponent("Policies").path),
            configuration: configuration,
            logger: quietLogger()
        )
        let result = try LedgerAudit.run(
            EntryReader(path: path),
            options: AuditOptions(asOf: Day("2027-01-01") ?? Day(Date())),
            findings: false
        )
        #expect(result.decisionsReplayed == summary.permits + summary.denials)
        #expect(result.mismatches.isEmpty, "\(result.mismatches.prefix(3))")
        #expect(result.replayedLate == 0)
    }
}

@Suite("Subject report")
struct ReportTests {
    @Test("the report read through the subject index equals one read by scanning, and erasure is said, not shown")
    func report() async throws {
        try await AuditFixture.run { f in
            let child = try await f.child(name: "Aroha Smith")
            let neighbour = try await f.child(name: "Liam Walker")
            _ = try await f.consent(neighbour, parent: "Ana Walker")
            let consent = try await f.consent(child, parent: "Mere Smith")
            _ = try await f.decisions.decideAndRecord(f.request(child), actor: f.school)
            _ = try await f.decisions.decideAndRecord(f.request(child, recipient: "social"), actor: f.school)
            _ = try await f.services.consents.withdraw(
                consent,
                WithdrawalInput(by: "parent", date: "2026-04-01", reason: "we moved"),
                actor: f.school
            )
            let unseal: (Sealed) -> String? = { try? f.services.core.unseal($0, subject: child) }
            let day = Day("2026-05-01") ?? Day(Date())
            let indexed = try #require(
                try SubjectReport.load(subject: child, from: f.services.ledger, asOf: day, unseal: unseal)
            )
            let reader = try EntryReader(path: f.path)
            let scanned = try #require(
                try SubjectReport.load(
                    subject: child,
                    from: ScanOnly(),
                    scan: { visit in
                        try reader.read { index, bytes in
                            var e = try ConsentEntry(bytes: bytes)
                            e.index = index
                            visit(e)
                        }
                    },
                    asOf: day,
                    unseal: unseal
                )
            )
            #expect(try indexed.json() == scanned.json())
            #expect(indexed.name == "Aroha Smith")
            #expect(indexed.consents.count == 1)
            #expect(indexed.consents[0].items.count == 7)
            #expect(indexed.consents[0].status == "withdrawn by a parent on 1 April 2026")
            #expect(indexed.consents[0].agreedBy == ["Mere Smith (a parent)"])
            #expect(indexed.events.map(\.kind) == ["decision", "decision", "withdrawal"])
            #expect(indexed.events[1].sentence.contains("This was not allowed."))
            #expect(indexed.text.contains("The reason given: We moved."))
            #expect(!indexed.text.contains("Walker"), "nothing about another child")
            #expect(indexed.html.hasPrefix("<!doctype html>") && !indexed.html.contains("<script"))

            _ = try await f.services.subjects.erase(
                child,
                ErasureInput(reason: .request),
                actor: EntryActor(org: "rtlb")
            )
            let after = try #require(
                try SubjectReport.load(subject: child, from: f.services.ledger, asOf: day, unseal: unseal)
            )
            #expect(after.erased != nil)
            #expect(after.name == nil)
            #expect(!after.text.contains("Aroha") && !after.text.contains("Mere") && !after.text.contains("moved"))
            #expect(after.text.contains("Personal details were erased on"))
            #expect(
                try SubjectReport.load(subject: "s-nobody", from: f.services.ledger, asOf: day, unseal: unseal) == nil
            )
        }
    }

    @Test("the report reads as a parent would want: New Zealand dates in words, names not ids, whole sentences")
    func plainWords() async throws {
        try await AuditFixture.run { f in
            let services = f.services
            _ = try await services.organisations.register(
                .init(id: "kowhai", kind: "school", name: "Kōwhai School", contact: "the school office, 09 555 0101")
            )
            _ = try await services.organisations.register(.init(id: "rtlb-north", kind: "rtlb", name: "RTLB North"))
            let school = EntryActor(org: "kowhai")
            let child = try #require(
                try await services.subjects.register(
                    SubjectInput(birthMonth: "2012-06", name: "Aroha Smith"),
                    actor: school
                ).entry.subject
            )
            let consent = try await services.consents.grant(
                subject: child,
                ConsentInput(
                    purposes: ["referral"],
                    information: ["register-entry", "specialist-report"],
                    audience: .init(kinds: ["rtlb"]),
                    sharing: .init(
                        channels: ["secure-email", "in-person"],
                        storageRegions: ["nz"],
                        protection: "Shared only by secure email or in person."
                    ),
                    retention: .init(until: "2027-12-31"),
                    accuracy: .init(contact: "the learning support coordinator", method: "Ask to see it."),
                    withdrawal: .init(effect: "Support continues; they are told.", how: "Tell the school."),
                    consenters: [
                        .init(role: "parent", name: "Mere Smith"), .init(role: "young-person", name: "Aroha"),
                    ],
                    informed: .init(date: "2026-03-22", noticeVersion: "v1", language: "en", method: "meeting"),
                    text: "We would like to share Aroha's register entry and reports with the RTLB service."
                ),
                actor: school
            ).index
            func ask(_ purpose: String, channel: String = "in-person", information: [String]) -> ShareRequest {
                ShareRequest(
                    subject: child,
                    share: Share(
                        recipient: "rtlb-north",
                        purpose: purpose,
                        information: information,
                        channel: channel,
                        storageRegion: "nz"
                    ),
                    date: "2026-03-23",
                    requester: "kowhai",
                    requesterRole: "member"
                )
            }
            let permitted = ask("referral", information: ["specialist-report"])
            let (yes, recorded) = try await f.decisions.decideAndRecord(permitted, actor: school)
            #expect(yes.effect == .permit)
            _ = try await services.disclosures.record(
                DisclosureInput(
                    subject: child,
                    decision: recorded.receipt.index,
                    share: permitted.share,
                    date: "2026-03-23"
                ),
                actor: school
            )
            let (no, _) = try await f.decisions.decideAndRecord(
                ask("transition", information: ["register-entry"]),
                actor: school
            )
            #expect(no.effect == .deny)
            let asOf = try #require(Day("2026-04-01"))
            let report = try #require(
                try SubjectReport.load(
                    subject: child,
                    from: services.ledger,
                    asOf: asOf,
                    unseal: { try? services.core.unseal($0, subject: child) }
                )
            )
            for (name, document) in [("text", report.text), ("html", report.html)] {
                let parts = document.components(separatedBy: "For auditors")
                #expect(parts.count == 2, "\(name): the ids are in an appendix")
                let body = parts[0]
                // Dates and times in New Zealand words: an entry made on the morning of 23 March in New Zealand
                // is the 22nd in UTC.
                #expect(!body.contains("T2") && !body.contains(".000Z") && !body.contains("2026-03"), "\(name)")
                #expect(body.contains("23 March 2026"), "\(name)")
                // No internal ids before the appendix; each organisation named once, by its name.
                for id in [child, "kowhai", "rtlb-north", "permit-with-consent", "rule "] {
                    #expect(!body.contains(id), "\(name) shows \(id)")
                }
                #expect(body.range(of: #"entry [0-9]"#, options: .regularExpression) == nil, "\(name)")
                #expect(!body.contains("Kōwhai School: Kōwhai School"), "\(name)")
                #expect(body.contains("Kōwhai School asked to share"), "\(name)")
                // A denial ends with what the whānau need, not a rule that did not apply.
                #expect(!body.contains("does not apply") && !body.contains("it is not the case that"), "\(name)")
                // Text joined properly.
                for fault in [
                    "protected by Shared", "..", "by in person", "reports from specialists was shared",
                    "Agreed by Parent", "(parent)", ", young-person",
                ] {
                    #expect(!body.contains(fault), "\(name) has \(fault)")
                }
                #expect(body.contains("How it is protected: Shared only by secure email or in person."), "\(name)")
                #expect(body.contains("Mere Smith (a parent) and Aroha (the young person themselves)"), "\(name)")
                #expect(body.contains("(how: in person, at a meeting)"), "\(name)")
                // The summary first, the rights last.
                // Consents are named by their number in the ledger, as every page and receipt names them.
                #expect(body.contains("Consent \(consent) is in force until 31 December 2027."), "\(name)")
                #expect(body.contains("RTLB North received reports from specialists (23 March 2026)"), "\(name)")
                #expect(body.contains("principles 6 and 7"), "\(name)")
                #expect(body.contains("contact Kōwhai School: the school office, 09 555 0101"), "\(name)")
                #expect(body.contains("complain to the Privacy Commissioner"), "\(name)")
                // The appendix keeps what an auditor needs.
                #expect(parts[1].contains(child) && parts[1].contains("permit-with-consent"), "\(name)")
                #expect(parts[1].contains("Kōwhai School = kowhai"), "\(name)")
            }
            #expect(report.consents.first?.index == UInt64(consent))
        }
    }

    struct ScanOnly: KeyedEntries {
        func keyedIndexes(_ key: String) throws -> [UInt64]? { nil }
        func entries(at indexes: [UInt64]) throws -> [[UInt8]] { [] }
    }
}

@Suite("Consent receipts")
struct ReceiptTests {
    func receipt(_ f: AuditFixture) async throws -> ConsentReceipt {
        let child = try await f.child()
        let input = ConsentInput(
            purposes: ["referral"],
            information: ["register-entry"],
            audience: .init(kinds: ["rtlb"]),
            sharing: .init(channels: ["secure-email"], storageRegions: ["nz"], protection: "encrypted email"),
            retention: .init(until: "2027-12-31"),
            accuracy: .init(contact: "the SENCO", method: "ask"),
            withdrawal: .init(effect: "nothing changes", how: "tell the school"),
            consenters: [.init(role: "parent")],
            informed: .init(date: "2026-02-10", noticeVersion: "v1", language: "en", method: "meeting"),
            text: "…"
        )
        let recorded = try await f.services.consents.grant(subject: child, input, actor: f.school)
        let terms = try #require(recorded.entry.body as? ConsentTerms)
        return ConsentReceipt(
            entry: recorded.receipt.entry,
            index: recorded.receipt.index,
            proof: try f.services.ledger.inclusionProof(
                index: recorded.receipt.index,
                size: recorded.receipt.checkpoint.size
            )
            .hashes,
            checkpoint: recorded.receipt.checkpoint,
            vkey: f.services.ledger.verifier.vkey,
            terms: terms,
            vocabulary: ConsentSummary.labels(f.services.core.vocabulary)
        )
    }

    @Test("a receipt checks out offline, later too; any change to it does not")
    func receipts() async throws {
        try await AuditFixture.run { f in
            let r = try await receipt(f)
            let key = f.services.ledger.verifier
            let check = try r.verify(trustedKey: key)
            #expect(
                check.summary[0] == "1. Why it is shared: referral to RTLB or specialist learning support services."
            )
            // Later: more entries, a newer checkpoint, and a consistency proof from the receipt's.
            for _ in 0..<5 { _ = try await f.child() }
            let later = f.services.ledger.checkpoint
            let proof = try f.services.ledger.consistencyProof(from: check.checkpointSize, to: later.size)
            #expect(try r.verify(trustedKey: key, later: later, consistency: proof).stillIncludedAt == later.size)
            #expect(throws: ConsentReceipt.Failure.self) {
                try r.verify(trustedKey: key, later: later, consistency: Array(proof.dropLast()))
            }

            var changed = r
            changed.entry = r.entry.replacingOccurrences(of: "2027-12-31", with: "2029-12-31")
            #expect(throws: ConsentReceipt.Failure.self) { try changed.verify(trustedKey: key) }
            var summary = r
            summary.summary[4] = "5. When it comes off the register: never."
            #expect(throws: ConsentReceipt.Failure.self) { try summary.verify(trustedKey: key) }
            var moved = r
            moved.index += 1
            #expect(throws: ConsentReceipt.Failure.self) { try moved.verify(trustedKey: key) }
            let stranger = try NoteSigner(name: f.services.ledger.origin, seed: [UInt8](repeating: 7, count: 32))
                .verifier
            #expect(throws: ConsentReceipt.Failure.self) { try r.verify(trustedKey: stranger) }
        }
    }
}
