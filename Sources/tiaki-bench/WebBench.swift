import ArgumentParser
import Foundation
import Logging
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

#if canImport(Glibc)
import Glibc
#endif

struct WebBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Pages rendered by the service, with 16 signed-in sessions.",
        discussion: """
            Writes a data directory with a school, an RTLB service and children with a consent each and some shares, \
            starts the service in a child process, signs in 16 sessions through the sign-in form, and drives the pages \
            a school uses (home, find, the child's page, the consent form, may-we-share) from wrk (`apt-get install \
            wrk`) with 16 connections, each request under one of the sessions. Reports the latency wrk measures over \
            loopback, the rate, and the largest page.
            """
    )

    @Option(help: "How many children.")
    var subjects = 2000
    @Option(help: "Seconds to drive the pages.")
    var seconds = 10
    @Option(help: "The port for the service.")
    var port = 18_171
    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"
    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        guard let wrk = findExecutable("wrk"), let curl = findExecutable("curl") else {
            throw ValidationError("wrk and curl are needed: apt-get install wrk curl")
        }
        let policy = try PolicySet.load(directory: policies)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-bench-web-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        note("registering \(subjects) children with a consent and a share each …")
        let (tokens, children) = try await populate(work + "/data", policy: policy)
        let server = try spawn(["http-server", work + "/data", "--policies", policies, "--port", String(port)])
        defer { kill(server, SIGKILL) }
        guard waitForPort(port, seconds: 60) else { throw ValidationError("the server did not start") }
        let base = "http://127.0.0.1:\(port)"
        var sessions: [String] = []
        for n in 0..<16 {
            let jar = work + "/jar-\(n)"
            let form = try capture(curl, ["-s", "-c", jar, base + "/sign-in"])
            guard let csrf = Self.value(of: "csrf", in: form) else { throw ValidationError("no sign-in form") }
            _ = try capture(
                curl,
                [
                    "-s", "-b", jar, "-c", jar, "-o", "/dev/null", "--data-urlencode", "csrf=\(csrf)",
                    "--data-urlencode",
                    "token=\(tokens[n])", base + "/sign-in",
                ]
            )
            let cookies = try String(contentsOfFile: jar, encoding: .utf8)
            guard let line = cookies.split(separator: "\n").first(where: { $0.contains("tiaki_session") }),
                let id = line.split(separator: "\t").last
            else { throw ValidationError("signing in gave no session") }
            sessions.append(String(id))
        }
        var paths = ["/", "/children", "/children?ref=c7"]
        for subject in children.prefix(200) {
            paths += ["/children/\(subject)", "/children/\(subject)/share", "/children/\(subject)/consents/new"]
        }
        var largest = 0
        for path in paths.prefix(8) {
            let page = try capture(curl, ["-s", "-H", "Cookie: tiaki_session=\(sessions[0])", base + path])
            // A signed-in page, not a redirect to the sign-in form: otherwise the figures measure nothing.
            guard page.contains("/sign-out") else {
                throw ValidationError("\(path) did not answer a signed-in page: \(page.prefix(200))")
            }
            largest = max(largest, page.utf8.count)
        }
        let script = work + "/pages.lua"
        try Self.lua(sessions: sessions, paths: paths).write(toFile: script, atomically: true, encoding: .utf8)
        note("driving 16 sessions over \(paths.count) pages for \(seconds) s …")
        let before = Self.histogram(try capture(curl, ["-s", base + "/metrics"]))
        let output = try capture(wrk, ["-t2", "-c16", "-d\(seconds)s", "--latency", "-s", script, base + "/"])
        let after = Self.histogram(try capture(curl, ["-s", base + "/metrics"]))
        // The server's own time per page (its request-duration histogram over the run): the bucket bound that
        // holds the median and the 99th percentile.
        let served = zip(after, before).map { (bound: $0.0.bound, count: $0.0.count - $0.1.count) }
        let serverP50 = Self.bound(0.5, served)
        let serverP99 = Self.bound(0.99, served)
        kill(server, SIGTERM)
        var status: Int32 = 0
        waitpid(server, &status, 0)
        let rate = HTTPBench.number(after: "Requests/sec:", in: output) ?? 0
        let p50 = HTTPBench.latency("50%", in: output) ?? 0
        let p99 = HTTPBench.latency("99%", in: output) ?? 0
        let errors = HTTPBench.number(after: "Non-2xx or 3xx responses:", in: output) ?? 0
        if json {
            let object: [String: JSONValue] = [
                "pagesPerSecond": .number(rate.rounded()),
                "pageP50Milliseconds": .number((p50 * 1000).rounded() / 1000),
                "pageP99Milliseconds": .number((p99 * 1000).rounded() / 1000),
                "largestPageBytes": .number(Double(largest)),
                "non2xxResponses": .number(errors),
                "serverP50AtMostMilliseconds": .number(serverP50 * 1000),
                "serverP99AtMostMilliseconds": .number(serverP99 * 1000),
            ]
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print("web benchmark (\(subjects) children, 16 sessions, \(paths.count) pages, \(seconds) s)")
            print(String(format: "  pages per second   %.0f", rate))
            print(String(format: "  latency            p50 %.2f ms   p99 %.2f ms", p50, p99))
            print("  largest page       \(largest) bytes")
            print(
                String(
                    format: "  server-side        p50 at most %.1f ms   p99 at most %.1f ms   (histogram buckets)",
                    serverP50 * 1000,
                    serverP99 * 1000
                )
            )
            print("  non-2xx responses  \(Int(errors))")
        }
        if errors > 0 {
            note(output)
            // A refusal is cheap: figures that count them are not the pages they claim to be.
            note("\(Int(errors)) responses were not 2xx: the figures above do not measure the pages asked for")
            throw ExitCode(1)
        }
    }

    /// The cumulative buckets of `tiaki_http_request_duration_seconds` in a /metrics page.
    static func histogram(_ metrics: String) -> [(bound: Double, count: Double)] {
        metrics.split(separator: "\n").compactMap { line -> (Double, Double)? in
            let prefix = "tiaki_http_request_duration_seconds_bucket{le=\""
            guard line.hasPrefix(prefix), let close = line.range(of: "\"}"), let space = line.lastIndex(of: " ")
            else { return nil }
            let le = line[line.index(line.startIndex, offsetBy: prefix.count)..<close.lowerBound]
            guard let count = Double(line[line.index(after: space)...]) else { return nil }
            return (le == "+Inf" ? .infinity : Double(le) ?? .infinity, count)
        }
    }

    /// The smallest bucket bound at or below which `fraction` of the counted requests fall.
    static func bound(_ fraction: Double, _ buckets: [(bound: Double, count: Double)]) -> Double {
        guard let total = buckets.last?.count, total > 0 else { return 0 }
        return buckets.first { $0.count >= fraction * total }?.bound ?? .infinity
    }

    static func value(of name: String, in html: String) -> String? {
        guard let r = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    static func lua(sessions: [String], paths: [String]) -> String {
        func list(_ items: [String]) -> String { items.map { "\"\($0)\"" }.joined(separator: ",") }
        return """
            local sessions = {\(list(sessions))}
            local paths = {\(list(paths))}
            local n = 0
            request = function()
              n = n + 1
              local cookie = "tiaki_session=" .. sessions[(n % #sessions) + 1]
              return wrk.format("GET", paths[(n % #paths) + 1], {["Cookie"] = cookie})
            end

            """
    }

    /// The organisations, 16 member credentials (one for each person signed in: a credential holds at most 10
    /// sessions), and children with a consent and a share each.
    func populate(_ path: String, policy: PolicySet) async throws -> ([String], [String]) {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let tiaki = try await TiakiServices.open(LedgerDirectory(path: path), policy: policy, logger: logger)
        for (id, kind, name) in [("school-a", "school", "Kōwhai School"), ("rtlb", "rtlb", "RTLB North")] {
            _ = try await tiaki.organisations.register(
                .init(id: id, kind: kind, name: name, contact: "office@\(id).nz")
            )
        }
        var tokens: [String] = []
        for n in 0..<16 {
            tokens.append(
                try await tiaki.credentials.issue(.init(org: "school-a", role: .member, holder: "staff member \(n)"))
                    .token
            )
        }
        let school = EntryActor(org: "school-a")
        var children: [String] = []
        for i in 0..<subjects {
            let subject =
                try await tiaki.subjects.register(
                    SubjectInput(birthMonth: "2015-0\(1 + i % 9)", localReference: "c\(i)", name: "Child \(i)"),
                    actor: school
                ).entry.subject ?? ""
            let consent = try await tiaki.consents.grant(subject: subject, BenchData.consentInput(i), actor: school)
            _ = consent
            _ = try await tiaki.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    share: Share(
                        recipient: "rtlb",
                        purpose: "referral",
                        information: ["register-entry"],
                        channel: "secure-email",
                        storageRegion: "nz"
                    ),
                    date: "2026-03-01"
                ),
                actor: school
            )
            children.append(subject)
        }
        await tiaki.close()
        return (tokens, children)
    }
}
