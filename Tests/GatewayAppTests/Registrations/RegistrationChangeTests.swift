import Foundation
import GatewayCore
import JSONKit
import Testing

@testable import GatewayApp

/// `registrations.pending_change` holds a `RegistrationChange` as one flat JSON object: rows written before the
/// settings were grouped must still read, and what is written now keeps that shape (the scheduler reads
/// `activatesAt` and `fields` from it in SQL).
@Suite struct RegistrationChangeTests {
    static let stored = """
        {"activatesAt":"2026-12-07T13:00:00Z","bankKeys":[{"kid":"kid-2","sha256Fingerprint":"ab12"}],\
        "clientName":"TPP renamed","contact":{"email":"ops@tpp.example","name":"Ops"},"fields":["clientName"],\
        "keyID":"kid-2","logoURI":null,"qsealCertificateID":"6F1E5C3A-1111-4A2B-9C3D-222233334444",\
        "qwacCertificateID":"6F1E5C3A-5555-4A2B-9C3D-666677778888","redirectURIs":["https://tpp.example/cb"],\
        "roles":["aisp"],"softwareID":"soft-1"}
        """

    @Test func aStoredFlatChangeReadsWithEveryValue() throws {
        let change = try JSONCoding.decoder.decode(RegistrationChange.self, from: Array(Self.stored.utf8))
        #expect(change.fields == ["clientName"])
        #expect(RFC3339.string(change.activatesAt) == "2026-12-07T13:00:00Z")
        #expect(change.settings.clientName == "TPP renamed")
        #expect(change.settings.qsealCertificateID == UUID(uuidString: "6F1E5C3A-1111-4A2B-9C3D-222233334444"))
        #expect(change.settings.qwacCertificateID == UUID(uuidString: "6F1E5C3A-5555-4A2B-9C3D-666677778888"))
        #expect(change.settings.redirectURIs == ["https://tpp.example/cb"])
        #expect(change.settings.roles == [.aisp])
        #expect(change.settings.contact.name == "Ops")
        #expect(change.settings.softwareID == "soft-1")
        #expect(change.settings.logoURI == nil)
        #expect(change.settings.keyID == "kid-2")
        #expect(change.settings.bankKeys == [RegistrationResult.Key(kid: "kid-2", sha256Fingerprint: "ab12")])
    }

    @Test func aChangeIsWrittenFlatAndReadsBackEqual() throws {
        let change = try JSONCoding.decoder.decode(RegistrationChange.self, from: Array(Self.stored.utf8))
        let written = JSONCoding.string(change)
        guard case .object(let members) = try JSONParser.parse(Array(written.utf8)) else {
            Issue.record("not an object: \(written)")
            return
        }
        #expect(
            Set(members.map(\.key)) == [
                "activatesAt", "bankKeys", "clientName", "contact", "fields", "keyID", "qsealCertificateID",
                "qwacCertificateID", "redirectURIs", "roles", "softwareID",
            ])
        #expect(try JSONCoding.decoder.decode(RegistrationChange.self, from: Array(written.utf8)) == change)
    }
}
