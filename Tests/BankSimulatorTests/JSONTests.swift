import Testing

@testable import BankSimulator

@Suite struct JSONTests {
    @Test func parsesAndRendersRoundTrip() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":"é\u00e9\ud83d\ude00\n\"","c":{}}"#
        let v = try #require(JSON.parse(Array(text.utf8)))
        #expect(v["b"]?.stringValue == "éé😀\n\"")
        #expect(v["a"]?.arrayValue?.count == 6)
        #expect(v["a"]?.arrayValue?[3].boolValue == true)
        #expect(v["a"]?.arrayValue?[5].isNull == true)
        #expect(v.rendered == #"{"a":[1,2.5,-300,true,false,null],"b":"éé😀\n\"","c":{}}"#)
    }

    @Test func refusesMalformedText() {
        for bad in ["", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "\"\u{01}\"", "tru", "{\"a\" 1}"] {
            #expect(JSON.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func base64IsStrict() {
        #expect(Base64Text.decode("TWFu") == Array("Man".utf8))
        #expect(Base64Text.decode("TWE=") == Array("Ma".utf8))
        #expect(Base64Text.decode("TWE") == nil)
        #expect(Base64Text.decode("TW-u") == nil)
        #expect(Base64Text.encode(Array("Ma".utf8)) == "TWE=")
        #expect(Base64Text.encodeURL([0xfb, 0xff]) == "-_8")
    }
}
