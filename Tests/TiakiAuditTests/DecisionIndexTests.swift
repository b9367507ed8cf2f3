import Testing
import TiakiModel

@testable import TiakiAudit

/// The compact index of decisions a findings pass keeps must give back exactly what it was given: a disclosure is
/// judged against it.
@Suite("The findings pass's index of decisions")
struct DecisionIndexTests {
    func share(_ recipient: String, _ information: [String]) -> Share {
        Share(
            recipient: recipient,
            purpose: "referral",
            information: information,
            channel: "secure-email",
            storageRegion: "nz"
        )
    }

    @Test("gives back each decision's child, effect, share, consents and review, whatever the number of consents")
    func roundTrip() throws {
        var index = DecisionIndex()
        let lists: [[Int]] = [[], [7], [7, 9], [3, 5, 8], [-4], [0, -1], [2, 2]]
        for (n, consents) in lists.enumerated() {
            index.insert(
                index: UInt64(10 + n),
                subject: "s-\(n)",
                effect: n % 2 == 0 ? .permit : .deny,
                share: share(n % 3 == 0 ? "rtlb" : "mol", n == 2 ? ["register-entry", "health-disability"] : ["x"]),
                consents: consents,
                review: n == 3
            )
        }
        #expect(index.count == lists.count)
        for (n, consents) in lists.enumerated() {
            let facts = try #require(index[UInt64(10 + n)])
            #expect(facts.subject == "s-\(n)")
            #expect(facts.effect == (n % 2 == 0 ? .permit : .deny))
            #expect(
                facts.share
                    == share(n % 3 == 0 ? "rtlb" : "mol", n == 2 ? ["register-entry", "health-disability"] : ["x"])
            )
            #expect(facts.consents == consents)
            #expect(facts.review == (n == 3))
        }
        #expect(index[9] == nil)
        #expect(index[17] == nil)
    }

    @Test("stays sorted when a decision is read out of order, and a second reading of an index replaces the first")
    func outOfOrder() throws {
        var index = DecisionIndex()
        for i: UInt64 in [5, 1, 9, 3] {
            index.insert(
                index: i,
                subject: "s-\(i)",
                effect: .permit,
                share: share("rtlb", []),
                consents: [Int(i)],
                review: false
            )
        }
        index.insert(index: 3, subject: "s-again", effect: .deny, share: share("mol", []), consents: [], review: true)
        #expect(index.count == 4)
        for i: UInt64 in [1, 5, 9] { #expect(try #require(index[i]).consents == [Int(i)]) }
        let replaced = try #require(index[3])
        #expect(replaced.subject == "s-again" && replaced.effect == .deny && replaced.review)
        #expect(index[2] == nil && index[4] == nil && index[10] == nil && index[0] == nil)
    }
}
