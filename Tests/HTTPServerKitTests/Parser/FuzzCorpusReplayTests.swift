import Foundation
import Testing

@testable import HTTPServerKit

/// Replays the committed fuzz corpus and crash regressions (Fuzz/) through the parser with the fuzz target's
/// property: no crash, and identical results whole, byte by byte and in 3-byte pieces.
@Suite struct FuzzCorpusReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ folder: String) throws -> [URL] {
        let dir = fuzzDirectory.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
    }

    @Test func corpusAndRegressionsParseConsistently() throws {
        let corpus = try Self.inputs("Corpus")
        #expect(corpus.count >= 50, "the committed corpus is missing")
        for url in try corpus + Self.inputs("Regressions") {
            let violation = RequestParser.fuzzPropertyViolation(Array(try Data(contentsOf: url)))
            #expect(violation == nil, "\(url.lastPathComponent): \(violation ?? "")")
        }
    }
}
