import Foundation
import GRDB
import Logging
import Testing
import TiakiLedger

@testable import TiakiConsent

let testVocabulary = Vocabulary([
    .purpose: [("learning-support-planning", "planning"), ("referral", "referral"), ("transition", "transition")],
    .information: [
        ("register-entry", "register entry"), ("assessment-progress", "assessments"), ("health-disability", "health"),
    ],
    .organisationKind: [("school", "a school"), ("rtlb", "RTLB")],
    .channel: [("secure-email", "secure email"), ("in-person", "in person")],
    .storageRegion: [("nz", "New Zealand"), ("australia", "Australia")],
    .consenter: [("parent", "a parent"), ("young-person", "the young person")],
])

func openRegistry(_ path: String) throws -> ConsentRegistry {
    try ConsentRegistry.open(LedgerDirectory(path: path), vocabulary: testVocabulary, logger: Logger(label: "test"))
}

func consentJSON(
    purposes: [String] = ["referral"],
    information: [String] = ["register-entry"],
    until: String = "2027-12-31",
    consenter: String = "parent",
    name: String? = "Mere Ngata",
    supersedes: Int? = nil
) -> JSONValue {
    var c: [String: JSONValue] = [
        "purposes": .array(purposes.map { .string($0) }),
        "information": .array(information.map { .string($0) }),
        "audience": ["kinds": ["rtlb"]],
        "sharing": ["channels": ["secure-email"], "storageRegions": ["nz"], "protection": "encrypted email only"],
        "retention": ["until": .string(until)],
        "accuracy": ["contact": "the learning support coordinator", "method": "ask to see the register entry"],
        "withdrawal": ["effect": "support continues; sharing stops", "how": "tell the school"],
        "consenters": [["role": .string(consenter), "name": name.map { .string($0) } ?? .null]],
        "informed": ["date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"],
        "text": "We would like to share …",
    ]
    if let supersedes { c["supersedes"] = .number(Double(supersedes)) }
    return .object(c)
}

struct Fixture {
    let path: String
    let registry: ConsentRegistry
    let school = Actor(org: "school-a", credential: "cred-1")

    init() async throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-consent-\(UUID().uuidString)").path
        registry = try openRegistry(path)
        _ = try await registry.registerOrganisation(id: "school-a", kind: "school", name: "School A")
        _ = try await registry.registerOrganisation(id: "rtlb-a", kind: "rtlb", name: "RTLB A")
    }

    func finish() async {
        await registry.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

@Suite("Sealing and erasure")
struct SealingTests {
    @Test("names and notes are sealed, the NSN finds the subject, and none of it is in the ledger's bytes")
    func sealedAtRest() async throws {
        let f = try await Fixture()
        let recorded = try await f.registry.registerSubject(
            SubjectInput(
                birthMonth: "2015-04",
                nsn: "123456789",
                localReference: "R-77",
                name: "Aroha Tūhoe",
                notes: "Prefers morning meetings"
            ),
            actor: f.school
        )
        let subject = try #require(recorded.entry.subject)
        guard case .subjectRegistered(let body) = recorded.entry.body, let sealedName = body.nameSealed else {
            Issue.record("no sealed name")
            return
        }
        #expect(try f.registry.unseal(sealedName, subject: subject) == "Aroha Tūhoe")
        #expect(try f.registry.findSubject(nsn: "123456789") == subject)
        #expect(try f.registry.findSubject(org: "school-a", localReference: "R-77") == subject)
        #expect(try f.registry.findSubject(org: "rtlb-a", localReference: "R-77") == nil)
        _ = try await f.registry.grantConsent(subject: subject, consentJSON(name: "Hemi Tūhoe"), actor: f.school)
        let all = try f.registry.ledger.entries(in: 0..<100).map { String(decoding: $0, as: UTF8.self) }.joined()
        for secret in ["Aroha", "Tūhoe", "Hemi", "123456789", "R-77", "morning"] {
            #expect(!all.contains(secret), "\(secret) is in the clear")
        }
        await f.finish()
    }

    @Test("after erasure the ledger verifies, sealed fields cannot be opened and the NSN finds nothing")
    func erasure() async throws {
        let f = try await Fixture()
        let recorded = try await f.registry.registerSubject(
            SubjectInput(birthMonth: "2015-04", nsn: "987654321", name: "Tama"),
            actor: f.school
        )
        let subject = try #require(recorded.entry.subject)
        guard case .subjectRegistered(let body) = recorded.entry.body, let sealedName = body.nameSealed else { return }
        _ = try await f.registry.eraseSubject(subject, reason: "request", actor: f.school)
        #expect(try f.registry.unseal(sealedName, subject: subject) == nil)
        #expect(try f.registry.findSubject(nsn: "987654321") == nil)
        #expect(f.registry.withState { $0.subjects[subject]?.erased != nil })
        await #expect(throws: ConsentError(.erased, "")) {
            try await f.registry.grantConsent(subject: subject, consentJSON(), actor: f.school)
        }
        await f.registry.close()
        let report = try LedgerVerifier().verify(path: f.path)
        #expect(report.isValid)
        try? FileManager.default.removeItem(atPath: f.path)
    }

    @Test("a sealed field cannot be moved to another subject")
    func boundToSubject() async throws {
        let f = try await Fixture()
        let a = try #require(
            try await f.registry.registerSubject(SubjectInput(birthMonth: "2015-04", name: "A"), actor: f.school).entry
                .subject
        )
        let r = try await f.registry.registerSubject(SubjectInput(birthMonth: "2015-04", name: "B"), actor: f.school)
        guard case .subjectRegistered(let body) = r.entry.body, let sealed = body.nameSealed else { return }
        #expect(throws: (any Error).self) { try f.registry.unseal(sealed, subject: a) }
        await f.finish()
    }
}

