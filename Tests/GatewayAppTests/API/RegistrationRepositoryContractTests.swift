import Foundation
import OpenSSLKit
import PostgresKit
import TestSupport
import Testing

@testable import GatewayApp
@testable import GatewayCore

/// The promises of `RegistrationRepository`, checked on both implementations with the same steps: `RegistrationStore`
/// over a fresh PostgreSQL database, and `InMemoryRegistrationRepository`, which the in-process router tests rely on
/// (`RegistrationsRouterTests`). A double that drifts from the store fails here.
@Suite struct RegistrationRepositoryContractTests {
    typealias Implementation = RepositoryImplementation

    /// What each test gets: the repository, its clock and two certificate ids rows may refer to.
    struct Bed {
        let repository: any RegistrationRepository
        let clock: TestClock
        let qwac: UUID
        let qseal: UUID

        func record(
            _ status: RegistrationStatus, provider: Provider = .euroInformation, bank: String = "cmcic:cic",
            environment: Environment = .sandbox, clientID: String? = nil
        ) -> RegistrationRecord {
            RegistrationRecord(
                id: UUID(), provider: provider, bankID: BankID(bank)!, environment: environment, status: status,
                clientID: clientID, registrationClientURI: nil, activatesAt: nil,
                settings: RegistrationSettings(
                    qwacCertificateID: qwac, qsealCertificateID: qseal, clientName: "Contract TPP",
                    redirectURIs: ["https://tpp.example/cb"], roles: [.aisp],
                    contact: .init(name: "Ops", email: "ops@tpp.example"), softwareID: nil, logoURI: nil, keyID: nil,
                    bankKeys: []),
                clientLegalID: nil, lastRequest: nil, lastResponse: nil,
                version: status == .registering ? 0 : 1, createdAt: clock.now(), updatedAt: clock.now())
        }

        /// Inserts `records` one after the other (so that each is newer than the one before).
        func insert(_ records: RegistrationRecord...) async throws {
            for r in records { try await repository.insert(r) }
        }

        func claim(_ id: UUID, for seconds: TimeInterval = 30) async throws -> UUID? {
            if case .claimed(_, let lease) = try await repository.claimBankCall(id, for: seconds) { return lease }
            return nil
        }
    }

    static func with(_ implementation: Implementation, _ body: (Bed) async throws -> Void) async throws {
        let clock = TestClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        switch implementation {
        case .memory:
            try await body(
                Bed(
                    repository: InMemoryRegistrationRepository(now: clock.now), clock: clock, qwac: UUID(),
                    qseal: UUID()))
        case .postgres:
            try await TestDatabases.withClient { db in
                let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
                let qwac = try await ConnectionsTestBed.insertCertificate(db: db, vault: vault, kind: "qwac")
                let qseal = try await ConnectionsTestBed.insertCertificate(db: db, vault: vault, kind: "qseal")
                try await body(
                    Bed(repository: RegistrationStore(db: db, now: clock.now), clock: clock, qwac: qwac, qseal: qseal))
            }
        }
    }

