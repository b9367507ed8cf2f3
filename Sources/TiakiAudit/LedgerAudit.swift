import Dispatch
import Foundation
public import TiakiLedger
public import TiakiModel
import TiakiPolicy

/// One pass over a ledger, in index order, that finds what a privacy officer must act on and replays every
/// recorded decision under the policy set it names.
///
/// The consent state is rebuilt as the pass goes. A decision is replayed against the state it was made on — the
/// first `basis` entries — so application lags reading by a window of entries: before entry `i` is applied,
/// every decision read so far whose basis is `i` is replayed. Entries are parsed in parallel, applied in order.
public final class LedgerAudit {
    public let options: AuditOptions
    /// Whether to replay decisions (a findings pass does; `tiaki audit replay` does only that).
    public let replay: Bool
    /// Whether to raise findings other than replay mismatches.
    public let findings: Bool

    var state = ConsentState()
    var policies: [String: PolicySet] = [:]
    private var engines: [String: PolicyEngine?] = [:]
    /// Read but not yet applied, oldest first (from `windowStart`).
    var window: [(index: UInt64, entry: ConsentEntry?)] = []
    var windowStart = 0
    var pendingReplay: [UInt64: [(UInt64, DecisionRecord, String)]] = [:]
    /// Every decision's facts, for the disclosures that name it: the pass's largest part, kept compact.
    var decisions = DecisionIndex()
    /// Consent → disclosures that relied on it: (disclosure index, recipient, date).
    var disclosuresByConsent: [Int: [(UInt64, String, Day)]] = [:]
    /// Subject → the refusals recorded for them: what the whānau declined to share, and when.
    var refusals: [String: [(index: UInt64, purposes: [String], information: [String], date: String)]] = [:]
    /// Serious-threat disclosures not yet reviewed.
    var awaitingReview: [Int: (subject: String, time: String, recipient: String)] = [:]
    var result = AuditResult()
    var applied: UInt64 = 0
    /// A live pass keeps each child's retention findings for the day last asked about, and redoes only the children
    /// whose entries were applied since (a new day, or another window, redoes them all).
    private var subjectFindings: [String: [Finding]] = [:]
    private var subjectFindingsKey: SubjectFindingsKey?
    private var touchedSubjects: Set<String> = []
    private var assembled: (key: AssembledKey, findings: [Finding])?
    /// The findings raised by entries (how many of them, in order) and every child's findings, in order: kept
    /// between calls, so that an answer after a few entries puts only their findings in place, not all of them.
    private var orderedEvents: (count: Int, findings: [Finding]) = (0, [])
    private var orderedChildren: [Finding] = []
    /// Per child: the serious-threat disclosures awaiting review, and the disclosures that owe an IPP 3A notice.
    var awaitingBySubject: [String: Set<Int>] = [:]
    var noticesBySubject: [String: [Int]] = [:]

    /// What a child's findings depend on besides the child's own entries.
    struct SubjectFindingsKey: Equatable {
        var day: Day
        var within: Int
        var duties: Duties
    }

    /// How far ahead of application the pass reads. A decision is appended a few batches after its basis at most.
    static let windowSize = 16_384

    public init(options: AuditOptions, findings: Bool = true, replay: Bool = true) {
        self.options = options
        self.findings = findings
        self.replay = replay
    }

    /// Audits every entry `reader` gives.
    public static func run(
        _ reader: EntryReader,
        options: AuditOptions,
        findings: Bool = true,
        replay: Bool = true,
        progress: (UInt64, Double?) -> Void = { _, _ in }
    ) throws -> AuditResult {
        let audit = LedgerAudit(options: options, findings: findings, replay: replay)
        var chunk: [(UInt64, [UInt8])] = []
        chunk.reserveCapacity(8192)
        func flush() {
            audit.consume(parallelParse(chunk))
            chunk.removeAll(keepingCapacity: true)
        }
        try reader.read(progress: progress) { index, bytes in
            chunk.append((index, bytes))
            if chunk.count == 8192 { flush() }
        }
        flush()
        return audit.finish()
    }

