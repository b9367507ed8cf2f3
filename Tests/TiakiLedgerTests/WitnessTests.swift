import Crypto
import Foundation
import Logging
import Testing

@testable import TiakiLedger

/// C2SP tlog-cosignature and tlog-witness: the documents' own examples, and the witness's answers.
@Suite struct WitnessTests {
    /// A log of `leaves` entries with its key: checkpoints and consistency proofs, as `Ledger` makes them.
    struct Log {
        let signer: NoteSigner
        var leaves: [MerkleHash] = []

        init(origin: String = "example.org/log") throws {
            signer = try NoteSigner(generatingWithName: origin)
        }

        mutating func grow(to size: Int) {
            while leaves.count < size { leaves.append(Merkle.leafHash(Array("entry \(leaves.count)".utf8))) }
        }

        func checkpoint(_ size: Int, with key: NoteSigner? = nil) throws -> SignedCheckpoint {
            try SignedCheckpoint(
                signing: Checkpoint(origin: signer.name, size: UInt64(size), root: Merkle.root(of: leaves[0..<size])),
                with: key ?? signer
            )
        }

        func proof(_ first: Int, _ second: Int) -> [MerkleHash] {
            Merkle.consistencyProofRanges(first: UInt64(first), second: UInt64(second)).map {
                Merkle.root(of: leaves[Int($0.lowerBound)..<Int($0.upperBound)])
            }
        }

