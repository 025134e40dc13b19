import Foundation
import GatewayLogging
import Testing
import TestSupport

@testable import GatewayCore

@Suite struct FakeBankAdapterTests {
    let context = AdapterContext(
        requestID: "r1", deadline: .now + .seconds(5), logger: Logger(label: "test", sink: CapturingLogSink()))
    let client = BankClient(
        bank: BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!, environment: .sandbox,
        qwac: CertificateMaterial(id: "q1", certificatePEM: "", privateKeyPEM: Secret("")),
        qseal: CertificateMaterial(id: "s1", certificatePEM: "", privateKeyPEM: Secret("")), clientID: "c")

    @Test func answersFromTheScriptAndRecordsCalls() async throws {
        let fake = FakeBankAdapter(provider: .bpce)
        fake.update { $0.accounts = .failure(.tokenExpired) }
        await #expect(throws: AdapterError.tokenExpired) {
            try await fake.accounts(accessToken: Secret("a"), client: client, context: context)
        }
        let first = TokenSet(accessToken: Secret("a2"), refreshToken: nil, expiresAt: Date())
        fake.update { $0.refreshes = [.failure(.timeout), .success(first)] }
        await #expect(throws: AdapterError.timeout) {
            try await fake.refresh(Secret("r"), client: client, context: context)
        }
        #expect(try await fake.refresh(Secret("r"), client: client, context: context) == first)
        #expect(try await fake.refresh(Secret("r"), client: client, context: context) == first)
        #expect(fake.calls == [.accounts, .refresh, .refresh, .refresh])
    }
}

@Suite struct OpaqueCursorTests {
    struct State: Codable, Equatable {
        let account: String
        let next: String
    }

    @Test func roundTripsAndRefusesForeignCursors() throws {
        let state = State(account: "038-CPT30019654051", next: "https://h/stet/psd2/v1/accounts/x/transactions?page=2")
        let cursor = OpaqueCursor.encode(state)
        #expect(!cursor.contains("=") && !cursor.contains("/") && !cursor.contains("+"))
        #expect(try OpaqueCursor.decode(State.self, from: cursor) == state)
        #expect(throws: GatewayError.self) { try OpaqueCursor.decode(State.self, from: "not-a-cursor") }
        #expect(throws: GatewayError.self) { try OpaqueCursor.decode(State.self, from: OpaqueCursor.encode(["a": 1])) }
    }
}
