// swift-tools-version:6.2
import PackageDescription

// Dependencies point one way: IOCModel ← IOCTopology / IOCSync ← IOCStore ← IOCNode ← iocnode.
// See docs/ARCHITECTURE.md for the reason behind each target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "IOCFederation",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "iocnode", targets: ["iocnode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CSQLiteTuning", path: "Sources/CSQLiteTuning", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "IOCModel", swiftSettings: swiftSettings),
        .target(
            name: "IOCTopology",
            dependencies: ["IOCModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCSync",
            dependencies: ["IOCModel", "CZstd", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCSharing",
            dependencies: ["IOCModel", "IOCSync", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCAudit",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCIdentity",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCStore",
            dependencies: [
                "IOCModel", "IOCSync", "IOCSharing", "IOCAudit", "CSQLiteTuning", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCNode",
            dependencies: [
                "IOCModel", "IOCTopology", "IOCSync", "IOCSharing", "IOCAudit", "IOCStore", "IOCIdentity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "IOCTesting",
            dependencies: [
                "IOCModel", "IOCTopology", "IOCSync", "IOCSharing", "IOCStore", "IOCIdentity", "IOCNode",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "iocnode",
            dependencies: [
                "IOCNode", "IOCModel", "IOCTopology", "IOCSync", "IOCSharing", "IOCAudit", "IOCStore", "IOCIdentity",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "IOCModelTests", dependencies: ["IOCModel", "IOCTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCTopologyTests", dependencies: ["IOCTopology", "IOCTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCSyncTests", dependencies: ["IOCSync", "IOCTesting", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Vectors"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCIdentityTests", dependencies: ["IOCIdentity", .product(name: "X509", package: "swift-certificates")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCSharingTests", dependencies: ["IOCSharing", "IOCTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCAuditTests", dependencies: ["IOCAudit", "IOCModel", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(name: "IOCStoreTests", dependencies: ["IOCStore", "IOCSharing", "IOCTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCNodeTests",
            dependencies: [
                "IOCNode", "IOCTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IOCFederationTests",
            dependencies: [
                "iocnode", "IOCTesting", "IOCNode", "IOCStore", "IOCSync", "IOCTopology", "IOCIdentity", "IOCAudit", "IOCSharing",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings),
    ]
)
