import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct EnvelopeCipherTests {
    let keyV1 = Random.bytes(32)
    let keyV2 = Random.bytes(32)
    let aad = Array("registration:42:refresh_token".utf8)
    let plaintext = Array("refresh-token-value-éè".utf8)

    var cipherV1: EnvelopeCipher { EnvelopeCipher(keyring: try! MasterKeyring(keys: [1: keyV1])) }

    @Test func sealThenOpenRoundTripsThroughBytesAndString() throws {
        let sealed = try cipherV1.seal(plaintext, associatedData: aad)
        #expect(sealed.bytes.count == SealedSecret.overhead + plaintext.count)
        #expect(sealed.keyVersion == 1)
        #expect(try cipherV1.open(try SealedSecret(bytes: sealed.bytes), associatedData: aad) == plaintext)
        #expect(try cipherV1.open(try SealedSecret(string: sealed.string), associatedData: aad) == plaintext)
        let text = try cipherV1.seal("s3cret", associatedData: "row:1")
        #expect(try cipherV1.open(text, associatedData: "row:1") == "s3cret")
        let empty = try cipherV1.seal([], associatedData: [])
        #expect(try cipherV1.open(empty, associatedData: []) == [])
    }

    @Test func everySealUsesAFreshDataKeyAndNonce() throws {
        let a = try cipherV1.seal(plaintext, associatedData: aad)
        let b = try cipherV1.seal(plaintext, associatedData: aad)
        #expect(a.bytes != b.bytes)
        #expect(a.wrappedKey != b.wrappedKey)
        #expect(a.nonce != b.nonce)
        #expect(!a.bytes.containsSubsequence(plaintext))
    }

    @Test func tamperingWithAnyByteFails() throws {
        let sealed = try cipherV1.seal(plaintext, associatedData: aad)
        let bytes = sealed.bytes
        // Every byte after the format and version: wrap nonce, wrapped key, wrap tag, nonce, ciphertext, tag.
        for index in 5..<bytes.count {
            var tampered = bytes
            tampered[index] ^= 0x80
            #expect(throws: EnvelopeError.decryptionFailed, "byte \(index)") {
                try cipherV1.open(try SealedSecret(bytes: tampered), associatedData: aad)
            }
        }
    }

    @Test func associatedDataBindsTheCiphertextToItsRow() throws {
        let sealed = try cipherV1.seal(plaintext, associatedData: aad)
        #expect(throws: EnvelopeError.decryptionFailed) {
            try cipherV1.open(sealed, associatedData: Array("registration:43:refresh_token".utf8))
        }
        #expect(throws: EnvelopeError.decryptionFailed) { try cipherV1.open(sealed, associatedData: []) }
    }

    @Test func wrongMasterKeyAndMalformedValuesFail() throws {
        let sealed = try cipherV1.seal(plaintext, associatedData: aad)
        let other = EnvelopeCipher(keyring: try MasterKeyring(keys: [1: keyV2]))
        #expect(throws: EnvelopeError.decryptionFailed) { try other.open(sealed, associatedData: aad) }
        #expect(throws: EnvelopeError.malformed) { try SealedSecret(bytes: Array(sealed.bytes.prefix(50))) }
        #expect(throws: EnvelopeError.malformed) { try SealedSecret(string: "%%%") }
        var version = sealed.bytes
        version[4] = 9
        #expect(throws: EnvelopeError.unknownKeyVersion(9)) {
            try cipherV1.open(try SealedSecret(bytes: version), associatedData: aad)
        }
        #expect(!EnvelopeError.decryptionFailed.description.contains("refresh-token"))
    }

    @Test func rotationRewrapsToTheCurrentVersionAndOldVersionsStillOpen() throws {
        let old = try cipherV1.seal(plaintext, associatedData: aad)
        let both = EnvelopeCipher(keyring: try MasterKeyring(keys: [1: keyV1, 2: keyV2]))
        #expect(both.keyring.currentVersion == 2)
        #expect(try both.open(old, associatedData: aad) == plaintext)  // before rotation
        #expect(both.needsRewrap(old))
        let rotated = try both.rewrap(old)
        #expect(rotated.keyVersion == 2)
        #expect(!both.needsRewrap(rotated))
        #expect(rotated.ciphertext == old.ciphertext)
        #expect(try both.rewrap(rotated) == rotated)
        let onlyNew = EnvelopeCipher(keyring: try MasterKeyring(keys: [2: keyV2]))
        #expect(try onlyNew.open(rotated, associatedData: aad) == plaintext)
        #expect(throws: EnvelopeError.unknownKeyVersion(1)) { try onlyNew.open(old, associatedData: aad) }
        #expect(try both.seal(plaintext, associatedData: aad).keyVersion == 2)
    }

    @Test func parsesMasterKeyConfiguration() throws {
        let one = try MasterKeyring(parsing: " " + Base64.encode(keyV1) + "\n")
        #expect(one.versions == [1])
        let two = try MasterKeyring(parsing: "2:\(Base64.encode(keyV2)), 1:\(Base64.encode(keyV1))")
        #expect(two.versions == [1, 2])
        #expect(two.currentVersion == 2)
        #expect(throws: MasterKeyError.wrongLength(version: 1)) {
            try MasterKeyring(parsing: Base64.encode([1, 2, 3]))
        }
        #expect(throws: MasterKeyError.invalid) { try MasterKeyring(parsing: "not base64!") }
        #expect(throws: MasterKeyError.duplicateVersion(1)) {
            try MasterKeyring(parsing: "1:\(Base64.encode(keyV1)),1:\(Base64.encode(keyV2))")
        }
        #expect(throws: MasterKeyError.empty) { try MasterKeyring(parsing: "") }
        // A key of the wrong length is refused, and the refusal does not repeat it.
        let short = #expect(throws: MasterKeyError.self) { try MasterKeyring(parsing: "1:" + Base64.encode(keyV1.prefix(16))) }
        #expect(short.map { !$0.description.contains(Base64.encode(keyV1.prefix(16))) } == true, "\(String(describing: short))")
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<$0 + needle.count]) == needle }
    }
}
