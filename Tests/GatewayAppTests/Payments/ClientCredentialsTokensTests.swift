import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import Synchronization
import TestSupport
import Testing

@testable import GatewayApp

/// `ClientCredentialsTokens` in one process: concurrent callers share one renewal, so that a slow token endpoint
/// holds one repository renewal (in PostgreSQL one pooled connection waiting on the advisory lock) rather than one
/// per waiting request.
@Suite struct ClientCredentialsTokensTests {
    /// Counts the renewals entered (before the repository's own lock).
    final class CountingRepository: ClientTokenRepository {
        let inner = InMemoryClientTokenRepository()
        let renewals = Mutex(0)

        func find(registration: UUID, scope: String) async throws -> StoredClientToken? {
            try await inner.find(registration: registration, scope: scope)
        }

        func renew<T: Sendable>(
            registration: UUID, scope: String,
            _ renew: (StoredClientToken?) async throws -> (store: StoredClientToken?, result: T)
        ) async throws -> T {
            renewals.withLock { $0 += 1 }
            return try await inner.renew(registration: registration, scope: scope, renew)
        }
    }

    let client = BankClient(
        bank: BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!, environment: .sandbox,
        qwac: CertificateMaterial(id: "q1", certificatePEM: "", privateKeyPEM: Secret("")),
        qseal: CertificateMaterial(id: "s1", certificatePEM: "", privateKeyPEM: Secret("")), clientID: "c")
    let context = AdapterContext(
        requestID: "r1", deadline: .now + .seconds(30), logger: Logger(label: "test", sink: CapturingLogSink()))

    static func token(_ value: String) -> TokenSet {
        TokenSet(accessToken: Secret(value), refreshToken: nil, expiresAt: Date().addingTimeInterval(3600))
    }

    /// Tokens over a counting repository, and a bank whose token endpoint answers `answer` once `gate` opens.
    func gated(answering answer: Result<TokenSet, AdapterError>) throws
        -> (CountingRepository, ClientCredentialsTokens, FakeBankAdapter, Gate)
    {
        let repository = CountingRepository()
        let tokens = ClientCredentialsTokens(
            store: repository, vault: SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32)))),
            refreshMargin: 60, now: { Date() }, logger: Logger(label: "test", sink: CapturingLogSink()))
        let gate = Gate()
        let adapter = FakeBankAdapter(provider: .bpce)
        adapter.update {
            $0.clientCredentials = answer
            $0.clientCredentialsGate = gate
        }
        return (repository, tokens, adapter, gate)
    }

    /// Checked by bypassing the flight (a temporary edit, never committed): the callers never join one, and each
    /// enters the repository's renewal.
    @Test func concurrentCallersShareOneRenewalAndOneTokenCall() async throws {
        let (repository, tokens, adapter, gate) = try gated(answering: .success(Self.token("cc-1")))
        let registration = UUID()
        let key = ClientCredentialsTokens.owner(registration, "pisp")
        let (client, context) = (client, context)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await tokens.token(
                        scope: "pisp", registration: registration, client: client, adapter: adapter, context: context
                    ).reveal
                }
            }
            await gate.waitForWaiter()
            for _ in 0..<1000 where tokens.renewals.callers(of: key) < 10 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(tokens.renewals.callers(of: key) == 10)
            #expect(repository.renewals.withLock { $0 } == 1)
            gate.open()
            for try await token in group { #expect(token == "cc-1") }
        }
        #expect(adapter.calls == [.clientCredentialsToken(scope: "pisp")])
        #expect(repository.renewals.withLock { $0 } == 1)
        #expect(tokens.renewals.callers(of: key) == 0)
        // Later calls use the stored token; a refused one is replaced by a new token call.
        #expect(try await tokens.token(scope: "pisp", registration: registration, client: client, adapter: adapter, context: context).reveal == "cc-1")
        adapter.update {
            $0.clientCredentials = .success(Self.token("cc-2"))
        }
        let replaced = try await tokens.token(
            scope: "pisp", registration: registration, client: client, adapter: adapter, context: context,
            replacing: Secret("cc-1"))
        #expect(replaced.reveal == "cc-2")
        #expect(adapter.calls.count == 2)
    }

    @Test func aFailedRenewalReachesEveryCallerAndTheNextCallTriesAgain() async throws {
        let (_, tokens, adapter, gate) = try gated(answering: .failure(.unavailable(status: 503, code: nil, message: nil)))
        let registration = UUID()
        let key = ClientCredentialsTokens.owner(registration, "cbpii")
        let (client, context) = (client, context)
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    do {
                        _ = try await tokens.token(
                            scope: "cbpii", registration: registration, client: client, adapter: adapter, context: context)
                        return false
                    } catch { return true }
                }
            }
            await gate.waitForWaiter()
            for _ in 0..<1000 where tokens.renewals.callers(of: key) < 4 { try await Task.sleep(for: .milliseconds(10)) }
            gate.open()
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 4)
        #expect(adapter.calls.count == 1)
        adapter.update {
            $0.clientCredentials = .success(Self.token("cc-3"))
        }
        #expect(try await tokens.token(scope: "cbpii", registration: registration, client: client, adapter: adapter, context: context).reveal == "cc-3")
        #expect(adapter.calls.count == 2)
    }
}
