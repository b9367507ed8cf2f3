import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiServer

/// Seeded fuzzing of every surface that reads outside input: each test first replays the kept corpus
/// (`FuzzCorpus/<surface>/`, seeds and any input that once failed), then mutates seeds for a bounded time.
///
/// `TIAKI_FUZZ_SECONDS` sets the time per surface (default 2, as CI runs it; `Scripts/fuzz.sh` runs 600);
/// `TIAKI_FUZZ_SEED` the seed (default fixed, so a failure reproduces). An input that fails is printed in hex and
/// written to `TIAKI_FUZZ_FAILURES` (default the temporary directory) to be kept in the corpus.
enum Fuzz {
    static let corpus = repositoryRoot.appendingPathComponent("Tests/TiakiServerTests/FuzzCorpus")

    static var seconds: Double {
        ProcessInfo.processInfo.environment["TIAKI_FUZZ_SECONDS"].flatMap(Double.init) ?? 2
    }

    static func seed(_ surface: String) -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["TIAKI_FUZZ_SEED"], let seed = UInt64(text) { return seed }
        return surface.utf8.reduce(0x7469_616B_6900_0001) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// The files of `FuzzCorpus/<surface>/` (recursively), by relative path, sorted.
    static func kept(_ surface: String) -> [(name: String, bytes: [UInt8])] {
        let root = corpus.appendingPathComponent(surface).path
        let names = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
        return names.compactMap { name in
            guard !name.hasSuffix("README.md"), let data = FileManager.default.contents(atPath: root + "/" + name),
                !data.isEmpty || name.hasSuffix(".empty")
            else { return nil }
            return (name, [UInt8](data))
        }
    }

    /// Runs `check` on every kept input, then on mutations for the time allowed; returns how many ran. `check`
    /// returns `nil` when the input was handled well (accepted, or refused with a clear error), else what was wrong.
    /// Mutated inputs every run tries at the least, so that a busy machine still fuzzes.
    static let minimumInputs = 64

    static func run(
        _ surface: String,
        seeds: [[UInt8]],
        check: ([UInt8]) async -> String?
    ) async -> Int {
        var count = 0
        let corpus = kept(surface)
        for item in corpus {
            count += 1
            if let wrong = await check(item.bytes) { Issue.record("\(surface) corpus \(item.name): \(wrong)") }
        }
        let pool = seeds + corpus.map(\.bytes)
        guard !pool.isEmpty else { return count }
        var mutator = Mutator(seed: seed(surface), pool: pool)
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int(seconds * 1000))
        var slowest: Duration = .zero
        // The time budget, and never fewer than `minimumInputs` mutations however slow the machine.
        var mutated = 0
        while clock.now < end || mutated < minimumInputs {
            mutated += 1
            let input = mutator.next()
            let started = clock.now
            let wrong = await check(input)
            let took = clock.now - started
            slowest = max(slowest, took)
            count += 1
            if let wrong {
                Issue.record("\(surface) seed \(seed(surface)) input \(count): \(wrong)\n\(hex(input))")
                keep(input, surface: surface, index: count)
            } else if took > .seconds(2) {
                Issue.record("\(surface): one input took \(took) (a hang?)\n\(hex(input))")
                keep(input, surface: surface, index: count)
            }
        }
        print("fuzz \(surface): \(count) inputs in \(seconds) s, seed \(seed(surface)), slowest \(slowest)")
        return count
    }

    static func keep(_ input: [UInt8], surface: String, index: Int) {
        let directory = ProcessInfo.processInfo.environment["TIAKI_FUZZ_FAILURES"] ?? NSTemporaryDirectory()
        let path = "\(directory)/tiaki-fuzz-\(surface)-\(index)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(input))
        print("kept failing input at \(path): copy it into Tests/TiakiServerTests/FuzzCorpus/\(surface)/")
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.prefix(512).map { String(format: "%02x", $0) }.joined()
    }
}

