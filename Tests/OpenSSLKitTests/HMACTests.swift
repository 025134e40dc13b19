import OpenSSLKit
import Testing

@Suite struct HMACTests {
    /// RFC 4231 test cases 1 and 2 (HMAC-SHA-256).
    @Test func matchesTheRFC4231Vectors() {
        let case1 = HMAC.sha256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        #expect(Hex.encode(case1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let case2 = HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(case2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMAC.sha256(key: [], message: []).count == 32)
    }
}
