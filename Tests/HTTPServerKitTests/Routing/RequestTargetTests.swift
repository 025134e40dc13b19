import Testing

@testable import HTTPServerKit

/// The one path rule: canonical targets are parsed, every other spelling is refused with its reason.
@Suite struct RequestTargetTests {
    @Test(arguments: [
        ("/", [String]()),
        ("/v1/banks", ["v1", "banks"]),
        ("/v1/banks/cmcic:cic", ["v1", "banks", "cmcic:cic"]),
        ("/v1/banks/cmcic%3Acic", ["v1", "banks", "cmcic:cic"]),
        ("/v1/banks/cmcic%3acic", ["v1", "banks", "cmcic:cic"]),
        ("/a/caf%C3%A9", ["a", "café"]),
        ("/a/b%20c", ["a", "b c"]),
        ("/a;b=c/d@e", ["a;b=c", "d@e"]),
    ])
    func acceptsCanonicalPaths(target: String, segments: [String]) throws {
        let parsed = try RequestTarget(target)
        #expect(parsed.segments == segments)
        #expect(parsed.path == target)
    }

    @Test(arguments: [
        ("v1/banks", RequestTarget.Refusal.notOriginForm),
        ("//v1/banks", .emptySegment),
        ("/v1//banks", .emptySegment),
        ("/v1/banks/", .emptySegment),
        ("/v1/./banks", .dotSegment),
        ("/v1/x/../banks", .dotSegment),
        ("/v1/banks/..", .dotSegment),
        ("/%76%31/banks", .encodedUnreserved),
        ("/v1/%2e%2e/banks", .encodedUnreserved),
        ("/v1/bank%73", .encodedUnreserved),
        ("/v1%2Fbanks", .encodedSlash),
        ("/v1%2fbanks", .encodedSlash),
        ("/v1/banks%00", .encodedControl),
        ("/v1/banks%0d%0a", .encodedControl),
        ("/v1/banks%7F", .encodedControl),
        ("/v1/%C0%AFbanks", .notUTF8),
        ("/v1/%E0%80%AFbanks", .notUTF8),
        ("/v1/%FF", .notUTF8),
        ("/v1/banks%", .malformedEscape),
        ("/v1/banks%4", .malformedEscape),
        ("/v1/banks%G1", .malformedEscape),
        ("/v1/banks#top", .fragment),
        ("/v1\\banks", .invalidCharacter),
        ("/v1/ba\"nks", .invalidCharacter),
        ("/v1/banks?x=%00", .encodedControl),
        ("/v1/banks?x=%C0%AF", .notUTF8),
        ("/v1/banks?x=%", .malformedEscape),
    ])
    func refusesEveryOtherSpelling(target: String, reason: RequestTarget.Refusal) {
        #expect(throws: reason) { try RequestTarget(target) }
    }

    @Test func decodesTheQueryOnce() throws {
        let parsed = try RequestTarget("/v1/banks?provider=cmcic&x=a+b%2Bc&empty=&flag&&n%C3%A9=%C3%A9")
        #expect(parsed.path == "/v1/banks")
        #expect(parsed.query.map(\.name) == ["provider", "x", "empty", "flag", "né"])
        #expect(parsed.query.map(\.value) == ["cmcic", "a b+c", "", "", "é"])
        #expect(try RequestTarget("/v1/banks?").query.isEmpty)
    }
}
