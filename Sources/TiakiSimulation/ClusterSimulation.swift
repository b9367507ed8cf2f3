import Foundation
public import Logging
import Synchronization
import TiakiConsent
public import TiakiLedger
public import TiakiModel
public import TiakiPolicy

/// How big a simulated year is.
public struct SimulationConfiguration: Sendable {
    public var seed: UInt64 = 1
    public var subjects = 1000
    public var days = 365
    /// The first day (the start of the New Zealand school year).
    public var start = Day("2026-02-02") ?? Day(number: 20_486)

    public init() {}
}

/// What a simulation wrote.
public struct SimulationSummary: Sendable, CustomStringConvertible {
    public var entries: UInt64 = 0
    public var organisations = 0
    public var subjects = 0
    public var consents = 0
    public var refusals = 0
    public var withdrawals = 0
    public var supersessions = 0
    public var permits = 0
    public var denials = 0
    public var disclosures = 0
    public var flaggedDisclosures = 0
    public var reviews = 0
    public var erasures = 0
    public var acknowledgements = 0
    public var noticesSent = 0
    public var noticeExceptions = 0
    public var breaches = 0

    public var description: String {
        """
        \(entries) entries: \(organisations) organisations, \(subjects) subjects, \(consents) consents \
        (\(supersessions) replacing earlier ones), \(refusals) refusals, \(withdrawals) withdrawals, \
        \(permits + denials) decisions (\(permits) permitted, \(denials) denied), \(disclosures) disclosures \
        (\(flaggedDisclosures) flagged, \(reviews) reviewed by the privacy officer), \(erasures) erasures, \
        \(noticesSent) IPP 3A notices sent (\(noticeExceptions) excused), \(acknowledgements) withdrawals \
        acknowledged, \(breaches) breaches
        """
    }
}

/// A cluster's year: several schools, kura, early learning services and a kōhanga reo, an RTLB service and
/// Ministry specialists; children registered, consents of varied coverage given, declined, withdrawn and
/// replaced; requests to share decided and disclosures made; personal details erased when retention ends.
///
/// Everything goes through ``ConsentRegistry`` and ``DecisionService``, as the HTTP service does, one entry at a
/// time, so the same seed writes the same ledger.
public enum ClusterSimulation {
    struct Org {
        let id: String
        let kind: String
        let name: String
        var contact: String { "privacy@\(id).example.nz" }
        /// The law learning support services collect under.
        var law: String? {
            ["rtlb", "ministry-learning-support"].contains(kind)
                ? "Education and Training Act 2020, ss 34 and 165" : nil
        }
    }

    static let organisations: [Org] = [
        Org(id: "school-kowhai", kind: "school", name: "Kōwhai School"),
        Org(id: "school-rimu", kind: "school", name: "Rimu Intermediate"),
        Org(id: "school-totara", kind: "school", name: "Tōtara College"),
        Org(id: "school-matai", kind: "school", name: "Mataī Primary School"),
        Org(id: "school-harakeke", kind: "school", name: "Harakeke School"),
        Org(id: "kura-tuatahi", kind: "kura", name: "Te Kura Tuatahi"),
        Org(id: "kura-awa", kind: "kura", name: "Te Kura o te Awa"),
        Org(id: "els-pukeko", kind: "early-learning", name: "Pūkeko Early Learning Centre"),
        Org(id: "els-tui", kind: "early-learning", name: "Tūī Kindergarten"),
        Org(id: "els-kereru", kind: "early-learning", name: "Kererū Childcare"),
        Org(id: "kohanga-manu", kind: "kohanga-reo", name: "Te Kōhanga Reo o Ngā Manu"),
        Org(id: "rtlb-cluster", kind: "rtlb", name: "RTLB Cluster 12"),
        Org(id: "mol-ls", kind: "ministry-learning-support", name: "Ministry of Education Learning Support"),
        Org(id: "health-child", kind: "health-agency", name: "Child Development Service"),
        Org(id: "social-whanau", kind: "social-agency", name: "Whānau Support Service"),
    ]

