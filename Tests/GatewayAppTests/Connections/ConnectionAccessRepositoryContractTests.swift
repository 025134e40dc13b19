import Foundation
import GatewayCore
import OpenSSLKit
import PostgresKit
import TestSupport
import Testing

@testable import GatewayApp

/// The promises of `RefreshLeaseRepository` (the token keeper's) and `AccountInformationRepository` (the account
/// reads'), checked on both implementations with the same steps: `ConnectionStore` over a fresh PostgreSQL database
/// and `InMemoryConnectionRepository`, which the in-process router tests rely on (`ConnectionsRouterTests`,
/// `AccountInformationRouterTests`). A double that drifts from the store fails here.
@Suite struct ConnectionAccessRepositoryContractTests {
    enum Implementation: String, CaseIterable, CustomTestStringConvertible {
        case postgres, memory
        var testDescription: String { rawValue }
    }

    typealias Repository = RefreshLeaseRepository & AccountInformationRepository

    /// What each test gets: the repository, a start instant and a registration connections may refer to.
    struct Bed {
        let repository: any Repository
        let start: Date
        let registrationID: UUID

        /// Stores an active connection of `psuReference` at CIC, with tokens of generation 1.
        func connection(psuReference: String = "psu-1") async throws -> ConnectionRecord {
            let record = ConnectionRecord(
                id: UUID(), registrationID: registrationID, bankID: BankID("cmcic:cic")!, environment: .sandbox,
                psuReference: psuReference, redirectURI: "https://tpp.example/cb", roles: [.aisp], status: .active,
                stateHash: nil, stateExpiresAt: nil, pkceVerifierSealed: nil, accessTokenSealed: [1, 2, 3],
                accessExpiresAt: start.addingTimeInterval(60), refreshTokenSealed: [4, 5, 6],
                refreshExpiresAt: start.addingTimeInterval(86_400), authorizedAt: start, reauthorizeBy: nil,
                tokenGeneration: 1, lastRefreshError: nil, nextRefreshAt: nil, createdAt: start, updatedAt: start)
            try await repository.insert(record)
            // As an authorization finishes: the store's insert keeps the pending columns only.
            return try await repository.modify(record.id) { row in
                row = record
                return nil
            }
        }
    }

    static func with(_ implementation: Implementation, _ body: (Bed) async throws -> Void) async throws {
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        switch implementation {
        case .memory:
            let repository = InMemoryConnectionRepository(now: { start })
            try await body(Bed(repository: repository, start: start, registrationID: UUID()))
        case .postgres:
            try await TestDatabases.withClient { db in
                let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
                let qwac = try await ConnectionsTestBed.insertCertificate(db: db, vault: vault, kind: "qwac")
                let qseal = try await ConnectionsTestBed.insertCertificate(db: db, vault: vault, kind: "qseal")
                let registration = try await ConnectionsTestBed.insertRegistration(
                    db: db, provider: .euroInformation, bank: BankID("cmcic:cic")!, qwac: qwac, qseal: qseal,
                    status: .active, clientID: "contract", now: start)
                let store = ConnectionStore(
                    db: db, registrations: RegistrationStore(db: db, cacheTTL: .zero), cacheTTL: .zero)
                try await body(Bed(repository: store, start: start, registrationID: registration))
            }
        }
    }

    /// What the test's claim steps answer.
    enum Step: String, Sendable { case claimed, waited, changed }

    /// Claims with `lease` at `now`: takes it unless another holds one.
    static func claim(_ bed: Bed, _ id: UUID, _ lease: RefreshLease, at now: Date) async throws -> Step {
        try await bed.repository.claimRefresh(id, lease: lease, now: now) { _, held in
            held ? .answer(.waited) : .claim(.claimed)
        }
    }

