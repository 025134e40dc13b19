import CurlKit
import Foundation
import GatewayCore
import GatewayLogging
import JSONKit
import OpenSSLKit
import TestSupport
import Testing

@testable import BankAdapters

@Suite struct SharedRequestTests {
    @Test func formatsIMFFixdates() {
        #expect(HTTPDate.imfFixdate(secondsSince1970: Int(Fixed.now.timeIntervalSince1970)) == Fixed.date)
        #expect(HTTPDate.imfFixdate(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        // The seed's example (Euro-Information request signing).
        #expect(HTTPDate.imfFixdate(secondsSince1970: 1_654_635_095) == "Tue, 07 Jun 2022 20:51:35 GMT")
        #expect(HTTPDate.imfFixdate(secondsSince1970: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    @Test func defaultRequestIDsAreUUIDv4() {
        let transport = RecordingTransport(status: 200, json: "{}")
        let id = AdapterDependencies(transport: transport).newRequestID()
        #expect(id.count == 36)
        #expect(Array(id)[14] == "4")
        #expect(id == id.lowercased())
    }

    @Test func cachesParsedKeysAndIdentitiesPerCertificate() throws {
        let cache = SignerCache()
        let material = try KAT.material(id: "c1")
        let first = try cache.signingKey(material)
        #expect(try cache.signingKey(material) === first)
        let identity = try cache.tlsIdentity(material)
        #expect(identity.id == KAT.fingerprint)
        // Same id, different certificate: parsed again.
        var other = material
        other.certificatePEM = try TestPKIFile.contents("qseal.crt")
        other.privateKeyPEM = Secret(try TestPKIFile.contents("qseal.key"))
        #expect(try cache.signingKey(other) !== first)
        #expect(try cache.tlsIdentity(other).id != KAT.fingerprint)
    }

    @Test func unusableKeysFailWithoutQuotingThem() throws {
        let cache = SignerCache()
        let bad = CertificateMaterial(
            id: "c2", certificatePEM: try KAT.text("kat-rsa2048.crt"), privateKeyPEM: Secret("not a key SECRET-XYZ"))
        #expect {
            _ = try cache.signingKey(bad)
        } throws: { error in
            "\(error)".contains("c2") && !"\(error)".contains("SECRET-XYZ")
        }
    }

    @Test func readsRegistrationDocumentsAndStoresThemWithoutSecrets() throws {
        let value = try #require(RegistrationDocument.tree(Array(#"{"b":[1,true,null],"a":"x\"/y"}"#.utf8)))
        #expect(value.text() == #"{"b":[1,true,null],"a":"x\"/y"}"#)
        #expect(RegistrationDocument.storable(value.bytes()) == #"{"a":"x\"/y","b":[1,true,null]}"#)
        #expect(value["a"]?.stringValue == "x\"/y")
        // JSON5 (a trailing comma) is tolerated in registration documents, whatever the bank.
        let lenient = try #require(RegistrationDocument.tree(Array(#"{"b":1.5,"a":"x",}"#.utf8)))
        #expect(lenient.text() == #"{"a":"x","b":1.5}"#)
        #expect(RegistrationDocument.tree(Array("not json".utf8)) == nil)
        #expect(RegistrationDocument.storable(Array("not json".utf8)) == "<8 bytes, not JSON>")
        let stored = RegistrationDocument.storable(
            Array(#"{"client_id":"c","registration_access_token":"SECRET","client_secret":"S2"}"#.utf8))
        #expect(stored == #"{"client_id":"c"}"#)
    }

    @Test func registryServesBothProviders() throws {
        let registry = AdapterRegistry.standard(
            dependencies: Fixed.dependencies(RecordingTransport(status: 200, json: "{}")))
        #expect(registry.providers == [.euroInformation, .bpce])
        #expect(try registry.adapter(for: .bpce) is BPCEAdapter)
        #expect(try registry.adapter(for: TestBanks.ei) is EuroInformationAdapter)
        #expect(throws: AdapterError.internalFailure(reason: "no adapter for bpce")) { try AdapterRegistry([]).adapter(for: .bpce) }
        #expect(
            Set(AdapterRegistry.standard(transport: RecordingTransport(status: 200, json: "{}")).byProvider.keys) == [
                .bpce, .euroInformation,
            ])
    }
}

/// Files of the generated test PKI (scripts/test exports PASSERELLE_TEST_PKI).
enum TestPKIFile {
    static func contents(_ name: String) throws -> String {
        try TestEnvironment.pkiContents(name)
    }
}
