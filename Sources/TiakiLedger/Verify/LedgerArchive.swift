import Foundation

/// The export bundle of a running ledger as one tar archive, for a download: the same three files as
/// ``LedgerExport`` writes (`entries.jsonl`, `checkpoints.jsonl`, `log.vkey`) in a folder named for the size, from
/// one consistent snapshot — the newest checkpoint when the archive was asked for, the checkpoints up to it, and
/// exactly the entries it covers. Entries never change once written (the store's triggers refuse it), so the
/// entries are streamed in pages after the snapshot and still match it.
///
/// POSIX ustar: 512-byte headers, contents padded to 512 bytes, two empty blocks at the end. `tar -xf` on any
/// system unpacks it.
public struct LedgerArchive: Sendable {
    /// The entries the archive holds (the snapshot's tree size).
    public let size: UInt64
    /// The checkpoints it holds.
    public let checkpoints: Int
    /// The folder inside the archive (`tiaki-export-SIZE`), and the archive's suggested file name with `.tar`.
    public let folder: String
    /// The archive's length in bytes, known before the first byte is sent.
    public let byteCount: UInt64

    let checkpointLines: [UInt8]
    let vkey: [UInt8]
    let entryBytes: UInt64
    let modified: UInt64
    let storage: any LedgerStorage

    /// Entries read from the store at once while streaming.
    static let page: UInt64 = 2048

    init(
        storage: any LedgerStorage,
        verifier: NoteVerifier,
        size: UInt64,
        notes: [(size: UInt64, note: String)],
        entryBytes: UInt64
    ) throws {
        self.storage = storage
        self.size = size
        self.checkpoints = notes.count
        self.folder = "tiaki-export-\(size)"
        self.checkpointLines = try LedgerExport.checkpointLines(notes)
        self.vkey = Array((verifier.vkey + "\n").utf8)
        self.entryBytes = entryBytes
        self.modified = UInt64(max(0, Date().timeIntervalSince1970))
        func padded(_ n: UInt64) -> UInt64 { 512 + (n + 511) / 512 * 512 }
        byteCount =
            padded(UInt64(checkpointLines.count)) + padded(UInt64(vkey.count)) + padded(entryBytes) + 1024
    }

    /// Streams the archive to `write`, in pieces of up to a few hundred kilobytes.
    ///
    /// Throws (after writing part of it) if the store no longer holds what the snapshot counted — which the
    /// store's triggers make impossible short of damage; a reader then has a truncated archive that tar rejects.
    public func write(to write: ([UInt8]) async throws -> Void) async throws {
        try await write(
            Tar.header(name: "\(folder)/checkpoints.jsonl", size: UInt64(checkpointLines.count), modified: modified)
                + Tar.padded(checkpointLines)
        )
        try await write(
            Tar.header(name: "\(folder)/log.vkey", size: UInt64(vkey.count), modified: modified) + Tar.padded(vkey)
        )
        try await write(Tar.header(name: "\(folder)/entries.jsonl", size: entryBytes, modified: modified))
        var written: UInt64 = 0
        var start: UInt64 = 0
        while start < size {
            let end = min(size, start + Self.page)
            let entries = try storage.read { try $0.entries(in: start..<end) }
            guard entries.count == end - start else {
                throw LedgerError(.corrupt, "the store holds \(entries.count) entries in \(start)..<\(end)")
            }
            var chunk: [UInt8] = []
            chunk.reserveCapacity(entries.reduce(0) { $0 + $1.count + 1 })
            for entry in entries {
                chunk += entry
                chunk.append(0x0A)
            }
            written += UInt64(chunk.count)
            guard written <= entryBytes else {
                throw LedgerError(.corrupt, "the entries are longer than the snapshot counted")
            }
            try await write(chunk)
            start = end
        }
        guard written == entryBytes else {
            throw LedgerError(.corrupt, "the entries are \(written) bytes, not the \(entryBytes) the snapshot counted")
        }
        try await write(Tar.padding(after: entryBytes) + Tar.end)
    }
}

extension LedgerArchive {
    /// The archive of what `storage` holds now, its checkpoints verified by `verifier`'s log.
    static func snapshot(
        of storage: any LedgerStorage,
        verifier: NoteVerifier,
        directory: LedgerDirectory
    ) throws -> LedgerArchive {
        let (size, notes, bytes) = try storage.read { tables in
            guard let head = try tables.head() else {
                throw LedgerError(.corrupt, "the ledger has no newest checkpoint")
            }
            let bytes = try tables.entryBytes(below: head.size)
            let notes = LedgerExport.checkpointNotes(
                archived: try tables.checkpoints(),
                head: head,
                directory: directory
            )
            return (head.size, notes, bytes)
        }
        return try LedgerArchive(storage: storage, verifier: verifier, size: size, notes: notes, entryBytes: bytes)
    }
}

extension Ledger {
    /// The export bundle of the ledger as it stands, as an archive to stream (see ``LedgerArchive``).
    public func archive() throws -> LedgerArchive {
        try LedgerArchive.snapshot(of: storage, verifier: verifier, directory: directory)
    }
}
