import Foundation
import Logging
public import TiakiLedger
import TiakiModel
import TiakiPolicy

/// The findings projection written to the data directory (`findings.snapshot`), so that a start reads it and only
/// the entries after it instead of passing over the whole ledger again.
///
/// The file is a ``SnapshotFile`` (magic `TIAKI-FINDINGS`, stamped with the ledger size and root it reflects and
/// refused, with the reason logged, when it is not this ledger's, is damaged or of another layout: the projection
/// is then built from the whole ledger). Its payload is the pass at a moment it had applied every entry it read:
/// its own consent state in ``CompactState``'s layout; then one table of strings; the pass's counts, its replay
/// mismatches and the findings raised so far; every decision's facts (``DecisionIndex``); the disclosures made
/// under each consent, the refusals, and the serious-threat disclosures awaiting review. The policy sets are not
/// in it: they are read again from the entries that published them. Like the state, it holds codes, ids, dates
/// and the findings' own words, which name no one (names are sealed in the vault).
public enum FindingsSnapshot {
    /// The layout of the payload; a snapshot of another layout is not read.
    public static let format: UInt8 = 1
    static let file = SnapshotFile(
        name: "findings.snapshot",
        magic: "TIAKI-FINDINGS",
        format: format,
        what: "findings snapshot"
    )

    public static func path(_ directory: LedgerDirectory) -> String { file.path(directory) }

    /// The pass saved in `ledger`'s data directory, ready to read the entries after it, if there is one it can
    /// use; otherwise `nil`, with the reason logged.
    static func load(for ledger: Ledger, options: AuditOptions, logger: Logger) -> LedgerAudit? {
        file.load(for: ledger, logger: logger, fallback: "building the findings from the whole ledger") { raw, size in
            let saved = try Self.saved(raw)
            guard saved.result.entries == size else {
                throw SnapshotFileError("its pass read \(saved.result.entries) entries, its header says \(size)")
            }
            return LedgerAudit(
                restoring: saved,
                options: options,
                policies: try policies(saved.state, from: EntryReader(ledger: ledger))
            )
        }?.value
    }

    /// The policy sets the state's ledger published, read again from their entries.
    static func policies(_ state: ConsentState, from entries: some KeyedEntries) throws -> [String: PolicySet] {
        let published = state.policies.sorted { $0.value < $1.value }
        var sets: [String: PolicySet] = [:]
        for (bytes, (digest, index)) in zip(try entries.entries(at: published.map(\.value)), published) {
            let entry = try ConsentEntry(bytes: bytes)
            guard let p = entry.body as? PolicyPublished, p.digest == digest else {
                throw SnapshotFileError("entry \(index) does not publish policy set \(digest)")
            }
            // As a pass reading it: a set that does not parse is not kept (its decisions cannot be replayed).
            if let set = try? PolicySet.parse(files: p.files) { sets[digest] = set }
        }
        return sets
    }

    // MARK: The payload

    static func payload(_ saved: LedgerAudit.Saved) throws -> [UInt8] {
        var w = CompactWriter()
        w.int((saved.findings ? 1 : 0) | (saved.replay ? 2 : 0))
        w.bytes(try CompactState.encode(saved.state) { Array(try JSONEncoder().encode($0)) })

        var strings = CompactStrings()
        var body = CompactWriter()
        let result = saved.result
        body.word(result.entries)
        body.int(result.decisionsReplayed)
        body.int(result.replayedLate)
        body.int(result.mismatches.count)
        for m in result.mismatches {
            body.word(m.index)
            for s in [m.subject, m.policy, m.recorded, m.replayed] { body.int(strings.id(s)) }
            body.int(m.reasons.count)
            for reason in m.reasons { body.bytes(Array(reason.utf8)) }
        }
        body.int(result.findings.count)
        for f in result.findings {
            body.int(strings.id(f.kind.rawValue))
            body.int(f.subject.map { strings.id($0) } ?? -1)
            body.ints(f.indexes.map { Int(clamping: $0) })
            body.int(f.time.map { strings.id($0) } ?? -1)
            body.bytes(Array(f.summary.utf8))
            if let recipients = f.recipients {
                body.int(1)
                body.strings(recipients, &strings)
            } else {
                body.int(0)
            }
        }
        saved.decisions.encode(into: &body, &strings)
        body.int(saved.disclosuresByConsent.count)
        for (consent, list) in saved.disclosuresByConsent.sorted(by: { $0.key < $1.key }) {
            body.int(consent)
            body.int(list.count)
            for (index, recipient, day) in list {
                body.word(index)
                body.int(strings.id(recipient))
                body.int(Int(day.number))
            }
        }
        body.int(saved.refusals.count)
        for (subject, list) in saved.refusals.sorted(by: { $0.key < $1.key }) {
            body.int(strings.id(subject))
            body.int(list.count)
            for refusal in list {
                body.word(refusal.index)
                body.strings(refusal.purposes, &strings)
                body.strings(refusal.information, &strings)
                body.int(strings.id(refusal.date))
            }
        }
        body.int(saved.awaitingReview.count)
        for (disclosure, pending) in saved.awaitingReview.sorted(by: { $0.key < $1.key }) {
            body.int(disclosure)
            for s in [pending.subject, pending.time, pending.recipient] { body.int(strings.id(s)) }
        }
        w.int(strings.list.count)
        for s in strings.list { w.bytes(Array(s.utf8)) }
        w.raw(body.out)
        return w.out
    }

