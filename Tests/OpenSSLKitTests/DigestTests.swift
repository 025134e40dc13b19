import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct DigestTests {
    @Test func emptyBodyDigestIsTheKnownConstant() throws {
        #expect(Digest.headerValue(for: [UInt8]()) == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        #expect(Digest.headerValue(for: [UInt8]()) == "SHA-256=" + (try Fixtures.text("kat-empty.digest")))
    }

    @Test func bodyDigestMatchesOpenSSL() throws {
        let body = try Fixtures.bytes("kat-body.json")
        #expect(Digest.headerValue(for: body) == (try Fixtures.text("kat-body.digest")))
        #expect(Digest.headerValue(for: Data(body)) == (try Fixtures.text("kat-body.digest")))
    }

    @Test func sha256OfAbcIsTheFIPSVector() {
        #expect(Hex.encode(Digest.sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func verifiesDigestHeaderValues() throws {
        let body = try Fixtures.bytes("kat-body.json")
        let good = try Fixtures.text("kat-body.digest")
        #expect(Digest.verifyHeaderValue(good, body: body) == .match)
        #expect(Digest.verifyHeaderValue("sha-256=" + good.dropFirst(8), body: body) == .match)
        #expect(Digest.verifyHeaderValue("MD5=abc, " + good, body: body) == .match)
        var changed = body
        changed[0] ^= 1
        #expect(Digest.verifyHeaderValue(good, body: changed) == .mismatch)
        #expect(Digest.verifyHeaderValue("SHA-512=abc", body: body) == .noSHA256)
    }
}

@Suite struct EncodingTests {
    @Test func base64RoundTripsAndURLVariantHasNoPadding() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xfe, 0x00, 0x10]
        #expect(Base64.encode(bytes) == "+//+ABA=")
        #expect(Base64.urlEncode(bytes) == "-__-ABA")
        #expect(Base64.decode("+//+ABA=") == bytes)
        #expect(Base64.decode("+//+ABA") == bytes)
        #expect(Base64.urlDecode("-__-ABA") == bytes)
        #expect(Base64.decode("-__-ABA") == nil)
        #expect(Base64.decode("not base64!") == nil)
    }

    @Test func hexFormatsLikeOpenSSL() {
        #expect(Hex.encode([0x0a, 0xff]) == "0aff")
        #expect(Hex.colonSeparated([0x0a, 0xff, 0x00]) == "0A:FF:00")
    }

    @Test func randomBytesHaveTheRequestedLengthAndDiffer() {
        #expect(Random.bytes(0).isEmpty)
        let a = Random.bytes(32)
        let b = Random.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }
}
