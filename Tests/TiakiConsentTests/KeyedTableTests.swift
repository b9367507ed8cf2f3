import Foundation
import Testing
import TiakiModel

/// The table that holds the state's children and consents must behave as the dictionary it replaced: a decision
/// reads it, every entry writes it.
@Suite("The state's keyed tables")
struct KeyedTableTests {
    @Test("agree with a dictionary through random inserts, replacements and removals")
    func agreesWithDictionary() {
        var table: KeyedTable<Int, String> = [:]
        var reference: [Int: String] = [:]
        var random = SystemRandomNumberGenerator()
        for step in 0..<5_000 {
            let key = Int.random(in: 0..<300, using: &random)
            if Int.random(in: 0..<4, using: &random) == 0 {
                table[key] = nil
                reference[key] = nil
            } else {
                table[key] = "v\(step)"
                reference[key] = "v\(step)"
            }
            #expect(table.count == reference.count)
        }
        for key in 0..<300 { #expect(table[key] == reference[key]) }
        #expect(Set(table.keys) == Set(reference.keys))
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == reference)
        // A value changed in place through optional chaining, as the state's entries change consents.
        #expect(!reference.isEmpty)
        for key in reference.keys.prefix(1) {
            table[key]? += "!"
            #expect(table[key] == reference[key].map { $0 + "!" })
        }
    }

    @Test("are written as the dictionary they stand for, and read back equal")
    func codable() throws {
        let table: KeyedTable<String, Int> = ["a": 1, "b": 2, "c": 3]
        let dictionary = ["a": 1, "b": 2, "c": 3]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(table) == encoder.encode(dictionary))
        let back = try JSONDecoder().decode(KeyedTable<String, Int>.self, from: encoder.encode(dictionary))
        #expect(back == table)
        var other = table
        other["b"] = 5
        #expect(other != table)
        other["b"] = nil
        #expect(other != table && other.count == 2)
    }
}
