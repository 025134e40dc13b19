import Foundation
import Testing

@testable import GatewayCore

@Suite struct BankCatalogTests {
    let catalog = BankCatalog.builtIn

    @Test func containsEveryBankOfBanksMD() {
        let ids = Set(catalog.all.map(\.id.description))
        for segment in [
            "cm", "becm", "cic", "cic-banqueprivee", "banquetransatlantique", "monabanq", "beobank", "targobank-es",
        ] {
            #expect(ids.contains("cmcic:\(segment)"))
        }
        for code in [
            "10207", "10807", "10907", "13507", "13807", "14607", "14707", "16607", "16807", "17807", "18707", "10548",
            "11315", "11425", "12135", "13135", "13335", "13485", "13825", "14265", "14445", "14505", "15135", "16275",
            "17515", "18315", "18715", "10107", "42559", "40978", "30007",
        ] {
            #expect(ids.contains("bpce:\(code)"))
        }
        #expect(catalog.all.count == 8 + 31)
    }

    @Test func buildsEuroInformationURLsFromThePlatformPattern() throws {
        let becm = try catalog.require(BankID("cmcic:becm")!)
        #expect(becm.sandbox?.apiRoot == "https://oauth2-apisi.e-i.com/sandbox/becm/stet-psd2-api/v2.0")
        #expect(becm.sandbox?.token == "https://oauth2-apisi.e-i.com/sandbox/becm/oauth2/token")
        #expect(becm.production?.registration == "https://oauth2-apisi.e-i.com/becm/oauth2/registrations")
        let cic = try catalog.require(BankID("cmcic:cic")!)
        #expect(cic.production?.authorize == "https://www.cic.fr/oauth2/{lang}/banque/oauth2_authorization.aspx")
        #expect(cic.sandbox?.authorize == "https://www.cic.fr/oauth2/{lang}/sandbox/signin.html")
        #expect(cic.keyIdMode == .kid)
        #expect(cic.registrationKeyIdMode == nil)
        #expect(cic.signedHeaders == ["(request-target)", "host", "date", "x-request-id"])
        #expect(cic.supportsPKCE)
        #expect(!cic.requiresPutConsents)
    }

    @Test func buildsBPCEURLsFromTheCodetab() throws {
        let bp = try catalog.require(BankID("bpce:13807")!)
        #expect(bp.sandbox?.apiRoot == "https://www.13807.sandbox.api.89c3.com/stet/psd2/v1")
        #expect(bp.production?.token == "https://www.13807.live.api.89c3.com/stet/psd2/oauth/token")
        #expect(bp.sandbox?.registration == "https://www.13807.sandbox.api.89c3.com/stet/setting/v1/register")
        #expect(bp.sandbox?.authorize == "https://www.13807.sandbox.api.89c3.com/stet/psd2/oauth/authorize")
        #expect(bp.keyIdMode == .clientId)
        #expect(bp.registrationKeyIdMode == .url)
        #expect(bp.requiresPutConsents)
        #expect(bp.tokenDefaults.refreshTokenSeconds == 90 * 86_400)
        #expect(!bp.tokenDefaults.refreshTokenRotates)
        #expect(bp.signedHeadersWithBody.last == "content-type")
        #expect(catalog.bpceRegistrationBank(code: "13807", for: .sandbox)?.id.description == "bpce:13807")
        #expect(catalog.bpceRegistrationBank(code: "00000", for: .sandbox) == nil)
        #expect(catalog.bpceRegistrationBank(code: nil, for: .sandbox)?.provider == .bpce)
    }

