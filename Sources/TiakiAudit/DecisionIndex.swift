import TiakiModel

/// Every decision a pass has read, with what a disclosure naming it is checked against: the child, the effect,
/// the share asked for, the consents relied on and whether a privacy officer must review it.
///
/// A pass keeps one for every decision in the ledger, so it is the largest thing a findings pass holds. It is kept
/// compact: the ledger indexes in one sorted array and the facts beside them in another (no hash table), the names
/// (recipient, purpose, channel, region) and the lists of information as numbers into small tables of their own —
/// a cluster uses a few dozen — and the child's id shared with the consent state's copy. About 64 bytes a decision,
/// where the decoded request with its own strings and arrays took several hundred.
struct DecisionIndex {
    /// One decision's facts, as a disclosure is checked against them.
    struct Facts {
        var subject: String
        var effect: DecisionRecord.Effect
        var share: Share
        var consents: [Int]
        var review: Bool
    }

    private struct Packed {
        var subject: String
        var recipient: UInt32
        var purpose: UInt32
        var channel: UInt32
        var storageRegion: UInt32
        var information: UInt32
        var effect: DecisionRecord.Effect
        var review: Bool
        /// The consents relied on when there are at most two (`-1` for none); otherwise both are `-2` and the
        /// list is in `moreConsents`.
        var consent0: Int
        var consent1: Int
    }

    private var indexes: [UInt64] = []
    private var packed: [Packed] = []
    private var moreConsents: [UInt64: [Int]] = [:]
    private var names = Table<String>()
    private var lists = Table<[String]>()

    init() {}

    /// How many decisions it holds.
    var count: Int { indexes.count }

    mutating func insert(
        index: UInt64,
        subject: String,
        effect: DecisionRecord.Effect,
        share: Share,
        consents: [Int],
        review: Bool
    ) {
        // A list that does not fit the pair (or holds a negative number, which only a damaged entry would) is
        // kept whole, so that what is read back is what was read.
        let fits = consents.count <= 2 && consents.allSatisfy { $0 >= 0 }
        let pair: (Int, Int) =
            fits ? (consents.first ?? -1, consents.count == 2 ? consents[1] : -1) : (-2, -2)
        let facts = Packed(
            subject: subject,
            recipient: names.id(share.recipient),
            purpose: names.id(share.purpose),
            channel: names.id(share.channel),
            storageRegion: names.id(share.storageRegion),
            information: lists.id(share.information),
            effect: effect,
            review: review,
            consent0: pair.0,
            consent1: pair.1
        )
        moreConsents[index] = fits ? nil : consents
        if let last = indexes.last, index <= last {
            // A pass reads in ledger order; should one not, the arrays stay sorted all the same.
            let at = position(of: index)
            if at < indexes.count, indexes[at] == index {
                packed[at] = facts
            } else {
                indexes.insert(index, at: at)
                packed.insert(facts, at: at)
            }
        } else {
            indexes.append(index)
            packed.append(facts)
        }
    }

    /// The decision at ledger index `index`, if one was read there.
    subscript(index: UInt64) -> Facts? {
        let at = position(of: index)
        guard at < indexes.count, indexes[at] == index else { return nil }
        let p = packed[at]
        let consents: [Int] =
            if p.consent0 == -2 {
                moreConsents[index] ?? []
            } else {
                [p.consent0, p.consent1].filter { $0 != -1 }
            }
        return Facts(
            subject: p.subject,
            effect: p.effect,
            share: Share(
                recipient: names[p.recipient],
                purpose: names[p.purpose],
                information: lists[p.information],
                channel: names[p.channel],
                storageRegion: names[p.storageRegion]
            ),
            consents: consents,
            review: p.review
        )
    }

    /// Writes the index for a findings snapshot: its two tables, then each decision's facts in ledger order.
    func encode(into w: inout CompactWriter, _ strings: inout CompactStrings) {
        w.int(names.count)
        for name in names.all { w.int(strings.id(name)) }
        w.int(lists.count)
        for list in lists.all { w.strings(list, &strings) }
        w.int(indexes.count)
        var previous: UInt64 = 0
        for (index, p) in zip(indexes, packed) {
            w.word(index &- previous)
            previous = index
            w.int(strings.id(p.subject))
            for id in [p.recipient, p.purpose, p.channel, p.storageRegion, p.information] { w.word(UInt64(id)) }
            w.int((p.effect == .permit ? 1 : 0) | (p.review ? 2 : 0))
            w.int(p.consent0)
            w.int(p.consent1)
            if p.consent0 == -2 { w.ints(moreConsents[index] ?? []) }
        }
    }

    /// Reads what ``encode(into:_:)`` wrote, the strings referring to `table`; every reference is checked.
    init(from r: inout CompactReader, _ table: [String]) throws(CompactStateError) {
        let nameCount = try r.count()
        for _ in 0..<nameCount { _ = names.id(try r.string(table)) }
        let listCount = try r.count()
        for _ in 0..<listCount { _ = lists.id(try r.strings(table)) }
        guard names.count == nameCount, lists.count == listCount else {
            throw CompactStateError("a decision table holds the same value twice")
        }
        let count = try r.count()
        indexes.reserveCapacity(count)
        packed.reserveCapacity(count)
        var index: UInt64 = 0
        for n in 0..<count {
            let step = try r.word()
            guard n == 0 || step > 0, index <= UInt64.max - step else {
                throw CompactStateError("the decisions are not in ledger order")
            }
            index += step
            let subject = try r.string(table)
            var ids: [UInt32] = []
            for _ in 0..<5 {
                let id = try r.word()
                guard id <= UInt64(UInt32.max) else {
                    throw CompactStateError("a decision refers to a name that is not in its table")
                }
                ids.append(UInt32(id))
            }
            guard ids[0..<4].allSatisfy({ Int($0) < nameCount }), Int(ids[4]) < listCount else {
                throw CompactStateError("a decision refers to a name that is not in its table")
            }
            let flags = try r.int()
            let consent0 = try r.int()
            let consent1 = try r.int()
            if consent0 == -2 { moreConsents[index] = try r.ints() }
            indexes.append(index)
            packed.append(
                Packed(
                    subject: subject,
                    recipient: ids[0],
                    purpose: ids[1],
                    channel: ids[2],
                    storageRegion: ids[3],
                    information: ids[4],
                    effect: flags & 1 == 1 ? .permit : .deny,
                    review: flags & 2 == 2,
                    consent0: consent0,
                    consent1: consent1
                )
            )
        }
    }

    /// The first position whose index is not below `index`.
    private func position(of index: UInt64) -> Int {
        var low = 0
        var high = indexes.count
        while low < high {
            let middle = (low + high) / 2
            if indexes[middle] < index { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Values numbered in the order first seen.
    private struct Table<Value: Hashable> {
        private var values: [Value] = []
        private var ids: [Value: UInt32] = [:]

        mutating func id(_ value: Value) -> UInt32 {
            if let id = ids[value] { return id }
            let id = UInt32(values.count)
            values.append(value)
            ids[value] = id
            return id
        }

        subscript(id: UInt32) -> Value { values[Int(id)] }

        /// The values in the order they were numbered.
        var all: [Value] { values }
        var count: Int { values.count }
    }
}
