import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line through one reusable buffer, so memory stays flat however large the file.
final class LineReader {
    let path: String
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEnd = false
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Bytes consumed so far, for progress.
    private(set) var bytesRead: UInt64 = 0
    let fileSize: UInt64
    /// The longest line accepted.
    let maximumLineLength: Int

    init(path: String, maximumLineLength: Int = 16 << 20) throws(LedgerError) {
        self.path = path
        self.maximumLineLength = maximumLineLength
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw LedgerError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        fstat(fd, &info)
        fileSize = UInt64(max(0, info.st_size))
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// The next line without its newline, valid until the next call; `nil` at the end of the file.
    func next() throws(LedgerError) -> UnsafeBufferPointer<UInt8>? {
        while true {
            if start < end, let base = buffer.baseAddress,
                let hit = memchr(base + start, 0x0A, end - start)
            {
                let newline = base.distance(to: hit)
                let line = UnsafeBufferPointer(
                    start: (base + start).assumingMemoryBound(to: UInt8.self),
                    count: newline - start
                )
                bytesRead += UInt64(newline + 1 - start)
                start = newline + 1
                lineNumber += 1
                return line
            }
            if atEnd {
                guard start < end, let base = buffer.baseAddress else { return nil }
                // A last line without a newline.
                let line = UnsafeBufferPointer(
                    start: (base + start).assumingMemoryBound(to: UInt8.self),
                    count: end - start
                )
                bytesRead += UInt64(end - start)
                start = end
                lineNumber += 1
                return line
            }
            try fill()
        }
    }

    private func fill() throws(LedgerError) {
        if start > 0, let base = buffer.baseAddress {
            memmove(base, base + start, end - start)
            end -= start
            start = 0
        }
        if end == buffer.count {
            guard buffer.count < maximumLineLength else {
                throw LedgerError(.corrupt, "\(path) line \(lineNumber + 1) is longer than \(maximumLineLength) bytes")
            }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
            buffer.deallocate()
            buffer = bigger
        }
        guard let base = buffer.baseAddress else { return }
        let n = read(fd, base + end, buffer.count - end)
        if n < 0 { throw LedgerError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
        if n == 0 { atEnd = true }
        end += n
    }
}