    static let givenNames = [
        "Aroha", "Mere", "Tama", "Nikau", "Ana", "Liam", "Olivia", "Wiremu", "Hana", "Sione", "Mia", "Noah", "Kahu",
        "Isla", "Manaia", "Leo",
    ]
    static let familyNames = [
        "Smith", "Ngata", "Williams", "Te Rangi", "Brown", "Tupou", "Wilson", "Parata", "Taylor", "Singh", "Walker",
        "Kereama",
    ]

    struct Subject {
        let id: String
        let org: Org
        let birthMonth: String
        var consents: [Int] = []
        var erased = false
        /// What the newest consent covers, so that most requests ask for what the whānau agreed to.
        var covered: (purposes: [String], information: [String], kinds: [String], channels: [String])?
    }

    /// A clock the simulation moves; the ledger stamps entries with it.
    final class SimulatedClock: Sendable {
        private let now: Mutex<Date>
        init(_ d: Date) { now = Mutex(d) }
        func set(_ d: Date) { now.withLock { $0 = d } }
        func read() -> Date { now.withLock { $0 } }
        func tick() -> Date {
            now.withLock { d in
                d = d.addingTimeInterval(7)
                return d
            }
        }
    }

    /// Runs the simulation into `directory` (which must not hold a ledger yet).
    public static func run(
        directory: LedgerDirectory,
        policy: PolicySet,
        configuration: SimulationConfiguration,
        logger: Logger,
        progress: (_ day: Int, _ days: Int, _ entries: UInt64) -> Void = { _, _, _ in }
    ) async throws -> SimulationSummary {
        guard !directory.exists else {
            throw TiakiError(.conflict, "\(directory.path) already holds a ledger; simulate into a new directory")
        }
        var rng = SeededGenerator(seed: configuration.seed)
        let clock = SimulatedClock(date(configuration.start, seconds: 8 * 3600))
        var ledgerConfiguration = LedgerConfiguration()
        ledgerConfiguration.origin = "simulation.tiaki.example/cluster-\(configuration.seed)"
        ledgerConfiguration.keySeed = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        ledgerConfiguration.clock = { clock.tick() }
        ledgerConfiguration.calendar = { clock.read() }
        // A simulated year keeps its own calendar, in UTC, so that the same seed gives the same bytes anywhere.
        ledgerConfiguration.timeZone = LocalTime.utc.zone
        let tiaki = try await TiakiServices.open(
            directory,
            configuration: ledgerConfiguration,
            policy: policy,
            random: RandomSource(seed: rng.next()),
            logger: logger
        )
        var summary = SimulationSummary()
        let v = policy.vocabulary
        let orgs = organisations.filter { v.contains($0.kind, in: .organisationKind) }
        for org in orgs {
            _ = try await tiaki.organisations.register(
                .init(id: org.id, kind: org.kind, name: org.name, contact: org.contact, law: org.law)
            )
            summary.organisations += 1
        }
        var credentials: [String: String] = [:]
        for org in orgs {
            credentials[org.id] = try await tiaki.credentials.issue(
                .init(org: org.id, role: .member, holder: "the simulated office")
            ).id
        }
        let facilitatorOrg = orgs.first { $0.kind == "ministry-learning-support" } ?? orgs[0]
        let facilitator = try await tiaki.credentials.issue(
            .init(org: facilitatorOrg.id, role: .facilitator, holder: "the simulated office")
        ).id
        let privacyOfficer = try await tiaki.credentials.issue(
            .init(org: facilitatorOrg.id, role: .privacyOfficer, holder: "the simulated office")
        ).id
        _ = try await tiaki.credentials.issue(
            .init(org: facilitatorOrg.id, role: .auditor, holder: "the simulated office")
        )

        let homes = orgs.filter { ["school", "kura", "early-learning", "kohanga-reo"].contains($0.kind) }
        var subjects: [Subject] = []
        // Registrations spread over the first 60% of the year.
        let registrationDays = max(1, configuration.days * 6 / 10)
        var schedule = (0..<configuration.subjects).map { _ in Int(rng.next() % UInt64(registrationDays)) }
        schedule.sort()
        var nextSubject = 0
        let perDayDecisions = max(1, configuration.subjects / 20)
        // Duties waiting to be done, by the day offset they will be done on: IPP 3A notices (a disclosure, and
        // whether the privacy officer excuses it instead), withdrawal acknowledgements (a consent and a recipient).
        var noticesDue: [Int: [(disclosure: Int, recipient: String, excuse: Bool)]] = [:]
        var acknowledgementsDue: [Int: [(consent: Int, org: String)]] = [:]
        let office = EntryActor(org: facilitatorOrg.id, credential: privacyOfficer)

        for dayOffset in 0..<configuration.days {
            let today = Day(number: configuration.start.number + Int32(dayOffset))
            clock.set(date(today, seconds: 8 * 3600))

            // New children and their whānau's answer.
            while nextSubject < schedule.count, schedule[nextSubject] == dayOffset {
                nextSubject += 1
                let home = homes[Int(rng.next() % UInt64(homes.count))]
                let young = home.kind == "early-learning" || home.kind == "kohanga-reo"
                let age = young ? 2 + Int(rng.next() % 4) : 5 + Int(rng.next() % 13)
                let (y, m, _) = today.components
                let birthMonth = String(format: "%04d-%02d", y - age, 1 + Int(rng.next() % 12))
                let actor = EntryActor(org: home.id, credential: credentials[home.id])
                let name =
                    "\(givenNames[Int(rng.next() % UInt64(givenNames.count))]) \(familyNames[Int(rng.next() % UInt64(familyNames.count))])"
                let input = SubjectInput(
                    birthMonth: birthMonth,
                    nsn: String(format: "%09llu", 100_000_000 + rng.next() % 899_999_999),
                    localReference: "\(home.id.prefix(6))-\(subjects.count + 1)",
                    name: name,
                    notes: rng.next() % 4 == 0 ? "Whānau prefer contact by phone after 3pm." : nil
                )
                _ = m
                guard let recorded = try? await tiaki.subjects.register(input, actor: actor),
                    let id = recorded.entry.subject
                else { continue }
                summary.subjects += 1
                var subject = Subject(id: id, org: home, birthMonth: birthMonth)
                if rng.next() % 100 < 12 {
                    _ = try await tiaki.consents.refuse(
                        subject: id,
                        RefusalInput(
                            purposes: ["referral"],
                            information: ["register-entry", "assessment-progress"],
                            by: ["parent"],
                            reason: "The whānau want to talk with the teacher first."
                        ),
                        actor: actor
                    )
                    summary.refusals += 1
                } else {
                    let consent = consentInput(&rng, today: today, age: age, home: home, supersedes: nil)
                    let recorded = try await tiaki.consents.grant(subject: id, consent, actor: actor)
                    subject.consents.append(recorded.index)
                    subject.covered = coverage(of: consent)
                    summary.consents += 1
                }
                subjects.append(subject)
            }
            guard !subjects.isEmpty else {
                progress(dayOffset + 1, configuration.days, tiaki.ledger.checkpoint.size)
                continue
            }

            // A few withdrawals and replacements.
            if rng.next() % 100 < 6 {
                let i = Int(rng.next() % UInt64(subjects.count))
                if !subjects[i].erased, let last = subjects[i].consents.last,
                    tiaki.core.read({
                        $0.consents[last].map { $0.withdrawn == nil && $0.supersededBy == nil } ?? false
                    })
                {
                    let withdrawal = try await tiaki.consents.withdraw(
                        last,
                        WithdrawalInput(
                            by: "parent",
                            date: today.description,
                            reason: "We would rather handle this ourselves for now."
                        ),
                        actor: EntryActor(org: subjects[i].org.id, credential: credentials[subjects[i].org.id])
                    )
                    summary.withdrawals += 1
                    // Recipients told of it acknowledge within a week or so; one in twelve is late.
                    for r in (withdrawal.entry.body as? ConsentWithdrawn)?.notify ?? [] {
                        let delay = rng.next() % 12 == 0 ? 12 + Int(rng.next() % 10) : 1 + Int(rng.next() % 7)
                        acknowledgementsDue[dayOffset + delay, default: []].append((last, r.org))
                    }
                }
            }
            if rng.next() % 100 < 8 {
                let i = Int(rng.next() % UInt64(subjects.count))
                if !subjects[i].erased, let last = subjects[i].consents.last,
                    tiaki.core.read({
                        $0.consents[last].map { $0.withdrawn == nil && $0.supersededBy == nil } ?? false
                    })
                {
                    let age = today.age(bornIn: subjects[i].birthMonth) ?? 10
                    let input = consentInput(&rng, today: today, age: age, home: subjects[i].org, supersedes: last)
                    let recorded = try await tiaki.consents.grant(
                        subject: subjects[i].id,
                        input,
                        actor: EntryActor(org: subjects[i].org.id, credential: credentials[subjects[i].org.id])
                    )
                    subjects[i].consents.append(recorded.index)
                    subjects[i].covered = coverage(of: input)
                    summary.consents += 1
                    summary.supersessions += 1
                }
            }

            // Requests to share, decided and recorded; most permits are followed by the disclosure.
            for _ in 0..<perDayDecisions {
                let i = Int(rng.next() % UInt64(subjects.count))
                guard !subjects[i].erased else { continue }
                let s = subjects[i]
                let viaFacilitator = rng.next() % 10 == 0
                // Three requests in four ask within what the newest consent covers; the rest are what a busy
                // school might ask without checking.
                let informed = s.covered.map { c in rng.next() % 4 != 0 ? c : nil } ?? nil
                let recipient: Org
                if let informed, let kind = informed.kinds.isEmpty ? nil : pick(&rng, informed.kinds),
                    let match = orgs.filter({ $0.kind == kind && $0.id != s.org.id }).first
                {
                    recipient = match
                } else {
                    recipient = pickRecipient(&rng, orgs: orgs, home: s.org, viaFacilitator: viaFacilitator)
                }
                let information: [String] =
                    informed.map { c in Array(Set(["register-entry"] + pickSome(&rng, c.information, max: 2))).sorted()
                    }
                    ?? ["register-entry"]
                    + pickSome(
                        &rng,
                        [
                            "assessment-progress", "attendance", "individual-plan", "behaviour", "health-disability",
                            "specialist-report", "stand-down-suspension-exclusion",
                        ],
                        max: 2
                    )
                let agencyRecipient = ["health-agency", "social-agency", "disability-agency"].contains(recipient.kind)
                let facilitated = viaFacilitator || agencyRecipient && rng.next() % 3 != 0
                let purpose =
                    informed.map { pick(&rng, $0.purposes) }
                    ?? pick(
                        &rng,
                        [
                            "learning-support-planning", "referral", "referral", "transition", "progress-review",
                            "cluster-needs-analysis",
                        ]
                    )
                let channel =
                    informed.map { pick(&rng, $0.channels) }
                    ?? pick(&rng, ["secure-email", "secure-email", "in-person", "cluster-portal", "phone"])
                let request = ShareRequest(
                    subject: s.id,
                    share: Share(
                        recipient: recipient.id,
                        purpose: purpose,
                        information: information,
                        channel: channel,
                        storageRegion: rng.next() % 40 == 0 ? "australia" : "nz"
                    ),
                    date: today.description,
                    seriousThreat: rng.next() % 300 == 0 ? true : nil,
                    requester: facilitated ? facilitatorOrg.id : s.org.id,
                    requesterRole: facilitated ? "facilitator" : "member"
                )
                let actor =
                    facilitated
                    ? EntryActor(org: facilitatorOrg.id, credential: facilitator)
                    : EntryActor(org: s.org.id, credential: credentials[s.org.id])
                let (decision, recorded) = try await tiaki.decisions.decideAndRecord(request, actor: actor)
                if decision.effect == .permit {
                    summary.permits += 1
                    if rng.next() % 10 < 8 {
                        var d = DisclosureRecord(for: request, decision: recorded.index)
                        // Now and then a disclosure goes beyond what was decided.
                        if rng.next() % 200 == 0,
                            let other = orgs.first(where: { $0.kind == "school" && $0.id != recipient.id })
                        {
                            d.recipient = other.id
                        }
                        let r = try await tiaki.disclosures.record(
                            DisclosureInput(
                                subject: s.id,
                                decision: recorded.receipt.index,
                                share: d.share,
                                date: d.date
                            ),
                            actor: actor
                        )
                        summary.disclosures += 1
                        if let body = r.entry.body as? DisclosureRecord, !body.flags.isEmpty {
                            summary.flaggedDisclosures += 1
                        }
                        // An IPP 3A notice owed: sent within a few working days, now and then late; one in
                        // twenty-five excused by the privacy officer (the whānau were at the meeting).
                        if let body = r.entry.body as? DisclosureRecord, body.notice?.due == true {
                            let late = rng.next() % 15 == 0
                            let delay = late ? 15 + Int(rng.next() % 10) : 1 + Int(rng.next() % 8)
                            noticesDue[dayOffset + delay, default: []].append(
                                (r.index, body.share.recipient, rng.next() % 25 == 0)
                            )
                        }
                        // A serious-threat share is reviewed by the privacy officer, most of the time promptly.
                        if request.seriousThreat == true, rng.next() % 4 != 0 {
                            _ = try await tiaki.disclosures.review(
                                r.receipt.index,
                                ReviewInput(
                                    outcome: rng.next() % 5 == 0 ? .notJustified : .justified,
                                    date: today.description,
                                    notes: "Reviewed with the RTLB practice leader."
                                ),
                                actor: EntryActor(org: facilitatorOrg.id, credential: privacyOfficer)
                            )
                            summary.reviews += 1
                        }
                    }
                } else {
                    summary.denials += 1
                    // Rarely, information is shared anyway: recorded, and flagged.
                    if rng.next() % 150 == 0 {
                        _ = try await tiaki.disclosures.record(
                            DisclosureInput(
                                subject: s.id,
                                share: request.share,
                                date: request.date,
                                note: "Shared at a meeting before checking."
                            ),
                            actor: actor
                        )
                        summary.disclosures += 1
                        summary.flaggedDisclosures += 1
                    }
                }
            }

            // The duties that fall due today.
            for (disclosure, recipient, excuse) in noticesDue.removeValue(forKey: dayOffset) ?? [] {
                do {
                    if excuse {
                        _ = try await tiaki.notices.recordException(
                            disclosure,
                            NoticeExceptionInput(
                                code: .alreadyAware,
                                reason: "The whānau were at the meeting where it was shared.",
                                date: today.description
                            ),
                            actor: office
                        )
                        summary.noticeExceptions += 1
                    } else {
                        _ = try await tiaki.notices.recordSent(
                            NoticeSentInput(
                                disclosures: [disclosure],
                                date: today.description,
                                method: rng.next() % 3 == 0 ? .post : .email,
                                languages: rng.next() % 5 == 0 ? ["en", "mi"] : ["en"]
                            ),
                            actor: EntryActor(org: recipient, credential: credentials[recipient])
                        )
                        summary.noticesSent += 1
                    }
                } catch let error as TiakiError where error.code == .erased {
                    // The child was erased meanwhile: nothing to send to.
                }
            }
            for (consent, org) in acknowledgementsDue.removeValue(forKey: dayOffset) ?? [] {
                _ = try await tiaki.notices.acknowledgeWithdrawal(
                    consent,
                    date: today.description,
                    actor: EntryActor(org: org, credential: credentials[org])
                )
                summary.acknowledgements += 1
            }
            // About once a term: a misdirected email, found the next morning, assessed and notified.
            if dayOffset % 70 == 69 {
                try await breach(tiaki, today: today, clock: clock, office: office, rng: &rng, summary: &summary)
            }

            // Weekly: erase children whose every consent's retention has ended.
            if dayOffset % 7 == 6 {
                for i in subjects.indices where !subjects[i].erased && !subjects[i].consents.isEmpty {
                    let ended = tiaki.core.read { state in
                        subjects[i].consents.allSatisfy { state.consents[$0].map { $0.retentionUntil < today } ?? true }
                    }
                    if ended {
                        _ = try await tiaki.subjects.erase(
                            subjects[i].id,
                            ErasureInput(reason: .retentionEnded),
                            actor: EntryActor(org: facilitatorOrg.id)
                        )
                        subjects[i].erased = true
                        summary.erasures += 1
                    }
                }
            }
            progress(dayOffset + 1, configuration.days, tiaki.ledger.checkpoint.size)
        }
        summary.entries = tiaki.ledger.checkpoint.size
        await tiaki.close()
        return summary
    }

