import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Synchronization
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiServer

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Logged decisions per second over HTTP, with latency and the server's peak memory.",
        discussion: """
            Fills a fresh data directory with SUBJECTS children, each with a consent, starts `tiaki serve`'s \
            application in a child process, and drives it from wrk (a separate process; `apt-get install wrk`) \
            over loopback with 64 connections asking for decisions. Every decision is appended to the ledger \
            before it is answered. Reports decisions/s, p50/p99 latency, and the server's peak resident memory.
            """
    )

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"
    @Option(help: "Children in the ledger.")
    var subjects = 100_000
    @Option(help: "Seconds of load.")
    var seconds = 10
    @Option(help: "Concurrent connections.")
    var connections = 64
    @Option(help: "The port for the server.")
    var port = 18_099
    @Option(help: "Instances of the service, each in its own process, sharing the ledger in --database.")
    var instances = 1
    @Option(
        help: ArgumentHelp(
            "A PostgreSQL database for the ledger (new or empty), shared by the instances; without it, SQLite.",
            valueName: "postgres://user@host/db"
        )
    )
    var database: String?
    @Flag(help: "Print one JSON object.")
    var json = false
    @Flag(help: "Keep the data directory, the token and the wrk script (their paths are printed), for profiling.")
    var keep = false
    @Flag(
        help:
            "Also run a local witness (on port+1) that the server asks after its commits, and report how long an acknowledged append waits for a cosigned checkpoint covering it (cosignLagP99Milliseconds)."
    )
    var witness = false

    func validate() throws {
        guard instances >= 1 else { throw ValidationError("--instances must be at least 1") }
        if instances > 1 && database == nil {
            throw ValidationError("several instances share a ledger only in PostgreSQL: give --database")
        }
        if instances > 1 && witness { throw ValidationError("--witness is measured with one instance") }
        if let database { _ = try PostgresAddress(url: database) }
    }

    /// The port instance `n` listens on (the witness, if any, on `port + 1`).
    func port(of n: Int) -> Int { port + 10 * n }

    func run() async throws {
        guard let wrk = findExecutable("wrk") else {
            throw ValidationError("wrk is not installed: apt-get install wrk")
        }
        let policy = try PolicySet.load(directory: policies)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tiaki-bench-http-\(UUID().uuidString)"
        ).path
        defer { if !keep { try? FileManager.default.removeItem(atPath: work) } }
        if keep { note("keeping \(work)") }
        note("registering \(subjects) children with their consents …")
        let (token, privacy) = try await populate(work + "/data", policy: policy)
        // Every instance its own data directory with the same keys.
        for n in 1..<instances {
            try LedgerDirectory(path: work + "/data").copyKeys(to: LedgerDirectory(path: work + "/data-\(n)"))
        }

        let peakFile = work + "/server.peak"
        var serverArguments = [
            "http-server", work + "/data", "--policies", policies, "--port", String(port), "--peak-file", peakFile,
        ]
        if let database { serverArguments += ["--database", database] }
        var witnessProcess: pid_t?
        if witness {
            let cosigner = try Cosigner(generatingWithName: "bench.witness/w1")
            try (cosigner.privateKeyText + "\n").write(toFile: work + "/witness.key", atomically: true, encoding: .utf8)
            let logKey = try String(contentsOfFile: work + "/data/log.vkey", encoding: .utf8)
            witnessProcess = try spawn([
                "witness-server", "--key", work + "/witness.key", "--state", work + "/witness",
                "--log", logKey.trimmingCharacters(in: .whitespacesAndNewlines), "--port", String(port + 1),
            ])
            guard waitForPort(port + 1, seconds: 30) else { throw ValidationError("the witness did not start") }
            serverArguments += ["--witness", "http://127.0.0.1:\(port + 1)=\(cosigner.verifier.vkey)"]
        }
        defer { if let witnessProcess { kill(witnessProcess, SIGKILL) } }
        var servers = [try spawn(serverArguments)]
        for n in 1..<instances {
            var arguments = serverArguments
            arguments[1] = work + "/data-\(n)"
            arguments[5] = String(port(of: n))
            arguments[7] = peakFile + "-\(n)"
            servers.append(try spawn(arguments))
        }
        defer { for server in servers { kill(server, SIGKILL) } }
        for n in 0..<instances where !waitForPort(port(of: n), seconds: 60) {
            throw ValidationError("instance \(n) did not start")
        }
        // The load measures the server as it runs, not as it starts: first the findings projection, built in the
        // background after a start, must be ready (GET /v1/findings answers 200).
        let readyStarted = ContinuousClock.now
        for n in 0..<instances {
            while true {
                let code = try capture(
                    "/usr/bin/curl",
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(privacy)",
                        "http://127.0.0.1:\(port(of: n))/v1/findings",
                    ]
                )
                if code == "200" { break }
                guard ContinuousClock.now - readyStarted < .seconds(300) else {
                    throw ValidationError("the findings were not ready after 300 s (last answer \(code))")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        let findingsReady = Bench.seconds(ContinuousClock.now - readyStarted)
        note(String(format: "findings ready %.1f s after the server answered", findingsReady))
        let sampler = witness ? CosignSampler(port: port) : nil
        let sampling = sampler.map { sampler in Task.detached { await sampler.run() } }

        let script = work + "/decisions.lua"
        try luaScript(token: token, subjectsFile: work + "/subjects.txt").write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        note("driving \(connections) connections for \(seconds) s over \(instances) instance(s) …")
        let outputs = try captureAll(
            wrk,
            (0..<instances).map { n in
                [
                    "-t\(instances == 1 ? 2 : 1)", "-c\(share(n))", "-d\(seconds)s", "--latency", "-s", script,
                    "http://127.0.0.1:\(port(of: n))/v1/decisions",
                ]
            }
        )
        // Cosigning catches up after the load; then the lag of every sample is known.
        if let sampler, let sampling {
            try await Task.sleep(for: .seconds(3))
            sampler.stop()
            _ = await sampling.value
        }
        let lags = sampler?.lags() ?? []
        // The same server's ceiling: the cheapest route it has, with the same connections for the same time.
        note("driving GET /healthz on the same server for \(seconds) s (the ceiling) …")
        let ceilingOutputs = try captureAll(
            wrk,
            (0..<instances).map { n in
                [
                    "-t\(instances == 1 ? 2 : 1)", "-c\(share(n))", "-d\(seconds)s", "--latency",
                    "http://127.0.0.1:\(port(of: n))/healthz",
                ]
            }
        )
        for server in servers {
            kill(server, SIGTERM)
            var status: Int32 = 0
            waitpid(server, &status, 0)
        }
        // The largest instance's peak.
        var peak = 0.0
        for n in 0..<instances {
            let text = try? String(contentsOfFile: n == 0 ? peakFile : peakFile + "-\(n)", encoding: .utf8)
            let kilobytes = text.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
            peak = max(peak, kilobytes / 1024)
        }
        // Rates add up over the instances; of the latencies, the worst instance's are reported.
        func sum(_ label: String, _ texts: [String]) -> Double {
            texts.reduce(0.0) { total, text in total + (Self.number(after: label, in: text) ?? 0) }
        }
        let rate = sum("Requests/sec:", outputs)
        let p50 = outputs.compactMap { Self.latency("50%", in: $0) }.max() ?? 0
        let p99 = outputs.compactMap { Self.latency("99%", in: $0) }.max() ?? 0
        let errors = sum("Non-2xx or 3xx responses:", outputs)
        let ceiling = sum("Requests/sec:", ceilingOutputs)
        let ratio = ceiling > 0 ? rate / ceiling : 0
        let output = outputs.joined(separator: "\n")
        if json {
            var object: [String: JSONValue] = [
                "httpDecisionsPerSecond": .number(rate.rounded()),
                "httpP50Milliseconds": .number((p50 * 1000).rounded() / 1000),
                "httpP99Milliseconds": .number((p99 * 1000).rounded() / 1000),
                "serverPeakMegabytes": .number((peak * 10).rounded() / 10),
                "findingsReadySeconds": .number((findingsReady * 10).rounded() / 10),
                "non2xxResponses": .number(errors),
                "httpCeilingPerSecond": .number(ceiling.rounded()),
                "httpCeilingRatio": .number((ratio * 1000).rounded() / 1000),
                "instances": .number(Double(instances)),
            ]
            if witness {
                object["cosignLagP50Milliseconds"] = .number(percentile(lags, 0.5).rounded())
                object["cosignLagP99Milliseconds"] = .number(percentile(lags, 0.99).rounded())
                object["cosignLagSamples"] = .number(Double(lags.count))
            }
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print(
                "HTTP benchmark (\(subjects) subjects, \(connections) connections, \(seconds) s, every decision logged)"
            )
            let store = database == nil ? "SQLite, 1 instance" : "PostgreSQL, \(instances) instance(s)"
            print("  store                  \(store)")
            print(String(format: "  decisions per second   %.0f", rate))
            print(String(format: "  latency                p50 %.2f ms   p99 %.2f ms", p50, p99))
            print(String(format: "  server peak memory     %.1f MB", peak))
            print("  non-2xx responses      \(Int(errors))")
            print(
                String(format: "  GET /healthz ceiling   %.0f/s   (decisions are %.1f%% of it)", ceiling, ratio * 100)
            )
            if witness {
                print(
                    String(
                        format: "  cosigned after         p50 %.0f ms   p99 %.0f ms   (%d samples)",
                        percentile(lags, 0.5),
                        percentile(lags, 0.99),
                        lags.count
                    )
                )
            }
        }
        if errors > 0 {
            note(output)
            // A refusal is cheap: figures that count them are not the decisions they claim to be.
            note("\(Int(errors)) responses were not 2xx: the figures above do not measure the decisions asked for")
            throw ExitCode(1)
        }
    }

    /// Registers the organisations, a member credential, and the children with a consent each.
    func populate(_ path: String, policy: PolicySet) async throws -> (member: String, privacyOfficer: String) {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let tiaki = try await TiakiServices.open(
            LedgerDirectory(path: path),
            database: try database.map { try PostgresAddress(url: $0) },
            policy: policy,
            logger: logger
        )
        guard tiaki.ledger.checkpoint.size <= 1 else {
            await tiaki.close()
            throw ValidationError("\(database ?? path) already holds a ledger; give an empty database")
        }
        for (id, kind) in [("school-a", "school"), ("rtlb", "rtlb"), ("mol", "ministry-learning-support")] {
            _ = try await tiaki.organisations.register(.init(id: id, kind: kind, name: id))
        }
        let token = try await tiaki.credentials.issue(.init(org: "school-a", role: .member, holder: "the benchmark"))
            .token
        let privacy = try await tiaki.credentials.issue(
            .init(org: "mol", role: .privacyOfficer, holder: "the benchmark")
        ).token
        let school = EntryActor(org: "school-a")
        let next = Counter(0)
        let total = UInt64(subjects)
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var mine: [String] = []
                    while let i = next.take(below: total) {
                        let r = try await tiaki.subjects.register(
                            SubjectInput(birthMonth: "20\(10 + Int(i % 10))-0\(1 + Int(i % 9))"),
                            actor: school
                        )
                        let subject = r.entry.subject ?? ""
                        _ = try await tiaki.consents.grant(
                            subject: subject,
                            BenchData.consentInput(Int(i)),
                            actor: school
                        )
                        mine.append(subject)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        try ids.joined(separator: "\n").write(
            toFile: (path as NSString).deletingLastPathComponent + "/subjects.txt",
            atomically: true,
            encoding: .utf8
        )
        await tiaki.close()
        return (token, privacy)
    }

    /// Instance `n`'s share of the connections.
    func share(_ n: Int) -> Int { max(1, connections / instances + (n < connections % instances ? 1 : 0)) }

    func luaScript(token: String, subjectsFile: String) -> String {
        """
        local subjects = {}
        for line in io.lines("\(subjectsFile)") do subjects[#subjects + 1] = line end
        local purposes = {"learning-support-planning", "learning-support-planning", "referral", "transition"}
        wrk.method = "POST"
        wrk.headers["Authorization"] = "Bearer \(token)"
        wrk.headers["Content-Type"] = "application/json"
        request = function()
          local s = subjects[math.random(#subjects)]
          local p = purposes[math.random(#purposes)]
          local body = '{"subject":"' .. s .. '","purpose":"' .. p .. '","information":["register-entry"],"recipient":"rtlb","channel":"secure-email","storageRegion":"nz","date":"2026-06-01"}'
          return wrk.format(nil, nil, nil, body)
        end
        """
    }

    static func number(after label: String, in text: String) -> Double? {
        guard let range = text.range(of: label) else { return nil }
        let rest = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
        return Double(rest.prefix { $0.isNumber || $0 == "." })
    }

    /// A latency percentile line of wrk's `--latency` output ("     99%   12.34ms"), in milliseconds.
    static func latency(_ percentile: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0] == percentile else { continue }
            let value = String(parts[1])
            let number = Double(value.prefix { $0.isNumber || $0 == "." }) ?? 0
            if value.hasSuffix("us") { return number / 1000 }
            if value.hasSuffix("ms") { return number }
            if value.hasSuffix("s") { return number * 1000 }
            if value.hasSuffix("m") { return number * 60_000 }
        }
        return nil
    }
}

