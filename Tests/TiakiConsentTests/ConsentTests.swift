import Foundation
import GRDB
import Logging
import Testing
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiConsent

/// A small policy set: a vocabulary of a few codes per dimension, and consent as the only way to share.
let testPolicy: PolicySet = {
    let files = [
        "vocabulary.yaml": """
        vocabulary:
          purposes: {learning-support-planning: planning, referral: referral, transition: transition}
          information: {register-entry: register entry, assessment-progress: assessments, health-disability: health}
          organisation-kinds: {school: a school, rtlb: RTLB}
          channels: {secure-email: secure email, in-person: in person}
          storage-regions: {nz: New Zealand, australia: Australia}
          consenters: {parent: a parent, young-person: the young person}
        """,
        "rules.yaml": """
        consent:
          any-of: [parent]
          young-person-from-age: 14
          young-person-role: young-person
        rules:
          - id: permit-with-consent
            effect: permit
            when: consent
            because: The whānau agreed.
        """,
    ]
    do {
        return try PolicySet.parse(files: files)
    } catch {
        fatalError("the test policy set does not load: \(error)")
    }
}()

let testVocabulary = testPolicy.vocabulary

func openCore(_ path: String) async throws -> LedgerCore {
    try await LedgerCore.open(LedgerDirectory(path: path), vocabulary: testVocabulary, logger: Logger(label: "test"))
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
        "consenters": [name.map { ["role": .string(consenter), "name": .string($0)] } ?? ["role": .string(consenter)]],
        "informed": ["date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"],
        "text": "We would like to share …",
    ]
    if let supersedes { c["supersedes"] = .number(Double(supersedes)) }
    return .object(c)
}

/// The typed consent the services take, decoded from JSON as the HTTP layer does (unknown fields refused).
func consentInput(
    purposes: [String] = ["referral"],
    information: [String] = ["register-entry"],
    until: String = "2027-12-31",
    consenter: String = "parent",
    name: String? = "Mere Ngata",
    supersedes: Int? = nil
) throws -> ConsentInput {
    try decodeConsent(
        consentJSON(
            purposes: purposes,
            information: information,
            until: until,
            consenter: consenter,
            name: name,
            supersedes: supersedes
        )
    )
}

func decodeConsent(_ json: JSONValue) throws -> ConsentInput {
    try JSONValueDecoder(unknownFields: .refuse(noun: "a consent")).decode(ConsentInput.self, from: json)
}

/// The services on a fresh data directory with a school and an RTLB service, closed and removed however `body`
/// ends (a failing expectation, a thrown error).
struct Fixture {
    let path: String
    let services: TiakiServices
    let school = EntryActor(org: "school-a", credential: "cred-1")

    var core: LedgerCore { services.core }

    static func run(_ body: (Fixture) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-consent-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "test")
        )
        let fixture = Fixture(path: path, services: services)
        do {
            _ = try await services.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
            _ = try await services.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
            try await body(fixture)
        } catch {
            await services.close()
            throw error
        }
        await services.close()
    }

    func child(_ input: SubjectInput = SubjectInput(birthMonth: "2015-04")) async throws -> String {
        try #require(try await services.subjects.register(input, actor: school).entry.subject)
    }
}

@Suite("Sealing and erasure")
struct SealingTests {
    @Test("names and notes are sealed, the NSN finds the subject, and none of it is in the ledger's bytes")
    func sealedAtRest() async throws {
        try await Fixture.run { f in
            let recorded = try await f.services.subjects.register(
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
            let body = try #require(recorded.entry.body as? SubjectRegistered)
            let sealedName = try #require(body.nameSealed)
            #expect(try f.core.unseal(sealedName, subject: subject) == "Aroha Tūhoe")
            #expect(try f.services.subjects.find(nsn: "123456789", for: .member("school-a")) == subject)
            #expect(try f.services.subjects.find(localReference: "R-77", for: .member("school-a")) == subject)
            #expect(try f.services.subjects.find(localReference: "R-77", for: .member("rtlb-a")) == nil)
            _ = try await f.services.consents.grant(
                subject: subject,
                try consentInput(name: "Hemi Tūhoe"),
                actor: f.school
            )
            let all = try f.services.ledger.entries(in: 0..<100).map { String(decoding: $0, as: UTF8.self) }.joined()
            for secret in ["Aroha", "Tūhoe", "Hemi", "123456789", "R-77", "morning"] {
                #expect(!all.contains(secret), "\(secret) is in the clear")
            }
        }
    }

    @Test("after erasure the ledger verifies, sealed fields cannot be opened and the NSN finds nothing")
    func erasure() async throws {
        var path = ""
        try await Fixture.run { f in
            path = f.path
            let recorded = try await f.services.subjects.register(
                SubjectInput(birthMonth: "2015-04", nsn: "987654321", name: "Tama"),
                actor: f.school
            )
            let subject = try #require(recorded.entry.subject)
            let sealedName = try #require((recorded.entry.body as? SubjectRegistered)?.nameSealed)
            _ = try await f.services.subjects.erase(subject, ErasureInput(reason: .request), actor: f.school)
            #expect(try f.core.unseal(sealedName, subject: subject) == nil)
            #expect(try f.services.subjects.find(nsn: "987654321", for: .member("school-a")) == nil)
            #expect(f.core.read { $0.subjects[subject]?.erased != nil })
            await #expect(throws: TiakiError(.erased, "")) {
                try await f.services.consents.grant(subject: subject, try consentInput(), actor: f.school)
            }
            await f.services.close()
            let report = try LedgerVerifier().verify(path: path)
            #expect(report.isValid)
        }
    }

