import Foundation
import Testing

@testable import HTTPServerKit

/// The server's own problem types are the ones `openapi/passerelle.yaml` documents, with the same status and title.
@Suite struct ServerProblemTests {
    /// `type → (status, title)` from both lists of the document: the block form of `x-problem-types` and the
    /// flow form (`- { type: …, status: …, title: … }`) of `x-http-problem-types`.
    static func documented() throws -> [String: (Int, String)] {
        var dir = URL(fileURLWithPath: #filePath)
        var text: String?
        while dir.path != "/", text == nil {
            dir.deleteLastPathComponent()
            text = try? String(contentsOf: dir.appendingPathComponent("openapi/passerelle.yaml"), encoding: .utf8)
        }
        let lines = try #require(text).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var found: [String: (Int, String)] = [:]
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("- type: /problems/"), i + 2 < lines.count {
                found[String(line.dropFirst("- type: ".count))] = (
                    Int(lines[i + 1].dropFirst("status: ".count)) ?? 0, String(lines[i + 2].dropFirst("title: ".count))
                )
            } else if line.hasPrefix("- { type: /problems/") {
                var fields: [String: String] = [:]
                for part in line.dropFirst(3).dropLast(2).split(separator: ",") {
                    let kv = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    if kv.count == 2 { fields[kv[0]] = kv[1] }
                }
                if let type = fields["type"] { found[type] = (Int(fields["status"] ?? "") ?? 0, fields["title"] ?? "") }
            }
        }
        return found
    }

    @Test func everyServerProblemIsDocumentedWithItsStatusAndTitle() throws {
        let documented = try Self.documented()
        #expect(documented.count > 15, "the parser found both lists")
        for problem in ServerProblem.allCases {
            let entry = documented[problem.rawValue]
            #expect(entry?.0 == problem.status, "\(problem.rawValue): status \(String(describing: entry?.0))")
            #expect(entry?.1 == problem.title, "\(problem.rawValue): title \(String(describing: entry?.1))")
        }
    }

    @Test func parseErrorsMapToTheirDocumentedType() {
        #expect(HTTPParseError(.bodyTooLarge).problem(instance: "/", requestID: "r").type == "/problems/payload-too-large")
        #expect(HTTPParseError(.requestLineTooLong).problem(instance: "/", requestID: "r").type == "/problems/uri-too-long")
        #expect(HTTPParseError(.headerTimeout).problem(instance: "/", requestID: "r").type == "/problems/request-timeout")
        #expect(HTTPParseError(.invalidChunk).problem(instance: "/", requestID: "r").type == "/problems/bad-request")
        #expect(
            HTTPParseError(.methodNotImplemented).problem(instance: "/", requestID: "r").type == "/problems/not-implemented")
        #expect(
            HTTPParseError(.unsupportedVersion).problem(instance: "/", requestID: "r").type
                == "/problems/http-version-not-supported")
    }
}