/// SplitMix64: small, fast, and the same sequence on every machine for a seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Byte-level mutations of seeds, with tokens that tend to find edge cases in JSON, notes and YAML.
struct Mutator {
    var random: SplitMix64
    let pool: [[UInt8]]
    static let tokens: [[UInt8]] =
        [
            "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u0000", "\\ud800", "\\udc00", "1e999", "-0", "1e-400", "null",
            "true", "0.1", "18446744073709551616", "-9223372036854775809", "\n", "\r\n", "\t", "\u{0}", "—", "\u{FEFF}",
            "\u{FFFD}", "ā", "{{{{{{{{", "]]]]]]]]", "- ", ": ", "&a ", "*a", "!!binary ", "? ", "|", ">", "'", "#",
            "+", "=", "/", "AAAA", "\n\n", "— ", "%", "~",
        ].map { Array($0.utf8) } + [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]]

    init(seed: UInt64, pool: [[UInt8]]) {
        random = SplitMix64(state: seed)
        self.pool = pool
    }

    mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(random.next() % UInt64(n)) }

    mutating func next() -> [UInt8] {
        var bytes = pool[int(pool.count)]
        for _ in 0...int(4) { mutate(&bytes) }
        return bytes
    }

    mutating func mutate(_ bytes: inout [UInt8]) {
        let at = int(bytes.count + 1)
        switch int(9) {
        case 0 where !bytes.isEmpty:
            bytes[min(at, bytes.count - 1)] ^= UInt8(1 << int(8))
        case 1 where !bytes.isEmpty:
            bytes[min(at, bytes.count - 1)] = UInt8(truncatingIfNeeded: random.next())
        case 2:
            bytes.insert(contentsOf: Self.tokens[int(Self.tokens.count)], at: at)
        case 3 where !bytes.isEmpty:
            let end = min(bytes.count, at + 1 + int(16))
            bytes.removeSubrange(min(at, bytes.count - 1)..<end)
        case 4 where !bytes.isEmpty:
            let start = min(at, bytes.count - 1)
            let end = min(bytes.count, start + 1 + int(64))
            bytes.insert(contentsOf: Array(bytes[start..<end]), at: int(bytes.count + 1))
        case 5:
            // Splice with another input.
            let other = pool[int(pool.count)]
            let cut = int(other.count + 1)
            bytes = Array(bytes.prefix(at)) + Array(other.suffix(from: cut))
        case 6:
            bytes = Array(bytes.prefix(at))
        case 7:
            // A digit run, to reach numeric edge cases.
            bytes.insert(contentsOf: Array(repeating: UInt8(ascii: "9"), count: 1 + int(40)), at: at)
        default:
            // Swap two lines.
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            guard lines.count > 1 else { return }
            lines.swapAt(int(lines.count), int(lines.count))
            bytes = Array(lines.joined(separator: [0x0A]))
        }
    }
}

@Suite("Fuzzing", .serialized)
struct FuzzTests {
    static func lines(_ path: String) -> [[UInt8]] {
        let data = FileManager.default.contents(atPath: repositoryRoot.appendingPathComponent(path).path) ?? Data()
        return data.split(separator: 0x0A).map { [UInt8]($0) }
    }

    @Test(
        "the JSON reader and canonical checker: every input parsed or refused with a message",
        .timeLimit(.minutes(20))
    )
    func json() async throws {
        let seeds = Array(Self.lines("AuditSamples/valid/entries.jsonl").prefix(40))
        let count = await Fuzz.run("json", seeds: seeds) { input in
            let canonical = CanonicalJSON.isCanonical(input)
            do {
                let value = try JSONParser().parse(input)
                // What parses encodes canonically, and that encoding is canonical and reads back the same.
                let encoded = try CanonicalJSON.encode(value)
                guard CanonicalJSON.isCanonical(encoded) else { return "its canonical encoding is not canonical" }
                guard try JSONParser().parse(encoded) == value else { return "the encoding does not read back" }
                if canonical, encoded != input { return "called canonical but encodes differently" }
            } catch let error as JSONError {
                if error.message.isEmpty { return "an error without a message" }
                if canonical { return "called canonical but does not parse: \(error)" }
            } catch {
                return "an unexpected error \(type(of: error))"
            }
            do {
                _ = try input.withUnsafeBufferPointer { try CanonicalJSON.validate($0, topLevelInteger: "index") }
            } catch let error as JSONError {
                if error.message.isEmpty { return "a validation error without a message" }
            } catch {
                return "an unexpected error \(type(of: error))"
            }
            return nil
        }
        #expect(count > 100)
    }