    /// A misdirected secure email: the last one sent is found to have gone astray; the privacy officer records
    /// it, assesses it the same day, and (when it held sensitive information) notifies the Commissioner and the
    /// whānau.
    static func breach(
        _ tiaki: TiakiServices,
        today: Day,
        clock: SimulatedClock,
        office: EntryActor,
        rng: inout SeededGenerator,
        summary: inout SimulationSummary
    ) async throws {
        let found = Moment(clock.read())
        let recorded: Recorded
        do {
            recorded = try await tiaki.breaches.record(
                BreachInput(
                    found: found.description,
                    description: "The day's secure emails went to a mistyped distribution list.",
                    channel: "secure-email",
                    from: today.description,
                    to: today.description
                ),
                actor: office
            )
        } catch let error as TiakiError where error.code == .invalid {
            return  // nothing went by secure email today
        }
        summary.breaches += 1
        guard let b = recorded.entry.body as? BreachRecorded else { return }
        let sensitive = b.affected.contains { a in
            a.information.contains { ["health-disability", "behaviour", "specialist-report"].contains($0) }
        }
        _ = try await tiaki.breaches.assess(
            b.breach,
            BreachAssessmentInput(
                seriousHarm: sensitive,
                factors: sensitive ? [.sensitiveInformation, .whoObtained] : [.securityMeasures, .mitigation],
                reasons: sensitive
                    ? "Sensitive information about a child reached someone outside the cluster."
                    : "The recipient deleted it unread and confirmed so in writing."
            ),
            actor: office
        )
        guard sensitive else { return }
        _ = try await tiaki.breaches.commissionerNotified(
            b.breach,
            CommissionerNotificationInput(reference: "NU-\(today.components.year)-\(1000 + rng.next() % 9000)"),
            actor: office
        )
        for a in b.affected {
            _ = try await tiaki.breaches.noticeSent(
                b.breach,
                subject: a.subject,
                BreachNoticeInput(date: today.description, method: .phone, languages: ["en", "mi"]),
                actor: office
            )
        }
    }