    /// `body` throws `GatewayError.conflict`.
    static func expectConflict(_ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected a conflict: \(what)")
        } catch GatewayError.conflict(_) {
        } catch {
            Issue.record("expected a conflict, got \(error): \(what)")
        }
    }

    @Test(arguments: Implementation.allCases)
    func aClaimIsExclusiveUntilItExpiresAndOnlyTheCurrentClaimCommits(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let original = bed.record(.active, clientID: "client-1")
            try await bed.insert(original)
            let id = original.id
            #expect(try await bed.repository.claimBankCall(UUID(), for: 30) == .noSuchRegistration)

            let first = try #require(try await bed.claim(id))
            #expect(try await bed.repository.claimBankCall(id, for: 30) == .held(until: bed.clock.now() + 30))
            var renamed = original
            renamed.clientName = "Renamed"
            await Self.expectConflict("a claim never taken") {
                try await bed.repository.commitBankCall(renamed, lease: UUID())
            }
            try await bed.repository.releaseBankCall(id, lease: UUID())
            #expect(try await bed.claim(id) == nil, "a release by another claim leaves the claim")

            bed.clock.advance(31)
            let second = try #require(try await bed.claim(id), "an expired claim can be taken")
            #expect(second != first)
            await Self.expectConflict("an expired claim") {
                try await bed.repository.commitBankCall(renamed, lease: first)
            }
            #expect(try await bed.repository.find(id)?.clientName == "Contract TPP", "the expired claim stored nothing")
            #expect(try await bed.repository.find(id)?.version == 1)

            try await bed.repository.commitBankCall(renamed, lease: second)
            let stored = try #require(try await bed.repository.find(id))
            #expect(stored.clientName == "Renamed" && stored.version == 2, "stored, the version bumped")
            let third = try #require(try await bed.claim(id), "the commit ended the claim")
            try await bed.repository.releaseBankCall(id, lease: third)
            #expect(try await bed.claim(id) != nil, "and so does a release by the holder")
        }
    }

    @Test(arguments: Implementation.allCases)
    func theIntentIsCompletedMarkedFailedOrRemovedOnlyWhileRegistering(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let failing = bed.record(.registering)
            let refused = bed.record(.registering)
            let completed = bed.record(.registering)
            try await bed.insert(failing, refused, completed)
            await Self.expectConflict("the same id twice") { try await bed.repository.insert(failing) }

            try await bed.repository.markFailed(
                failing.id, clientID: "client-f", registrationClientURI: "https://bank/c")
            let failed = try #require(try await bed.repository.find(failing.id))
            #expect(failed.status == .failed && failed.clientID == "client-f" && failed.version == 1)
            #expect(failed.registrationClientURI == "https://bank/c")
            try await bed.repository.removeIntent(failing.id)
            #expect(try await bed.repository.find(failing.id) != nil, "only an intent still registering is removed")

            try await bed.repository.removeIntent(refused.id)
            #expect(try await bed.repository.find(refused.id) == nil)

            var answered = completed
            answered.status = .active
            answered.clientID = "client-c"
            answered.lastResponse = #"{"client_id": "client-c"}"#  // as jsonb writes it back
            try await bed.repository.complete(answered)
            try await bed.repository.markFailed(completed.id, clientID: "other", registrationClientURI: nil)
            let done = try #require(try await bed.repository.find(completed.id))
            #expect(done.status == .active && done.clientID == "client-c" && done.version == 1)
            #expect(done.lastResponse == #"{"client_id": "client-c"}"#)
        }
    }

    @Test(arguments: Implementation.allCases)
    func readsLeaveDeletedOnesOutNewestFirstAndApplyAPendingChangeAtItsTime(_ implementation: Implementation)
        async throws
    {
        try await Self.with(implementation) { bed in
            let cic = bed.record(.active, clientID: "a")
            let group = bed.record(.pending, provider: .bpce, bank: "bpce:13807", clientID: "b")
            let deleted = bed.record(.deleted, clientID: "c")
            let production = bed.record(.active, environment: .production, clientID: "d")
            try await bed.insert(cic, group, deleted, production)

            #expect(try await bed.repository.list().map(\.id) == [production.id, group.id, cic.id])
            #expect(try await bed.repository.find(deleted.id)?.status == .deleted, "found, though not listed")
            let sandbox = try await bed.repository.candidates(
                provider: .euroInformation, environment: .sandbox, bankID: nil)
            #expect(sandbox.map(\.id) == [cic.id])
            #expect(
                try await bed.repository.candidates(provider: .bpce, environment: .sandbox, bankID: nil).map(\.id) == [
                    group.id
                ])
            #expect(
                try await bed.repository.candidates(
                    provider: .euroInformation, environment: .sandbox, bankID: BankID("cmcic:becm")!
                ).isEmpty)

            var later = cic
            later.clientName = "Later"
            var changed = cic
            changed.pendingChange = RegistrationChange(from: cic, to: later, activatesAt: bed.clock.now() + 60)
            let lease = try #require(try await bed.claim(cic.id))
            try await bed.repository.commitBankCall(changed, lease: lease)
            #expect(try await bed.repository.find(cic.id)?.clientName == "Contract TPP", "in effect until its time")
            bed.clock.advance(60)
            let applied = try #require(try await bed.repository.find(cic.id))
            #expect(applied.clientName == "Later" && applied.pendingChange == nil)
            #expect(try await bed.repository.list().first { $0.id == cic.id }?.clientName == "Later")
        }
    }
}