/// Runs the service's application on a data directory until SIGTERM (run by `http` in a child process).
/// Polls the newest checkpoint and the newest cosigned one every 20 ms; the lag of a sample is the time from
/// asking for the newest until a cosigned checkpoint covering its size was read (an upper bound: it includes the
/// requests' own time and up to one polling interval).
final class CosignSampler: Sendable {
    let port: Int
    private let samples = Mutex<
        [(time: ContinuousClock.Instant, latest: UInt64, cosigned: UInt64, seen: ContinuousClock.Instant)]
    >([])
    private let stopped = Mutex(false)

    init(port: Int) { self.port = port }

    func stop() { stopped.withLock { $0 = true } }

    func run() async {
        while !stopped.withLock({ $0 }) {
            let now = ContinuousClock.now
            if let latest = await size("latest=true"), let cosigned = await size(nil) {
                let seen = ContinuousClock.now
                samples.withLock { $0.append((now, latest, cosigned, seen)) }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    func size(_ query: String?) async -> UInt64? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/v1/ledger/checkpoint" + (query.map { "?" + $0 } ?? ""))
        else { return nil }
        guard let (data, response) = try? await URLSession.shared.data(from: url),
            (response as? HTTPURLResponse)?.statusCode == 200
        else { return (query == nil) ? 0 : nil }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        return lines.count > 1 ? UInt64(lines[1]) : nil
    }

    /// Milliseconds from each sample to the first sample whose cosigned size covers its newest size.
    func lags() -> [Double] {
        let all = samples.withLock { $0 }
        var out: [Double] = []
        var j = 0
        for (i, sample) in all.enumerated() {
            j = max(j, i)
            while j < all.count && all[j].cosigned < sample.latest { j += 1 }
            guard j < all.count else { break }
            let lag = all[j].seen - sample.time
            out.append(Double(lag.components.seconds) * 1000 + Double(lag.components.attoseconds) / 1e15)
        }
        return out
    }
}

/// A C2SP witness for the benchmark's server (run by `http --witness`).
struct WitnessServerChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness-server",
        abstract: "Witness the benchmark's log (run by `http --witness`).",
        shouldDisplay: false
    )