    static func date(_ day: Day, seconds: Int) -> Date {
        Date(timeIntervalSince1970: Double(day.number) * 86_400 + Double(seconds) - 13 * 3600)
    }

    static func consentInput(
        _ rng: inout SeededGenerator,
        today: Day,
        age: Int,
        home: Org,
        supersedes: Int?
    ) -> ConsentInput {
        var purposes = ["learning-support-planning"]
        purposes += pickSome(&rng, ["referral", "transition", "progress-review", "cluster-needs-analysis"], max: 3)
        var information = ["register-entry"]
        information += pickSome(
            &rng,
            [
                "assessment-progress", "attendance", "individual-plan", "behaviour", "specialist-report",
                "stand-down-suspension-exclusion",
            ],
            max: 4
        )
        if rng.next() % 5 == 0 { information.append("health-disability") }
        var kinds = ["rtlb", "ministry-learning-support"]
        if purposes.contains("transition") { kinds += ["school", "kura"] }
        if rng.next() % 10 == 0 { kinds.append("health-agency") }
        var channels = ["secure-email", "in-person"]
        if rng.next() % 2 == 0 { channels.append("cluster-portal") }
        var regions = ["nz"]
        if rng.next() % 20 == 0 { regions.append("australia") }
        var consenters = [
            ConsentInput.Consenter(
                role: pick(&rng, ["parent", "parent", "parent", "caregiver", "whanau", "guardian"]),
                name: "Parent of the child"
            )
        ]
        if age >= 14 && rng.next() % 100 < 85 { consenters.append(.init(role: "young-person")) }
        let months = 6 + Int(rng.next() % 19)
        let until = Day(number: today.number + Int32(months * 30))
        // Drawn here, where the generator has always drawn it, so a seed writes the same ledger as before.
        let language = rng.next() % 4 == 0 ? "mi" : "en"
        return ConsentInput(
            purposes: purposes,
            information: information,
            audience: .init(organisations: [], kinds: kinds),
            sharing: .init(
                channels: channels,
                storageRegions: regions,
                protection: "Shared only by secure email or in person; stored in the cluster's New Zealand systems."
            ),
            retention: .init(until: until.description, event: "the child leaves the cluster"),
            accuracy: .init(
                contact: "The learning support coordinator at \(home.name)",
                method: "Ask to see the register entry and correct it at any time."
            ),
            withdrawal: .init(
                effect: "Support continues; information is no longer shared with the people named, and they are told.",
                how: "Tell the school or the learning support coordinator, in person or in writing."
            ),
            consenters: consenters,
            informed: .init(
                date: today.description,
                noticeVersion: "lsdm-2026.1",
                language: language,
                method: "meeting"
            ),
            text: "We would like to share information about your child's learning with the people who can help.",
            evidence: "signed form \(today.description)",
            supersedes: supersedes.flatMap { UInt64(exactly: $0) }
        )
    }

