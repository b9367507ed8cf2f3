import Foundation
import Testing
import TiakiLedger
import TiakiModel

@Suite("Entry encoding")
struct EntryEncodingTests {
    static func randomText(_ rng: inout SystemRandomNumberGenerator) -> String {
        let pieces = ["a", "Z", "ā", "\"", "\\", "\n", "\u{1}", "—", "😀", " ", "kōrero", "\u{7F}", "/"]
        return (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }.joined()
    }

    @Test("a decision written by its own canonical writer is byte for byte what the generic encoder writes")
    func decisionsMatch() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let request = ShareRequest(
                subject: Self.randomText(&rng),
                share: Share(
                    recipient: Self.randomText(&rng),
                    purpose: Self.randomText(&rng),
                    information: (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.randomText(&rng) },
                    channel: Self.randomText(&rng),
                    storageRegion: Self.randomText(&rng)
                ),
                date: Self.randomText(&rng),
                seriousThreat: [nil, true, false].randomElement(using: &rng) ?? nil,
                requester: Self.randomText(&rng),
                requesterRole: Self.randomText(&rng)
            )
            let decision = DecisionRecord(
                request: request,
                effect: Bool.random(using: &rng) ? .permit : .deny,
                rules: (0..<Int.random(in: 0...2, using: &rng)).map { _ in Self.randomText(&rng) },
                consents: (0..<Int.random(in: 0...2, using: &rng)).map { _ in Int.random(in: 0...1 << 40, using: &rng)
                },
                obligations: (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                    Obligation(
                        kind: Self.randomText(&rng),
                        detail: Self.randomText(&rng),
                        due: Bool.random(using: &rng) ? Self.randomText(&rng) : nil
                    )
                },
                reasons: (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.randomText(&rng) },
                policy: Self.randomText(&rng),
                basis: UInt64.random(in: 0...1 << 50, using: &rng)
            )
            let generic = try CanonicalJSON.encode(try JSONValueEncoder().encode(decision))
            #expect(decision.canonicalBytes == generic)
            #expect(CanonicalJSON.isCanonical(decision.canonicalBytes))
            let entry = ConsentEntry(
                actor: EntryActor(org: Self.randomText(&rng), credential: Bool.random(using: &rng) ? "cred-1" : nil),
                subject: request.subject,
                body: decision
            )
            let fast = try entry.draft()
            let slow = try EntryDraft(entry.members())
            #expect(fast.key == slow.key)
            #expect(fast.assembledForTesting(index: 7, time: "t") == slow.assembledForTesting(index: 7, time: "t"))
        }
    }
}
