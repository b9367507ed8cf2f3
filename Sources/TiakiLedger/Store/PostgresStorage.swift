import Foundation
package import Logging
import NIOCore
import NIOPosix
import NIOSSL
package import PostgresNIO
import Synchronization

/// A PostgreSQL database named by a URL,
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE[&sslrootcert=FILE]]`.
public struct PostgresAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Whether and how the connection is encrypted, as libpq's `sslmode` says it.
    public var tls: TLSMode = .disable
    /// The certificate authorities (PEM) that `verify-ca` and `verify-full` trust; the system's when `nil`.
    public var rootCertificate: String?

    public enum TLSMode: String, Sendable, CaseIterable {
        /// No TLS: for a database on loopback or a private network only.
        case disable
        /// Encrypted, the server's certificate not checked (protects against listening, not against a server
        /// that pretends to be the database).
        case require
        /// Encrypted, the certificate signed by a trusted authority, its name not checked.
        case verifyCA = "verify-ca"
        /// Encrypted, the certificate signed by a trusted authority and naming the host: the mode to use across
        /// machines.
        case verifyFull = "verify-full"
    }

    /// Reads a `postgres://` (or `postgresql://`) URL; anything else is refused, saying what is expected.
    public init(url text: String) throws(LedgerError) {
        let expected = "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw LedgerError(.invalidArgument, "the database URL is not a PostgreSQL URL; \(expected)")
        }
        guard let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty else {
            throw LedgerError(.invalidArgument, "the database URL names no host or no user; \(expected)")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw LedgerError(.invalidArgument, "the database URL names no database; \(expected)")
        }
        for item in url.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    let modes = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw LedgerError(
                        .invalidArgument,
                        "the database URL's sslmode=\(item.value ?? "") is not supported; give one of \(modes)"
                    )
                }
                tls = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else {
                    throw LedgerError(.invalidArgument, "the database URL's sslrootcert names no file")
                }
                rootCertificate = path
            default:
                throw LedgerError(
                    .invalidArgument,
                    "the database URL's option \(item.name) is not supported; Tiaki reads sslmode and sslrootcert"
                )
            }
        }
        if rootCertificate != nil, tls != .verifyCA, tls != .verifyFull {
            throw LedgerError(.invalidArgument, "sslrootcert goes with sslmode=verify-ca or verify-full")
        }
        self.host = host
        self.port = url.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
    }

    /// The URL without its password, for messages and logs.
    public var redacted: String {
        "postgres://\(user)@\(host):\(port)/\(database)" + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)")
    }

    /// The URL, password included, to hand to another process (a test's `tiaki`).
    package var url: String {
        var c = URLComponents()
        c.scheme = "postgres"
        c.user = user
        c.password = password
        c.host = host
        c.port = port
        c.path = "/" + database
        if tls != .disable {
            c.queryItems =
                [URLQueryItem(name: "sslmode", value: tls.rawValue)]
                + (rootCertificate.map { [URLQueryItem(name: "sslrootcert", value: $0)] } ?? [])
        }
        return c.string ?? redacted
    }
}

