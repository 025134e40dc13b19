import Foundation
import GatewayCore
import OpenSSLKit
import PostgresKit
import Synchronization
import TestSupport
import Testing

@testable import GatewayApp

/// The promise of `ClientTokenRepository` that `ClientCredentialsTokens` builds "one token call per expiry" on,
/// checked on both implementations with the same steps: `ClientTokenStore` (an advisory lock) on a fresh PostgreSQL
/// database, and `InMemoryClientTokenRepository`.
@Suite struct ClientTokenRepositoryContractTests {
    final class Fetches: Sendable {
        let count = Mutex(0)
    }

    typealias Implementation = RepositoryImplementation

    static func with(
        _ implementation: Implementation, _ body: (any ClientTokenRepository, UUID) async throws -> Void
    ) async throws {
        switch implementation {
        case .memory:
            try await body(InMemoryClientTokenRepository(), UUID())
        case .postgres:
            try await TestDatabases.withClient { db in
                let registration = try await ConnectionsTestBed.insertActiveRegistration(db: db, now: Date())
                try await body(ClientTokenStore(db: StoreDatabase(db)), registration)
            }
        }
    }

    /// Checked (a temporary edit of the double, never committed): renewing without `KeyedLock` makes several
    /// "fetches" here.
    @Test(arguments: Implementation.allCases)
    func concurrentRenewalsFetchOnceAndSeeTheStoredToken(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { repository, registration in
            #expect(try await repository.find(registration: registration, scope: "pisp") == nil)
            let fetches = Fetches()
            let expiry = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) + 3600)
            let seen = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await repository.renew(registration: registration, scope: "pisp") { current in
                            if let current { return (nil, current.sealed) }
                            // The "token call": other renewals get every chance to run meanwhile.
                            for _ in 0..<20 { await Task.yield() }
                            let count = fetches.count.withLock { n in
                                n += 1
                                return n
                            }
                            let token = StoredClientToken(sealed: [UInt8(count)], expiresAt: expiry, updatedAt: Date())
                            return (token, token.sealed)
                        }
                    }
                }
                return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
            }
            #expect(fetches.count.withLock { $0 } == 1)
            #expect(seen == Array(repeating: [1], count: 10))
            let stored = try await repository.find(registration: registration, scope: "pisp")
            #expect(stored?.sealed == [1])
            #expect(stored?.expiresAt == expiry)
            #expect(try await repository.find(registration: registration, scope: "cbpii") == nil)

            // A renewal that throws stores nothing; one that keeps the token stores nothing either.
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await repository.renew(registration: registration, scope: "cbpii") {
                    _ -> (StoredClientToken?, Int) in throw Refused()
                }
            }
            #expect(try await repository.find(registration: registration, scope: "cbpii") == nil)
        }
    }
}