    @Test(arguments: Implementation.allCases)
    func aRefreshLeaseIsExclusiveUntilItExpiresAndOnlyItsHolderCommits(_ implementation: Implementation)
        async throws
    {
        try await Self.with(implementation) { bed in
            let row = try await bed.connection()
            let t0 = bed.start
            let first = RefreshLease(id: UUID(), until: t0.addingTimeInterval(30))
            #expect(try await Self.claim(bed, row.id, first, at: t0) == .claimed)
            let second = RefreshLease(id: UUID(), until: t0.addingTimeInterval(60))
            #expect(try await Self.claim(bed, row.id, second, at: t0.addingTimeInterval(29)) == .waited)
            #expect(try await Self.claim(bed, row.id, first, at: t0.addingTimeInterval(29)) == .claimed, "its holder")
            #expect(try await Self.claim(bed, row.id, second, at: t0.addingTimeInterval(31)) == .claimed, "expired")

            // The first holder's answer comes back late: refused, nothing stored.
            let late: String? = try await bed.repository.commitRefresh(row.id, lease: first.id) { row in
                row.tokenGeneration = 99
                return ("stored", nil)
            }
            #expect(late == nil)
            #expect(try await bed.repository.find(row.id)?.tokenGeneration == 1)
            #expect(try await Self.claim(bed, row.id, first, at: t0.addingTimeInterval(31)) == .waited)

            // The current holder commits: the row is written and the lease ends.
            let committed: String? = try await bed.repository.commitRefresh(row.id, lease: second.id) { row in
                row.tokenGeneration += 1
                row.lastRefreshError = nil
                return ("stored", nil)
            }
            #expect(committed == "stored")
            #expect(try await bed.repository.find(row.id)?.tokenGeneration == 2)
            let again: String? = try await bed.repository.commitRefresh(row.id, lease: second.id) { _ in ("twice", nil) }
            #expect(again == nil, "a commit ends the lease")
            let third = RefreshLease(id: UUID(), until: t0.addingTimeInterval(90))
            #expect(try await Self.claim(bed, row.id, third, at: t0.addingTimeInterval(32)) == .claimed)

            // A step that changes the row writes it with its event, leaving the lease as it was.
            let changed = try await bed.repository.claimRefresh(
                row.id, lease: RefreshLease(id: UUID(), until: t0.addingTimeInterval(90)), now: t0.addingTimeInterval(33)
            ) { row, held -> RefreshClaimStep<Step> in
                #expect(held)
                row.dropTokens(becoming: .reauthorizationRequired, at: t0.addingTimeInterval(33))
                return .change(.changed, row.event(.connectionReauthorizationRequired, reason: "test"))
            }
            #expect(changed == .changed)
            let stored = try #require(try await bed.repository.find(row.id))
            #expect(stored.status == .reauthorizationRequired && stored.refreshTokenSealed == nil)
            #expect(try await Self.claim(bed, row.id, third, at: t0.addingTimeInterval(33)) == .claimed)

            await #expect(throws: GatewayError.self) {
                _ = try await Self.claim(bed, UUID(), first, at: t0)
            }
        }
    }

    @Test(arguments: Implementation.allCases)
    func theConnectionsDueForARefreshAreTheActiveOnesNeededSoon(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let t0 = bed.start
            let due = try await bed.connection()
            let idle = try await bed.connection(psuReference: "idle")
            _ = try await bed.repository.modify(idle.id) { row in
                row.authorizedAt = t0.addingTimeInterval(-7200)
                return nil
            }
            let backedOff = try await bed.connection(psuReference: "backed-off")
            _ = try await bed.repository.modify(backedOff.id) { row in
                row.nextRefreshAt = t0.addingTimeInterval(600)
                return nil
            }
            let ids = try await bed.repository.dueForRefresh(
                horizon: t0.addingTimeInterval(120), now: t0, usedSince: t0.addingTimeInterval(-3600),
                keepAliveUntil: nil, limit: 10)
            #expect(ids == [due.id])
            let kept = try await bed.repository.dueForRefresh(
                horizon: t0.addingTimeInterval(120), now: t0, usedSince: t0.addingTimeInterval(-3600),
                keepAliveUntil: t0.addingTimeInterval(2 * 86_400), limit: 10)
            #expect(Set(kept) == [due.id, idle.id])
        }
    }

    @Test(arguments: Implementation.allCases)
    func theBudgetCountsPerBankCustomerAccountAndResourceInTheRollingWindow(_ implementation: Implementation)
        async throws
    {
        try await Self.with(implementation) { bed in
            let t0 = bed.start
            let key = UnattendedKey(
                bank: BankID("cmcic:cic")!, psuReference: "batch", accountKey: "k1", resource: "balances")
            func expectCount(
                _ key: UnattendedKey, at seconds: TimeInterval, _ expected: UnattendedCount, _ why: String = ""
            ) async throws {
                let answer = try await bed.repository.countUnattendedRequest(
                    key, now: t0.addingTimeInterval(seconds), window: 100, limit: 2)
                #expect(answer == expected, "at \(seconds) s: \(why) \(key)")
            }
            try await expectCount(key, at: 0, .counted)
            try await expectCount(key, at: 10, .counted)
            try await expectCount(key, at: 20, .full(oldest: t0))
            let changes: [(inout UnattendedKey) -> Void] = [
                { $0.bank = BankID("bpce:13807")! }, { $0.psuReference = "other" }, { $0.accountKey = "k2" },
                { $0.resource = "transactions" },
            ]
            var others: [UnattendedKey] = []
            for change in changes {
                var other = key
                change(&other)
                others.append(other)
            }
            for other in others { try await expectCount(other, at: 20, .counted) }
            try await expectCount(key, at: 100, .counted, "the request at 0 left the window at 100")
            try await expectCount(key, at: 100.5, .full(oldest: t0.addingTimeInterval(10)))
            try await expectCount(key, at: 111, .counted, "the refused request at 100.5 was not counted")
        }
    }

    @Test(arguments: Implementation.allCases)
    func accountIdsAreStableAndTheUsageNamesThem(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let t0 = bed.start
            let row = try await bed.connection(psuReference: "batch")
            let other = try await bed.connection(psuReference: "batch")
            let ids = try await bed.repository.accountIDs(
                connectionID: row.id, accounts: [("k1", "r1"), ("k2", "r2")], now: t0)
            #expect(ids.count == 2 && ids[0] != ids[1] && ids.allSatisfy { $0.hasPrefix("acc_") })
            let again = try await bed.repository.accountIDs(
                connectionID: row.id, accounts: [("k2", "r2-new"), ("k3", "r3")], now: t0)
            #expect(again[0] == ids[1] && !ids.contains(again[1]))
            let moved = try #require(try await bed.repository.bankAccount(connectionID: row.id, accountID: ids[1]))
            #expect(moved.key == "k2" && moved.resourceID == "r2-new")
            #expect(try await bed.repository.bankAccount(connectionID: other.id, accountID: ids[1]) == nil)

            let bank = BankID("cmcic:cic")!
            for (account, resource) in [("k1", "balances"), ("", "identity"), ("k9", "balances")] {
                _ = try await bed.repository.countUnattendedRequest(
                    UnattendedKey(bank: bank, psuReference: "batch", accountKey: account, resource: resource),
                    now: t0, window: 100, limit: 4)
            }
            let usage = try await bed.repository.unattendedUsage(of: [row, other], since: t0.addingTimeInterval(-100))
            #expect(usage[row.id]?.map(\.accountID) == [nil, ids[0]])
            #expect(usage[row.id]?.map(\.resource) == ["identity", "balances"])
            #expect(usage[other.id]?.map(\.accountID) == [nil], "another connection's account is not its own")
        }
    }

    @Test(arguments: Implementation.allCases)
    func readsRecordTheirUseTheNameAndTheConsent(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let t0 = bed.start
            let row = try await bed.connection()
            try await bed.repository.markUsed(row, now: t0)
            let used = try #require(try await bed.repository.find(row.id))
            #expect(used.lastUsedAt == t0)
            try await bed.repository.markUsed(used, now: t0.addingTimeInterval(30))
            #expect(try await bed.repository.find(row.id)?.lastUsedAt == t0, "at most once a minute")
            try await bed.repository.setConnectedPSU(row.id, "M. Dupont")
            #expect(try await bed.repository.find(row.id)?.connectedPSU == "M. Dupont")
        }
    }
}
