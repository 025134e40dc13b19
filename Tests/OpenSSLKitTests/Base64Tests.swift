import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct Base64Tests {
    @Test func encodesAsFoundationDoesForEveryPaddingCase() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 2, 3, 4, 5, 31, 32, 33, 255, 256, 257] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString(), "length \(length)")
            var out = Array("prefix:".utf8)
            Base64.append(bytes, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == "prefix:" + Data(bytes).base64EncodedString())
        }
        #expect(Base64.encode(Array("any carnal pleas".utf8)) == "YW55IGNhcm5hbCBwbGVhcw==")
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
    }
}