    static func coverage(
        of consent: ConsentInput
    ) -> (purposes: [String], information: [String], kinds: [String], channels: [String]) {
        (
            consent.purposes ?? [], consent.information ?? [], consent.audience?.kinds ?? [],
            consent.sharing?.channels ?? []
        )
    }

    static func pickRecipient(_ rng: inout SeededGenerator, orgs: [Org], home: Org, viaFacilitator: Bool) -> Org {
        let kinds =
            viaFacilitator
            ? ["health-agency", "social-agency", "rtlb"]
            : ["rtlb", "rtlb", "ministry-learning-support", "school", "kura", "health-agency"]
        let kind = pick(&rng, kinds)
        let candidates = orgs.filter { $0.kind == kind && $0.id != home.id }
        return candidates.isEmpty ? orgs[0] : candidates[Int(rng.next() % UInt64(candidates.count))]
    }

    static func pick(_ rng: inout SeededGenerator, _ options: [String]) -> String {
        options[Int(rng.next() % UInt64(options.count))]
    }

    static func pickSome(_ rng: inout SeededGenerator, _ options: [String], max: Int) -> [String] {
        let n = Int(rng.next() % UInt64(max + 1))
        var chosen: [String] = []
        for _ in 0..<n {
            let o = pick(&rng, options)
            if !chosen.contains(o) { chosen.append(o) }
        }
        return chosen
    }

}
