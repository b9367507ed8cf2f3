import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import Synchronization

/// Failed authentication, counted per source address: after `limit` failures within `window`, the source's requests
/// that carry a token are refused with 429 until the oldest failure in the window has aged out. Successful
/// requests are never counted, so a school's busy client is not slowed by its own traffic.
final class FailedAuthenticationLimiter: Sendable {
    let limit: Int
    let window: Duration
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    /// Sources tracked at most; beyond it the quietest are forgotten, so a flood of addresses cannot exhaust memory.
    private let capacity = 10_000

    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    /// Seconds until `source` may try again, or `nil` when it may now. `source` is only formatted when some source
    /// has failed recently: the common case, a busy server with no failures, costs one uncontended lock.
    func retryAfter(_ source: @autoclosure () -> String, now: ContinuousClock.Instant = .now) -> Int? {
        failures.withLock { table in
            guard !table.isEmpty else { return nil }
            let source = source()
            guard var times = table[source] else { return nil }
            times.removeAll { now - $0 >= window }
            table[source] = times.isEmpty ? nil : times
            guard times.count >= limit, let oldest = times.first else { return nil }
            let wait = window - (now - oldest)
            return max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
        }
    }

    /// Counts one failed attempt from `source`.
    func recordFailure(_ source: String, now: ContinuousClock.Instant = .now) {
        failures.withLock { table in
            if table[source] == nil, table.count >= capacity {
                // Forget what has aged out; if a flood of sources still fills the table, keep the newer half.
                table = table.filter { _, times in times.contains { now - $0 < window } }
                if table.count >= capacity {
                    let newest = table.sorted { ($0.value.last ?? now) > ($1.value.last ?? now) }
                    table = Dictionary(uniqueKeysWithValues: newest.prefix(capacity / 2).map { ($0.key, $0.value) })
                }
            }
            var times = table[source, default: []]
            times.removeAll { now - $0 >= window }
            times.append(now)
            if times.count > limit { times.removeFirst(times.count - limit) }
            table[source] = times
        }
    }
}

extension Problem {
    static func tooManyFailures(retryAfter seconds: Int) -> Problem {
        var problem = Problem(
            .tooManyRequests,
            code: "too-many-failed-attempts",
            title: "Too many failed sign-ins",
            detail: "Too many requests from here carried a token that is not valid. Try again in \(seconds) s."
        )
        problem.retryAfter = seconds
        return problem
    }
}

/// The server's TLS settings from a PEM certificate chain and a PEM private key.
enum ServerTLS {
    /// HTTP/1.1 over TLS when both files are given, plain HTTP/1.1 when neither is.
    static func builder(certificate: String?, key: String?) throws -> HTTPServerBuilder {
        let tls = certificate != nil
        // Requests the HTTP parser cannot read are answered with a problem too (see ProtocolErrorHandler).
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [ProtocolErrorHandler(tls: tls)])
        switch (certificate, key) {
        case (let certificate?, let key?):
            return try .tls(
                .http1(configuration: http1),
                tlsConfiguration: configuration(certificate: certificate, key: key)
            )
        case (nil, nil):
            return .http1(configuration: http1)
        default:
            throw ServerSetupError("TLS needs both a certificate (--tls-certificate) and its key (--tls-key)")
        }
    }

    static func configuration(certificate: String, key: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw ServerSetupError("cannot read the TLS certificate \(certificate): \(error)")
        }
        guard !chain.isEmpty else { throw ServerSetupError("the TLS certificate \(certificate) holds no certificate") }
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ServerSetupError("cannot read the TLS private key \(key): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        tls.minimumTLSVersion = .tlsv12
        return tls
    }
}

/// A setting the service cannot start with, said plainly.
public struct ServerSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
