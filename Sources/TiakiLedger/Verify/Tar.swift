/// POSIX ustar archives, written by hand: 512-byte headers, contents padded to 512 bytes, two empty blocks at the
/// end. What the export download and `tiaki backup` write; `tar -xf` reads them anywhere.
enum Tar {
    /// Content padded to a whole block.
    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
    }

    /// A ustar header for a regular file. Sizes of 8 GiB and more use the base-256 form GNU tar and bsdtar read.
    static func header(name: String, size: UInt64, modified: UInt64, mode: UInt64 = 0o644) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) {
            for (i, b) in bytes.enumerated() { block[offset + i] = b }
        }
        func octal(_ value: UInt64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.utf8.prefix(100)), at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        if size < 1 << 33 {
            put(octal(size, width: 12), at: 124)
        } else {
            var field = [UInt8](repeating: 0, count: 12)
            field[0] = 0x80
            for i in 0..<8 { field[11 - i] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(i))) }
            put(field, at: 124)
        }
        put(octal(modified, width: 12), at: 136)
        put(Array("        ".utf8), at: 148)
        block[156] = UInt8(ascii: "0")
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(Array("tiaki".utf8), at: 265)
        put(Array("tiaki".utf8), at: 297)
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, 0x20], at: 148)
        return block
    }

    /// The zeros that pad `count` bytes of content to a whole block.
    static func padding(after count: UInt64) -> [UInt8] {
        [UInt8](repeating: 0, count: Int((512 - count % 512) % 512))
    }

    /// The two empty blocks that end an archive.
    static let end = [UInt8](repeating: 0, count: 1024)
}
