// swift-tools-version:6.0
// Passerelle — a PSD2 gateway. No third-party Swift packages: only the toolchain and three C libraries
// (libpq, libcurl with OpenSSL, OpenSSL 3), each reached through a system-library target below.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Release builds specialize generics across our own modules (JSONKit's coders, OpenSSLKit's byte helpers, …):
    // without it a generic called from another module runs unspecialized, boxing every element it touches.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "Passerelle",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "passerelle", targets: ["passerelle"]),
        // For the libFuzzer package (Fuzz/), which depends on this one by path.
        .library(name: "HTTPServerKit", targets: ["HTTPServerKit"]),
    ],
    targets: [
        // MARK: - System libraries (module map + shim.h only)
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // One-line C wrappers for what Swift cannot import (variadic functions, function-like macros).
        .target(name: "CShims", dependencies: ["CCurl", "COpenSSL", "CLibPQ"]),

        // MARK: - Infrastructure layers (know nothing about PSD2)
        .target(name: "GatewayLogging", dependencies: ["BlockingIO"], swiftSettings: swiftSettings),
        .target(name: "JSONKit", dependencies: ["GatewayLogging"], swiftSettings: swiftSettings),
        .target(name: "BlockingIO", swiftSettings: swiftSettings),
        .target(name: "Reactor", dependencies: ["BlockingIO", "CShims"], swiftSettings: swiftSettings),
        .target(name: "OpenSSLKit", dependencies: ["COpenSSL", "CShims", "GatewayLogging"], swiftSettings: swiftSettings),
        .target(name: "CurlKit", dependencies: ["CCurl", "CShims", "Reactor", "GatewayLogging"], swiftSettings: swiftSettings),
        .target(name: "PostgresKit", dependencies: ["CLibPQ", "CShims", "BlockingIO", "GatewayLogging"], swiftSettings: swiftSettings),
        .target(
            name: "HTTPServerKit", dependencies: ["COpenSSL", "CShims", "BlockingIO", "Reactor", "GatewayLogging", "OpenSSLKit"],
            swiftSettings: swiftSettings),

        // MARK: - Domain, banks, application
        .target(name: "GatewayCore", dependencies: ["GatewayLogging", "JSONKit"], swiftSettings: swiftSettings),
        .target(
            name: "BankAdapters", dependencies: ["GatewayCore", "OpenSSLKit", "CurlKit", "GatewayLogging", "JSONKit"],
            swiftSettings: swiftSettings),
        .target(
            name: "BankSimulator", dependencies: ["HTTPServerKit", "OpenSSLKit", "GatewayLogging"],
            swiftSettings: swiftSettings),
        .target(
            name: "GatewayApp",
            dependencies: [
                "GatewayCore", "BankAdapters", "HTTPServerKit", "PostgresKit", "OpenSSLKit", "CurlKit",
                "GatewayLogging", "Reactor", "JSONKit", "BlockingIO",
            ],
            exclude: ["Migrations", "OpenAPI"],  // read at run time: AppResources
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "passerelle", dependencies: ["GatewayApp", "GatewayCore", "BankSimulator", "OpenSSLKit", "GatewayLogging", "BlockingIO", "CShims"],
            swiftSettings: swiftSettings),

        // Used only by HTTPServerKitTests' graceful-shutdown test (a real process receiving SIGTERM).
        .executableTarget(name: "HTTPTestServer", dependencies: ["HTTPServerKit", "GatewayLogging"], swiftSettings: swiftSettings),

        // MARK: - Tests (one per library target)
        .target(
            name: "TestSupport",
            dependencies: [
                "GatewayLogging", "BlockingIO", "GatewayCore", "CurlKit", "BankSimulator", "HTTPServerKit", "OpenSSLKit",
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings),
        .testTarget(name: "BlockingIOTests", dependencies: ["BlockingIO"], swiftSettings: swiftSettings),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor"], swiftSettings: swiftSettings),
        .testTarget(name: "JSONKitTests", dependencies: ["JSONKit"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayLoggingTests", dependencies: ["GatewayLogging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "OpenSSLKitTests", dependencies: ["OpenSSLKit", "TestSupport"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "CurlKitTests", dependencies: ["CurlKit", "TestSupport"], resources: [.copy("Support")], swiftSettings: swiftSettings),
        .testTarget(name: "PostgresKitTests", dependencies: ["PostgresKit", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HTTPServerKitTests", dependencies: ["HTTPServerKit", "BlockingIO", "Reactor", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BankSimulatorTests", dependencies: ["BankSimulator", "GatewayCore", "HTTPServerKit", "OpenSSLKit", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore", "GatewayLogging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BankAdaptersTests",
            dependencies: [
                "BankAdapters", "GatewayCore", "GatewayLogging", "OpenSSLKit", "CurlKit", "BankSimulator", "HTTPServerKit",
                "JSONKit", "TestSupport",
            ],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "GatewayAppTests",
            dependencies: [
                "GatewayApp", "GatewayCore", "BankAdapters", "BankSimulator", "PostgresKit", "HTTPServerKit", "OpenSSLKit",
                "CurlKit", "JSONKit", "TestSupport",
            ],
            swiftSettings: swiftSettings),
    ]
)
