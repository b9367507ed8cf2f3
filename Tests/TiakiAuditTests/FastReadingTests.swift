import Foundation
import Testing
import TiakiLedger
import TiakiModel

/// Entries read back from the ledger take a hand-written path for the kinds written most often; whatever it gives
/// must be what the `Decodable` path gives, and anything it does not read plainly must be left to that path.
@Suite("Reading entries without Decodable")
struct FastReadingTests {
    private let decoder = JSONValueDecoder()

    /// The fast reading of `body` agrees with the `Decodable` one: equal when it reads it, and it does not read
    /// what `Decodable` refuses.
    private func agrees(_ body: JSONValue, _ what: Comment) -> DecisionRecord? {
        let fast = DecisionRecord.fast(body)
        let slow = try? decoder.decode(DecisionRecord.self, from: body)
        if let fast { #expect(fast == slow, what) }
        if slow == nil { #expect(fast == nil, what) }
        return fast
    }

    @Test("every decision and actor of a simulated term reads the same both ways, and the fast way reads them all")
    func simulatedTerm() async throws {
        let ledger = try await simulatedLedger(subjects: 60, days: 120, seed: 11)
        defer { try? FileManager.default.removeItem(atPath: ledger.path) }
        var decisions = 0
        for (index, bytes) in ledger.entries {
            let json = try JSONParser().parse(bytes)
            let actor = try #require(json["actor"])
            #expect(EntryActor.fast(actor) == (try decoder.decode(EntryActor.self, from: actor)), "entry \(index)")
            guard json["kind"]?.stringValue == EntryKind.decision.rawValue else { continue }
            decisions += 1
            let body = try #require(json["body"])
            #expect(agrees(body, "entry \(index)") != nil, "entry \(index) was left to Decodable")
            // The entry as a whole, read as the ledger reads it, holds the same body.
            let entry = try ConsentEntry(bytes: bytes)
            #expect(entry.body as? DecisionRecord == (try decoder.decode(DecisionRecord.self, from: body)))
        }
        #expect(decisions > 100)
    }

    @Test("anything but the plain layout is left to Decodable, which reads it or refuses it as before")
    func unusualBodies() async throws {
        let ledger = try await simulatedLedger(subjects: 20, days: 60, seed: 3)
        defer { try? FileManager.default.removeItem(atPath: ledger.path) }
        let decision = try #require(
            ledger.entries.lazy.map { try? JSONParser().parse($0.1) }
                .first { $0?["kind"]?.stringValue == EntryKind.decision.rawValue }??["body"]
        )
        guard case .object(var body) = decision, case .object(let request)? = body["request"] else {
            Issue.record("a decision's body is not an object")
            return
        }
        func with(_ change: (inout [String: JSONValue], inout [String: JSONValue]) -> Void) -> JSONValue {
            var b = body
            var r = request
            change(&b, &r)
            b["request"] = .object(r)
            return .object(b)
        }
        // Read the same both ways.
        #expect(agrees(with { b, _ in b["later"] = .string("a member a later version adds") }, "unknown member") != nil)
        #expect(agrees(with { _, r in r["seriousThreat"] = .bool(true) }, "serious threat") != nil)
        #expect(agrees(with { _, r in r["seriousThreat"] = .null }, "null serious threat") != nil)
        #expect(agrees(with { _, r in r.removeValue(forKey: "seriousThreat") }, "no serious threat") != nil)
        let obligation: JSONValue = .object(["kind": .string("notify"), "detail": .string("d"), "due": .null])
        #expect(
            agrees(with { b, _ in b["obligations"] = .array([obligation]) }, "an obligation with no due day") != nil
        )
        // Refused by Decodable, so not read the fast way either.
        let refused: [(JSONValue, Comment)] = [
            (with { _, r in r["seriousThreat"] = .string("yes") }, "serious threat as text"),
            (with { b, _ in b["basis"] = .number(-1) }, "negative basis"),
            (with { b, _ in b["consents"] = .array([.number(1.5)]) }, "a fractional consent index"),
            (with { b, _ in b["effect"] = .string("maybe") }, "an unknown effect"),
            (with { b, _ in b.removeValue(forKey: "reasons") }, "no reasons"),
            (with { _, r in r.removeValue(forKey: "purpose") }, "no purpose"),
            (with { _, r in r["information"] = .array([.number(1)]) }, "information not text"),
            (
                with { b, _ in b["obligations"] = .array([.object(["kind": .string("notify")])]) },
                "an obligation cut short"
            ),
            (.array([]), "not an object"),
        ]
        for (value, what) in refused {
            #expect(DecisionRecord.fast(value) == nil, what)
            #expect((try? decoder.decode(DecisionRecord.self, from: value)) == nil, what)
        }
        // Actors.
        #expect(EntryActor.fast(.object(["org": .string("school-a")])) == EntryActor(org: "school-a"))
        #expect(
            EntryActor.fast(.object(["org": .string("a"), "credential": .string("c")]))
                == EntryActor(org: "a", credential: "c")
        )
        #expect(EntryActor.fast(.object(["org": .string("a"), "credential": .number(1)])) == nil)
        #expect(EntryActor.fast(.object(["credential": .string("c")])) == nil)
        #expect(EntryActor.fast(.null) == nil)
        body["request"] = .null
        #expect(DecisionRecord.fast(.object(body)) == nil)
    }
}