    /// Parses entries on every core.
    static func parallelParse(_ chunk: [(UInt64, [UInt8])]) -> [(UInt64, Result<ConsentEntry, any Error>)] {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, chunk.count / 256))
        let box = ParseResults(count: chunk.count)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let lower = chunk.count * part / parts
            let upper = chunk.count * (part + 1) / parts
            var local: [Result<ConsentEntry, any Error>] = []
            local.reserveCapacity(upper - lower)
            for i in lower..<upper {
                local.append(
                    Result {
                        var entry = try ConsentEntry(bytes: chunk[i].1)
                        entry.index = chunk[i].0
                        return entry
                    }
                )
            }
            box.store(local, at: lower)
        }
        return zip(chunk, box.values).map { ($0.0, $1) }
    }

    final class ParseResults: @unchecked Sendable {
        // Each part writes a disjoint range, under the lock.
        private let lock = NSLock()
        private(set) var values: [Result<ConsentEntry, any Error>]
        init(count: Int) { values = Array(repeating: .failure(CancellationError()), count: count) }
        func store(_ part: [Result<ConsentEntry, any Error>], at offset: Int) {
            lock.withLock {
                for (i, v) in part.enumerated() { values[offset + i] = v }
            }
        }
    }

    /// Takes the next parsed entries, in index order.
    public func consume(_ parsed: [(UInt64, Result<ConsentEntry, any Error>)]) {
        for (index, outcome) in parsed {
            result.entries = index + 1
            switch outcome {
            case .success(let entry):
                read(entry)
                window.append((index, entry))
            case .failure(let error):
                if findings {
                    raise(
                        Finding(
                            .unreadableEntry,
                            subject: nil,
                            indexes: [index],
                            summary:
                                "Entry \(index) is not a Tiaki entry (\(error)); it was skipped. Run tiaki verify, and find out how it was written."
                        )
                    )
                }
                window.append((index, nil))
            }
            if window.count - windowStart > LedgerAudit.windowSize { applyOldest() }
        }
        if windowStart > 65_536 {
            window.removeFirst(windowStart)
            windowStart = 0
        }
    }

    /// Everything the pass found, after applying what is left in the window.
    public func finish() -> AuditResult {
        while windowStart < window.count { applyOldest() }
        // Decisions whose basis was never reached (a basis beyond the ledger's end).
        for basis in pendingReplay.keys.sorted() {
            for (index, decision, time) in pendingReplay[basis] ?? [] { replay(index, decision, time: time) }
        }
        pendingReplay = [:]
        if findings { result.findings += stateFindings(options) }
        result.findings = Self.ordered(result.findings, since: options.since)
        return result
    }

    /// Findings after `since`, by their first entry.
    static func ordered(_ findings: [Finding], since: String?) -> [Finding] {
        var findings = findings
        if let since { findings.removeAll { finding in finding.time.map { $0 < since } ?? false } }
        // Sorted by small keys, then gathered: a finding is too large to move about many times.
        let keys = findings.map { ($0.indexes.first ?? 0, $0.kind.rawValue) }
        let order = findings.indices.sorted { a, b in
            keys[a] != keys[b] ? keys[a] < keys[b] : findings[a].summary < findings[b].summary
        }
        return order.map { findings[$0] }
    }

    /// Whether `a` comes before `b` in the order ``ordered(_:since:)`` gives.
    static func precedes(_ a: Finding, _ b: Finding) -> Bool {
        let x = (a.indexes.first ?? 0, a.kind.rawValue)
        let y = (b.indexes.first ?? 0, b.kind.rawValue)
        return x != y ? x < y : a.summary < b.summary
    }

    /// Two ordered lists as one.
    static func merged(_ a: [Finding], _ b: [Finding]) -> [Finding] {
        var out: [Finding] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && !precedes(b[j], a[i])) {
                out.append(a[i])
                i += 1
            } else {
                out.append(b[j])
                j += 1
            }
        }
        return out
    }

    // MARK: A live pass

    /// Entries read so far (the next index the pass expects).
    public var consumed: UInt64 { result.entries }
    /// Entries applied to the pass's state; decisions with an earlier basis can no longer be replayed at it.
    public var appliedCount: UInt64 { applied }

    /// Applies the entries read so far with indexes below `limit` (a live pass holds back those a decision still
    /// being made may need as its basis).
    public func drain(before limit: UInt64) {
        while windowStart < window.count, window[windowStart].index < limit { applyOldest() }
        if windowStart > 4096 {
            window.removeFirst(windowStart)
            windowStart = 0
        }
    }

    /// What the pass has found so far, judged on `options`' day, without ending the pass: the findings raised by
    /// the entries applied, and those the state on that day calls for. Entries read but not applied are not yet
    /// counted.
    public func current(options: AuditOptions) -> AuditResult {
        var now = result
        now.entries = applied
        guard findings else {
            now.findings = Self.ordered(now.findings, since: options.since)
            return now
        }
        // Everything but the breaches (judged at a moment that moves) is kept in order between calls; an entry's
        // new findings and the redone children's are put in place among the rest (merged, not sorted again).
        let duties = duties(options)
        let redone = updateChildFindings(options, duties)
        if orderedEvents.count < result.findings.count {
            let fresh = Self.ordered(Array(result.findings[orderedEvents.count...]), since: nil)
            orderedEvents = (result.findings.count, Self.merged(orderedEvents.findings, fresh))
        }
        let key = AssembledKey(events: result.findings.count, since: options.since)
        if redone != .none || assembled?.key != key {
            var all = Self.merged(orderedEvents.findings, orderedChildren)
            if let since = options.since { all.removeAll { finding in finding.time.map { $0 < since } ?? false } }
            assembled = (key, all)
        }
        let kept = assembled?.findings ?? []
        let breaches = Self.ordered(breachFindings(options, duties), since: options.since)
        now.findings = breaches.isEmpty ? kept : Self.merged(kept, breaches)
        return now
    }

    /// What the ordered findings kept by ``current(options:)`` depend on besides the children's.
    struct AssembledKey: Equatable {
        var events: Int
        var since: String?
    }

    // MARK: Reading ahead

    /// What must be known as soon as an entry is read: policy sets (so consents compile against their
    /// vocabulary) and decisions waiting for their basis.
    private func read(_ entry: ConsentEntry) {
        switch entry.body.typed {
        case .policyPublished(let p):
            if policies[p.digest] == nil, let set = try? PolicySet.parse(files: p.files) {
                policies[p.digest] = set
                state.intern(set.vocabulary)
            }
        case .decisionRecord(let d):
            guard replay else { break }
            if d.basis >= applied {
                pendingReplay[d.basis, default: []].append((entry.index, d, entry.time))
            } else {
                // Its basis was applied already: replay on the state as it is now.
                result.replayedLate += 1
                replay(entry.index, d, time: entry.time)
            }
        case .organisationRegistered, .credentialIssued, .credentialRevoked, .subjectRegistered, .subjectEnrolled,
            .consentTerms, .consentWithdrawn, .consentRefused, .withdrawalAcknowledged, .disclosureRecord,
            .disclosureReviewed, .noticeSent, .noticeException, .breachRecorded, .breachAssessed,
            .breachCommissionerNotified, .subjectErased:
            // Nothing that must be known before the entry's turn in the window.
            break
        }
    }

    private func applyOldest() {
        let (index, entry) = window[windowStart]
        windowStart += 1
        if let waiting = pendingReplay.removeValue(forKey: index) {
            for (i, d, time) in waiting { replay(i, d, time: time) }
        }
        applied = index + 1
        guard let entry else { return }
        if findings { check(entry) }
        state.apply(entry)
        if let subject = entry.subject {
            if entry.body is DisclosureRecord, state.collectionNotices[Int(clamping: index)] != nil {
                noticesBySubject[subject, default: []].append(Int(clamping: index))
            }
            if subjectFindingsKey != nil { touchedSubjects.insert(subject) }
        }
    }

    // MARK: Replay

    private func engine(_ digest: String) -> PolicyEngine? {
        if let known = engines[digest] { return known }
        let engine = policies[digest].flatMap { try? PolicyEngine(policy: $0, codes: state.codes) }
        engines[digest] = engine
        return engine
    }

    private func replay(_ index: UInt64, _ d: DecisionRecord, time: String) {
        result.decisionsReplayed += 1
        guard let engine = engine(d.policy) else {
            let mismatch = ReplayMismatch(
                index: index,
                subject: d.request.subject,
                policy: d.policy,
                recorded: d.effect.rawValue,
                replayed: "unknown-policy",
                reasons: ["The policy set \(d.policy) was never published in this ledger, so it cannot be replayed."]
            )
            result.mismatches.append(mismatch)
            if findings {
                raise(
                    Finding(
                        .decisionPolicyUnknown,
                        subject: d.request.subject,
                        indexes: [index],
                        time: time,
                        summary:
                            "Decision \(index) names policy set \(d.policy), which this ledger never recorded, so no one can check it. Find the policy set that made it, or treat the share as unauthorised."
                    )
                )
            }
            return
        }
        let replayed: String
        let reasons: [String]
        do {
            let again = try engine.decide(d.request, in: state)
            replayed = again.effect.rawValue
            reasons = again.reasons
        } catch {
            replayed = "error"
            reasons = [error.message]
        }
        guard replayed != d.effect.rawValue else { return }
        result.mismatches.append(
            ReplayMismatch(
                index: index,
                subject: d.request.subject,
                policy: d.policy,
                recorded: d.effect.rawValue,
                replayed: replayed,
                reasons: reasons
            )
        )
        if findings {
            raise(
                Finding(
                    .decisionReplayMismatch,
                    subject: d.request.subject,
                    indexes: [index],
                    time: time,
                    summary:
                        "Decision \(index) was recorded as \(d.effect.rawValue), but the policy set it names gives \(replayed) on the same consents: \(reasons.first ?? "no reason given"). Find out how it was made; treat any share under it as unauthorised until then."
                )
            )
        }
    }

    // MARK: Findings raised by entries

    private func raise(_ finding: Finding) { result.findings.append(finding) }

    private func check(_ entry: ConsentEntry) {
        if let credential = entry.actor.credential, let revoked = state.credentials[credential]?.revoked {
            raise(
                Finding(
                    .credentialUsedAfterRevocation,
                    subject: entry.subject,
                    indexes: [entry.index, revoked],
                    time: entry.time,
                    summary:
                        "Entry \(entry.index) (\(entry.kind.rawValue)) was made with credential \(credential) of \(entry.actor.org) after it was revoked at entry \(revoked). Find out who holds the token and how it was accepted."
                )
            )
        }
        switch entry.body.typed {
        case .decisionRecord(let d):
            let subject = entry.subject ?? d.request.subject
            decisions.insert(
                index: entry.index,
                // The state's copy of the child's id, so that a million decisions do not each keep one.
                subject: state.subjects[subject]?.id ?? subject,
                effect: d.effect,
                share: d.request.share,
                consents: d.consents,
                review: d.obligations.contains { $0.kind == Obligation.privacyOfficerReview }
            )
        case .disclosureRecord(let d):
            checkDisclosure(entry, d)
        case .disclosureReviewed(let r):
            if let pending = awaitingReview.removeValue(forKey: r.disclosure) {
                awaitingBySubject[pending.subject]?.remove(r.disclosure)
            }
        case .consentWithdrawn(let w):
            checkWithdrawal(entry, w)
        case .consentRefused(let r):
            if let subject = entry.subject {
                refusals[subject, default: []].append((entry.index, r.purposes, r.information, r.date))
            }
        case .organisationRegistered, .credentialIssued, .credentialRevoked, .policyPublished, .subjectRegistered,
            .subjectEnrolled, .consentTerms, .withdrawalAcknowledged, .noticeSent, .noticeException, .breachRecorded,
            .breachAssessed, .breachCommissionerNotified, .subjectErased:
            // Checked elsewhere (credentials above, notices and acknowledgements by the duties' clocks) or nothing to
            // check as they are read.
            break
        }
    }

    private func checkDisclosure(_ entry: ConsentEntry, _ d: DisclosureRecord) {
        let subject = entry.subject ?? "?"
        let index = entry.index
        let date = Day(d.date)
        func without(_ why: String, _ proof: [UInt64]) {
            raise(
                Finding(
                    .disclosureWithoutPermit,
                    subject: subject,
                    indexes: [index] + proof,
                    time: entry.time,
                    summary:
                        "Disclosure \(index) sent \(d.information.joined(separator: ", ")) about child \(subject) to \(d.recipient) on \(d.date) \(why). Ask \(entry.actor.org) why, tell the whānau if it was wrong, and ask \(d.recipient) to delete it."
                )
            )
        }
        checkRefusal(entry, d)
        guard let decisionIndex = d.decision else {
            without("without asking for a decision first", [])
            return
        }
        guard decisionIndex >= 0, let decision = decisions[UInt64(decisionIndex)] else {
            without("naming entry \(decisionIndex), which is not a decision recorded before it", [])
            return
        }
        let proof = [UInt64(decisionIndex)]
        guard decision.subject == subject else {
            without("relying on decision \(decisionIndex), which was about another child", proof)
            return
        }
        guard decision.effect == .permit else {
            without("although decision \(decisionIndex) denied it", proof)
            return
        }
        if decision.review {
            awaitingReview[Int(index)] = (subject, entry.time, d.recipient)
            awaitingBySubject[subject, default: []].insert(Int(index))
        }
        var beyond: [String] = []
        let r = decision.share
        if r.recipient != d.recipient { beyond.append("to \(d.recipient), not \(r.recipient)") }
        if r.purpose != d.purpose { beyond.append("for \(d.purpose), not \(r.purpose)") }
        let extra = d.information.filter { !r.information.contains($0) }
        if !extra.isEmpty { beyond.append("including \(extra.joined(separator: ", ")), which was not asked for") }
        if r.channel != d.channel { beyond.append("by \(d.channel), not \(r.channel)") }
        if r.storageRegion != d.storageRegion { beyond.append("stored in \(d.storageRegion), not \(r.storageRegion)") }
        if !beyond.isEmpty {
            raise(
                Finding(
                    .disclosureBeyondDecision,
                    subject: subject,
                    indexes: [index] + proof,
                    time: entry.time,
                    summary:
                        "Disclosure \(index) about child \(subject) went beyond decision \(decisionIndex): \(beyond.joined(separator: "; ")). Ask \(entry.actor.org) why, and ask \(d.recipient) to delete what the decision did not cover."
                )
            )
        }
        for c in decision.consents {
            disclosuresByConsent[c, default: []].append((index, d.recipient, date ?? Day(number: 0)))
        }
        // Serious-threat permits rely on no consent; a consent-based permit needs one still in force.
        guard !decision.consents.isEmpty, let date else { return }
        let relied = decision.consents.compactMap { state.consents[$0] }
        let inForce = relied.contains { c in
            c.withdrawn.map { date < $0.date } ?? true && date <= c.retentionUntil
        }
        guard !inForce else { return }
        if let withdrawn = relied.compactMap({ c in c.withdrawn.map { (c.id, $0) } }).first(where: { date >= $0.1.date }
        ) {
            raise(
                Finding(
                    .disclosureAfterWithdrawal,
                    subject: subject,
                    indexes: [index, proof[0], withdrawn.1.index],
                    time: entry.time,
                    summary:
                        "Disclosure \(index) about child \(subject) to \(d.recipient) on \(d.date) relied on consent \(withdrawn.0), which was withdrawn on \(withdrawn.1.date) (entry \(withdrawn.1.index)). Ask \(d.recipient) to delete it and tell the whānau."
                )
            )
        } else if let expired = relied.first(where: { date > $0.retentionUntil }) {
            raise(
                Finding(
                    .disclosureAfterRetention,
                    subject: subject,
                    indexes: [index, proof[0], UInt64(expired.id)],
                    time: entry.time,
                    summary:
                        "Disclosure \(index) about child \(subject) to \(d.recipient) on \(d.date) relied on consent \(expired.id), whose retention ended on \(expired.retentionUntil). Ask \(d.recipient) to delete it and tell the whānau."
                )
            )
        }
    }

    /// A share of what the whānau declined — for a purpose they declined, of information they declined to share —
    /// when no consent given since the refusal covers that purpose.
    private func checkRefusal(_ entry: ConsentEntry, _ d: DisclosureRecord) {
        guard let subject = entry.subject, let declined = refusals[subject] else { return }
        let purpose = state.codes.bit(d.purpose, .purpose)
        for refusal in declined.reversed() where refusal.purposes.contains(d.purpose) {
            let overlap = d.information.filter { refusal.information.contains($0) }
            guard !overlap.isEmpty else { continue }
            let lifted = state.consents(of: subject).contains { c in
                UInt64(c.id) > refusal.index && purpose.map { c.purposes.contains($0) } == true
            }
            guard !lifted else { return }
            raise(
                Finding(
                    .disclosureAfterRefusal,
                    subject: subject,
                    indexes: [entry.index, refusal.index],
                    time: entry.time,
                    summary:
                        "Disclosure \(entry.index) shared \(overlap.joined(separator: ", ")) about child \(subject) with \(d.recipient) on \(d.date) for \(d.purpose), which the whānau declined to share on \(refusal.date) (entry \(refusal.index)), and no consent given since covers it. If it was shared because of a serious threat, make sure the privacy officer's review says why; otherwise ask \(entry.actor.org) why, tell the whānau, and ask \(d.recipient) to delete it."
                )
            )
            return
        }
    }

    private func checkWithdrawal(_ entry: ConsentEntry, _ w: ConsentWithdrawn) {
        // A withdrawal that names its recipients was sent to them as notices; whether they acknowledged is
        // judged on the audit day (`withdrawal-not-acknowledged`).
        guard (w.notify ?? []).isEmpty else { return }
        guard state.consents[w.consent]?.withdrawn == nil, let date = Day(w.date) else { return }
        let earlier = (disclosuresByConsent[w.consent] ?? []).filter { $0.2 <= date }
        guard !earlier.isEmpty else { return }
        var recipients: [String] = []
        for (_, recipient, _) in earlier where !recipients.contains(recipient) { recipients.append(recipient) }
        let list = earlier.map { "\($0.1) (disclosure \($0.0), \($0.2))" }.joined(separator: ", ")
        raise(
            Finding(
                .withdrawalRecipientsToTell,
                subject: entry.subject,
                indexes: [entry.index] + earlier.map(\.0),
                time: entry.time,
                summary:
                    "Consent \(w.consent) for child \(entry.subject ?? "?") was withdrawn on \(w.date) by the \(w.by). Information shared under it went to \(list): tell \(recipients.count == 1 ? "them" : "each of them") that consent is withdrawn, so they stop using it and delete what they no longer need.",
                recipients: recipients
            )
        )
    }

    // MARK: Findings about the state on the audit day

    /// The duties the audit judges by: the options', else the newest policy set's in the ledger.
    private func duties(_ options: AuditOptions) -> Duties {
        options.duties ?? state.currentPolicy.flatMap { policies[$0]?.duties } ?? Duties()
    }

    /// What the state on the audit day calls for (reviews, acknowledgements, notices, breaches, retention); reads
    /// the pass, changes nothing, so a live projection can ask it for any day.
    private func stateFindings(_ options: AuditOptions) -> [Finding] {
        let duties = duties(options)
        updateChildFindings(options, duties)
        return breachFindings(options, duties) + Array(subjectFindings.values.joined())
    }

    /// Breaches not assessed, or not notified, in time: judged at `options.now` (which changes from one request to
    /// the next), so never kept.
    private func breachFindings(_ options: AuditOptions, _ duties: Duties) -> [Finding] {
        var found: [Finding] = []
        func raise(_ finding: Finding) { found.append(finding) }
        let day = options.asOf
        let now = options.now ?? Moment(seconds: (Int64(day.number) + 1) * 86_400 - 1)
        for b in state.breaches.values.sorted(by: { $0.index < $1.index }) {
            guard let found = Moment(b.found) else { continue }
            if b.assessment == nil, now > found.adding(hours: duties.breachAssessmentHours) {
                raise(
                    Finding(
                        .breachAssessmentDue,
                        subject: nil,
                        indexes: [b.index],
                        summary:
                            "Privacy breach \(b.id), found \(found.plainNZ) and touching \(b.affected.count) \(b.affected.count == 1 ? "child" : "children"), has not been assessed within \(duties.breachAssessmentHours) hours. Assess now whether it is likely to cause serious harm (POST /v1/breaches/\(b.id)/assessment)."
                    )
                )
            } else if b.notificationOutstanding, now > found.adding(hours: duties.breachNotificationHours) {
                var missing: [String] = []
                if b.commissionerNotified == nil { missing.append("the Privacy Commissioner") }
                let untold = b.affected.keys.filter { b.noticesSent[$0] == nil }.count
                if untold > 0 { missing.append("the whānau of \(untold) \(untold == 1 ? "child" : "children")") }
                raise(
                    Finding(
                        .breachNotificationOverdue,
                        subject: nil,
                        indexes: [b.index] + (b.assessment.map { [$0.index] } ?? []),
                        summary:
                            "Privacy breach \(b.id), found \(found.plainNZ), was assessed as likely to cause serious harm, and \(missing.joined(separator: " and ")) \(missing.count == 1 && untold == 0 ? "has" : "have") not been told within \(duties.breachNotificationHours) hours. Notify them as soon as practicable and record each notification."
                    )
                )
            }
        }
        return found
    }

    /// Every child's findings on `options`' day (reviews, acknowledgements, notices, retention): for a live pass,
    /// kept from the last call for the children nothing has happened to since.
    /// Brings `subjectFindings`, and the same findings in order, up to date; returns the children redone (all of
    /// them for a new day or window).
    @discardableResult
    private func updateChildFindings(_ options: AuditOptions, _ duties: Duties) -> Redone {
        let key = SubjectFindingsKey(day: options.asOf, within: options.expiringWithinDays, duties: duties)
        defer { touchedSubjects.removeAll(keepingCapacity: true) }
        if key == subjectFindingsKey {
            guard !touchedSubjects.isEmpty else { return .none }
            for subject in touchedSubjects { subjectFindings[subject] = findings(of: subject, options, duties) }
            // Every finding of a child names the child: theirs are taken out and the new ones merged in.
            let fresh = touchedSubjects.flatMap { subjectFindings[$0] ?? [] }
            orderedChildren = Self.merged(
                orderedChildren.filter { finding in !(finding.subject.map(touchedSubjects.contains) ?? false) },
                Self.ordered(fresh, since: nil)
            )
            return .some(touchedSubjects)
        }
        subjectFindings = [:]
        for subject in state.subjects.keys { subjectFindings[subject] = findings(of: subject, options, duties) }
        subjectFindingsKey = key
        orderedChildren = Self.ordered(Array(subjectFindings.values.joined()), since: nil)
        return .all
    }

    /// Which children's findings ``updateChildFindings(_:_:)`` redid.
    enum Redone: Equatable {
        case none
        case some(Set<String>)
        case all
    }

    /// A child's findings on the day: serious-threat shares awaiting review, withdrawals not acknowledged, IPP 3A
    /// notices overdue (whatever became of the child), and, while their details are held, no consent in force
    /// past retention, and consents ending soon.
    private func findings(of id: String, _ options: AuditOptions, _ duties: Duties) -> [Finding]? {
        var found: [Finding] = []
        func raise(_ finding: Finding) { found.append(finding) }
        let day = options.asOf
        for disclosure in (awaitingBySubject[id] ?? []).sorted() {
            guard let pending = awaitingReview[disclosure] else { continue }
            raise(
                Finding(
                    .seriousThreatReviewPending,
                    subject: pending.subject,
                    indexes: [UInt64(disclosure)],
                    time: pending.time,
                    summary:
                        "Disclosure \(disclosure) about child \(pending.subject) to \(pending.recipient) was made because of a serious threat (IPP 11(1)(f)) and no privacy officer has reviewed it. Review it and record the outcome (POST /v1/disclosures/\(disclosure)/review)."
                )
            )
        }
        // Withdrawals some recipient has not acknowledged in time.
        for c in state.consents(of: id) where !c.notify.isEmpty {
            guard let w = c.withdrawn,
                day > duties.acknowledgementDue(withdrawnOn: w.date)
            else { continue }
            let waiting = c.notify.filter { c.acknowledged[$0] == nil }
            guard !waiting.isEmpty else { continue }
            raise(
                Finding(
                    .withdrawalNotAcknowledged,
                    subject: c.subject,
                    indexes: [w.index],
                    summary:
                        "Consent \(c.id) for child \(c.subject) was withdrawn on \(w.date), and \(waiting.joined(separator: ", ")) \(waiting.count == 1 ? "has" : "have") not acknowledged it within \(duties.withdrawalAcknowledgeDays) days. Ask \(waiting.count == 1 ? "it" : "each") to confirm it no longer uses what it received under the consent and has deleted what it no longer needs.",
                    recipients: waiting
                )
            )
        }
        // IPP 3A notices not sent or excused in time.
        for n in (noticesBySubject[id] ?? []).compactMap({ state.collectionNotices[$0] })
        where n.outcome == nil && day > n.dueBy {
            raise(
                Finding(
                    .indirectCollectionNoticeOverdue,
                    subject: n.subject,
                    indexes: [UInt64(n.disclosure)],
                    summary:
                        "\(n.recipient) received information about child \(n.subject) from \(n.discloser) on \(n.shared) (disclosure \(n.disclosure)) that the whānau had not agreed to share with it, and has not told them it holds it (IPP 3A); the notice was due by \(n.dueBy). Ask \(n.recipient) to send it (or \(n.discloser) to send it on its behalf) and record it, or record an exception with its reason.",
                    recipients: [n.recipient]
                )
            )
        }
        guard let subject = state.subjects[id], subject.erased == nil else { return found.isEmpty ? nil : found }
        let horizon = Day(number: day.number + Int32(clamping: options.expiringWithinDays))
        let consents = state.consents(of: subject.id)
        let current = consents.filter { $0.isCurrent(on: day) }
        let overdue = consents.filter { $0.retentionUntil < day }
        if current.isEmpty, !overdue.isEmpty {
            let last = overdue.map(\.retentionUntil).max() ?? day
            raise(
                Finding(
                    .retentionOverdue,
                    subject: subject.id,
                    indexes: overdue.map { UInt64($0.id) },
                    summary:
                        "Child \(subject.id) of \(subject.org) has no consent in force and the retention of consent \(overdue.map { String($0.id) }.joined(separator: ", ")) ended on \(last), but their personal details have not been erased. Erase them (POST /v1/subjects/\(subject.id)/erase), or record a new consent."
                )
            )
        }
        for c in current where c.retentionUntil <= horizon {
            raise(
                Finding(
                    .consentExpiring,
                    subject: subject.id,
                    indexes: [UInt64(c.id)],
                    summary:
                        "Consent \(c.id) for child \(subject.id) of \(subject.org) comes off the register on \(c.retentionUntil), within \(options.expiringWithinDays) days of \(day). Ask the whānau whether to renew it."
                )
            )
        }
        return found.isEmpty ? nil : found
    }
}