@Suite("Consent records")
struct ConsentRecordTests {
    @Test(
        "a consent missing a checklist item is refused, naming the item, and nothing is appended",
        arguments: ["purposes", "information", "audience", "sharing", "retention", "accuracy", "withdrawal"]
    )
    func missingItem(_ item: String) async throws {
        let f = try await Fixture()
        let subject = try #require(
            try await f.registry.registerSubject(SubjectInput(birthMonth: "2015-04"), actor: f.school).entry.subject
        )
        guard case .object(var c) = consentJSON() else { return }
        c[item] = nil
        let before = f.registry.ledger.checkpoint.size
        do {
            _ = try await f.registry.grantConsent(subject: subject, .object(c), actor: f.school)
            Issue.record("accepted a consent without \(item)")
        } catch let error as ConsentError {
            #expect(error.code == .invalid)
            #expect(error.field == item)
            #expect(error.message.contains("does not say"))
        }
        #expect(f.registry.ledger.checkpoint.size == before)
        await f.finish()
    }

    @Test("unknown codes, unknown organisations, bad dates and bad supersessions are refused with the field")
    func invalidConsents() async throws {
        let f = try await Fixture()
        let subject = try #require(
            try await f.registry.registerSubject(SubjectInput(birthMonth: "2015-04"), actor: f.school).entry.subject
        )
        let cases: [(JSONValue, ConsentError.Code, String)] = [
            (consentJSON(purposes: ["refferal"]), .notInVocabulary, "purposes[0]"),
            (consentJSON(information: []), .invalid, "information"),
            (consentJSON(until: "2027-02-30"), .invalid, "retention.until"),
            (consentJSON(consenter: "uncle"), .notInVocabulary, "consenters[0].role"),
            (consentJSON(supersedes: 9999), .unknownConsent, "supersedes"),
        ]
        for (input, code, field) in cases {
            do {
                _ = try await f.registry.grantConsent(subject: subject, input, actor: f.school)
                Issue.record("accepted \(field)")
            } catch let error as ConsentError {
                #expect(error.code == code, "\(field): \(error)")
                #expect(error.field == field, "\(error)")
            }
        }
        do {
            _ = try await f.registry.grantConsent(
                subject: subject,
                consentJSON(purposes: ["refferal"]),
                actor: f.school
            )
        } catch let error as ConsentError {
            #expect(error.message.contains("Did you mean referral?"))
        }
        await #expect(throws: ConsentError(.unknownSubject, "")) {
            try await f.registry.grantConsent(subject: "s-nobody", consentJSON(), actor: f.school)
        }
        await f.finish()
    }

    @Test("withdrawing twice is a conflict; supersession marks the old consent")
    func withdrawAndSupersede() async throws {
        let f = try await Fixture()
        let subject = try #require(
            try await f.registry.registerSubject(SubjectInput(birthMonth: "2015-04"), actor: f.school).entry.subject
        )
        let first = try await f.registry.grantConsent(subject: subject, consentJSON(), actor: f.school)
        let second = try await f.registry.grantConsent(
            subject: subject,
            consentJSON(purposes: ["referral", "transition"], supersedes: first.index),
            actor: f.school
        )
        #expect(f.registry.withState { $0.consents[first.index]?.supersededBy } == second.index)
        await #expect(throws: ConsentError(.conflict, "")) {
            try await f.registry.grantConsent(subject: subject, consentJSON(supersedes: first.index), actor: f.school)
        }
        _ = try await f.registry.withdrawConsent(second.index, by: "parent", actor: f.school)
        await #expect(throws: ConsentError(.conflict, "")) {
            try await f.registry.withdrawConsent(second.index, by: "parent", actor: f.school)
        }
        await f.finish()
    }

    @Test("the live state always equals a full replay of the ledger, and a reopened registry rebuilds it")
    func stateMatchesReplay() async throws {
        let f = try await Fixture()
        var subjects: [String] = []
        var consents: [Int] = []
        var rng = SystemRandomNumberGenerator()
        for step in 0..<120 {
            switch subjects.isEmpty ? 0 : Int.random(in: 0..<6, using: &rng) {
            case 0, 1:
                subjects.append(
                    try #require(
                        try await f.registry.registerSubject(
                            SubjectInput(birthMonth: "2012-0\(1 + step % 9)"),
                            actor: f.school
                        ).entry.subject
                    )
                )
            case 2, 3:
                let s = subjects.randomElement(using: &rng) ?? ""
                if let c = try? await f.registry.grantConsent(
                    subject: s,
                    consentJSON(purposes: [["referral", "transition"].randomElement(using: &rng) ?? "referral"]),
                    actor: f.school
                ) {
                    consents.append(c.index)
                }
            case 4:
                if let c = consents.randomElement(using: &rng) {
                    _ = try? await f.registry.withdrawConsent(c, by: "parent", actor: f.school)
                }
            default:
                if let s = subjects.randomElement(using: &rng) {
                    _ = try? await f.registry.refuseConsent(
                        subject: s,
                        purposes: ["referral"],
                        information: ["register-entry"],
                        by: ["parent"],
                        actor: f.school
                    )
                    if step % 7 == 0 { _ = try? await f.registry.eraseSubject(s, reason: "request", actor: f.school) }
                }
            }
            if step % 10 == 9 {
                let replayed = try ConsentState.replay(f.registry.ledger)
                #expect(f.registry.withState { $0 == replayed }, "after step \(step)")
            }
        }
        let live = f.registry.withState { $0 }
        await f.registry.close()
        let reopened = try openRegistry(f.path)
        #expect(reopened.withState { $0 == live })
        #expect(reopened.withState { $0.size } == live.size)
        await reopened.close()
        try? FileManager.default.removeItem(atPath: f.path)
    }

    @Test("concurrent writers: the state is updated in ledger order before each append returns")
    func concurrentWriters() async throws {
        let f = try await Fixture()
        let registry = f.registry
        let school = f.school
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    for _ in 0..<10 {
                        let r = try await registry.registerSubject(SubjectInput(birthMonth: "2014-05"), actor: school)
                        let s = r.entry.subject ?? ""
                        // Visible to the writer as soon as its append returns.
                        #expect(registry.withState { $0.subjects[s] != nil })
                        let c = try await registry.grantConsent(subject: s, consentJSON(), actor: school)
                        #expect(registry.withState { $0.consents[c.index] != nil })
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(f.registry.withState { $0.subjects.count } == 160)
        #expect(f.registry.withState { $0 == (try? ConsentState.replay(registry.ledger)) })
        await f.finish()
    }
}

@Suite("Entry kind from canonical bytes")
struct KindSniffTests {
    @Test("the top-level kind is found even when the body holds a member named kind")
    func sniff() throws {
        for kind in EntryKind.allCases {
            let members: [String: JSONValue] = [
                "kind": .string(kind.rawValue), "actor": ["org": "a"], "subject": "s-1",
                "body": [
                    "kind": "decision", "note": "\"kind\":\"disclosure\"", "nested": ["kind": "policy.published"],
                ],
            ]
            let bytes = try CanonicalJSON.encode(
                .object(members.merging(["index": 3, "time": "2026-01-01T00:00:00.000Z", "v": 1]) { a, _ in a })
            )
            #expect(ConsentEntry.kind(ofCanonical: bytes) == kind)
        }
        #expect(ConsentEntry.kind(ofCanonical: Array("{}".utf8)) == nil)
    }
}
