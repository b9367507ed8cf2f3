// swift-tools-version:6.2
import PackageDescription

/// Settings for Tiaki's own targets (not for dependencies: GRDB warns on Linux).
let tiakiSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "tiaki",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TiakiLedger", targets: ["TiakiLedger"]),
        .library(name: "TiakiModel", targets: ["TiakiModel"]),
        .library(name: "TiakiConsent", targets: ["TiakiConsent"]),
        .library(name: "TiakiPolicy", targets: ["TiakiPolicy"]),
        .library(name: "TiakiAudit", targets: ["TiakiAudit"]),
        .executable(name: "tiaki", targets: ["tiaki"]),
        .executable(name: "tiaki-bench", targets: ["tiaki-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Already in the graph through Hummingbird; named so the server can answer HTTP parse errors itself.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Already in the graph through postgres-nio (and Hummingbird's TLS); named because postgres-nio's TLS
        // settings take its context.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // A generic verifiable log: canonical JSON, RFC 9162 Merkle tree, C2SP checkpoints, SQLite or PostgreSQL store.
        .target(
            name: "TiakiLedger",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        // The domain's facts: entry kinds and their bodies, the vocabulary, decisions, the consent-state projection.
        .target(
            name: "TiakiModel",
            dependencies: ["TiakiLedger"],
            swiftSettings: tiakiSettings
        ),
        // Policy files, their validation, decisions with their explanations, and replay under a recorded policy.
        .target(
            name: "TiakiPolicy",
            dependencies: [
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: tiakiSettings
        ),
        // The domain services, one per aggregate, over one core (ledger, consent state, per-subject lock, vault).
        .target(
            name: "TiakiConsent",
            dependencies: [
                "TiakiModel",
                "TiakiPolicy",
                "TiakiLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        // The templates the pages and the documents are drawn with: a Mustache subset over typed models.
        .target(
            name: "TiakiTemplates",
            swiftSettings: tiakiSettings
        ),
        // Findings, replay and subject reports for privacy officers; consent receipts for whānau.
        .target(
            name: "TiakiAudit",
            dependencies: [
                "TiakiTemplates",
                "TiakiPolicy",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/Templates")],
            swiftSettings: tiakiSettings
        ),
        // What both front ends (the API and the pages) need of HTTP: problems, the one mapping of refusals to
        // statuses, downloads, limits on callers and connections.
        .target(
            name: "TiakiHTTP",
            dependencies: [
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        // The pages people use, served by `tiaki serve` beside the API: templates, sessions, forms.
        .target(
            name: "TiakiWeb",
            dependencies: [
                "TiakiTemplates",
                "TiakiHTTP",
                "TiakiAudit",
                "TiakiConsent",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/Templates")],
            swiftSettings: tiakiSettings
        ),
        // The HTTP service: one buildApplication shared by `tiaki serve` and the tests.
        .target(
            name: "TiakiServer",
            dependencies: [
                "TiakiHTTP",
                "TiakiWeb",
                "TiakiAudit",
                "TiakiPolicy",
                "TiakiConsent",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("openapi.yaml")],
            swiftSettings: tiakiSettings
        ),
        // A deterministic, seeded cluster year written through the same code paths as the service.
        .target(
            name: "TiakiSimulation",
            dependencies: [
                "TiakiPolicy",
                "TiakiConsent",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        .executableTarget(
            name: "tiaki",
            dependencies: [
                "TiakiHTTP",
                "TiakiLedger",
                "TiakiConsent",
                "TiakiModel",
                "TiakiPolicy",
                "TiakiSimulation",
                "TiakiServer",
                "TiakiAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        .executableTarget(
            name: "tiaki-bench",
            dependencies: [
                "TiakiLedger",
                "TiakiConsent",
                "TiakiModel",
                "TiakiPolicy",
                "TiakiServer",
                "TiakiAudit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        // Regenerates AuditSamples/ deterministically (a developer tool, run by AuditSamples/generate.sh).
        .executableTarget(
            name: "tiaki-samples",
            dependencies: [
                "TiakiLedger",
                "TiakiConsent",
                "TiakiModel",
                "TiakiPolicy",
                "TiakiSimulation",
                "TiakiAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        // What the tests share and the service never ships: throw-away PostgreSQL databases.
        .target(
            name: "TiakiTestSupport",
            dependencies: [
                "TiakiLedger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        .testTarget(
            name: "TiakiLedgerTests",
            dependencies: [
                "TiakiTestSupport",
                "TiakiLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: tiakiSettings
        ),
        .testTarget(
            name: "TiakiConsentTests",
            dependencies: [
                "TiakiTestSupport",
                "TiakiConsent",
                .product(name: "Crypto", package: "swift-crypto"),
                "TiakiPolicy",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        .testTarget(
            name: "TiakiPolicyTests",
            dependencies: [
                "TiakiPolicy",
                "TiakiSimulation",
                "TiakiConsent",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        .testTarget(
            name: "TiakiAuditTests",
            dependencies: [
                "TiakiAudit",
                "TiakiPolicy",
                "TiakiSimulation",
                "TiakiConsent",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: tiakiSettings
        ),
        .testTarget(
            name: "TiakiServerTests",
            dependencies: [
                "TiakiServer",
                "TiakiTemplates",
                "TiakiHTTP",
                "TiakiWeb",
                "TiakiAudit",
                "TiakiSimulation",
                "TiakiPolicy",
                "TiakiConsent",
                "TiakiModel",
                "TiakiLedger",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["FuzzCorpus"],
            swiftSettings: tiakiSettings
        ),
        // Runs the built `tiaki` executable the way an auditor would (exit codes, output, AuditSamples).
        .testTarget(
            name: "TiakiCLITests",
            dependencies: [
                "tiaki",
                "TiakiLedger",
                "TiakiTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: tiakiSettings
        ),
    ]
)