    @Test(
        "the signed-note, checkpoint and key readers: every input read or refused with a message",
        .timeLimit(.minutes(20))
    )
    func notes() async throws {
        let notes = Self.lines("AuditSamples/valid/checkpoints.jsonl").prefix(8).compactMap {
            (try? JSONParser().parse($0))?["note"]?.stringValue.map { Array($0.utf8) }
        }
        let vkey = Self.lines("AuditSamples/valid/log.vkey")
        let key = try NoteVerifier(vkey: String(decoding: vkey.first ?? [], as: UTF8.self))
        let count = await Fuzz.run("note", seeds: notes + vkey) { input in
            let text = String(decoding: input, as: UTF8.self)
            for attempt in 0..<3 {
                do {
                    switch attempt {
                    case 0:
                        let note = try SignedNote(parsing: text)
                        _ = try? note.verify(with: [key])
                        if try SignedNote(parsing: note.serialized) != note { return "a note does not read back" }
                    case 1: _ = try SignedCheckpoint(parsing: text)
                    default: _ = try NoteVerifier(vkey: text)
                    }
                } catch let error as LedgerError {
                    if error.message.isEmpty { return "an error without a message" }
                } catch {
                    return "an unexpected error \(type(of: error))"
                }
            }
            return nil
        }
        #expect(count > 100)
    }

    @Test(
        "the policy loader: every mutated policy file loaded or refused with located problems",
        .timeLimit(.minutes(20))
    )
    func policies() async throws {
        let directory = repositoryRoot.appendingPathComponent("Policies").path
        let names = ["consent.yaml", "rules.yaml", "vocabulary.yaml"]
        var files: [String: String] = [:]
        for name in names {
            files[name] = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        }
        // Each input is one file of the set: its first line names which (`# file: rules.yaml`).
        let seeds = names.map { Array("# file: \($0)\n\(files[$0] ?? "")".utf8) }
        let count = await Fuzz.run("policy", seeds: seeds) { input in
            let text = String(decoding: input, as: UTF8.self)
            let target = names.first { text.hasPrefix("# file: \($0)\n") } ?? names[Int(input.count % names.count)]
            var set = files
            set[target] = text
            do {
                _ = try PolicySet.parse(files: set)
            } catch let error as PolicyError {
                if error.problems.isEmpty { return "refused without a problem" }
                if error.problems.contains(where: { $0.message.isEmpty || $0.line < 1 }) {
                    return "a problem without a message or a line"
                }
            } catch {
                return "an unexpected error \(type(of: error))"
            }
            return nil
        }
        #expect(count > 20)
    }

    @Test(
        "the bundle reader and verifier: every mutated bundle verified or refused, never a crash",
        .timeLimit(.minutes(20))
    )
    func bundles() async throws {
        let source = repositoryRoot.appendingPathComponent("AuditSamples/valid").path
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-fuzz-bundle-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let parts = ["entries.jsonl", "checkpoints.jsonl", "log.vkey"]
        var original: [String: [UInt8]] = [:]
        for part in parts {
            original[part] = [UInt8](FileManager.default.contents(atPath: source + "/" + part) ?? Data())
        }
        // Each input is one file of the bundle: its first byte picks which, the rest is its content.
        let seeds = parts.enumerated().map { [UInt8($0.offset)] + (original[$0.element] ?? []) }
        let key = try NoteVerifier(vkey: String(decoding: original["log.vkey"] ?? [], as: UTF8.self))
        let count = await Fuzz.run("bundle", seeds: seeds) { input in
            guard let pick = input.first else { return nil }
            try? FileManager.default.removeItem(atPath: work)
            try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            for part in parts {
                _ = FileManager.default.createFile(atPath: work + "/" + part, contents: Data(original[part] ?? []))
            }
            _ = FileManager.default.createFile(
                atPath: work + "/" + parts[Int(pick) % parts.count],
                contents: Data(input.dropFirst())
            )
            do {
                let report = try LedgerVerifier(trustedKey: key).verify(path: work)
                if let failure = report.failure, failure.message.isEmpty { return "a failure without a message" }
                if report.isValid, Array(input.dropFirst()) != original[parts[Int(pick) % parts.count]] {
                    // Changed bytes may still verify only where nothing signed changed (e.g. a trailing newline).
                    let reader = try EntryReader(path: work)
                    var n: UInt64 = 0
                    try reader.read { _, _ in n += 1 }
                    if n != report.entries { return "verified \(report.entries) entries but reads \(n)" }
                }
            } catch let error as LedgerError {
                if error.message.isEmpty { return "an error without a message" }
            } catch {
                return "an unexpected error \(type(of: error))"
            }
            return nil
        }
        #expect(count > 20)
    }