    static func saved(_ raw: UnsafeRawBufferPointer) throws -> LedgerAudit.Saved {
        var r = CompactReader(raw)
        let flags = try r.int()
        let state = try CompactState.decode(try r.section()) {
            try JSONDecoder().decode(ConsentState.self, from: Data($0))
        }
        let count = try r.count()
        var table: [String] = []
        table.reserveCapacity(count)
        for _ in 0..<count {
            let s = try r.string()
            // A child's id is the state's own copy, so that the decisions naming a child do not each keep one.
            table.append(state.subjects[s]?.id ?? s)
        }
        func string() throws(CompactStateError) -> String { try r.string(table) }
        func text() throws(CompactStateError) -> String { try r.string() }
        func optional() throws(CompactStateError) -> String? {
            let i = try r.int()
            guard i >= 0 else { return nil }
            guard i < table.count else { throw CompactStateError("a string reference is out of range") }
            return table[i]
        }

        var result = AuditResult()
        result.entries = try r.word()
        result.decisionsReplayed = try r.int()
        result.replayedLate = try r.int()
        let mismatches = try r.count()
        for _ in 0..<mismatches {
            let index = try r.word()
            let (subject, policy, recorded, replayed) = (try string(), try string(), try string(), try string())
            let reasonCount = try r.count()
            var reasons: [String] = []
            for _ in 0..<reasonCount { reasons.append(try text()) }
            result.mismatches.append(
                ReplayMismatch(
                    index: index,
                    subject: subject,
                    policy: policy,
                    recorded: recorded,
                    replayed: replayed,
                    reasons: reasons
                )
            )
        }
        let findingCount = try r.count()
        result.findings.reserveCapacity(findingCount)
        for _ in 0..<findingCount {
            guard let kind = FindingKind(rawValue: try string()) else {
                throw CompactStateError("a finding is of no kind this binary knows")
            }
            let subject = try optional()
            let indexes = try r.ints().map { UInt64(max(0, $0)) }
            let time = try optional()
            let summary = try text()
            let recipients = try r.int() == 1 ? try r.strings(table) : nil
            result.findings.append(
                Finding(kind, subject: subject, indexes: indexes, time: time, summary: summary, recipients: recipients)
            )
        }
        let decisions = try DecisionIndex(from: &r, table)
        var disclosuresByConsent: [Int: [(UInt64, String, Day)]] = [:]
        let consents = try r.count()
        disclosuresByConsent.reserveCapacity(consents)
        for _ in 0..<consents {
            let consent = try r.int()
            let n = try r.count()
            var list: [(UInt64, String, Day)] = []
            list.reserveCapacity(n)
            for _ in 0..<n { list.append((try r.word(), try string(), try r.day())) }
            disclosuresByConsent[consent] = list
        }
        var refusals: [String: [(index: UInt64, purposes: [String], information: [String], date: String)]] = [:]
        let refused = try r.count()
        for _ in 0..<refused {
            let subject = try string()
            let n = try r.count()
            for _ in 0..<n {
                refusals[subject, default: []].append(
                    (try r.word(), try r.strings(table), try r.strings(table), try string())
                )
            }
        }
        var awaitingReview: [Int: (subject: String, time: String, recipient: String)] = [:]
        let awaiting = try r.count()
        for _ in 0..<awaiting {
            awaitingReview[try r.int()] = (try string(), try string(), try string())
        }
        guard r.isAtEnd else { throw CompactStateError("bytes are left over after the last review") }
        return LedgerAudit.Saved(
            findings: flags & 1 == 1,
            replay: flags & 2 == 2,
            state: state,
            decisions: decisions,
            disclosuresByConsent: disclosuresByConsent,
            refusals: refusals,
            awaitingReview: awaitingReview,
            result: result
        )
    }
}

extension LedgerAudit {
    /// What a findings snapshot keeps of a pass (copies: the pass goes on while they are written).
    struct Saved {
        var findings: Bool
        var replay: Bool
        var state: ConsentState
        var decisions: DecisionIndex
        var disclosuresByConsent: [Int: [(UInt64, String, Day)]]
        var refusals: [String: [(index: UInt64, purposes: [String], information: [String], date: String)]]
        var awaitingReview: [Int: (subject: String, time: String, recipient: String)]
        var result: AuditResult
    }

    /// The pass as it stands, if it has applied every entry it read (none held back for a decision's basis):
    /// otherwise `nil`, for a snapshot cannot hold entries read but not applied.
    func saved() -> Saved? {
        guard windowStart == window.count, pendingReplay.isEmpty, applied == result.entries else { return nil }
        return Saved(
            findings: findings,
            replay: replay,
            state: state,
            decisions: decisions,
            disclosuresByConsent: disclosuresByConsent,
            refusals: refusals,
            awaitingReview: awaitingReview,
            result: result
        )
    }

    /// A pass that goes on from `saved`, with the policy sets its ledger published.
    convenience init(restoring saved: Saved, options: AuditOptions, policies: [String: PolicySet]) {
        self.init(options: options, findings: saved.findings, replay: saved.replay)
        state = saved.state
        decisions = saved.decisions
        disclosuresByConsent = saved.disclosuresByConsent
        refusals = saved.refusals
        awaitingReview = saved.awaitingReview
        result = saved.result
        applied = saved.result.entries
        self.policies = policies
        for set in policies.values { state.intern(set.vocabulary) }
        // What the pass keeps per child, derived from what was saved.
        for (disclosure, pending) in awaitingReview {
            awaitingBySubject[pending.subject, default: []].insert(disclosure)
        }
        for notice in state.collectionNotices.values.sorted(by: { $0.disclosure < $1.disclosure }) {
            noticesBySubject[notice.subject, default: []].append(notice.disclosure)
        }
    }
}
