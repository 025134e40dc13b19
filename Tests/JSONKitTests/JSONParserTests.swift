import JSONKit
import Testing

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let node = try JSONParser.parse(Array(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": ""} "#.utf8))
        #expect(
            node
                == .object([
                    ("a", .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null])),
                    ("b", .object([("c", .string("d"))])), ("e", .string("")),
                ]))
    }

    @Test func decodesEscapesAndUnicode() throws {
        let node = try JSONParser.parse(Array(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC\ud83d\ude00", "é€😀"]"#.utf8))
        #expect(node == .array([.string("a\"b\\c/d\u{8}\u{c}\n\r\t"), .string("é€😀"), .string("é€😀")]))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[-]", "tru", "nul", "[1 2]",
        "{\"a\" 1}", "{a:1}", "'a'", "[\"\\x\"]", "[\"\\ud800\"]", "[\"\\udc00x\"]", "[\"a\nb\"]", "[\"abc",
        "1 2", "// comment\n1", "[NaN]", "[Infinity]", "{\"a\":1}}",
    ])
    func refusesWhatRFC8259Refuses(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func refusesInvalidUTF8InStrings() {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) }
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        _ = try JSONParser.parse(Array(fine.utf8))
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONParser.parse(Array(#"{"a": [1, 2,, 3]}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.offset == 12)
            #expect(error.description.contains("byte 12"))
        }
    }
}
