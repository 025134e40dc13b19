// swift-tools-version:5.4
// libFuzzer target for HTTPServerKit's request parser. It depends on the real HTTPServerKit through a path
// dependency on the root package (its library product), so it compiles exactly the sources the gateway does and
// cannot drift from them. Tools 5.4 on purpose: with 5.5+ SwiftPM adds its own entry point to executables and
// the fuzzer's main fails to link.
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/debug/ParserFuzz Corpus -max_total_time=60        (scripts/fuzz-run does this)
import PackageDescription

let package = Package(
    name: "PasserelleFuzz",
    dependencies: [.package(name: "Passerelle", path: "..")],
    targets: [
        .executableTarget(
            name: "ParserFuzz", dependencies: [.product(name: "HTTPServerKit", package: "Passerelle")],
            path: "Sources/ParserFuzz"),
    ]
)
