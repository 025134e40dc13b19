import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct JWKTests {
    @Test func modulusAndExponentMatchTheCertificateKey() throws {
        let certificate = try Certificate(pem: try Fixtures.text("kat-rsa2048.crt"))
        let jwk = try JWK(certificate: certificate, kid: "qseal-2024-01")
        let modulus = try Fixtures.text("kat-rsa2048.modulus").trimmingCharacters(in: .whitespacesAndNewlines)
        let encodedN = try #require(jwk.n)
        let n = try #require(Base64.urlDecode(encodedN))
        #expect(n.count == 256)  // no leading zero byte
        #expect("Modulus=" + Hex.encode(n).uppercased() == modulus)
        #expect(jwk.e == "AQAB")
        #expect(jwk.n?.contains("=") == false)
        #expect(jwk.x5c == [certificate.base64DER])
        #expect(jwk.x5tS256 == certificate.x5tS256)
        #expect(jwk.leafCertificate() == certificate)
    }

    @Test func encodesBPCEShapeAndOmitsNilMembers() throws {
        let qseal = try Certificate(pem: try Fixtures.pki("qseal.crt"))
        let jwk = try JWK(certificate: qseal, kid: "qseal-2024-01")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let object = try JSONSerialization.jsonObject(with: encoder.encode(JWKS(keys: [jwk])))
        let json = try #require(object as? [String: Any])
        let key = try #require((json["keys"] as? [[String: Any]])?.first)
        #expect(Set(key.keys) == ["kty", "n", "e", "use", "alg", "key_ops", "kid", "x5c", "x5t#S256"])
        #expect(key["kty"] as? String == "RSA")
        #expect(key["use"] as? String == "sig")
        #expect(key["alg"] as? String == "RS256")
        #expect(key["key_ops"] as? [String] == ["verify"])
        #expect(key["x5t#S256"] as? String == qseal.x5tS256)
        let decoded = try JSONDecoder().decode(JWKS.self, from: encoder.encode(JWKS(keys: [jwk])))
        #expect(decoded.keys == [jwk])
    }

    @Test func euroInformationShapeCarriesTheFullChainAndX5U() throws {
        let chain = try Certificate.chain(pem: try Fixtures.pki("qseal-chain.pem"))
        let jwk = try JWK(
            certificate: chain[0], chain: .leafAnd(Array(chain.dropFirst())), x5u: "https://tpp.example/qseal.pem",
            use: nil, alg: nil, keyOps: nil, includeKeyParameters: false, includeThumbprint: false)
        #expect(jwk.x5c?.count == 2)
        #expect(jwk.x5c?[1] == chain[1].base64DER)
        let json = String(decoding: try JSONEncoder().encode(jwk), as: UTF8.self)
        // Member names, not substrings: a certificate's base64 may contain "kid" by chance (it did once).
        let members = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(members["kid"] == nil && members["n"] == nil, "\(members.keys.sorted())")
        #expect(members["x5u"] as? String == "https://tpp.example/qseal.pem")
    }

    @Test func refusesNonRSAKeys() throws {
        let ec = try Certificate(pem: try Fixtures.pki("ec.crt"))
        #expect(throws: JWKError.notRSA("EC")) { try JWK(certificate: ec) }
    }
}
