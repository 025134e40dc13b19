import Foundation
import Testing

@testable import GatewayCore

@Suite struct BankIDTests {
    @Test func parsesBothProvidersAndRoundTrips() throws {
        let cic = try #require(BankID("cmcic:cic"))
        #expect(cic.provider == .euroInformation)
        #expect(cic.code == "cic")
        #expect(cic.description == "cmcic:cic")
        let bp = try #require(BankID("bpce:13807"))
        #expect(bp.provider == .bpce)
        #expect(BankID("cmcic:cic-banqueprivee")?.code == "cic-banqueprivee")
    }

    @Test(arguments: [
        "bpce", "bpce:1380", "bpce:138070", "bpce:1380a", "cmcic:", "cmcic:CIC", "cmcic:-cic", "cic", "ing:x",
        "cmcic:c c",
    ])
    func refusesMalformedIDs(_ text: String) {
        #expect(BankID(text) == nil)
        #expect(throws: GatewayError.self) { try BankID.parse(text) }
    }

    @Test func registrationTargetAcceptsTheBareBPCEGroup() throws {
        #expect(try RegistrationTarget.parse("bpce") == .bpceGroup(via: nil))
        #expect(try RegistrationTarget.parse("bpce:17515") == .bpceGroup(via: BankID("bpce:17515")))
        #expect(try RegistrationTarget.parse("cmcic:becm") == .bank(BankID("cmcic:becm")!))
        #expect(try RegistrationTarget.parse("bpce").provider == .bpce)
        #expect(throws: GatewayError.self) { try RegistrationTarget.parse("cmcic") }
    }

    @Test func encodesAsAString() throws {
        let data = try JSONEncoder().encode(["bank": BankID("bpce:13807")!])
        #expect(String(decoding: data, as: UTF8.self) == #"{"bank":"bpce:13807"}"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BankID.self, from: Data(#""bpce:1""#.utf8)) }
    }

    @Test func statusesUseTheAPISpelling() {
        #expect(ConnectionStatus.pendingAuthorization.rawValue == "pending_authorization")
        #expect(ConnectionStatus.reauthorizationRequired.rawValue == "reauthorization_required")
        #expect(Provider.euroInformation.rawValue == "euro-information")
    }
}
