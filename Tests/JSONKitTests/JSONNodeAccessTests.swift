import Foundation
import JSONKit
import Testing

/// Reading a parsed tree, writing one built in code (in member order or sorted), and reading one through another
/// `Decoder`.
@Suite struct JSONNodeAccessTests {
    @Test func readsMembersStringsAndArrays() throws {
        let node = try JSONParser.parse(Array(#"{"a":"x","a":"second","list":["p","q"],"mixed":["p",1],"n":null}"#.utf8))
        #expect(node["a"]?.stringValue == "x")  // the first of a key written twice, as the decoder takes it
        #expect(node["list"]?.stringArray == ["p", "q"])
        #expect(node["mixed"]?.stringArray == nil)
        #expect(node["mixed"]?.arrayValue?.count == 2)
        #expect(node["n"]?.isNull == true)
        #expect(node["missing"] == nil)
        #expect(node["list"]?["a"] == nil)
        #expect(JSONNode.string("x")["a"] == nil)
    }

    @Test func writesMembersInTheirOrderOrSorted() {
        let node: JSONNode = .object([
            ("z", "last\"/"), ("a", [true, .null, .number("1.50")]), ("m", .object([("y", "1"), ("b", "2")])),
        ])
        #expect(node.text() == #"{"z":"last\"/","a":[true,null,1.50],"m":{"y":"1","b":"2"}}"#)
        #expect(node.text(sortedKeys: true) == #"{"a":[true,null,1.50],"m":{"b":"2","y":"1"},"z":"last\"/"}"#)
        #expect(node.bytes() == Array(node.text().utf8))
    }

    @Test func sortedOutputIsTheEncodersOutput() throws {
        struct Document: Encodable {
            var zeta = "z\u{8}\u{1F}é"
            var alpha = [1, 2]
            var mid = ["k": true]
        }
        let encoded = try JSONNodeEncoder().encode(Document())
        #expect(try JSONParser.parse(encoded).bytes(sortedKeys: true) == encoded)
    }

    @Test func readsThroughAnotherDecoderWithSortedMembers() throws {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        let node = try decoder.decode(JSONNode.self, from: Data(#"{b: [1, 2.5, true, null, "s"], a: {y: 1, x: 2},}"#.utf8))
        #expect(node.text() == #"{"a":{"x":2,"y":1},"b":[1,2.5,true,null,"s"]}"#)
    }
}
