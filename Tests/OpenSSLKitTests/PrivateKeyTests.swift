import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct PrivateKeyTests {
    @Test func loadsPKCS8AndExposesTheRSAPublicKey() throws {
        let key = try PrivateKey(pem: try Fixtures.text("kat-rsa2048.key"))
        #expect(key.bits == 2048)
        #expect(key.publicKey.algorithm == .rsa)
        let modulusLine = try Fixtures.text("kat-rsa2048.modulus").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(modulusLine == "Modulus=" + Hex.encode(key.publicKey.rsaModulus ?? []).uppercased())
        #expect(key.publicKey.rsaExponent == [0x01, 0x00, 0x01])
        let fromPEM = try PublicKey(pem: try Fixtures.text("kat-rsa2048.pub"))
        #expect(fromPEM.isSameKey(as: key.publicKey))
    }

    @Test func loadsPKCS1AndPKCS8OfTheSameKey() throws {
        let pkcs8 = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        let pkcs1Text = try Fixtures.pki("qseal-pkcs1.key")
        #expect(pkcs1Text.contains("BEGIN RSA PRIVATE KEY"))
        let pkcs1 = try PrivateKey(pem: pkcs1Text)
        #expect(pkcs1.publicKey.isSameKey(as: pkcs8.publicKey))
    }

    @Test func loadsEncryptedPKCS8WithTheRightPassphrase() throws {
        let passphrase = try Fixtures.pki("passphrase.txt").trimmingCharacters(in: .newlines)
        let encrypted = try PrivateKey(pem: try Fixtures.pki("qseal-pkcs8-enc.key"), passphrase: passphrase)
        let plain = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        #expect(encrypted.publicKey.isSameKey(as: plain.publicKey))
    }

    @Test func rejectsAWrongOrMissingPassphraseClearly() throws {
        let pem = try Fixtures.pki("qseal-pkcs8-enc.key")
        #expect(throws: PrivateKeyError.wrongPassphrase) { try PrivateKey(pem: pem, passphrase: "not-the-passphrase") }
        #expect(throws: PrivateKeyError.passphraseRequired) { try PrivateKey(pem: pem) }
        do {
            _ = try PrivateKey(pem: pem, passphrase: "secret-guess-123")
        } catch {
            #expect(!error.description.contains("secret-guess-123"))
        }
    }

    @Test func rejectsNonRSAKeysAndGarbage() throws {
        #expect(throws: PrivateKeyError.notRSA("EC")) { try PrivateKey(pem: try Fixtures.pki("ec.key")) }
        #expect {
            try PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        } throws: { error in
            if case .invalidPEM = error as? PrivateKeyError { return true }
            return false
        }
    }

    @Test func detectsKeyCertificateMismatch() throws {
        let key = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        #expect(key.matches(try Certificate(pem: try Fixtures.pki("qseal.crt"))))
        #expect(!key.matches(try Certificate(pem: try Fixtures.pki("qwac.crt"))))
        #expect(!key.matches(try Certificate(pem: try Fixtures.pki("ec.crt"))))
    }

    @Test func signatureIsPKCS1v15AndVerifies() throws {
        let key = try PrivateKey(pem: try Fixtures.text("kat-rsa2048.key"))
        let data = Array("hello".utf8)
        let signature = try key.signSHA256(data)
        #expect(signature.count == 256)
        #expect(try key.signSHA256(data) == signature)  // PKCS#1 v1.5 is deterministic
        #expect(key.publicKey.verify(signature: signature, sha256Of: data))
        #expect(!key.publicKey.verify(signature: signature, sha256Of: Array("hellp".utf8)))
        let other = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        #expect(!other.publicKey.verify(signature: signature, sha256Of: data))
    }
}
