import Foundation
import Logging
import Testing
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiPolicy
import TiakiSimulation

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func quietLogger() -> Logger {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}

/// A registry on a fresh data directory under the repository's policies, with a school, an RTLB service and a
/// social agency.
struct AuditFixture {
    let path: String
    let registry: ConsentRegistry
    let service: DecisionService
    let school = Actor(org: "school-a")

    init() async throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-audit-\(UUID().uuidString)").path
        let policy = try PolicySet.load(directory: repositoryRoot.appendingPathComponent("Policies").path)
        registry = try ConsentRegistry.open(
            LedgerDirectory(path: path),
            vocabulary: policy.vocabulary,
            logger: quietLogger()
        )
        service = try await DecisionService(registry: registry, policy: policy)
        for (id, kind) in [("school-a", "school"), ("rtlb", "rtlb"), ("social", "social-agency")] {
            _ = try await registry.registerOrganisation(id: id, kind: kind, name: "The \(id)")
        }
    }

    func child(name: String = "Aroha Smith") async throws -> String {
        try await registry.registerSubject(
            SubjectInput(birthMonth: "2016-04", nsn: String(Int.random(in: 100_000_000..<999_999_999)), name: name),
            actor: school
        ).entry.subject ?? ""
    }

    func consent(_ subject: String, until: String = "2027-12-31", parent: String = "Mere Smith") async throws -> Int {
        let body: JSONValue = [
            "purposes": ["referral"], "information": ["register-entry", "assessment-progress"],
            "audience": ["kinds": ["rtlb"]],
            "sharing": ["channels": ["secure-email"], "storageRegions": ["nz"], "protection": "encrypted email"],
            "retention": ["until": .string(until)], "accuracy": ["contact": "the SENCO", "method": "ask to see it"],
            "withdrawal": ["effect": "support continues; sharing stops", "how": "tell the school"],
            "consenters": [["role": "parent", "name": .string(parent)]],
            "informed": ["date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"],
            "text": "We would like to share Aroha's register entry with the RTLB.",
        ]
        return try await registry.grantConsent(subject: subject, body, actor: school).index
    }

    func request(_ subject: String, recipient: String = "rtlb", date: String = "2026-03-01") -> ShareRequest {
        ShareRequest(
            subject: subject,
            purpose: "referral",
            information: ["register-entry"],
            recipient: recipient,
            channel: "secure-email",
            storageRegion: "nz",
            date: date,
            requester: "school-a",
            requesterRole: "member"
        )
    }

    func audit(asOf: String = "2026-06-01") throws -> AuditResult {
        try LedgerAudit.run(EntryReader(path: path), options: AuditOptions(asOf: Day(asOf) ?? Day(Date())))
    }

    func finish() async {
        await registry.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

@Suite("Audit findings")
struct FindingTests {
    @Test("each kind of problem is found, with the entries that prove it, and nothing when all is well")
    func kinds() async throws {
        let f = try await AuditFixture()
        let clean = try await f.child()
        let consent = try await f.consent(clean)
        let permitted = try await f.service.decideAndRecord(f.request(clean), actor: f.school).recorded.index
        _ = try await f.registry.recordDisclosure(
            subject: clean,
            DisclosureRecord(for: f.request(clean), decision: permitted),
            actor: f.school
        )
        #expect(try f.audit().findings.isEmpty, "a permitted share, made as decided, is not a finding")

        // Shared again after the whānau withdrew: the earlier recipient must be told, the later share is wrong.
        let withdrawal = try await f.registry.withdrawConsent(
            consent,
            by: "parent",
            date: "2026-04-01",
            reason: nil,
            actor: f.school
        ).index
        let late = try await f.registry.recordDisclosure(
            subject: clean,
            DisclosureRecord(for: f.request(clean, date: "2026-04-02"), decision: permitted),
            actor: f.school
        ).index
        // Shared with no decision, and beyond a decision.
        let other = try await f.child(name: "Nikau Brown")
        _ = try await f.consent(other)
        let none = try await f.registry.recordDisclosure(
            subject: other,
            DisclosureRecord(for: f.request(other), decision: nil),
            actor: f.school
        ).index
        let decided = try await f.service.decideAndRecord(f.request(other), actor: f.school).recorded.index
        var beyond = DisclosureRecord(for: f.request(other), decision: decided)
        beyond.recipient = "social"
        let beyondIndex = try await f.registry.recordDisclosure(subject: other, beyond, actor: f.school).index
        // A credential used after it was revoked.
        let credential = try await f.registry.issueCredential(org: "school-a", role: .member).id
        _ = try await f.registry.revokeCredential(id: credential)
        let used = try await f.service.decideAndRecord(
            f.request(other),
            actor: Actor(org: "school-a", credential: credential)
        ).recorded.index

        let findings = try f.audit().findings
        func find(_ kind: FindingKind) -> Finding? { findings.first { $0.kind == kind } }
        #expect(find(.withdrawalRecipientsToTell)?.indexes.first == UInt64(withdrawal))
        #expect(find(.withdrawalRecipientsToTell)?.recipients == ["rtlb"])
        #expect(find(.disclosureAfterWithdrawal)?.indexes == [UInt64(late), UInt64(permitted), UInt64(withdrawal)])
        #expect(find(.disclosureWithoutPermit)?.indexes == [UInt64(none)])
        #expect(find(.disclosureBeyondDecision)?.indexes == [UInt64(beyondIndex), UInt64(decided)])
        #expect(find(.disclosureBeyondDecision)?.summary.contains("to social, not rtlb") == true)
        #expect(find(.credentialUsedAfterRevocation)?.indexes.first == UInt64(used))
        #expect(findings.allSatisfy { $0.severity == $0.kind.severity })
        #expect(find(.decisionReplayMismatch) == nil, "decisions made by the service replay to their effect")
        await f.finish()
    }

    @Test("retention: expiring soon, then overdue until the child is erased; serious-threat shares until reviewed")
    func stateFindings() async throws {
        let f = try await AuditFixture()
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
        let decided = try await f.service.decideAndRecord(threat, actor: f.school)
        #expect(decided.decision.effect == .permit)
        let shared = try await f.registry.recordDisclosure(
            subject: child,
            DisclosureRecord(for: threat, decision: decided.recorded.index),
            actor: f.school
        ).index
        #expect(
            try f.audit().findings.contains { $0.kind == .seriousThreatReviewPending && $0.indexes == [UInt64(shared)] }
        )
        _ = try await f.registry.reviewDisclosure(shared, outcome: "justified", actor: Actor(org: "rtlb"))
        #expect(try !f.audit().findings.contains { $0.kind == .seriousThreatReviewPending })

        _ = try await f.registry.eraseSubject(child, reason: "retention-ended", actor: Actor(org: "rtlb"))
        #expect(try !f.audit(asOf: "2026-07-01").findings.contains { $0.kind == .retentionOverdue })
        await f.finish()
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
        let f = try await AuditFixture()
        let child = try await f.child(name: "Aroha Smith")
        let neighbour = try await f.child(name: "Liam Walker")
        _ = try await f.consent(neighbour, parent: "Ana Walker")
        let consent = try await f.consent(child, parent: "Mere Smith")
        _ = try await f.service.decideAndRecord(f.request(child), actor: f.school)
        _ = try await f.service.decideAndRecord(f.request(child, recipient: "social"), actor: f.school)
        _ = try await f.registry.withdrawConsent(
            consent,
            by: "parent",
            date: "2026-04-01",
            reason: "we moved",
            actor: f.school
        )
        let unseal: (Sealed) -> String? = { try? f.registry.unseal($0, subject: child) }
        let day = Day("2026-05-01") ?? Day(Date())
        let indexed = try #require(
            try SubjectReport.load(subject: child, from: f.registry.ledger, asOf: day, unseal: unseal)
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
        #expect(indexed.consents[0].status == "withdrawn on 2026-04-01 by the parent")
        #expect(indexed.consents[0].agreedBy == ["Mere Smith (parent)"])
        #expect(indexed.events.map(\.kind) == ["decision", "decision", "withdrawal"])
        #expect(indexed.events[1].sentence.contains("no, not permitted"))
        #expect(indexed.text.contains("we moved"))
        #expect(!indexed.text.contains("Walker"), "nothing about another child")
        #expect(indexed.html.hasPrefix("<!doctype html>") && !indexed.html.contains("<script"))

        _ = try await f.registry.eraseSubject(child, reason: "request", actor: Actor(org: "rtlb"))
        let after = try #require(
            try SubjectReport.load(subject: child, from: f.registry.ledger, asOf: day, unseal: unseal)
        )
        #expect(after.erased != nil)
        #expect(after.name == nil)
        #expect(!after.text.contains("Aroha") && !after.text.contains("Mere") && !after.text.contains("we moved"))
        #expect(after.text.contains("Personal details were erased on"))
        #expect(try SubjectReport.load(subject: "s-nobody", from: f.registry.ledger, asOf: day, unseal: unseal) == nil)
        await f.finish()
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
        let body: JSONValue = [
            "purposes": ["referral"], "information": ["register-entry"], "audience": ["kinds": ["rtlb"]],
            "sharing": ["channels": ["secure-email"], "storageRegions": ["nz"], "protection": "encrypted email"],
            "retention": ["until": "2027-12-31"], "accuracy": ["contact": "the SENCO", "method": "ask"],
            "withdrawal": ["effect": "nothing changes", "how": "tell the school"],
            "consenters": [["role": "parent"]],
            "informed": ["date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"],
            "text": "…",
        ]
        let recorded = try await f.registry.grantConsent(subject: child, body, actor: f.school)
        guard case .consentGranted(let terms) = recorded.entry.body else {
            throw ConsentError(.invalid, "not a consent")
        }
        return ConsentReceipt(
            entry: recorded.receipt.entry,
            index: recorded.receipt.index,
            proof: try f.registry.ledger.inclusionProof(
                index: recorded.receipt.index,
                size: recorded.receipt.checkpoint.size
            )
            .hashes,
            checkpoint: recorded.receipt.checkpoint,
            vkey: f.registry.ledger.verifier.vkey,
            terms: terms,
            vocabulary: ConsentSummary.labels(f.registry.vocabulary)
        )
    }

    @Test("a receipt checks out offline, later too; any change to it does not")
    func receipts() async throws {
        let f = try await AuditFixture()
        let r = try await receipt(f)
        let key = f.registry.ledger.verifier
        let check = try r.verify(trustedKey: key)
        #expect(check.summary[0] == "1. Why it is shared: referral to RTLB or specialist learning support services.")
        // Later: more entries, a newer checkpoint, and a consistency proof from the receipt's.
        for _ in 0..<5 { _ = try await f.child() }
        let later = f.registry.ledger.checkpoint
        let proof = try f.registry.ledger.consistencyProof(from: check.checkpointSize, to: later.size)
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
        let stranger = try NoteSigner(name: f.registry.ledger.origin, seed: [UInt8](repeating: 7, count: 32)).verifier
        #expect(throws: ConsentReceipt.Failure.self) { try r.verify(trustedKey: stranger) }
        await f.finish()
    }
}
