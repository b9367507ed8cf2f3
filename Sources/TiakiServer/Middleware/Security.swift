import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import Synchronization
import TiakiHTTP

extension Problem {
    static func tooManyFailures(retryAfter seconds: Int) -> Problem {
        var problem = Problem(
            .tooManyRequests,
            code: "too-many-failed-attempts",
            title: "Too many failed sign-ins",
            detail:
                "This token is not valid, and failed tokens from here or with this token have to wait: try again in \(seconds) s. A valid token is never kept waiting."
        )
        problem.retryAfter = seconds
        return problem
    }
}

/// The server's TLS settings from a PEM certificate chain and a PEM private key.
enum ServerTLS {
    /// HTTP/1.1 over TLS when both files are given, plain HTTP/1.1 when neither is; every connection behind a
    /// ``ConnectionGuard`` that holds it to `limits`.
    static func builder(
        certificate: String?,
        key: String?,
        limits: ConnectionLimits = ConnectionLimits()
    ) throws
        -> HTTPServerBuilder
    {
        let tls = certificate != nil
        // Requests the HTTP parser cannot read are answered with a problem too (see ProtocolErrorHandler).
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ProtocolErrorHandler(tls: tls), RequestProgress()]
        )
        let count = ConnectionCount(cap: limits.cap)
        switch (certificate, key) {
        case (let certificate?, let key?):
            let tlsConfiguration = try configuration(certificate: certificate, key: key)
            return HTTPServerBuilder { responder in
                try TLSChannel(
                    GuardedChannel(
                        base: HTTP1Channel(responder: responder, configuration: http1),
                        limits: limits,
                        count: count
                    ),
                    tlsConfiguration: tlsConfiguration
                )
            }
        case (nil, nil):
            return HTTPServerBuilder { responder in
                GuardedChannel(
                    base: HTTP1Channel(responder: responder, configuration: http1),
                    limits: limits,
                    count: count
                )
            }
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