    @Option var key: String
    @Option var state: String
    @Option var log: String
    @Option var port = 18_100

    func run() async throws {
        var logger = Logger(label: "bench-witness")
        logger.logLevel = .warning
        let witness = try Witness(
            cosigner: try Cosigner(privateKeyText: try String(contentsOfFile: key, encoding: .utf8)),
            logs: [try NoteVerifier(vkey: log)],
            stateDirectory: state
        )
        try await buildWitnessApplication(witness: witness, host: "127.0.0.1", port: port, logger: logger).runService()
    }
}

struct HTTPServerChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-server",
        abstract: "Serve a data directory (run by `http`).",
        shouldDisplay: false
    )

    @Argument var data: String
    @Option var policies = "./Policies"
    @Option var port = 18_099
    @Option var peakFile: String?
    @Option var witness: String?
    @Option var database: String?

    func run() async throws {
        var logger = Logger(label: "bench-server")

        logger.logLevel = .warning
        var configuration = ServerConfiguration()
        configuration.dataDirectory = data
        configuration.database = try database.map { try PostgresAddress(url: $0) }
        configuration.policiesDirectory = policies
        configuration.port = port
        // One credential makes every request, as a school's nightly sync would: the per-credential write rate, a
        // guard against a runaway client (20/s by default), is raised as an operator raises it for such a
        // credential (`tiaki serve --write-rate`), so that what is measured is the service's work, not 429s. Every
        // other limit (head and idle timeouts, the connection cap, body size) stays as shipped.
        configuration.writesPerSecond = 1_000_000
        configuration.writeBurst = 1_000_000
        if let witness {
            configuration.witnesses = [try WitnessEndpoint(argument: witness)]
            configuration.witnessQuorum = 1
        }
        let (application, _) = try await buildApplication(configuration: configuration, logger: logger)
        try await application.runService()
        writePeakMemory(to: peakFile)
    }
}

