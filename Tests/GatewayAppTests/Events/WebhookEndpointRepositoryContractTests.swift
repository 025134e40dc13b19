import Foundation
import GatewayCore
import PostgresKit
import TestSupport
import Testing

@testable import GatewayApp

/// The promises of `WebhookEndpointRepository` about endpoints, checked on both implementations with the same
/// steps: `WebhookEndpointStore` over a fresh PostgreSQL database and `InMemoryWebhookEndpointRepository`, which the
/// in-process router tests rely on (`WebhooksRouterTests`). Deliveries are the dispatcher's: live in `EventsTests`.
@Suite struct WebhookEndpointRepositoryContractTests {
    typealias Implementation = RepositoryImplementation

    static func with(_ implementation: Implementation, _ body: (any WebhookEndpointRepository) async throws -> Void)
        async throws
    {
        switch implementation {
        case .memory: try await body(InMemoryWebhookEndpointRepository())
        case .postgres:
            try await TestDatabases.withClient { db in try await body(WebhookEndpointStore(db: StoreDatabase(db))) }
        }
    }

    static func endpoint(_ url: String, createdAt: Date) -> WebhookEndpoint {
        WebhookEndpoint(
            id: UUID(), url: url, kinds: [.connectionAuthorized, .connectionRevoked], createdAt: createdAt,
            deletedAt: nil,
            disabledAt: nil)
    }

    @Test(arguments: Implementation.allCases)
    func endpointsAreListedOldestFirstDisabledAndEnabledOnceAndGoneOnceDeleted(_ implementation: Implementation)
        async throws
    {
        try await Self.with(implementation) { repository in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let first = Self.endpoint("https://a.example/hook", createdAt: start)
            let second = Self.endpoint("https://b.example/hook", createdAt: start + 1)
            try await repository.insert(second, secretSealed: [1])
            try await repository.insert(first, secretSealed: [2])
            do {
                try await repository.insert(first, secretSealed: [3])
                Issue.record("the same id twice")
            } catch GatewayError.conflict(_) {}
            #expect(try await repository.list() == [first, second], "oldest first")
            #expect(try await repository.find(first.id) == first)

            try await repository.setEnabled(first.id, false, at: start + 10)
            try await repository.setEnabled(first.id, false, at: start + 20)
            #expect(try await repository.find(first.id)?.disabledAt == start + 10, "disabling twice changes nothing")
            try await repository.setEnabled(first.id, true, at: start + 30)
            #expect(try await repository.find(first.id)?.enabled == true)
            try await repository.setEnabled(UUID(), false, at: start + 30)  // no such endpoint: nothing happens

            try await repository.delete(second.id, at: start + 40)
            #expect(try await repository.find(second.id) == nil)
            #expect(try await repository.list().map(\.id) == [first.id])
            for id in [second.id, UUID()] {
                do {
                    try await repository.delete(id, at: start + 50)
                    Issue.record("deleting a deleted or unknown endpoint")
                } catch GatewayError.notFound(let resource, _) {
                    #expect(resource == "webhook")
                }
            }
            try await repository.setEnabled(second.id, false, at: start + 60)
            #expect(try await repository.find(second.id) == nil, "a deleted endpoint stays deleted")
            #expect(try await repository.deliveries(of: first.id, limit: 10).isEmpty)
        }
    }
}
