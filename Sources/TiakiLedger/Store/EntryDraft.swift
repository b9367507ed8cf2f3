public import Foundation

/// The members of an entry before the ledger sequences it, already in canonical form.
///
/// The ledger adds `v` (format version), `index` and `time` when it orders the entry; everything else is encoded
/// here, in the caller's task, so the sequencer only splices bytes together.
public struct EntryDraft: Sendable {
    /// `"name":value` for each member, in RFC 8785 order.
    let members: [[UInt8]]
    /// For `index`, `time` and `v`: how many of `members` sort before it.
    let ranks: (index: Int, time: Int, version: Int)
    /// What the layer above knows about this entry, handed to the commit observer with its index and time.
    package var context: (any Sendable)?
    /// A key the store files this entry under (the layer above's choice, such as its subject), so that
    /// ``Ledger/indexes(forKey:)`` finds every entry of one key without a scan. It should equal the value of
    /// ``LedgerConfiguration/keyMember`` in the entry.
    public var key: String?
    /// For a check-then-append step on a ledger that several instances share: the ledger size the check saw. The
    /// append is refused with ``LedgerError/Code/conflict`` if another instance has since written an entry under
    /// ``key`` (the caller checks again and retries); `nil` when no check depends on it.
    package var checkedAt: UInt64?

    /// Member names the ledger sets itself.
    public static let reservedNames: Set<String> = ["index", "time", "v"]

    /// The current entry format version.
    public static let formatVersion = 1

    /// Members already encoded: each name with its value's canonical bytes, names in RFC 8785 order.
    public init(canonicalMembers: [(name: String, value: [UInt8])]) throws(LedgerError) {
        var encoded: [[UInt8]] = []
        encoded.reserveCapacity(canonicalMembers.count)
        var previous: String?
        for (name, value) in canonicalMembers {
            guard !EntryDraft.reservedNames.contains(name) else {
                throw LedgerError(.invalidEntry, "entry member \"\(name)\" is set by the ledger")
            }
            if let previous, !CanonicalJSON.precedes(previous, name) {
                throw LedgerError(.invalidEntry, "entry members are not in canonical order at \"\(name)\"")
            }
            previous = name
            var bytes: [UInt8] = []
            bytes.reserveCapacity(name.utf8.count + value.count + 3)
            CanonicalJSON.appendString(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: value)
            encoded.append(bytes)
        }
        let names = canonicalMembers.map(\.name)
        func rank(_ reserved: String) -> Int { names.prefix { CanonicalJSON.precedes($0, reserved) }.count }
        self.members = encoded
        self.ranks = (rank("index"), rank("time"), rank("v"))
    }

    public init(_ members: [String: JSONValue]) throws(LedgerError) {
        var encoded: [[UInt8]] = []
        encoded.reserveCapacity(members.count)
        for name in CanonicalJSON.sortedKeys(members.keys) {
            guard !EntryDraft.reservedNames.contains(name) else {
                throw LedgerError(.invalidEntry, "entry member \"\(name)\" is set by the ledger")
            }
            var bytes: [UInt8] = []
            CanonicalJSON.appendString(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            do {
                // The key comes from `members.keys`, so the lookup cannot miss.
                try CanonicalJSON.append(members[name] ?? .null, to: &bytes)
            } catch {
                throw LedgerError(.invalidEntry, "entry member \"\(name)\": \(error.message)")
            }
            encoded.append(bytes)
        }
        let names = CanonicalJSON.sortedKeys(members.keys)
        func rank(_ reserved: String) -> Int { names.prefix { CanonicalJSON.precedes($0, reserved) }.count }
        self.members = encoded
        self.ranks = (rank("index"), rank("time"), rank("v"))
    }

    /// The bytes the ledger would store at `index` and `time`, for tests that compare two ways of building a draft.
    package func assembledForTesting(index: UInt64, time: String) -> [UInt8] { assemble(index: index, time: time) }

    /// The canonical entry with the ledger's members spliced in.
    func assemble(index: UInt64, time: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(members.reduce(48) { $0 + $1.count + 1 } + time.utf8.count)
        var first = true
        func add(_ bytes: some Sequence<UInt8>) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: bytes)
        }
        // `index` < `time` < `v` in UTF-16 order, so their ranks never decrease.
        for (i, member) in members.enumerated() {
            if i == ranks.index { add(Array("\"index\":\(index)".utf8)) }
            if i == ranks.time { add(Array("\"time\":\"\(time)\"".utf8)) }
            if i == ranks.version { add(Array("\"v\":\(EntryDraft.formatVersion)".utf8)) }
            add(member)
        }
        if ranks.index == members.count { add(Array("\"index\":\(index)".utf8)) }
        if ranks.time == members.count { add(Array("\"time\":\"\(time)\"".utf8)) }
        if ranks.version == members.count { add(Array("\"v\":\(EntryDraft.formatVersion)".utf8)) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// RFC 3339 UTC timestamps with milliseconds, as entries carry them.
public enum LedgerTime {
    public static func format(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))Z"
    }
}