        func request(old: Int, size: Int, proof: [MerkleHash]? = nil, key: NoteSigner? = nil) throws -> [UInt8] {
            var text = "old \(old)\n"
            for hash in proof ?? (old == 0 ? [] : self.proof(old, size)) {
                text += Data(hash.array).base64EncodedString() + "\n"
            }
            return Array((text + "\n" + (try checkpoint(size, with: key).text)).utf8)
        }
    }

    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-witness-\(UUID().uuidString)").path
    }

    @Test("the tlog-cosignature example: key ID, then a big-endian timestamp that is the example's time line")
    func cosignatureExample() throws {
        let note = try SignedNote(
            parsing: """
                example.com/behind-the-sofa
                20852163
                CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

                — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
                — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==

                """
        )
        let cosignature = try #require(note.signatures.last)
        #expect(cosignature.name == "witness.example.com/w1" && cosignature.bytes.count == 72)
        let time = cosignature.bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(time == 1_679_315_147)
        #expect(
            String(decoding: CosignatureVerifier.message(note.text, time: time), as: UTF8.self)
                == "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        )
    }

    @Test("the tlog-witness example request parses: old size, four proof lines, a checkpoint with two signatures")
    func witnessRequestExample() throws {
        let body = """
            old 20852014
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

            example.com/behind-the-sofa
            20852163
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

            — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
            — example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=

            """
        let (old, proof, signed) = try Witness.parse(Array(body.utf8))
        #expect(old == 20_852_014 && proof.count == 4)
        #expect(signed.checkpoint.origin == "example.com/behind-the-sofa" && signed.size == 20_852_163)
        #expect(signed.note.signatures.count == 2)
    }

    @Test("a cosignature verifies under its witness key, is ignored by the log's key, and fails when altered")
    func cosignatures() throws {
        var log = try Log()
        log.grow(to: 5)
        let signed = try log.checkpoint(5)
        let cosigner = try Cosigner(generatingWithName: "witness.example/w1")
        let cosignature = try cosigner.cosign(signed.note.text, time: 1_700_000_000)
        let note = signed.note.adding([cosignature])
        // The key ID is SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4].
        let digest = Array(SHA256.hash(data: Array("witness.example/w1\n".utf8) + [0x04] + cosigner.verifier.publicKey))
        #expect(cosigner.verifier.keyID == digest[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        #expect(try CosignatureVerifier(vkey: cosigner.verifier.vkey) == cosigner.verifier)
        #expect(try Cosigner(privateKeyText: cosigner.privateKeyText).verifier == cosigner.verifier)
        #expect(cosigner.verifier.timestamp(of: cosignature, over: note.text) == 1_700_000_000)
        #expect(CosignatureVerifier.cosigners(of: note, among: [cosigner.verifier]) == [cosigner.verifier])
        // A verifier that knows only the log's key ignores the cosignature line.
        #expect(try note.verify(with: [log.signer.verifier]) == [log.signer.verifier])
        // Another checkpoint, another time, another witness: no.
        #expect(cosigner.verifier.timestamp(of: cosignature, over: try log.checkpoint(4).note.text) == nil)
        var altered = cosignature
        altered.bytes[7] ^= 1
        #expect(cosigner.verifier.timestamp(of: altered, over: note.text) == nil)
        let other = try Cosigner(generatingWithName: "witness.example/w1")
        #expect(other.verifier.timestamp(of: cosignature, over: note.text) == nil)
        // A log key is not a witness key.
        #expect(throws: LedgerError.self) { try CosignatureVerifier(vkey: log.signer.verifier.vkey) }
    }

    @Test("the conversation: first contact, growth, a stale size is 409 with the size, then resync; state kept")
    func conversation() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try Log()
        let cosigner = try Cosigner(generatingWithName: "witness.example/w1")
        var witness = try Witness(cosigner: cosigner, logs: [log.signer.verifier], stateDirectory: directory)
        log.grow(to: 10)

        var answer = witness.addCheckpoint(try log.request(old: 0, size: 10))
        #expect(answer.status == 200)
        let line = try SignedNote(parsing: try log.checkpoint(10).text + answer.body)
        #expect(CosignatureVerifier.cosigners(of: line, among: [cosigner.verifier]) == [cosigner.verifier])

        log.grow(to: 25)
        #expect(witness.addCheckpoint(try log.request(old: 10, size: 25)).status == 200)
        // A client that thinks the witness is at 10 is told 25.
        log.grow(to: 30)
        answer = witness.addCheckpoint(try log.request(old: 10, size: 30))
        #expect(answer == Witness.Answer(status: 409, contentType: "text/x.tlog.size", body: "25\n"))
        #expect(witness.addCheckpoint(try log.request(old: 25, size: 30)).status == 200)

        // A restarted witness remembers 30.
        witness = try Witness(cosigner: cosigner, logs: [log.signer.verifier], stateDirectory: directory)
        #expect(witness.state(of: log.signer.name)?.size == 30)
        #expect(witness.addCheckpoint(try log.request(old: 25, size: 30)).body == "30\n")
        // The same checkpoint again is cosigned again; another root at the same size is a conflict.
        #expect(witness.addCheckpoint(try log.request(old: 30, size: 30, proof: [])).status == 200)
        var fork = log
        fork.leaves[29] = Merkle.leafHash(Array("another entry".utf8))
        #expect(witness.addCheckpoint(try fork.request(old: 30, size: 30, proof: [])).status == 409)
    }

    @Test("refused: an unknown log (404), a forged signature (403), a bad proof (422), a shrinking size (400)")
    func refusals() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try Log()
        let witness = try Witness(
            cosigner: try Cosigner(generatingWithName: "witness.example/w1"),
            logs: [log.signer.verifier],
            stateDirectory: directory
        )
        log.grow(to: 8)
        #expect(witness.addCheckpoint(try log.request(old: 0, size: 8)).status == 200)
        log.grow(to: 12)

        var stranger = try Log(origin: "other.example/log")
        stranger.grow(to: 3)
        #expect(witness.addCheckpoint(try stranger.request(old: 0, size: 3)).status == 404)
        let forger = try NoteSigner(generatingWithName: log.signer.name)
        #expect(witness.addCheckpoint(try log.request(old: 8, size: 12, key: forger)).status == 403)
        var wrong = log.proof(8, 12)
        wrong[0] = Merkle.leafHash([1])
        #expect(witness.addCheckpoint(try log.request(old: 8, size: 12, proof: wrong)).status == 422)
        #expect(witness.addCheckpoint(try log.request(old: 12, size: 8, proof: [])).status == 400)
        #expect(witness.addCheckpoint(Array("old 01\n\n".utf8)).status == 400)
        #expect(witness.addCheckpoint(Array("nonsense".utf8)).status == 400)
        // None of that moved it.
        #expect(witness.state(of: log.signer.name)?.size == 8)
    }

    @Test(
        "an export keeps the cosignatures of the cosigned checkpoint; verify with witnesses requires a quorum of them"
    )
    func exportAndVerify() async throws {
        let path = temporaryDirectory()
        let out = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: out)
        }
        let ledger = try openLedger(path)
        for i in 0..<5 { _ = try await ledger.append(sampleMembers(i)) }
        let checkpoint = ledger.checkpoint
        let w1 = try Cosigner(generatingWithName: "witness.test/w1")
        let w2 = try Cosigner(generatingWithName: "witness.test/w2")
        let cosigned = checkpoint.note.adding([try w1.cosign(checkpoint.note.text, time: 1_790_000_000)])
        try Witness.persist(cosigned.serialized, to: path + "/checkpoint.cosigned")
        await ledger.close()
        _ = try LedgerExport.write(from: LedgerDirectory(path: path), to: out)
        #expect(try String(contentsOfFile: out + "/checkpoints.jsonl", encoding: .utf8).contains("witness.test/w1"))

        var verifier = LedgerVerifier(trustedKey: ledger.verifier)
        var report = try verifier.verify(path: out)
        #expect(report.isValid && report.cosignedSize == nil)  // no witnesses asked for: the line is ignored
        verifier.witnesses = [w1.verifier]
        report = try verifier.verify(path: out)
        #expect(report.isValid && report.cosignedSize == checkpoint.size && report.cosigners == ["witness.test/w1"])
        verifier.witnesses = [w1.verifier, w2.verifier]
        verifier.witnessQuorum = 2
        report = try verifier.verify(path: out)
        #expect(report.failure?.check == .witnesses)
        verifier.witnessQuorum = 1
        #expect(try verifier.verify(path: out).isValid)
    }

    @Test("the origin is fixed when the ledger is created: opening it with another is refused")
    func originFixed() async throws {
        let path = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        await (try openLedger(path)).close()
        var configuration = LedgerConfiguration()
        configuration.origin = "another.example/ledger"
        #expect(throws: LedgerError.self) {
            try Ledger.open(LedgerDirectory(path: path), configuration: configuration, logger: .init(label: "test"))
        }
        configuration.origin = "tiaki.test/ledger"
        await (try Ledger.open(LedgerDirectory(path: path), configuration: configuration, logger: .init(label: "test")))
            .close()
    }

    @Test("the monitor: first sight, growth with a proof, a split view, a shrink, a forgery, another log; state kept")
    func monitor() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try Log()
        log.grow(to: 40)
        let current = log
        let proof: @Sendable (UInt64, UInt64) async throws -> [MerkleHash] = { current.proof(Int($0), Int($1)) }
        let monitor = LogMonitor(log: log.signer.verifier, stateDirectory: directory)
        #expect(try await monitor.check(try log.checkpoint(10).text, proof: proof) == .first(size: 10))
        #expect(try await monitor.check(try log.checkpoint(10).text, proof: proof) == .unchanged(size: 10))
        #expect(try await monitor.check(try log.checkpoint(25).text, proof: proof) == .grew(from: 10, to: 25))

        // Another view of the same log: same size, another root. Caught, and the monitor keeps what it had.
        var fork = log
        fork.leaves[20] = Merkle.leafHash(Array("rewritten".utf8))
        guard case .problem(let split) = try await monitor.check(try fork.checkpoint(25).text, proof: proof) else {
            Issue.record("a split view was not caught")
            return
        }
        #expect(split.contains("fork"))
        // A larger checkpoint of the other view does not extend the one seen.
        let forkProof: @Sendable (UInt64, UInt64) async throws -> [MerkleHash] = { [fork] in
            fork.proof(Int($0), Int($1))
        }
        guard case .problem = try await monitor.check(try fork.checkpoint(30).text, proof: forkProof) else {
            Issue.record("a forked larger checkpoint was not caught")
            return
        }
        guard case .problem(let shrink) = try await monitor.check(try log.checkpoint(20).text, proof: proof) else {
            Issue.record("a shrink was not caught")
            return
        }
        #expect(shrink.contains("shrank"))
        let forger = try NoteSigner(generatingWithName: log.signer.name)
        guard case .problem = try await monitor.check(try log.checkpoint(30, with: forger).text, proof: proof) else {
            Issue.record("a forged checkpoint was not caught")
            return
        }
        var other = try Log(origin: "other.example/log")
        other.grow(to: 30)
        guard case .problem = try await monitor.check(try other.checkpoint(30).text, proof: proof) else {
            Issue.record("another log's checkpoint was not caught")
            return
        }
        // A new monitor on the same state remembers 25.
        let again = LogMonitor(log: log.signer.verifier, stateDirectory: directory)
        #expect(try again.seen()?.size == 25)
        #expect(try await again.check(try log.checkpoint(40).text, proof: proof) == .grew(from: 25, to: 40))

        // With witnesses required, an uncosigned checkpoint is not accepted.
        let w1 = try Cosigner(generatingWithName: "witness.test/w1")
        let strict = LogMonitor(log: log.signer.verifier, witnesses: [w1.verifier], stateDirectory: directory)
        guard case .problem = try await strict.check(try log.checkpoint(40).text, proof: proof) else {
            Issue.record("an uncosigned checkpoint was accepted")
            return
        }
        let checkpoint = try log.checkpoint(40)
        let cosigned = checkpoint.note.adding([try w1.cosign(checkpoint.note.text, time: 1_790_000_000)])
        #expect(try await strict.check(cosigned.serialized, proof: proof) == .unchanged(size: 40))
    }

    @Test("the monitor with an auditor's access reads every new entry: canonical, its own index, hashing to the root")
    func monitorEntries() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var log = try Log()
        let entries = (0..<30).map { Array("{\"index\":\($0),\"kind\":\"test\"}".utf8) }
        log.leaves = entries.map { Merkle.leafHash($0) }
        let current = log
        let proof: @Sendable (UInt64, UInt64) async throws -> [MerkleHash] = { current.proof(Int($0), Int($1)) }
        let served: @Sendable ([[UInt8]]) -> (UInt64, UInt64) async throws -> [[UInt8]] = { list in
            { start, end in Array(list[Int(start)..<Int(end)]) }
        }
        let monitor = LogMonitor(log: log.signer.verifier, stateDirectory: directory)
        #expect(
            try await monitor.check(try log.checkpoint(10).text, entries: served(entries), proof: proof)
                == .first(size: 10)
        )
        #expect(
            try await monitor.check(try log.checkpoint(30).text, entries: served(entries), proof: proof)
                == .grew(from: 10, to: 30)
        )

        // Entries that are not those the checkpoint covers, or not canonical, are caught.
        let fresh = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: fresh) }
        let other = LogMonitor(log: log.signer.verifier, stateDirectory: fresh)
        var altered = entries
        altered[7] = Array("{\"index\":7,\"kind\":\"other\"}".utf8)
        guard
            case .problem(let fork) = try await other.check(
                try log.checkpoint(30).text,
                entries: served(altered),
                proof: proof
            )
        else {
            Issue.record("entries that do not hash to the root were accepted")
            return
        }
        #expect(fork.contains("do not hash"))
        altered[7] = Array("{ \"index\": 7 }".utf8)
        guard
            case .problem(let canonical) = try await other.check(
                try log.checkpoint(30).text,
                entries: served(altered),
                proof: proof
            )
        else {
            Issue.record("a non-canonical entry was accepted")
            return
        }
        #expect(canonical.contains("entry 7"))
    }
}