/// Connections to one PostgreSQL database, used synchronously from threads that are not an event loop's (the
/// ledger's sequencer, the services' readers): each query waits for its answer.
package final class PostgresPool: Sendable {
    package let address: PostgresAddress
    let logger: Logger
    private let idle = Mutex<[PostgresConnection]>([])
    private let opened = Atomic<Int>(0)
    private static let keepIdle = 8
    private let configuration: PostgresConnection.Configuration

    /// Connects once, so that a database that cannot be reached, refuses the credentials or whose certificate is
    /// not trusted is one clear error before anything else happens.
    package init(_ address: PostgresAddress, logger: Logger) throws(LedgerError) {
        self.address = address
        self.logger = logger
        configuration = try Self.configuration(address)
        let first = try connect()
        idle.withLock { $0.append(first) }
    }

    /// How every connection to `address` is made: one TLS context for all of them.
    private static func configuration(
        _ address: PostgresAddress
    ) throws(LedgerError)
        -> PostgresConnection
        .Configuration
    {
        var tls = PostgresConnection.Configuration.TLS.disable
        if address.tls != .disable {
            var settings = TLSConfiguration.makeClientConfiguration()
            switch address.tls {
            case .disable, .require: settings.certificateVerification = .none
            case .verifyCA: settings.certificateVerification = .noHostnameVerification
            case .verifyFull: settings.certificateVerification = .fullVerification
            }
            if let path = address.rootCertificate {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw LedgerError(.io, "cannot read the database's root certificate \(path)")
                }
                settings.trustRoots = .file(path)
            }
            do {
                tls = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw LedgerError(.io, "cannot prepare TLS for \(address.redacted): \(error)")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: address.host,
            port: address.port,
            username: address.user,
            password: address.password,
            database: address.database,
            tls: tls
        )
        configuration.options.connectTimeout = .seconds(10)
        // With verify-full the certificate must name the host (postgres-nio passes it as the TLS server name) or,
        // for an address such as 127.0.0.1, carry that address.
        return configuration
    }

    private func connect() throws(LedgerError) -> PostgresConnection {
        let configuration = self.configuration
        let id = opened.add(1, ordering: .relaxed).newValue
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(),
                configuration: configuration,
                id: id,
                logger: logger
            ).wait()
        } catch {
            throw LedgerError(.io, "cannot connect to \(address.redacted): \(PostgresPool.describe(error))")
        }
    }

    /// The TLS version a connection of the pool speaks (`TLSv1.3`), or `nil` when it is not encrypted.
    package func encryption() throws -> String? {
        try withSession {
            try $0.query("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl")
        }.first.map { try $0.decode(String.self) }
    }

    /// Runs `body` on a connection of the pool (opening one when none is idle).
    package func withSession<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? connect()
        do {
            let value = try body(PostgresSession(connection: connection, logger: logger))
            checkIn(connection)
            return value
        } catch {
            checkIn(connection)
            throw error
        }
    }

    /// Runs `body` in one transaction; rolled back if it throws.
    ///
    /// `BEGIN` is sent with the first statement, and statements sent with ``PostgresSession/send(_:_:)`` go with
    /// `COMMIT`: the server answers them in order, so a commit that writes a batch costs two round trips, not one
    /// per statement. If any of them failed, the transaction did not commit and the first failure is thrown.
    package func transaction<T>(readOnly: Bool = false, _ body: (PostgresSession) throws -> T) throws -> T {
        try withSession { session in
            session.send(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
            do {
                let value = try body(session)
                session.send("COMMIT")
                // A read-only transaction's end need not be waited for: the connection answers in order, so the
                // next statement on it comes after; a write's must be durable before this returns.
                if !readOnly { try session.settle() }
                return value
            } catch {
                try? session.settle()
                try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        let extra = idle.withLock { list -> PostgresConnection? in
            guard list.count < PostgresPool.keepIdle, !closed.load(ordering: .relaxed) else { return connection }
            list.append(connection)
            return nil
        }
        if let extra { PostgresPool.close(extra) }
    }

    /// Closes a connection, keeping it alive until it is closed (postgres-nio insists a connection is closed before
    /// it goes away).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    private let closed = Atomic<Bool>(false)

    /// Closes the idle connections; one still in use is closed when it is handed back.
    package func close() {
        closed.store(true, ordering: .relaxed)
        let all = idle.withLock { list in
            defer { list = [] }
            return list
        }
        for connection in all { try? connection.close().wait() }
    }

    deinit {
        for connection in idle.withLock({ $0 }) { PostgresPool.close(connection) }
    }

    /// Listens on `channel` on a connection of its own until the task is cancelled, calling `notified` with each
    /// payload, and with `nil` whenever notifications may have been missed (at the start, and after the
    /// connection was lost and made again).
    package func listen(on channel: String, _ notified: @escaping @Sendable (String?) -> Void) -> Task<Void, Never> {
        let address = address
        let logger = logger
        return Task.detached {
            while !Task.isCancelled {
                let connection: PostgresConnection
                do {
                    connection = try await PostgresConnection.connect(
                        on: MultiThreadedEventLoopGroup.singleton.any(),
                        configuration: PostgresPool.configuration(address),
                        id: 0,
                        logger: logger
                    )
                } catch {
                    logger.warning("cannot listen for other instances' commits", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                do {
                    try await connection.listen(on: channel) { notifications in
                        notified(nil)
                        for try await notification in notifications { notified(notification.payload) }
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning(
                            "listening for other instances' commits stopped",
                            metadata: ["error": "\(error)"]
                        )
                    }
                }
                try? await connection.close()
                notified(nil)
            }
        }
    }

    /// Creates a new, empty database on the same server (for tests and benchmarks, which each want their own).
    package func createDatabase(_ name: String) throws {
        guard name.utf8.allSatisfy({ $0 == 0x5F || (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }) else {
            throw LedgerError(.invalidArgument, "a scratch database name is lower-case letters, digits and _")
        }
        _ = try withSession { try $0.query("CREATE DATABASE \(name)") }
    }

    /// Drops a database `createDatabase` made, closing whatever is still connected to it.
    package func dropDatabase(_ name: String) throws {
        _ = try withSession { try $0.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    /// What went wrong, in the server's words where it gave some (postgres-nio's own description hides them).
    package static func describe(_ error: any Error) -> String {
        if let error = error as? LedgerError { return error.message }
        if let error = error as? PostgresFailure { return error.message }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + state
        }
        if let underlying = error.underlying {
            // A refused or unreachable address: the system's words ("Connection refused"), not NIO's structure.
            if let failure = underlying as? NIOConnectionError {
                if let io = failure.connectionErrors.last?.error as? IOError {
                    return String(cString: strerror(io.errnoCode)).lowercased()
                }
                if failure.connectionErrors.isEmpty { return "the host name could not be resolved" }
            }
            if let io = underlying as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
            if let tls = underlying as? NIOSSLError {
                if "\(tls)".contains("CERTIFICATE_VERIFY_FAILED") {
                    return
                        "its TLS certificate is not trusted or does not name the host (with sslmode=verify-ca or verify-full, give sslrootcert=FILE, the authority that signed it)"
                }
                return "TLS failed: \(tls)"
            }
            return "\(underlying)"
        }
        if error.code == .sslUnsupported { return "the server does not accept TLS (its ssl setting is off)" }
        return "\(error.code)"
    }

}

/// A statement the server refused or could not answer, in its own words, with its SQLSTATE when it gave one.
package struct PostgresFailure: Error, CustomStringConvertible {
    package let message: String
    package let state: String?

    init(_ error: any Error) {
        message = PostgresPool.describe(error)
        state = (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    package var description: String { message }
    /// A unique or primary key already taken (SQLSTATE 23505).
    package var isUniqueViolation: Bool { state == "23505" }
}

/// One connection, checked out of a ``PostgresPool``.
package struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    /// Statements sent and not yet waited for, oldest first.
    private let inFlight = InFlight()

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    final class InFlight {
        var futures: [EventLoopFuture<PostgresQueryResult>] = []
    }

    /// Runs one statement and returns its rows (after whatever was sent before it).
    @discardableResult
    package func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> [PostgresRow] {
        let future = connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        try settle()
        do {
            return try future.wait().rows
        } catch {
            throw PostgresFailure(error)
        }
    }

    /// Sends one statement without waiting for its answer; ``settle()`` (or the next ``query(_:_:)``) waits for it.
    package func send(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) {
        inFlight.futures.append(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
    }

    /// Sends one statement whose rows are wanted later, from ``rows(of:)``.
    package func sendForRows(_ sql: String, _ binds: PostgresBindings) -> EventLoopFuture<PostgresQueryResult> {
        connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    /// The rows of a statement ``sendForRows(_:_:)`` sent.
    package func rows(of future: EventLoopFuture<PostgresQueryResult>) throws -> [PostgresRow] {
        do {
            return try future.wait().rows
        } catch {
            throw PostgresFailure(error)
        }
    }

    /// Waits for every statement sent; throws the first failure.
    package func settle() throws {
        let futures = inFlight.futures
        inFlight.futures = []
        var failure: (any Error)?
        for future in futures {
            do {
                _ = try future.wait()
            } catch {
                if failure == nil { failure = PostgresFailure(error) }
            }
        }
        if let failure { throw failure }
    }

    /// Runs statements without parameters, one at a time (several may be separated by semicolons; a semicolon
    /// inside a `$$`-quoted function body does not end one).
    package func execute(_ sql: String) throws {
        for statement in PostgresSession.statements(sql) { try query(statement) }
    }

    static func statements(_ sql: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var rest = Substring(sql)
        while let first = rest.first {
            if rest.hasPrefix("$$") {
                quoted.toggle()
                current += "$$"
                rest = rest.dropFirst(2)
                continue
            }
            rest = rest.dropFirst()
            if first == ";" && !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(first)
            }
        }
        out.append(current)
        return out.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// The bindings for `values`, in order.
    package static func binds(_ values: [any PostgresEncodable & Sendable]) throws -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values { try binds.append(value) }
        return binds
    }
}

/// Schema versions of the components that keep tables in one PostgreSQL database (the ledger, the consent vault),
/// applied under one advisory lock so that instances starting together migrate once.
package enum PostgresMigrations {
    /// The advisory lock every migration takes ("TIAK").
    static let lockKey: Int64 = 0x5449_414B

    /// The schema version of `component`'s tables (0 when it has none); `tiaki_schema` must exist.
    package static func version(of component: String, in session: PostgresSession) throws -> Int {
        let rows = try session.query(
            "SELECT version FROM tiaki_schema WHERE component = $1",
            PostgresSession.binds([component])
        )
        return try rows.first.map { Int(try $0.decode(Int32.self)) } ?? 0
    }

    /// Checks that the database holds `component`'s tables at a version this binary knows, changing nothing.
    package static func check(_ pool: PostgresPool, component: String, steps: [String]) throws {
        try pool.transaction(readOnly: true) { session in
            let ours = try session.query("SELECT to_regclass('tiaki_schema') IS NOT NULL")
            guard try ours.first?.decode(Bool.self) == true else {
                throw LedgerError(.notALedger, "\(pool.address.redacted) holds no Tiaki ledger")
            }
            let version = try version(of: component, in: session)
            guard version > 0 else {
                throw LedgerError(.notALedger, "\(pool.address.redacted) holds no Tiaki \(component) tables")
            }
            guard version <= steps.count else {
                throw LedgerError(
                    .notALedger,
                    "the \(component) tables in \(pool.address.redacted) are at schema version \(version), newer than this tiaki knows (\(steps.count)); run a newer tiaki"
                )
            }
        }
    }

    /// Applies the `steps` of `component` that the database lacks; refuses a database that holds tables but not
    /// Tiaki's, and one whose schema is newer than this binary knows.
    package static func migrate(_ pool: PostgresPool, component: String, steps: [String]) throws {
        try pool.transaction { session in
            try session.query("SELECT pg_advisory_xact_lock($1)", PostgresSession.binds([lockKey]))
            let ours = try session.query("SELECT to_regclass('tiaki_schema') IS NOT NULL")
            let known = try ours.first?.decode(Bool.self) ?? false
            if !known {
                let others = try session.query(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                )
                let count = try others.first?.decode(Int64.self) ?? 0
                guard count == 0 else {
                    throw LedgerError(
                        .notALedger,
                        "the database \(pool.address.redacted) holds \(count) tables that are not Tiaki's; give Tiaki a database of its own"
                    )
                }
                try session.execute(
                    "CREATE TABLE tiaki_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
            }
            let version = try version(of: component, in: session)
            guard version <= steps.count else {
                throw LedgerError(
                    .notALedger,
                    "the \(component) tables in \(pool.address.redacted) are at schema version \(version), newer than this tiaki knows (\(steps.count)); run a newer tiaki"
                )
            }
            for step in steps[version...] { try session.execute(step) }
            if version < steps.count {
                try session.query(
                    "INSERT INTO tiaki_schema (component, version) VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                    PostgresSession.binds([component, Int32(steps.count)])
                )
            }
        }
    }
}

/// The ledger's tables in a PostgreSQL database that any number of Tiaki instances share. A commit locks the one
/// head row (`SELECT … FOR UPDATE`) in the transaction that inserts its entries and its checkpoint, as Tessera's
/// PostgreSQL driver sequences: instances group-commit independently and never interleave inside a batch.
package struct PostgresLedgerStorage: LedgerStorage {
    package let pool: PostgresPool

    package var isShared: Bool { true }
    package var location: String { pool.address.redacted }
    package var database: LedgerDatabase { .postgres(pool) }

    /// Connects and brings the ledger's tables to this binary's schema; with `migrate` false (a reader), only
    /// checks that the database holds a ledger this binary can read.
    package init(_ address: PostgresAddress, logger: Logger, migrate: Bool = true) throws(LedgerError) {
        pool = try PostgresPool(address, logger: logger)
        do {
            if migrate {
                try PostgresMigrations.migrate(pool, component: "ledger", steps: PostgresLedgerStorage.schema)
            } else {
                try PostgresMigrations.check(pool, component: "ledger", steps: PostgresLedgerStorage.schema)
            }
        } catch let error as LedgerError {
            pool.close()
            throw error
        } catch {
            pool.close()
            throw LedgerError(.io, "cannot prepare \(address.redacted): \(PostgresPool.describe(error))")
        }
    }

    static let schema = [
        """
        CREATE TABLE entries (
            idx BIGINT PRIMARY KEY,
            entry BYTEA NOT NULL,
            leaf BYTEA NOT NULL CHECK (length(leaf) = 32),
            nodes BYTEA NOT NULL
        );
        CREATE FUNCTION tiaki_entries_next() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.idx <> (SELECT coalesce(max(idx) + 1, 0) FROM entries) THEN
                RAISE EXCEPTION 'entries are appended at the next index only';
            END IF;
            RETURN NEW;
        END $$;
        CREATE FUNCTION tiaki_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
        END $$;
        CREATE TRIGGER entries_next_index BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION tiaki_entries_next();
        CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
            FOR EACH ROW EXECUTE FUNCTION tiaki_append_only();
        CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
            FOR EACH STATEMENT EXECUTE FUNCTION tiaki_append_only();

        CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, time TEXT NOT NULL);
        CREATE FUNCTION tiaki_checkpoints_grow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.size <= (SELECT coalesce(max(size), -1) FROM checkpoints) THEN
                RAISE EXCEPTION 'checkpoints are appended in growing size only';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER checkpoints_grow BEFORE INSERT ON checkpoints
            FOR EACH ROW EXECUTE FUNCTION tiaki_checkpoints_grow();
        CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
            FOR EACH ROW EXECUTE FUNCTION tiaki_append_only();
        CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
            FOR EACH STATEMENT EXECUTE FUNCTION tiaki_append_only();

        CREATE TABLE head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            size BIGINT NOT NULL,
            note TEXT NOT NULL,
            time TEXT NOT NULL
        );
        CREATE FUNCTION tiaki_head_grows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the newest checkpoint is never deleted'; END IF;
            IF NEW.size < OLD.size THEN RAISE EXCEPTION 'the newest checkpoint never shrinks'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER head_grows BEFORE UPDATE OR DELETE ON head FOR EACH ROW EXECUTE FUNCTION tiaki_head_grows();
        CREATE TRIGGER head_no_truncate BEFORE TRUNCATE ON head
            FOR EACH STATEMENT EXECUTE FUNCTION tiaki_append_only();

        CREATE TABLE entry_keys (key TEXT NOT NULL, idx BIGINT NOT NULL, PRIMARY KEY (key, idx));
        CREATE INDEX entry_keys_by_index ON entry_keys (idx);
        CREATE TRIGGER entry_keys_append_only BEFORE UPDATE OR DELETE ON entry_keys
            FOR EACH ROW EXECUTE FUNCTION tiaki_append_only();
        CREATE TRIGGER entry_keys_no_truncate BEFORE TRUNCATE ON entry_keys
            FOR EACH STATEMENT EXECUTE FUNCTION tiaki_append_only();
        """,
        // Version 2: the next-index rule checked once per statement over the rows it inserted, not by a lookup of
        // the largest index for each row (a commit inserts its whole batch in one statement, with the head's lock
        // held). Each lookup is one probe of the primary key, whatever plan the function's statements get (an
        // `EXISTS` over `idx > n` may be planned as a scan of the whole table). Written to run again harmlessly.
        """
        DROP TRIGGER IF EXISTS entries_next_index ON entries;
        CREATE OR REPLACE FUNCTION tiaki_entries_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            lowest BIGINT;
            highest BIGINT;
            rows BIGINT;
        BEGIN
            SELECT min(idx), max(idx), count(*) INTO lowest, highest, rows FROM inserted;
            IF rows > 0 AND (
                highest - lowest + 1 <> rows
                OR (lowest > 0 AND NOT EXISTS (SELECT 1 FROM entries WHERE idx = lowest - 1))
                OR (SELECT max(idx) FROM entries) <> highest
            ) THEN
                RAISE EXCEPTION 'entries are appended at the next index only';
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER entries_next_index AFTER INSERT ON entries REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION tiaki_entries_follow();
        DROP FUNCTION IF EXISTS tiaki_entries_next();
        """,
    ]

    package func read<T>(_ body: (any LedgerReading) throws -> T) throws -> T {
        try pool.transaction(readOnly: true) { session in try body(Tables(session: session)) }
    }

    package func write<T>(_ body: (any LedgerWriting) throws -> T) throws -> T {
        try pool.transaction { session in try body(Tables(session: session)) }
    }

    package func close() { pool.close() }

    struct Tables: LedgerWriting {
        let session: PostgresSession

        private func checkpoint(_ rows: [PostgresRow]) throws -> StoredCheckpoint? {
            try rows.first.map { row in
                let (size, note, time) = try row.decode((Int64, String, String).self)
                return StoredCheckpoint(size: UInt64(size), note: note, time: time)
            }
        }

        func head() throws -> StoredCheckpoint? {
            try checkpoint(session.query("SELECT size, note, time FROM head WHERE id = 1"))
        }

        func lastArchived() throws -> StoredCheckpoint? {
            try checkpoint(session.query("SELECT size, note, time FROM checkpoints ORDER BY size DESC LIMIT 1"))
        }

        func entryCount() throws -> UInt64 {
            let rows = try session.query("SELECT coalesce(max(idx) + 1, 0) FROM entries")
            return UInt64(try rows.first?.decode(Int64.self) ?? 0)
        }

        func perfectHashes(_ ranges: [Range<UInt64>]) throws -> [MerkleHash] {
            for range in ranges { try Self.checkPerfect(range) }
            let wanted = ranges.map { Int64($0.upperBound - 1) }
            let rows = try session.query(
                "SELECT idx, leaf, nodes FROM entries WHERE idx = ANY($1)",
                PostgresSession.binds([wanted])
            )
            var found: [UInt64: (leaf: [UInt8], nodes: [UInt8])] = [:]
            for row in rows {
                let (index, leaf, nodes) = try row.decode((Int64, ByteBuffer, ByteBuffer).self)
                found[UInt64(index)] = (Array(buffer: leaf), Array(buffer: nodes))
            }
            return try ranges.map { range in
                guard let row = found[range.upperBound - 1] else {
                    throw LedgerError(.corrupt, "entry \(range.upperBound - 1) is missing from the store")
                }
                return try Self.perfectHash(of: range, leaf: row.leaf, nodes: row.nodes)
            }
        }

        func entries(in range: Range<UInt64>) throws -> [[UInt8]] {
            let rows = try session.query(
                "SELECT entry FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                PostgresSession.binds([Int64(range.lowerBound), Int64(range.upperBound)])
            )
            guard rows.count == range.count else {
                throw LedgerError(.corrupt, "entries \(range) are not all in the store")
            }
            return try rows.map { Array(buffer: try $0.decode(ByteBuffer.self)) }
        }

        func entries(at indexes: [UInt64]) throws -> [[UInt8]] {
            let rows = try session.query(
                "SELECT idx, entry FROM entries WHERE idx = ANY($1)",
                PostgresSession.binds([indexes.map { Int64($0) }])
            )
            var found: [UInt64: [UInt8]] = [:]
            for row in rows {
                let (index, entry) = try row.decode((Int64, ByteBuffer).self)
                found[UInt64(index)] = Array(buffer: entry)
            }
            return try indexes.map { index in
                guard let entry = found[index] else {
                    throw LedgerError(.invalidArgument, "there is no entry \(index)")
                }
                return entry
            }
        }

        func leaves(in range: Range<UInt64>) throws -> [(entry: [UInt8], leaf: [UInt8])] {
            try session.query(
                "SELECT entry, leaf FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                PostgresSession.binds([Int64(range.lowerBound), Int64(range.upperBound)])
            ).map { row in
                let (entry, leaf) = try row.decode((ByteBuffer, ByteBuffer).self)
                return (Array(buffer: entry), Array(buffer: leaf))
            }
        }

        func indexes(key: String) throws -> [UInt64]? {
            try session.query(
                "SELECT idx FROM entry_keys WHERE key = $1 ORDER BY idx",
                PostgresSession.binds([key])
            ).map { UInt64(try $0.decode(Int64.self)) }
        }

        func keys(in range: Range<UInt64>) throws -> [(key: String, index: UInt64)] {
            try session.query(
                "SELECT key, idx FROM entry_keys WHERE idx >= $1 AND idx < $2",
                PostgresSession.binds([Int64(range.lowerBound), Int64(range.upperBound)])
            ).map { row in
                let (key, index) = try row.decode((String, Int64).self)
                return (key, UInt64(index))
            }
        }

        func entryRows(in range: Range<UInt64>) throws -> [EntryRow] {
            try session.query(
                "SELECT idx, entry, leaf, nodes FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                PostgresSession.binds([Int64(range.lowerBound), Int64(range.upperBound)])
            ).map { row in
                let (index, entry, leaf, nodes) = try row.decode((Int64, ByteBuffer, ByteBuffer, ByteBuffer).self)
                guard let hash = MerkleHash(bytes: Array(buffer: leaf)) else {
                    throw LedgerError(.corrupt, "entry \(index) has a malformed leaf hash")
                }
                return EntryRow(
                    index: UInt64(index),
                    entry: Array(buffer: entry),
                    leaf: hash,
                    nodes: Array(buffer: nodes)
                )
            }
        }

        func checkpoints() throws -> [StoredCheckpoint] {
            try session.query("SELECT size, note, time FROM checkpoints ORDER BY size").map { row in
                let (size, note, time) = try row.decode((Int64, String, String).self)
                return StoredCheckpoint(size: UInt64(size), note: note, time: time)
            }
        }

        func entryBytes(below size: UInt64) throws -> UInt64 {
            let rows = try session.query(
                "SELECT (coalesce(sum(length(entry)), 0) + count(*))::bigint FROM entries WHERE idx < $1",
                PostgresSession.binds([Int64(size)])
            )
            return UInt64(try rows.first?.decode(Int64.self) ?? 0)
        }

        func lockHead() throws -> StoredCheckpoint? {
            try checkpoint(session.query("SELECT size, note, time FROM head WHERE id = 1 FOR UPDATE"))
        }

        /// One round trip: the lock and both reads sent at once. PostgreSQL runs them in order, and under READ
        /// COMMITTED each read takes its snapshot when it starts, after the lock is held.
        func lockHead(readingFrom known: UInt64, limit: UInt64) throws -> LockedHead? {
            let head = session.sendForRows("SELECT size, note, time FROM head WHERE id = 1 FOR UPDATE", .init())
            let reads = try sendCommitted(in: known..<(known + limit))
            try session.settle()
            guard let locked = try checkpoint(session.rows(of: head)) else { return nil }
            let (rows, keys) = try answers(reads)
            // Nothing is committed beyond the head while its lock is held; taken only up to it all the same.
            let upper = max(known, locked.size)
            return LockedHead(
                head: locked,
                rows: Array(rows.prefix(Int(upper - known))),
                keys: keys.filter { $0.index < upper }
            )
        }

        /// Both reads sent at once: one round trip.
        func committed(
            in range: Range<UInt64>
        ) throws -> (
            rows: [(entry: [UInt8], leaf: [UInt8])], keys: [(key: String, index: UInt64)]
        ) {
            let reads = try sendCommitted(in: range)
            try session.settle()
            return try answers(reads)
        }

        private typealias CommittedReads = (
            entries: EventLoopFuture<PostgresQueryResult>, keys: EventLoopFuture<PostgresQueryResult>
        )

        /// Sends the reads of the entries (with their leaves) and keys in `range`, without waiting.
        private func sendCommitted(in range: Range<UInt64>) throws -> CommittedReads {
            let bounds = try PostgresSession.binds([Int64(range.lowerBound), Int64(range.upperBound)])
            return (
                session.sendForRows(
                    "SELECT entry, leaf FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                    bounds
                ),
                session.sendForRows("SELECT key, idx FROM entry_keys WHERE idx >= $1 AND idx < $2", bounds)
            )
        }

        private func answers(
            _ reads: CommittedReads
        ) throws -> (
            rows: [(entry: [UInt8], leaf: [UInt8])], keys: [(key: String, index: UInt64)]
        ) {
            let rows = try session.rows(of: reads.entries).map { row in
                let (entry, leaf) = try row.decode((ByteBuffer, ByteBuffer).self)
                return (Array(buffer: entry), Array(buffer: leaf))
            }
            let keys = try session.rows(of: reads.keys).map { row in
                let (key, index) = try row.decode((String, Int64).self)
                return (key, UInt64(index))
            }
            return (rows, keys)
        }

        func insert(_ rows: [EntryRow]) throws {
            guard !rows.isEmpty else { return }
            try session.send(
                "INSERT INTO entries (idx, entry, leaf, nodes) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bytea[])",
                PostgresSession.binds([
                    rows.map { Int64($0.index) },
                    rows.map { ByteBuffer(bytes: $0.entry) },
                    rows.map { ByteBuffer(bytes: $0.leaf.array) },
                    rows.map { ByteBuffer(bytes: $0.nodes) },
                ])
            )
        }

        func insertKeys(_ keys: [(key: String, index: UInt64)]) throws {
            guard !keys.isEmpty else { return }
            try session.send(
                "INSERT INTO entry_keys (key, idx) SELECT * FROM unnest($1::text[], $2::bigint[])",
                PostgresSession.binds([keys.map(\.key), keys.map { Int64($0.index) }])
            )
        }

        func initialize(note: String, time: String) throws {
            let inserted = try session.query(
                "INSERT INTO head (id, size, note, time) VALUES (1, 0, $1, $2) ON CONFLICT (id) DO NOTHING RETURNING id",
                PostgresSession.binds([note, time])
            )
            guard !inserted.isEmpty else { return }
            try archive(size: 0, note: note, time: time)
        }

        func updateHead(size: UInt64, note: String, time: String) throws {
            try session.send(
                "UPDATE head SET size = $1, note = $2, time = $3 WHERE id = 1",
                PostgresSession.binds([Int64(size), note, time])
            )
        }

        func announce(size: UInt64) throws {
            try session.send("SELECT pg_notify('tiaki_head', $1)", PostgresSession.binds([String(size)]))
        }

        func archive(size: UInt64, note: String, time: String) throws {
            try session.send(
                "INSERT INTO checkpoints (size, note, time) VALUES ($1, $2, $3)",
                PostgresSession.binds([Int64(size), note, time])
            )
        }
    }
}
