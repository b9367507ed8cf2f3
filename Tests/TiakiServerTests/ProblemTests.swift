import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TiakiHTTP
import TiakiLedger
import TiakiModel

@testable import TiakiServer

@Suite("Problems")
struct ProblemTests {
    /// The status each domain code is answered with: chosen, not defaulted. A new code fails this test until it is
    /// given a line here (and a case in `Problem.init(_:)`, which does not compile without one).
    static let domain: [String: (Int, String)] = [
        "invalid": (400, "invalid"), "unknown-field": (400, "unknown-field"),
        "not-in-vocabulary": (400, "not-in-vocabulary"), "unknown-organisation": (400, "unknown-organisation"),
        "unknown-subject": (404, "not-found"), "unknown-consent": (404, "not-found"),
        "unknown-disclosure": (404, "not-found"), "unknown-breach": (404, "not-found"),
        "unknown-credential": (404, "unknown-credential"),
        "conflict": (409, "conflict"), "too-many": (409, "too-many"), "erased": (410, "erased"),
        "forbidden": (403, "forbidden"), "rate-limited": (429, "rate-limited"),
        "unavailable": (503, "unavailable"), "internal": (500, "internal"),
    ]

    static let ledger: [String: (Int, String)] = [
        "entry-too-large": (413, "too-large"), "invalid-argument": (400, "invalid"), "io": (503, "unavailable"),
        "closed": (503, "unavailable"), "locked": (503, "unavailable"), "diverged": (503, "unavailable"),
        "malformed-note": (500, "internal"), "malformed-checkpoint": (500, "internal"),
        "malformed-key": (500, "internal"), "signature-invalid": (500, "internal"),
        "no-trusted-signature": (500, "internal"), "insecure-key-file": (500, "internal"),
        "not-a-ledger": (500, "internal"), "corrupt": (500, "internal"), "invalid-entry": (500, "internal"),
        "no-ledger": (500, "internal"), "conflict": (409, "conflict"),
    ]

    @Test("every domain error code has a deliberate status and problem type")
    func domainCodes() {
        #expect(Set(TiakiError.Code.all.map(\.name)) == Set(Self.domain.keys))
        for code in TiakiError.Code.all {
            let problem = Problem(TiakiError(code, "a message", field: "f"))
            let expected = Self.domain[code.name]
            #expect(Int(problem.status.code) == expected?.0, "\(code)")
            #expect(problem.code == expected?.1, "\(code)")
            // What a caller did wrong says so, with the field; what went wrong inside says nothing more.
            if problem.status.code < 500, problem.code != "not-found" {
                #expect(problem.detail.contains("a message"), "\(code)")
            }
        }
    }

    @Test("every ledger error code has a deliberate status and problem type")
    func ledgerCodes() {
        #expect(Set(LedgerError.Code.all.map(\.name)) == Set(Self.ledger.keys))
        for code in LedgerError.Code.all {
            let problem = Problem(LedgerError(code, "a message"))
            #expect(Int(problem.status.code) == Self.ledger[code.name]?.0, "\(code)")
            #expect(problem.code == Self.ledger[code.name]?.1, "\(code)")
        }
    }

    @Test("a response that cannot be encoded is a 500 problem and a log line, never an empty 2xx")
    func encodingFailure() async throws {
        struct Broken: Encodable { let value = Double.nan }
        let logs = LogCollector()
        let router = Router(context: TiakiRequestContext.self)
        router.add(middleware: ProblemMiddleware(logger: logs.logger, routes: RouteTable([])))
        router.get("broken") { _, _ in try Reply.json(Broken()) }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/broken", method: .get)
            #expect(r.status == .internalServerError)
            #expect(r.headers[.contentType] == "application/problem+json")
            #expect(r.json["type"]?.stringValue == "urn:tiaki:problem:internal")
        }
        #expect(logs.lines.withLock { $0 }.contains { $0.contains("response not encoded") && $0.contains("Broken") })
    }
}
