/// The pieces of Tiaki's compact binary layouts (the state snapshot's, the findings snapshot's): LEB128 numbers
/// (zig-zag for signed ones), byte strings with their length first, and a table of strings written once and
/// referred to by number. A reader checks every length and reference against what is left.

package struct CompactStrings {
    package init() {}

    package var list: [String] = []
    package var ids: [String: Int] = [:]

    package mutating func id(_ s: String) -> Int {
        if let i = ids[s] { return i }
        list.append(s)
        ids[s] = list.count - 1
        return list.count - 1
    }
}

package struct CompactWriter {
    package init() {}

    package var out: [UInt8] = []

    package mutating func int(_ value: Int) {
        // Zig-zag, so that the -1 of "none" is one byte.
        var v = UInt64(bitPattern: Int64((value << 1) ^ (value >> 63)))
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    package mutating func word(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    package mutating func bytes(_ b: [UInt8]) {
        int(b.count)
        out += b
    }

    package mutating func raw(_ b: [UInt8]) { out += b }

    package mutating func deltas(_ list: [Int]) {
        int(list.count)
        var previous = 0
        for i in list {
            int(i &- previous)
            previous = i
        }
    }

    package mutating func ints(_ list: [Int]) {
        int(list.count)
        for i in list { int(i) }
    }

    package mutating func strings(_ list: [String], _ table: inout CompactStrings) {
        int(list.count)
        for s in list { int(table.id(s)) }
    }
}

package struct CompactReader {
    package let buffer: UnsafeRawBufferPointer
    package var at = 0

    package init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    package var isAtEnd: Bool { at == buffer.count }

    package mutating func word() throws(CompactStateError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while at < buffer.count {
            let byte = buffer[at]
            at += 1
            guard shift < 64 else { break }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw CompactStateError("a number runs past the end")
    }

    package mutating func int() throws(CompactStateError) -> Int {
        let v = try word()
        return Int(Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))))
    }

    /// A count of things still to read: never more than the bytes left, so a damaged count cannot make a
    /// reader reserve gigabytes.
    package mutating func count() throws(CompactStateError) -> Int {
        let n = try int()
        guard n >= 0, n <= buffer.count - at else { throw CompactStateError("a count does not fit the file") }
        return n
    }

    package mutating func bytes() throws(CompactStateError) -> [UInt8] {
        let n = try count()
        defer { at += n }
        return Array(buffer[at..<at + n])
    }

    package mutating func string() throws(CompactStateError) -> String {
        let n = try count()
        defer { at += n }
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[at..<at + n]), as: UTF8.self)
    }

    /// A section of known length, to be read by a reader of its own.
    package mutating func section() throws(CompactStateError) -> UnsafeRawBufferPointer {
        let n = try count()
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: buffer[at..<at + n])
    }

    /// A reference into the table of strings.
    package mutating func string(_ table: [String]) throws(CompactStateError) -> String {
        let i = try int()
        guard i >= 0, i < table.count else { throw CompactStateError("a string reference is out of range") }
        return table[i]
    }

    package mutating func strings(_ table: [String]) throws(CompactStateError) -> [String] {
        let n = try count()
        var list: [String] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try string(table)) }
        return list
    }

    package mutating func ints() throws(CompactStateError) -> [Int] {
        let n = try count()
        var list: [Int] = []
        list.reserveCapacity(n)
        for _ in 0..<n { list.append(try int()) }
        return list
    }

    package mutating func deltas() throws(CompactStateError) -> [Int] {
        let n = try count()
        var list: [Int] = []
        list.reserveCapacity(n)
        var previous = 0
        for _ in 0..<n {
            previous &+= try int()
            list.append(previous)
        }
        return list
    }

    package mutating func day() throws(CompactStateError) -> Day {
        let n = try int()
        guard let number = Int32(exactly: n) else { throw CompactStateError("a day is out of range") }
        return Day(number: number)
    }

    package mutating func index() throws(CompactStateError) -> UInt64 {
        let n = try int()
        guard n >= 0 else { throw CompactStateError("an index is negative") }
        return UInt64(n)
    }

    /// An optional number written as -1 for none.
    package mutating func optional() throws(CompactStateError) -> Int? {
        let n = try int()
        return n < 0 ? nil : n
    }

}