    @Test("a sealed field cannot be moved to another subject")
    func boundToSubject() async throws {
        try await Fixture.run { f in
            let a = try await f.child(SubjectInput(birthMonth: "2015-04", name: "A"))
            let r = try await f.services.subjects.register(
                SubjectInput(birthMonth: "2015-04", name: "B"),
                actor: f.school
            )
            let sealed = try #require((r.entry.body as? SubjectRegistered)?.nameSealed)
            #expect(throws: (any Error).self) { try f.core.unseal(sealed, subject: a) }
        }
    }
}

@Suite("Consent records")
struct ConsentRecordTests {
    @Test(
        "a consent missing a checklist item is refused, naming the item, and nothing is appended",
        arguments: ["purposes", "information", "audience", "sharing", "retention", "accuracy", "withdrawal"]
    )
    func missingItem(_ item: String) async throws {
        try await Fixture.run { f in
            let subject = try await f.child()
            var c = try #require(consentJSON().objectValue)
            c[item] = nil
            let before = f.services.ledger.checkpoint.size
            do {
                _ = try await f.services.consents.grant(
                    subject: subject,
                    try decodeConsent(.object(c)),
                    actor: f.school
                )
                Issue.record("accepted a consent without \(item)")
            } catch let error as TiakiError {
                #expect(error.code == .invalid)
                #expect(error.field == item)
                #expect(error.message.contains("does not say"))
            }
            #expect(f.services.ledger.checkpoint.size == before)
        }
    }

