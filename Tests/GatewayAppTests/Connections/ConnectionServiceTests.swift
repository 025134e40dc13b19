import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit
import Testing
import TestSupport

@testable import GatewayApp

/// Connection creation and authorization against the real PostgreSQL with `FakeBankAdapter`s.
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

    @Test func wrongStateIsRefusedAndTheRightOneStillWorks() async throws {
        try await ConnectionsTestBed.with { bed in
            let created = try await bed.create()
            await #expect(throws: GatewayError.conflict("state does not match this connection")) {
                _ = try await bed.connections.authorize(
                    created.record.id, code: "c", state: "forged", requestID: "r", logger: bed.logger)
            }
            // Another connection's state does not open this one either.
            let other = try await bed.create()
            await #expect(throws: GatewayError.conflict("state does not match this connection")) {
                _ = try await bed.connections.authorize(
                    created.record.id, code: "c", state: other.state, requestID: "r", logger: bed.logger)
            }
            #expect(bed.euroInformation.calls.isEmpty)
            let active = try await bed.connections.authorize(
                created.record.id, code: "c", state: created.state, requestID: "r", logger: bed.logger)
            #expect(active.status == .active)
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

    @Test func aRefusedCodeLeavesTheConnectionPendingAndCarriesTheBankError() async throws {
        try await ConnectionsTestBed.with { bed in
            bed.euroInformation.update {
                $0.tokens = .failure(.rejected(status: 400, code: "invalid_grant", message: "code expired"))
            }
            let created = try await bed.create()
            do {
                _ = try await bed.connections.authorize(
                    created.record.id, code: "c", state: created.state, requestID: "r", logger: bed.logger)
                Issue.record("expected the bank's refusal")
            } catch let error as GatewayError {
                #expect(error.problemType == .bankError)
                #expect(error.bankDetails?.code == "invalid_grant")
            }
            #expect(try await bed.connections.get(created.record.id).status == .pendingAuthorization)
        }
    }

    @Test func pendingRegistrationIsRefusedSayingWhenItActivates() async throws {
        try await ConnectionsTestBed.with { bed in
            let activation = bed.clock.now.addingTimeInterval(3 * 3600)
            let certificate = try await ConnectionsTestBed.insertCertificate(db: bed.db, vault: bed.vault, kind: "qwac")
            let pending = try await ConnectionsTestBed.insertRegistration(
                db: bed.db, provider: .bpce, bank: BankID("bpce:13807")!, environment: .production, qwac: certificate,
                qseal: certificate, status: .pending, clientID: "pending-client", activatesAt: activation,
                now: bed.clock.now)
            do {
                _ = try await bed.connections.create(
                    .init(
                        bank: BankID("bpce:13807")!, psuReference: "p", redirectURI: ConnectionsTestBed.redirect,
                        roles: [.aisp], registrationID: pending),
                    requestID: "r", logger: bed.logger)
                Issue.record("expected a conflict")
            } catch let error as GatewayError {
                #expect(error.problemType == .conflict)
                #expect(error.description.contains("activates at \(RFC3339.string(activation))"))
            }
            // Once the activation time has passed, the same registration is used.
            bed.clock.advance(3 * 3600 + 1)
            let created = try await bed.connections.create(
                .init(
                    bank: BankID("bpce:13807")!, psuReference: "p", redirectURI: ConnectionsTestBed.redirect,
                    roles: [.aisp], registrationID: pending),
                requestID: "r", logger: bed.logger)
            #expect(created.record.environment == .production)
        }
    }

    @Test func redirectURIMustBeRegistered() async throws {
        try await ConnectionsTestBed.with { bed in
            await #expect(throws: GatewayError.refusedFields([
                FieldIssue(field: "redirectUri", message: "is not one of the registration's redirect URIs")
            ])) {
                _ = try await bed.connections.create(
                    .init(bank: BankID("cmcic:cic")!, psuReference: "p", redirectURI: "https://evil.example/cb", roles: [.aisp]),
                    requestID: "r", logger: bed.logger)
            }
            // A brand without a registration: a conflict telling to register first.
            let unregistered = try await #require(throws: GatewayError.self) {
                _ = try await bed.connections.create(
                    .init(bank: BankID("cmcic:becm")!, psuReference: "p", redirectURI: ConnectionsTestBed.redirect, roles: [.aisp]),
                    requestID: "r", logger: bed.logger)
            }
            #expect(unregistered.problemType == .conflict)
            #expect("\(unregistered)".contains("register with POST /v1/registrations first"), "\(unregistered)")
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
            let small = try await bed.connections.page(psuReference: "psu-1", cursor: nil, pageSize: 1)
            #expect(small.connections.count == 1)
            let rest = try await bed.connections.page(psuReference: "psu-1", cursor: small.nextCursor, pageSize: 1)
            #expect(rest.connections.map(\.id) != small.connections.map(\.id), "the cursor moves on")
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
