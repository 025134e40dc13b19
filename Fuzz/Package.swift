// swift-tools-version:5.4
// libFuzzer target for HTTPServerKit's request parser. Tools 5.4 on purpose: with 5.5+ SwiftPM adds its own
// entry point and the fuzzer's main fails to link. The parser sources are symlinks into ../Sources, so this
// package has no dependency on the main one (whose tools version is 6.0).
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/debug/ParserFuzz Corpus -max_total_time=60        (scripts/fuzz-run does this)
import PackageDescription

let package = Package(
    name: "PasserelleFuzz",
    targets: [
        .target(name: "GatewayLogging", path: "Sources/GatewayLogging"),
        .executableTarget(
            name: "ParserFuzz", dependencies: ["GatewayLogging"], path: "Sources/ParserFuzz",
            swiftSettings: [.unsafeFlags(["-package-name", "passerelle_fuzz"])]),
    ]
)
