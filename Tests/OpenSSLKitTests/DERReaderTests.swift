import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct DERReaderTests {
    /// DER of `SEQUENCE { SEQUENCE { OID 0.4.0.19495.2, SEQUENCE { SEQUENCE { SEQUENCE { OID 0.4.0.19495.1.4,
    /// UTF8String "PSP_IC" } }, UTF8String "N", UTF8String "XX-NCA" } } }` built by hand.
    static func psd2Statement(roleOID: [UInt8] = [0x04, 0x00, 0x81, 0x98, 0x27, 0x01, 0x04]) -> [UInt8] {
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            precondition(content.count < 0x80)
            return [tag, UInt8(content.count)] + content
        }
        let role = tlv(0x30, tlv(0x06, roleOID) + tlv(0x0c, Array("PSP_IC".utf8)))
        let info = tlv(0x30, tlv(0x30, role) + tlv(0x0c, Array("N".utf8)) + tlv(0x0c, Array("XX-NCA".utf8)))
        let statement = tlv(0x30, tlv(0x06, [0x04, 0x00, 0x81, 0x98, 0x27, 0x02]) + info)
        return tlv(0x30, statement)
    }

    @Test func parsesAHandBuiltPSD2Statement() throws {
        let statements = try QCStatements(der: Self.psd2Statement())
        #expect(statements.psd2 == PSD2Attributes(roles: [.cardIssuing], ncaName: "N", ncaId: "XX-NCA"))
        #expect(statements.qcTypes.isEmpty)
    }

    @Test func unknownRoleOIDsFallBackToTheRoleName() throws {
        let statements = try QCStatements(der: Self.psd2Statement(roleOID: [0x2a, 0x03]))
        #expect(statements.psd2?.roles == [.cardIssuing])
    }

    @Test func decodesObjectIdentifiersAndLongFormLengths() throws {
        #expect(
            try DERReader.objectIdentifier([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02][...]) == "1.3.6.1.5.5.7.3.2"
        )
        #expect(try DERReader.objectIdentifier([0x04, 0x00, 0x81, 0x98, 0x27, 0x02][...]) == "0.4.0.19495.2")
        #expect(try DERReader.objectIdentifier([0x55, 0x04, 0x61][...]) == "2.5.4.97")
        var reader = DERReader([0x04, 0x81, 0x81] + [UInt8](repeating: 7, count: 0x81))
        let element = try reader.next()
        #expect(element.tag == 0x04)
        #expect(element.content.count == 0x81)
        #expect(reader.isAtEnd)
    }

    @Test func rejectsTruncatedInputEverywhere() {
        let der = Self.psd2Statement()
        for length in 0..<der.count {
            #expect(throws: DERError.self, "prefix \(length)") { try QCStatements(der: Array(der.prefix(length))) }
        }
        #expect(throws: DERError.self) { try DERReader.objectIdentifier([0x2b, 0x86][...]) }
    }
}

/// A seeded generator (SplitMix64), so that random inputs are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct RobustnessTests {
    /// Seeded (the same inputs every run): garbage over the header's own alphabet, and a valid header with random
    /// bytes deleted or inserted. Nothing crashes; whatever parses re-renders to a header that parses to the same
    /// value; the valid header parses.
    @Test func signatureHeaderParserNeverCrashesOnGarbage() throws {
        var generator = SplitMix64(seed: 0x5EED_CAFE)
        let alphabet = Array(#"keyIdalgorithmheaderssignature=",\ ()-AQID"#)
        let valid = #"keyId="k1",algorithm="rsa-sha256",headers="(request-target) date",signature="AQID""#
        let parsedValid = try HTTPSignature(parsing: valid)
        #expect(parsedValid.keyId == "k1" && parsedValid.signature == [1, 2, 3])
        var parsed = 0
        for round in 0..<4_000 {
            var text: [Character]
            if round % 2 == 0 {
                text = (0..<Int.random(in: 0..<80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            } else {
                text = Array(valid)
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let at = Int.random(in: 0..<text.count, using: &generator)
                    if Bool.random(using: &generator) { text.remove(at: at) } else { text.insert(alphabet.randomElement(using: &generator)!, at: at) }
                }
            }
            guard let signature = try? HTTPSignature(parsing: String(text)) else { continue }
            parsed += 1
            let again = try HTTPSignature(parsing: signature.headerValue)
            #expect(again.keyId == signature.keyId && again.signature == signature.signature && again.headers == signature.headers,
                    "round trip of \(String(text))")
        }
        #expect(parsed > 0, "some mutated headers still parse")
    }

    @Test func publicKeyRoundTripsThroughSubjectPublicKeyInfo() throws {
        let certificate = try Certificate(pem: try Fixtures.pki("qseal.crt"))
        let keyId = Base64.encode(certificate.publicKey.subjectPublicKeyInfoDER)  // BPCE sandbox-style keyId
        let key = try PublicKey(subjectPublicKeyInfoDER: try #require(Base64.decode(keyId)))
        #expect(key.isSameKey(as: certificate.publicKey))
        #expect(throws: OpenSSLError.self) { try PublicKey(subjectPublicKeyInfoDER: [0x30, 0x00]) }
    }
}
