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

    static func randomDecision(_ rng: inout SystemRandomNumberGenerator) -> DecisionRecord {
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
        return DecisionRecord(
            request: request,
            effect: Bool.random(using: &rng) ? .permit : .deny,
            rules: (0..<Int.random(in: 0...2, using: &rng)).map { _ in Self.randomText(&rng) },
            consents: (0..<Int.random(in: 0...2, using: &rng)).map { _ in Int.random(in: 0...1 << 40, using: &rng) },
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
    }

    @Test("a decision written by its own canonical writer is byte for byte what the generic encoder writes")
    func decisionsMatch() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let decision = Self.randomDecision(&rng)
            let generic = try CanonicalJSON.encode(try JSONValueEncoder().encode(decision))
            #expect(decision.canonicalBytes == generic)
            #expect(CanonicalJSON.isCanonical(decision.canonicalBytes))
            let entry = ConsentEntry(
                actor: EntryActor(org: Self.randomText(&rng), credential: Bool.random(using: &rng) ? "cred-1" : nil),
                subject: decision.request.subject,
                body: decision
            )
            let fast = try entry.draft()
            let slow = try EntryDraft(entry.members())
            #expect(fast.key == slow.key)
            #expect(fast.assembledForTesting(index: 7, time: "t") == slow.assembledForTesting(index: 7, time: "t"))
        }
    }

    @Test("a decision's answer made from its recorded bytes is byte for byte the record written again, and canonical")
    func answerFromRecordedBytes() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let decision = Self.randomDecision(&rng)
            let entry = ConsentEntry(actor: EntryActor(org: "school-a"), subject: "s-1", body: decision)
            let recorded = try #require(try entry.draftKeepingBody().body)
            #expect(recorded == decision.canonicalBytes)
            let index = UInt64.random(in: 0...1 << 50, using: &rng)
            let checkpoint = "example.org/log\n\(index + 1)\n" + Self.randomText(&rng) + "\n\n— key AAAA\n"
            var writer = CanonicalWriter()
            decision.write(to: &writer, decision: index, checkpoint: checkpoint)
            let answer = try #require(
                DecisionRecord.response(recorded: recorded, decision: index, checkpoint: checkpoint)
            )
            #expect(answer == writer.bytes)
            #expect(CanonicalJSON.isCanonical(answer))
        }
        // Bytes that do not begin as a decision's body does are not spliced (the caller writes the record again).
        let consent = Array(#"{"basis":1,"effect":"permit"}"#.utf8)
        #expect(DecisionRecord.response(recorded: consent, decision: 1, checkpoint: "c") == nil)
        #expect(
            DecisionRecord.response(
                recorded: Array(#"{"basis":,"consents":[],"effect":""}"#.utf8),
                decision: 1,
                checkpoint: "c"
            ) == nil
        )
        #expect(DecisionRecord.response(recorded: [], decision: 1, checkpoint: "c") == nil)
    }
}

@Suite("Entry kinds")
struct EntryKindListTests {
    @Test("the kinds are the closed enum's cases, each its own type and name, in the order the ledger has known them")
    func closedList() {
        // Pinned: a kind renamed, dropped or reordered changes what every instance and verifier reads.
        #expect(
            EntryKind.allCases.map(\.rawValue) == [
                "org.registered", "credential.issued", "credential.revoked", "policy.published",
                "subject.registered", "subject.enrolled", "consent.granted", "consent.withdrawn", "consent.refused",
                "withdrawal.acknowledged", "decision", "disclosure", "disclosure.reviewed", "notice.sent",
                "notice.exception", "breach.recorded", "breach.assessed", "breach.commissioner-notified",
                "subject.erased",
            ]
        )
        let types = TypedEntryBody.Tag.allCases.map { ObjectIdentifier($0.type) }
        #expect(Set(types).count == types.count)
        for name in EntryKind.allCases.map(\.rawValue) { #expect(EntryKind.known(name)?.rawValue == name) }
    }
}