extension BenchData {
    static func consentInput(_ i: Int) -> ConsentInput {
        ConsentInput(
            purposes: ["learning-support-planning", "referral"],
            information: ["register-entry", "assessment-progress"],
            audience: .init(kinds: ["rtlb", "ministry-learning-support"]),
            sharing: .init(channels: ["secure-email"], storageRegions: ["nz"], protection: "encrypted"),
            retention: .init(until: "2027-12-31"),
            accuracy: .init(contact: "c", method: "m"),
            withdrawal: .init(effect: "e", how: "h"),
            consenters: i % 10 < 2 ? [.init(role: "parent"), .init(role: "young-person")] : [.init(role: "parent")],
            informed: .init(date: "2026-02-01", noticeVersion: "v1", language: "en", method: "meeting"),
            text: "t"
        )
    }
}

func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Starts this executable with `arguments` and returns its pid.
func spawn(_ arguments: [String]) throws -> pid_t {
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, nil, nil, argv, environ)
    guard rc == 0 else { throw ValidationError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    return pid
}

/// Runs a program once per argument list, all at once, and returns their standard outputs in order.
func captureAll(_ executable: String, _ argumentLists: [[String]]) throws -> [String] {
    var running: [(Process, Pipe)] = []
    for arguments in argumentLists {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        running.append((process, pipe))
    }
    return running.map { process, pipe in
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs a program and returns its standard output.
func capture(_ executable: String, _ arguments: [String]) throws -> String {
    try captureAll(executable, [arguments])[0]
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
func waitForPort(_ port: Int, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(fd)
        if connected == 0 { return true }
        usleep(100_000)
    }
    return false
}
