import Foundation
import GatewayCore
import GatewayLogging
import PostgresKit
import Testing

@testable import GatewayApp

/// Refresh under the row lock, refresh-token retention, dead refresh tokens, the 401 retry and the background
/// refresher, against the real PostgreSQL.
@Suite struct TokenLifecycleTests {
    static func fresh(_ bed: ConnectionsTestBed, access: String, refresh: String?, lifetime: TimeInterval = 3600)
        -> TokenSet
    {
        TokenSet(
            accessToken: Secret(access), refreshToken: refresh.map(Secret.init),
            expiresAt: bed.clock.now.addingTimeInterval(lifetime))
    }

    @Test func concurrentCallersAcrossExpiryCauseExactlyOneRefresh() async throws {
        try await ConnectionsTestBed.with(poolSize: 12) { bed in
            let connection = try await bed.activeConnection()
            bed.clock.advance(3600 - 30)  // inside the 60 s margin
            bed.euroInformation.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: "refresh-2"))] }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                    }
                }
                try await group.waitForAll()
            }
            #expect(bed.refreshCount(bed.euroInformation) == 1)
            let row = try await bed.connections.get(connection.id)
            #expect(row.tokenGeneration == 2)
            #expect(try bed.vault.open(row.accessTokenSealed!, owner: ConnectionRecord.sealOwner(row.id, "access_token")).reveal == "access-2")
        }
    }

    @Test func refreshWithoutANewRefreshTokenKeepsTheOldOne() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection(bank: "bpce:13807")
            let reauthorizeBy = connection.reauthorizeBy
            bed.clock.advance(3600)
            bed.bpce.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: nil))] }
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            let row = try await bed.connections.get(connection.id)
            #expect(try bed.vault.open(row.refreshTokenSealed!, owner: ConnectionRecord.sealOwner(row.id, "refresh_token")).reveal == "refresh-1")
            // The BPCE window starts at the SCA and is not extended by refreshing.
            #expect(row.reauthorizeBy == reauthorizeBy)
            #expect(bed.refreshCount(bed.bpce) == 1)
        }
    }

    @Test func deadRefreshTokenRequiresReauthorization() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.clock.advance(3600)
            bed.euroInformation.update {
                $0.refreshes = [.failure(.refreshTokenDead(code: "invalid_grant", message: "Refresh token has expired"))]
            }
            do {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                Issue.record("expected reauthorization_required")
            } catch let error as GatewayError {
                #expect(error.problemType == .reauthorizationRequired)
                #expect(error.problemType.status == 409)
            }
            let row = try await bed.connections.get(connection.id)
            #expect(row.status == .reauthorizationRequired)
            #expect(row.refreshTokenSealed == nil)
            // Later reads do not call the bank again.
            let later = try await #require(throws: GatewayError.self) {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            }
            #expect(later.problemType == .reauthorizationRequired, "\(later)")
            #expect(bed.refreshCount(bed.euroInformation) == 1)
        }
    }

    @Test func refreshLifetimeOverRequiresReauthorizationWithoutCallingTheBank() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection(bank: "bpce:13807")
            bed.clock.advance(90 * 86_400 + 1)
            do {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                Issue.record("expected reauthorization_required")
            } catch let error as GatewayError {
                #expect(error.problemType == .reauthorizationRequired)
            }
            #expect(bed.refreshCount(bed.bpce) == 0)
            #expect(try await bed.connections.get(connection.id).status == .reauthorizationRequired)
        }
    }

    @Test func failedRefreshKeepsTheConnectionForALaterRetry() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.clock.advance(3600)
            bed.euroInformation.update {
                $0.refreshes = [
                    .failure(.unavailable(status: 503, code: nil, message: "maintenance")),
                    .success(Self.fresh(bed, access: "access-2", refresh: "refresh-2")),
                ]
            }
            do {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                Issue.record("expected the bank error")
            } catch let error as GatewayError {
                #expect(error.problemType == .bankUnavailable)
                #expect(error.bankDetails?.httpStatus == 503)
            }
            let kept = try await bed.connections.get(connection.id)
            #expect(kept.status == .active)
            #expect(kept.refreshTokenSealed != nil)
            #expect(kept.lastRefreshError != nil)
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            #expect(bed.refreshCount(bed.euroInformation) == 2)
        }
    }

    @Test func bankRefusingTheAccessTokenCausesOneRefreshAndOneRetry() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update {
                $0.accounts = .failure(.tokenExpired)
                $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: "refresh-2"))]
            }
            do {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                Issue.record("expected the bank error after one retry")
            } catch let error as GatewayError {
                #expect(error.problemType == .bankError)
            }
            #expect(bed.refreshCount(bed.euroInformation) == 1)
            #expect(bed.euroInformation.calls.filter { $0 == .accounts }.count == 2)
        }
    }

    @Test func backgroundRefresherRefreshesAheadOfExpiryThroughTheLockedPath() async throws {
        var settings = Config.Connections()
        settings.refreshAheadSeconds = 300
        try await ConnectionsTestBed.with(settings: settings) { bed in
            let connection = try await bed.activeConnection()
            #expect(await bed.tokens.refreshDue() == 0)
            bed.clock.advance(3600 - 200)
            bed.euroInformation.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: "refresh-2"))] }
            #expect(await bed.tokens.refreshDue() == 1)
            #expect(await bed.tokens.refreshDue() == 0)
            #expect(bed.refreshCount(bed.euroInformation) == 1)
            #expect(try await bed.connections.get(connection.id).tokenGeneration == 2)
        }
    }

    /// The refresher renews what will be needed: a connection used recently, not one idle since its authorization
    /// (docs/connections.md "Background refresher"); with a keep-alive horizon, also one whose refresh token is
    /// about to expire.
    @Test func backgroundRefresherRenewsOnlyConnectionsThatWillBeNeeded() async throws {
        var settings = Config.Connections()
        settings.refreshAheadSeconds = 300
        settings.refreshRecentUseSeconds = 86_400
        try await ConnectionsTestBed.with(settings: settings) { bed in
            let idle = try await bed.activeConnection()
            let used = try await bed.activeConnection()
            bed.clock.advance(2 * 86_400)
            // A read two days later (refreshing the expired token on the way): `used` is now in use.
            bed.euroInformation.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: "refresh-2"))] }
            _ = try await bed.accounts.accounts(connectionID: used.id, caller: bed.caller())
            #expect(bed.refreshCount(bed.euroInformation) == 1)
            bed.clock.advance(3600 - 200)
            bed.euroInformation.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-3", refresh: "refresh-3"))] }
            #expect(await bed.tokens.refreshDue() == 1, "only the connection used within the window")
            #expect(try await bed.connections.get(used.id).tokenGeneration == 3)
            #expect(try await bed.connections.get(idle.id).tokenGeneration == 1)
        }
        // Keep-alive: an idle connection whose refresh token expires within the horizon is renewed too.
        settings.refreshKeepAliveSeconds = 7 * 86_400
        try await ConnectionsTestBed.with(settings: settings) { bed in
            bed.euroInformation.update {
                $0.tokens = .success(
                    TokenSet(
                        accessToken: Secret("access-1"), refreshToken: Secret("refresh-1"),
                        expiresAt: bed.clock.now.addingTimeInterval(3600),
                        refreshExpiresAt: bed.clock.now.addingTimeInterval(10 * 86_400)))
            }
            let idle = try await bed.activeConnection()
            bed.clock.advance(2 * 86_400)
            #expect(await bed.tokens.refreshDue() == 0, "idle, refresh token good for eight more days")
            bed.clock.advance(2 * 86_400)
            bed.euroInformation.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: "refresh-2"))] }
            #expect(await bed.tokens.refreshDue() == 1, "idle, refresh token expiring within the keep-alive horizon")
            #expect(try await bed.connections.get(idle.id).tokenGeneration == 2)
        }
    }

    @Test func noTokenOrCodeAppearsInTheLogs() async throws {
        try await ConnectionsTestBed.with { bed in
            let created = try await bed.create()
            _ = try await bed.connections.authorize(
                created.record.id, code: "secret-code-xyz", state: created.state, requestID: "r", logger: bed.logger)
            bed.clock.advance(3600)
            bed.euroInformation.update { $0.refreshes = [.success(Self.fresh(bed, access: "access-2", refresh: "refresh-2"))] }
            _ = try await bed.accounts.accounts(connectionID: created.record.id, caller: bed.caller())
            let text = bed.logs.text
            #expect(text.contains("refreshed the access token"))
            for secret in ["access-1", "access-2", "refresh-1", "refresh-2", "secret-code-xyz", created.state] {
                #expect(!text.contains(secret), "log leaks a secret")
            }
        }
    }
}
