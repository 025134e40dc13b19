import Foundation
import Testing

@testable import OpenSSLKit

@Suite struct CertificateTests {
    @Test(arguments: ["qwac.crt", "qseal.crt", "ca.crt", "server.crt", "pss.crt", "ec.crt"])
    func fingerprintAndSerialEqualOpenSSLCLI(name: String) throws {
        let certificate = try Certificate(pem: try Fixtures.pki(name))
        let output = try runOpenSSL(["x509", "-in", try Fixtures.pkiPath(name), "-noout", "-fingerprint", "-sha256"])
        // "sha256 Fingerprint=AB:CD:…" (the prefix's case differs between OpenSSL versions)
        let expected = output.split(separator: "=", maxSplits: 1).last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(certificate.sha256FingerprintHex == expected)
        let serial = try runOpenSSL(["x509", "-in", try Fixtures.pkiPath(name), "-noout", "-serial"])
        #expect("serial=" + certificate.serialNumber == serial.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(certificate.x5tS256 == Base64.urlEncode(Digest.sha256(certificate.der)))
        #expect(!certificate.x5tS256.contains("="))
    }

    @Test func readsEIDASAttributesOfTheQWAC() throws {
        let qwac = try Certificate(pem: try Fixtures.pki("qwac.crt"))
        #expect(qwac.organizationIdentifier == "PSDFR-ACPR-12345")
        #expect(
            qwac.psd2
                == PSD2Attributes(
                    roles: [.accountInformation, .paymentInitiation, .cardIssuing],
                    ncaName: "Autorite de Controle Prudentiel et de Resolution", ncaId: "FR-ACPR"))
        #expect(qwac.qcTypes == [.web])
        #expect(qwac.extendedKeyUsage.contains(ExtendedKeyUsage.clientAuth))
        #expect(qwac.keyUsage?.contains(.digitalSignature) == true)
        #expect(qwac.kind == .qwac)
        #expect(qwac.subject.contains("organizationIdentifier=PSDFR-ACPR-12345"))
        #expect(qwac.subject.hasPrefix("CN=tpp.example,"))
        #expect(qwac.issuer == "CN=ca,O=Passerelle Test,C=FR")
        #expect(qwac.signatureAlgorithm == "RSA-SHA256")
        #expect(!qwac.isRSASSAPSS)
    }

    @Test func readsEIDASAttributesOfTheQSealC() throws {
        let qseal = try Certificate(pem: try Fixtures.pki("qseal.crt"))
        #expect(qseal.organizationIdentifier == "PSDFR-ACPR-12345")
        #expect(qseal.psd2?.roles == [.accountInformation, .paymentInitiation, .cardIssuing])
        #expect(qseal.qcTypes == [.eseal])
        #expect(qseal.keyUsage == [.digitalSignature, .nonRepudiation])
        #expect(qseal.extendedKeyUsage.isEmpty)
        #expect(qseal.kind == .qseal)
    }

    @Test func certificatesWithoutTheAttributesReportNone() throws {
        let plain = try Certificate(pem: try Fixtures.pki("noorgid.crt"))
        #expect(plain.organizationIdentifier == nil)
        let server = try Certificate(pem: try Fixtures.pki("server.crt"))
        #expect(server.psd2 == nil)
        #expect(server.qcTypes.isEmpty)
        #expect(server.kind == .qwac)  // serverAuth EKU: a TLS certificate
        let ca = try Certificate(pem: try Fixtures.pki("ca.crt"))
        #expect(ca.kind == .unknown)
    }

    @Test func flagsRSASSAPSSSignedCertificates() throws {
        let pss = try Certificate(pem: try Fixtures.pki("pss.crt"))
        #expect(pss.isRSASSAPSS)
        #expect(pss.signatureAlgorithm == "RSASSA-PSS")
    }

    @Test func parsesDERChainsAndRoundTripsPEM() throws {
        let chain = try Certificate.chain(pem: try Fixtures.pki("qwac-chain.pem"))
        #expect(chain.count == 2)
        #expect(chain[0] == (try Certificate(pem: try Fixtures.pki("qwac.crt"))))
        #expect(chain[1] == (try Certificate(pem: try Fixtures.pki("ca.crt"))))
        let copy = try Certificate(der: chain[0].der)
        #expect(copy == chain[0])
        #expect(try Certificate(pem: copy.pem) == copy)
        #expect(throws: (any Error).self) { try Certificate(der: [0x30, 0x03, 0x02, 0x01, 0x01]) }
        #expect(throws: (any Error).self) { try Certificate.chain(pem: "nothing here") }
    }

    @Test func validityDatesMatchOpenSSL() throws {
        let expired = try Certificate(pem: try Fixtures.pki("server-expired.crt"))
        #expect(expired.notBefore == Date(timeIntervalSince1970: 1_577_836_800))  // 2020-01-01T00:00:00Z
        #expect(expired.notAfter == Date(timeIntervalSince1970: 1_609_459_200))  // 2021-01-01T00:00:00Z
        #expect(!expired.isValid())
        #expect(expired.isValid(at: Date(timeIntervalSince1970: 1_590_000_000)))
        #expect(try Certificate(pem: try Fixtures.pki("qwac.crt")).isValid())
    }

    @Test func exposesTheRSAPublicKeyOrAnotherAlgorithm() throws {
        let qseal = try Certificate(pem: try Fixtures.pki("qseal.crt"))
        #expect(qseal.publicKey.algorithm == .rsa)
        #expect(qseal.publicKey.bits == 2048)
        let ec = try Certificate(pem: try Fixtures.pki("ec.crt"))
        #expect(ec.publicKey.algorithm == .other("EC"))
        #expect(ec.publicKey.rsaModulus == nil)
    }
}

@Suite struct TrustStoreTests {
    @Test func verifiesChainsIssuedByTheAnchor() throws {
        let ca = try Certificate(pem: try Fixtures.pki("ca.crt"))
        let store = try TrustStore(anchors: [ca])
        try store.verify(chain: try Certificate.chain(pem: try Fixtures.pki("qwac-chain.pem")))
        try store.verify(chain: [try Certificate(pem: try Fixtures.pki("qseal.crt"))])
    }

    @Test func rejectsForeignAndExpiredCertificates() throws {
        let ca = try Certificate(pem: try Fixtures.pki("ca.crt"))
        let store = try TrustStore(anchors: [ca])
        let rogue = try Certificate.chain(pem: try Fixtures.pki("rogue-client-chain.pem"))
        #expect(throws: ChainVerificationError.self) { try store.verify(chain: rogue) }
        let expired = try Certificate(pem: try Fixtures.pki("server-expired.crt"))
        #expect {
            try store.verify(chain: [expired])
        } throws: { error in
            (error as? ChainVerificationError)?.reason.contains("expired") == true
        }
        let qwac = try Certificate(pem: try Fixtures.pki("qwac.crt"))
        #expect(throws: ChainVerificationError.self) {
            try TrustStore.verify(chain: [qwac], anchors: [ca], at: Date().addingTimeInterval(20 * 365 * 86_400))
        }
    }
}