    @Test(
        "the request decoders: mutated bodies to every write route get a 2xx or a 4xx problem, never a 5xx",
        .timeLimit(.minutes(20))
    )
    func requests() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            // Each input names its route on the first line; the rest is the body.
            let routes: [(String, String, JSONValue)] = [
                (
                    "a", "/v1/subjects",
                    ["birthMonth": "2015-06", "nsn": "123456789", "name": "Ana", "localReference": "r1"]
                ),
                ("a", "/v1/subjects/\(subject)/consents", consentBody),
                ("a", "/v1/decisions", decisionBody(subject)),
                (
                    "a", "/v1/disclosures",
                    [
                        "subject": .string(subject), "recipient": "rtlb", "purpose": "referral",
                        "information": ["register-entry"], "channel": "secure-email", "storageRegion": "nz",
                        "note": "n",
                    ]
                ),
                ("a", "/v1/consents/\(consent)/withdraw", ["by": "parent", "reason": "r", "date": "2026-03-01"]),
                ("privacy", "/v1/disclosures/1/review", ["outcome": "justified", "notes": "ok"]),
                ("admin", "/v1/orgs", ["id": "school-z", "kind": "school", "name": "Z"]),
                ("admin", "/v1/credentials", ["org": "school-a", "role": "member", "holder": "fuzz"]),
            ]
            let seeds = routes.enumerated().map { i, route in
                Array("\(i)\n".utf8) + ((try? CanonicalJSON.encode(route.2)) ?? [])
            }
            try await app.test(.router) { client in
                let count = await Fuzz.run("requests", seeds: seeds) { input in
                    let newline = input.firstIndex(of: 0x0A) ?? input.endIndex
                    let pick = Int(String(decoding: input[..<newline], as: UTF8.self)) ?? Int(input.count)
                    let route = routes[abs(pick % routes.count)]
                    let body = input[min(newline + 1, input.endIndex)...]
                    do {
                        let response = try await client.execute(
                            uri: route.1,
                            method: .post,
                            headers: cluster.headers(route.0),
                            body: ByteBuffer(bytes: body)
                        )
                        if response.status.code >= 500 {
                            return "\(route.1) answered \(response.status.code): \(String(buffer: response.body))"
                        }
                        if response.status.code >= 400 {
                            guard response.headers[.contentType] == "application/problem+json",
                                response.json["detail"]?.stringValue?.isEmpty == false
                            else { return "\(route.1) answered \(response.status.code) without a problem" }
                        }
                        if let pattern = DocumentedStatuses.pattern(.post, route.1),
                            !DocumentedStatuses.lists(pattern, response.status)
                        {
                            return "\(pattern) answered \(response.status.code), which the document does not list"
                        }
                    } catch {
                        return "the request failed: \(error)"
                    }
                    return nil
                }
                #expect(count > 20)
            }
        }
    }

    @Test(
        "the witness: every add-checkpoint body answered with one of the spec's statuses and a body, never a crash",
        .timeLimit(.minutes(20))
    )
    func witness() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-fuzz-w-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let signer = try NoteSigner(name: "fuzz.example/log", seed: Array(repeating: 7, count: 32))
        let leaves = (0..<20).map { Merkle.leafHash(Array("entry \($0)".utf8)) }
        func checkpoint(_ size: Int) throws -> String {
            try SignedCheckpoint(
                signing: Checkpoint(origin: signer.name, size: UInt64(size), root: Merkle.root(of: leaves[0..<size])),
                with: signer
            ).text
        }
        let proof = Merkle.consistencyProofRanges(first: 5, second: 20).map {
            Data(Merkle.root(of: leaves[Int($0.lowerBound)..<Int($0.upperBound)]).array).base64EncodedString()
        }
        let seeds = [
            Array(("old 0\n\n" + (try checkpoint(5))).utf8),
            Array(("old 5\n" + proof.joined(separator: "\n") + "\n\n" + (try checkpoint(20))).utf8),
        ]
        let witness = try Witness(
            cosigner: try Cosigner(name: "fuzz.example/w", seed: Array(repeating: 9, count: 32)),
            logs: [signer.verifier],
            stateDirectory: directory
        )
        let count = await Fuzz.run("witness", seeds: seeds) { input in
            let answer = witness.addCheckpoint(input)
            guard [200, 400, 403, 404, 409, 413, 422].contains(answer.status) else {
                return "answered \(answer.status): \(answer.body)"
            }
            if answer.body.isEmpty { return "answered \(answer.status) with no body" }
            if answer.status == 409, answer.contentType != "text/x.tlog.size" { return "a 409 without its size" }
            return nil
        }
        #expect(count > 20)
    }

    @Test(
        "paths and query strings: mutated request lines to every route get an answer the document lists, never a 5xx",
        .timeLimit(.minutes(20))
    )
    func paths() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            let disclosure = try await cluster.disclose(subject)
            // Each input is `who METHOD uri` on its first line and the body after it.
            let lines = [
                "auditor GET /v1/ledger/entries?start=0&end=5",
                "auditor GET /v1/ledger/proofs/inclusion?index=1&size=3",
                "auditor GET /v1/ledger/proofs/consistency?from=1&to=3",
                "privacy GET /v1/findings?asOf=2026-06-01&since=2026-01-01&within=30",
                "a GET /v1/subjects?nsn=123456789", "a GET /v1/subjects?localReference=r-1",
                "a GET /v1/subjects/\(subject)/consents", "a GET /v1/subjects/\(subject)/disclosures",
                "a GET /v1/consents/\(consent)", "privacy GET /v1/subjects/\(subject)/report?format=text",
                "a POST /v1/consents/\(consent)/withdraw\n{\"by\":\"parent\"}",
                "privacy POST /v1/disclosures/\(disclosure)/review\n{\"outcome\":\"justified\"}",
                "admin POST /v1/credentials/cred-000000000000/revoke", "none GET /v1/ledger/checkpoint",
                "none GET /healthz",
                "privacy POST /v1/subjects/\(subject)/erase\n{\"reason\":\"request\"}",
            ]
            let seeds = lines.map { Array($0.utf8) }
            try await app.test(.router) { client in
                let count = await Fuzz.run("paths", seeds: seeds) { input in
                    let newline = input.firstIndex(of: 0x0A) ?? input.endIndex
                    let line = String(decoding: input[..<newline], as: UTF8.self)
                    let body = input[min(newline + 1, input.endIndex)...]
                    let words = line.split(separator: " ", maxSplits: 2).map(String.init)
                    guard words.count == 3 else { return nil }
                    let method = HTTPRequest.Method(words[1]) ?? .get
                    var uri = words[2]
                    if !uri.hasPrefix("/") { uri = "/" + uri }
                    do {
                        let response = try await client.execute(
                            uri: uri,
                            method: method,
                            headers: cluster.headers(words[0]),
                            body: body.isEmpty ? nil : ByteBuffer(bytes: body)
                        )
                        if response.status.code >= 500 {
                            return "\(method) \(uri) answered \(response.status.code): \(String(buffer: response.body))"
                        }
                        if response.status.code >= 400,
                            response.headers[.contentType] != "application/problem+json"
                                || response.json["detail"]?.stringValue?.isEmpty != false
                        {
                            return "\(method) \(uri) answered \(response.status.code) without a problem"
                        }
                        if let pattern = DocumentedStatuses.pattern(method, uri),
                            !DocumentedStatuses.lists(pattern, response.status)
                        {
                            return "\(pattern) answered \(response.status.code), which the document does not list"
                        }
                    } catch {
                        return "the request failed: \(error)"
                    }
                    return nil
                }
                #expect(count > 20)
            }
        }
    }
}
