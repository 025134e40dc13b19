import Foundation
import HTTPServerKit
import Testing
import TestSupport

@testable import GatewayApp

/// The OpenAPI document and the router describe the same API: every route is documented, every documented
/// operation exists, and the served copy is the repository's document.
@Suite struct OpenAPICoverageTests {
    static func repositoryDocument() throws -> String {
        var dir = URL(fileURLWithPath: #filePath)
        while dir.path != "/" {
            dir.deleteLastPathComponent()
            let candidate = dir.appendingPathComponent("openapi/passerelle.yaml")
            if FileManager.default.fileExists(atPath: candidate.path) { return try String(contentsOf: candidate, encoding: .utf8) }
        }
        throw ProcessFailure(description: "openapi/passerelle.yaml not found above \(#filePath)")
    }

    /// `METHOD /path/{}` for every operation under `paths:` (parameter names erased).
    static func documentedOperations(_ yaml: String) -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let first = line.first, first != " ", first != "#" { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].contains(method) {
                    operations.insert("\(method) \(normalize(path))")
                }
            }
        }
        return operations
    }

    static func normalize(_ template: String) -> String {
        template.replacingOccurrences(of: "\\{[^}]+\\}", with: "{}", options: .regularExpression)
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        try await AppHarness.with { h in
            let documented = Self.documentedOperations(try Self.repositoryDocument())
            #expect(documented.count > 10, "the parser found the document's operations")
            let routed = Set(h.app.makeRouter().routes.map { "\($0.method.rawValue) \(Self.normalize($0.template))" })
            let undocumented = routed.subtracting(documented).sorted()
            let unrouted = documented.subtracting(routed).sorted()
            #expect(undocumented.isEmpty, "routes missing from openapi/passerelle.yaml: \(undocumented)")
            #expect(unrouted.isEmpty, "documented operations without a route: \(unrouted)")
        }
    }

    @Test func theServedDocumentIsTheRepositoryDocument() async throws {
        try await AppHarness.with { h in
            let served = try await h.request("GET", "/openapi.yaml", authorized: false)
            #expect(served.status == 200)
            #expect(served.header("Content-Type")?.hasPrefix("application/yaml") == true)
            #expect(served.text == (try Self.repositoryDocument()), "run scripts/test (it copies openapi/ into the bundle)")
        }
    }
}