    @Test func listsTheHeadersToSignWithPresentPSUHeaders() throws {
        let cic = try catalog.require(BankID("cmcic:cic")!)
        let present = [
            "Host", "Date", "X-Request-ID", "Authorization", "PSU-IP-Address", "psu-user-agent", "PSU-IP-Address",
        ]
        #expect(
            cic.headersToSign(hasBody: false, presentHeaders: present)
                == ["(request-target)", "host", "date", "x-request-id", "psu-ip-address", "psu-user-agent"])
        #expect(cic.headersToSign(hasBody: true, presentHeaders: []).suffix(2) == ["digest", "content-type"])
        let bp = try catalog.require(BankID("bpce:13807")!)
        #expect(
            bp.headersToSign(hasBody: false, presentHeaders: present).prefix(4)
                == ["(request-target)", "date", "x-request-id", "digest"])
        for profile in catalog.all {
            #expect(!profile.headersToSign(hasBody: true, presentHeaders: present).contains("authorization"))
        }
    }

    @Test func summariesHaveTheAPIShape() throws {
        let summary = try catalog.require(BankID("bpce:13807")!).summary
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        #expect(json.contains(#""id":"bpce:13807""#))
        #expect(json.contains(#""provider":"bpce""#))
        #expect(json.contains(#""environments":["sandbox","production"]"#))
        #expect(json.contains(#""roles":["aisp","pisp","cbpii"]"#))
        #expect(catalog.summaries.map(\.id) == catalog.all.map(\.id))
    }

    @Test func overridesPointBanksAtASimulator() throws {
        let json = #"""
            {"banks": {
              "cmcic:cic": {"sandbox": {"origin": "https://localhost:8443"}},
              "bpce:13807": {"sandbox": {"origin": "https://bpce-13807.localhost:8443"}, "supportsTrustedBeneficiaries": true},
              "cmcic:becm": {"production": null, "sandbox": {"authorize": "https://localhost:8443/becm/authorize"}},
              "bpce:99999": {"name": "Test bank", "keyIdMode": "kid"}
            }}
            """#
        let updated = try catalog.applying(overrides: Data(json.utf8))
        let cic = try updated.require(BankID("cmcic:cic")!)
        #expect(cic.sandbox?.apiRoot == "https://localhost:8443/sandbox/cic/stet-psd2-api/v2.0")
        #expect(cic.sandbox?.authorize == "https://localhost:8443/oauth2/{lang}/sandbox/signin.html")
        #expect(cic.production == catalog.profile(for: BankID("cmcic:cic")!)?.production)
        let bp = try updated.require(BankID("bpce:13807")!)
        #expect(bp.sandbox?.token == "https://bpce-13807.localhost:8443/stet/psd2/oauth/token")
        #expect(bp.supportsTrustedBeneficiaries)
        let becm = try updated.require(BankID("cmcic:becm")!)
        #expect(becm.production == nil)
        #expect(becm.environments == [.sandbox])
        #expect(becm.sandbox?.authorize == "https://localhost:8443/becm/authorize")
        #expect(becm.sandbox?.token == "https://oauth2-apisi.e-i.com/sandbox/becm/oauth2/token")
        let added = try updated.require(BankID("bpce:99999")!)
        #expect(added.name == "Test bank")
        #expect(added.keyIdMode == .kid)
        #expect(added.sandbox?.apiRoot == "https://www.99999.sandbox.api.89c3.com/stet/psd2/v1")
        #expect(catalog.profile(for: BankID("bpce:99999")!) == nil)  // the original is unchanged
    }

    @Test func reportsEveryProblemOfABadFileAtOnce() throws {
        let json = #"""
            {"bank": {}, "banks": {
              "cmcic:cic": {"sandbox": {"origin": "http://localhost:1"}, "supportsPKCE": 1, "colour": "red"},
              "bpce:13807": {"signedHeaders": ["date", "authorization"], "keyIdMode": "thumbprint"},
              "bpce:1": {},
              "bpce:99999": {"keyIdMode": "kid"}
            }}
            """#
        let error = try #require(throws: BankCatalogError.self) { try catalog.applying(overrides: Data(json.utf8)) }
        #expect(error.problems.count == 8)
        #expect(error.description.contains("cmcic:cic.colour: unknown field"))
        #expect(error.description.contains("cmcic:cic.supportsPKCE: expected true or false"))
        #expect(error.description.contains("bpce:13807.signedHeaders: authorization must never be signed"))
        #expect(error.description.contains("\"name\" is required"))
        #expect(throws: BankCatalogError.self) { try catalog.applying(overrides: Data("not json".utf8)) }
    }

    @Test func theDocumentedExampleFileIsValid() throws {
        // The example of docs/core.md, kept in the repository as docs/banks.example.json.
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/banks.example.json")
        let updated = try catalog.applying(overrides: try Data(contentsOf: url))
        #expect(
            updated.profile(for: BankID("bpce:17515")!)?.sandbox?.apiRoot.hasPrefix("https://bpce-17515.localhost:")
                == true)
        #expect(updated.profile(for: BankID("cmcic:becm")!)?.sandbox?.apiRoot.hasPrefix("https://localhost:") == true)
    }
}