    @Test("unknown codes, unknown organisations, bad dates and bad supersessions are refused with the field")
    func invalidConsents() async throws {
        try await Fixture.run { f in
            let subject = try await f.child()
            let cases: [(ConsentInput, TiakiError.Code, String)] = [
                (try consentInput(purposes: ["refferal"]), .notInVocabulary, "purposes[0]"),
                (try consentInput(information: []), .invalid, "information"),
                (try consentInput(until: "2027-02-30"), .invalid, "retention.until"),
                (try consentInput(consenter: "uncle"), .notInVocabulary, "consenters[0].role"),
                (try consentInput(supersedes: 9999), .invalid, "supersedes"),
            ]
            for (input, code, field) in cases {
                do {
                    _ = try await f.services.consents.grant(subject: subject, input, actor: f.school)
                    Issue.record("accepted \(field)")
                } catch let error as TiakiError {
                    #expect(error.code == code, "\(field): \(error)")
                    #expect(error.field == field, "\(error)")
                }
            }
            do {
                _ = try await f.services.consents.grant(
                    subject: subject,
                    try consentInput(purposes: ["refferal"]),
                    actor: f.school
                )
            } catch let error as TiakiError {
                #expect(error.message.contains("Did you mean referral?"))
            }
            await #expect(throws: TiakiError(.unknownSubject, "")) {
                try await f.services.consents.grant(subject: "s-nobody", try consentInput(), actor: f.school)
            }
        }
    }

    @Test("withdrawing twice is a conflict; supersession marks the old consent")
    func withdrawAndSupersede() async throws {
        try await Fixture.run { f in
            let subject = try await f.child()
            let consents = f.services.consents
            let first = try await consents.grant(subject: subject, try consentInput(), actor: f.school)
            let second = try await consents.grant(
                subject: subject,
                try consentInput(purposes: ["referral", "transition"], supersedes: first.index),
                actor: f.school
            )
            #expect(f.core.read { $0.consents[first.index]?.supersededBy } == second.index)
            await #expect(throws: TiakiError(.conflict, "")) {
                try await consents.grant(subject: subject, try consentInput(supersedes: first.index), actor: f.school)
            }
            _ = try await consents.withdraw(second.index, WithdrawalInput(by: "parent"), actor: f.school)
            await #expect(throws: TiakiError(.conflict, "")) {
                try await consents.withdraw(second.index, WithdrawalInput(by: "parent"), actor: f.school)
            }
        }
    }

    @Test("the live state always equals a full replay of the ledger")
    func stateMatchesReplay() async throws {
        try await Fixture.run { f in
            var subjects: [String] = []
            var consents: [Int] = []
            var rng = SystemRandomNumberGenerator()
            for step in 0..<120 {
                switch subjects.isEmpty ? 0 : Int.random(in: 0..<6, using: &rng) {
                case 0, 1:
                    subjects.append(try await f.child(SubjectInput(birthMonth: "2012-0\(1 + step % 9)")))
                case 2, 3:
                    let s = subjects.randomElement(using: &rng) ?? ""
                    let purpose = ["referral", "transition"].randomElement(using: &rng) ?? "referral"
                    if let c = try? await f.services.consents.grant(
                        subject: s,
                        try consentInput(purposes: [purpose]),
                        actor: f.school
                    ) {
                        consents.append(c.index)
                    }
                case 4:
                    if let c = consents.randomElement(using: &rng) {
                        _ = try? await f.services.consents.withdraw(c, WithdrawalInput(by: "parent"), actor: f.school)
                    }
                default:
                    if let s = subjects.randomElement(using: &rng) {
                        _ = try? await f.services.consents.refuse(
                            subject: s,
                            RefusalInput(purposes: ["referral"], information: ["register-entry"], by: ["parent"]),
                            actor: f.school
                        )
                        if step % 7 == 0 {
                            _ = try? await f.services.subjects.erase(s, ErasureInput(reason: .request), actor: f.school)
                        }
                    }
                }
                if step % 10 == 9 {
                    let replayed = try ConsentState.replay(f.services.ledger)
                    #expect(f.core.read { $0 == replayed }, "after step \(step)")
                }
            }
        }
    }

    @Test("a reopened ledger rebuilds the same state")
    func reopened() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-reopen-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "test")
        )
        let live: ConsentState
        do {
            _ = try await services.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
            let school = EntryActor(org: "school-a")
            for n in 0..<12 {
                let s = try #require(
                    try await services.subjects.register(SubjectInput(birthMonth: "2012-0\(1 + n % 9)"), actor: school)
                        .entry.subject
                )
                let c = try await services.consents.grant(subject: s, try consentInput(), actor: school)
                if n % 3 == 0 {
                    _ = try await services.consents.withdraw(c.index, WithdrawalInput(by: "parent"), actor: school)
                }
                if n % 4 == 0 {
                    _ = try await services.consents.refuse(
                        subject: s,
                        RefusalInput(purposes: ["transition"], information: ["register-entry"], by: ["parent"]),
                        actor: school
                    )
                }
            }
            live = services.core.read { $0 }
        } catch {
            await services.close()
            throw error
        }
        await services.close()
        let reopened = try await openCore(path)
        let same = reopened.read { $0 == live }
        let size = reopened.read { $0.size }
        await reopened.close()
        #expect(same)
        #expect(size == live.size)
    }

    @Test("concurrent writers: the state is updated in ledger order before each append returns")
    func concurrentWriters() async throws {
        try await Fixture.run { f in
            let services = f.services
            let school = f.school
            let input = try consentInput()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        for _ in 0..<10 {
                            let r = try await services.subjects.register(
                                SubjectInput(birthMonth: "2014-05"),
                                actor: school
                            )
                            let s = r.entry.subject ?? ""
                            // Visible to the writer as soon as its append returns.
                            #expect(services.core.read { $0.subjects[s] != nil })
                            let c = try await services.consents.grant(subject: s, input, actor: school)
                            #expect(services.core.read { $0.consents[c.index] != nil })
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(f.core.read { $0.subjects.count } == 160)
            let replayed = try ConsentState.replay(services.ledger)
            #expect(f.core.read { $0 == replayed })
        }
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

extension Caller {
    /// A member of `org`, as a school's credential signs in.
    static func member(_ org: String) -> Caller { Caller(credential: "cred-test", org: org, role: .member) }
}
