import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit
import Testing
import TestSupport

@testable import GatewayApp

/// Connection creation and authorization against the real PostgreSQL with `FakeBankAdapter`s: what the store
/// shows (the rows, the transactions, the keyset pages). The rules themselves, through the routes, are
/// `ConnectionsRouterTests`.
@Suite struct ConnectionServiceTests {
    @Test func createReturnsAuthorizationURLAndStoresOnlyTheStateHash() async throws {
        try await ConnectionsTestBed.with { bed in
            let created = try await bed.create()
            #expect(created.record.status == .pendingAuthorization)
            #expect(created.authorizationURL.contains("state=\(created.state)"))
            #expect(created.authorizationURL.contains("client_id=ei-client"))
            #expect(created.state.utf8.count >= 43)
            let row = try #require(try await bed.db.query(
                "SELECT state_hash, pkce_verifier_sealed, registration_id FROM connections WHERE id = \(created.record.id)"
            ).first)
            #expect(try row.decode("state_hash", as: [UInt8].self) == Digest.sha256(created.state))
            // Euro-Information supports PKCE: a sealed verifier, opened only with this connection's owner string.
            let sealed = try row.decode("pkce_verifier_sealed", as: [UInt8].self)
            let verifier = try bed.vault.open(sealed, owner: ConnectionRecord.sealOwner(created.record.id, "pkce_verifier"))
            #expect(verifier.reveal.utf8.count == 43)
            #expect(throws: GatewayError.self) {
                try bed.vault.open(sealed, owner: ConnectionRecord.sealOwner(UUID(), "pkce_verifier"))
            }
            #expect(try row.decode("registration_id", as: UUID.self) == bed.cicRegistration)

            // BPCE has no PKCE.
            let bpce = try await bed.create(bank: "bpce:13807")
            #expect(bpce.record.pkceVerifierSealed == nil)
            #expect(bpce.record.registrationID == bed.bpceRegistration)
        }
    }

    @Test func authorizeExchangesTheCodeOnceAndSealsTheTokens() async throws {
        try await ConnectionsTestBed.with { bed in
            let created = try await bed.create(bank: "bpce:13807")
            let active = try await bed.connections.authorize(
                created.record.id, code: "the-code", state: created.state, requestID: "r", logger: bed.logger)
            #expect(active.status == .active)
            #expect(active.accessExpiresAt != nil)
            // BPCE: refresh lifetime 90 days from the SCA (catalog default, the fake sends none).
            #expect(active.reauthorizeBy == bed.clock.now.addingTimeInterval(90 * 86_400))
            #expect(bed.bpce.calls == [.exchangeCode(redirectURI: ConnectionsTestBed.redirect)])
            let row = try #require(try await bed.db.query(
                "SELECT access_token_sealed, refresh_token_sealed, pkce_verifier_sealed, state_hash FROM connections WHERE id = \(active.id)"
            ).first)
            let access = try row.decode("access_token_sealed", as: [UInt8].self)
            #expect(!String(decoding: access, as: UTF8.self).contains("access-1"))
            #expect(try bed.vault.open(access, owner: ConnectionRecord.sealOwner(active.id, "access_token")).reveal == "access-1")
            #expect(try row.decode("state_hash", as: [UInt8]?.self) == nil)

            // Replaying the same state is refused before the bank is called.
            await #expect(throws: GatewayError.conflict("this connection's state was already used; create a new connection")) {
                _ = try await bed.connections.authorize(
                    created.record.id, code: "the-code", state: created.state, requestID: "r", logger: bed.logger)
            }
            #expect(bed.bpce.calls.count == 1)
        }
    }

    @Test func expiredStateIsRefusedAndConsumed() async throws {
        var settings = Config.Connections()
        settings.stateTTLSeconds = 900
        try await ConnectionsTestBed.with(settings: settings) { bed in
            let created = try await bed.create()
            bed.clock.advance(901)
            await #expect(throws: GatewayError.conflict("state expired; create a new connection")) {
                _ = try await bed.connections.authorize(
                    created.record.id, code: "c", state: created.state, requestID: "r", logger: bed.logger)
            }
            // Consumed: the second try is refused as a used state, not as an expired one (keeping the state after
            // refusing an expired one fails here).
            await #expect(throws: GatewayError.conflict("this connection's state was already used; create a new connection")) {
                _ = try await bed.connections.authorize(
                    created.record.id, code: "c", state: created.state, requestID: "r", logger: bed.logger)
            }
            #expect(bed.euroInformation.calls.isEmpty)
        }
    }

    @Test func revokeForgetsTokensAndListsByCustomer() async throws {
        try await ConnectionsTestBed.with { bed in
            let first = try await bed.activeConnection()
            _ = try await bed.create(psuReference: "psu-1")
            _ = try await bed.create(psuReference: "someone-else")
            let page = try await bed.connections.page(psuReference: "psu-1", cursor: nil, pageSize: 10)
            #expect(page.connections.count == 2)
            #expect(page.nextCursor == nil)
            let everyone = try await bed.connections.page(psuReference: nil, cursor: nil, pageSize: 10)
            #expect(everyone.connections.count == 3, "without psuReference: every customer's")
            let small = try await bed.connections.page(psuReference: "psu-1", cursor: nil, pageSize: 1)
            #expect(small.connections.count == 1)
            let rest = try await bed.connections.page(psuReference: "psu-1", cursor: small.nextCursor, pageSize: 1)
            #expect(rest.connections.map(\.record.id) != small.connections.map(\.record.id), "the cursor moves on")
            await #expect(throws: GatewayError.refusedFields([FieldIssue(field: "cursor", message: "belongs to another listing")])) {
                _ = try await bed.connections.page(psuReference: "someone-else", cursor: small.nextCursor, pageSize: 1)
            }
            try await bed.connections.revoke(first.id, logger: bed.logger)
            let revoked = try await bed.connections.get(first.id)
            #expect(revoked.status == .revoked)
            #expect(revoked.accessTokenSealed == nil && revoked.refreshTokenSealed == nil)
            await #expect(throws: GatewayError.conflict("connection is revoked")) {
                _ = try await bed.accounts.accounts(connectionID: first.id, caller: bed.caller())
            }
        }
    }
}
