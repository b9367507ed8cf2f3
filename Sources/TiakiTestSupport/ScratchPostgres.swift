import Foundation
import Logging
package import TiakiLedger

/// Throw-away databases on the PostgreSQL server that `TIAKI_TEST_DATABASE_URL` names, for the tests that need
/// a real server (`.ci/run` starts a cluster and sets it): each gets a database of its own,
/// dropped however it ends.
package enum ScratchPostgres {
    package static let url = ProcessInfo.processInfo.environment["TIAKI_TEST_DATABASE_URL"]
    package static var available: Bool { url != nil }
    /// The certificate (PEM) of the authority that signed the test server's TLS certificate, when it accepts TLS
    /// (`Scripts/postgres-start.sh` makes one: DIR/server.crt).
    package static let certificateAuthority = ProcessInfo.processInfo.environment["TIAKI_TEST_DATABASE_CA"]

    package static func withDatabase<T>(_ body: (PostgresAddress) async throws -> T) async throws -> T {
        guard let url else { throw LedgerError(.invalidArgument, "TIAKI_TEST_DATABASE_URL is not set") }
        var address = try PostgresAddress(url: url)
        let admin = try PostgresPool(address, logger: Logger(label: "tiaki.scratch"))
        defer { admin.close() }
        let name = "tiaki_scratch_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try admin.createDatabase(name)
        defer { try? admin.dropDatabase(name) }
        address.database = name
        return try await body(address)
    }
}
