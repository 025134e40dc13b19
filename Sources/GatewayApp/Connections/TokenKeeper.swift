import FoundationEssentials
import GatewayCore
import GatewayLogging

/// The token lifecycle of connections (docs/connections.md): hands a valid access token to each bank call,
/// refreshing it first when it expires within the margin, and once more when the bank answers 401.
///
/// Exactly one refresh per connection at a time across all replicas: a refresh is claimed with a lease taken in one
/// step under the connection's lock (`RefreshLeaseRepository.claimRefresh`), after the tokens were re-read, so a
/// caller (task or replica) that finds another's lease waits for it and uses the token it commits instead of
/// refreshing again. The bank is called with no database connection or lock held (`refresh`). New tokens are
/// committed before anyone uses them. A refresh that fails for any reason other than a dead refresh token
/// keeps the connection and its tokens (the error goes to the caller; a later call or the background refresher
/// retries). A dead refresh token, or a refresh lifetime that ran out, makes the connection
/// `reauthorization_required`.
public struct TokenKeeper: Sendable {
    let store: any RefreshLeaseRepository
    /// The clients, vault, adapters, settings (margins, the refresher, the bank call's deadline) and clock.
    let bankSide: BankSide
    let logger: Logger
    /// Access tokens opened once per sealed value. One keeper serves a whole process (`Application` hands the same
    /// one to the account reads and the payments), so they share it.
    let openedTokens: OpenedAccessTokens

    /// - Parameters:
    ///   - store: `ConnectionStore` (PostgreSQL), or an in-memory repository in tests.
    ///   - bankSide: The bank side shared with the connection service.
    ///   - logger: Receives the keeper's own lines (never secrets).
    init(store: any RefreshLeaseRepository, bankSide: BankSide, logger: Logger) {
        self.store = store
        self.bankSide = bankSide
        self.logger = logger
        self.openedTokens = OpenedAccessTokens(vault: bankSide.vault)
    }

    /// A usable access token with the generation it belongs to.
    struct Usable: Sendable {
        var token: Secret<String>
        var generation: Int
    }

    /// Runs `body` with a valid access token of connection `connection`: refreshes first when needed, and once more
    /// (then retries `body` once) when `body` throws `AdapterError.tokenExpired`.
    /// - Throws: `GatewayError` only (`.conflict` for a connection that is not active, `.upstream` for bank errors —
    ///   `.upstream(_, .refreshTokenDead)` when the bank refused the refresh token —, `.reauthorizationRequired`
    ///   when the connection already needs the customer again and no bank was called).
    func withAccessToken<T: Sendable>(
        _ connection: ConnectionRecord, client: BankClient, context: AdapterContext,
        _ body: (Secret<String>) async throws -> T
    ) async throws -> T {
        let bank = connection.bankID
        var usable = try await currentToken(connection, client: client, context: context)
        do {
            return try await body(usable.token)
        } catch AdapterError.tokenExpired {
            context.logger.info(
                "bank refused the access token; refreshing once and retrying",
                metadata: ["connection.id": connection.id.uuidString.lowercased(), "bank": bank.description])
            usable = try await refresh(
                connection.id, client: client, context: context, mode: .replacing(generation: usable.generation))
            do {
                return try await body(usable.token)
            } catch {
                throw translateBankError(error, bank: bank)
            }
        } catch {
            throw translateBankError(error, bank: bank)
        }
    }

    /// The connection's access token, refreshed under the lock first if it expires within the margin.
    func currentToken(_ connection: ConnectionRecord, client: BankClient, context: AdapterContext) async throws
        -> Usable
    {
        try Self.requireActive(connection)
        let now = bankSide.now()
        if let sealed = connection.accessTokenSealed, let expiresAt = connection.accessExpiresAt,
            expiresAt.timeIntervalSince(now) > bankSide.settings.refreshMarginSeconds
        {
            return Usable(token: try openedTokens.open(connection.id, sealed: sealed), generation: connection.tokenGeneration)
        }
        return try await refresh(
            connection.id, client: client, context: context,
            mode: .ifExpiringWithin(bankSide.settings.refreshMarginSeconds))
    }

    /// When a refresh is needed once the lock is held.
    enum RefreshMode: Sendable {
        /// Only if the locked row's access token expires within that many seconds.
        case ifExpiringWithin(TimeInterval)
        /// Only if the locked row still holds that generation (the bank refused it); otherwise use the newer one.
        case replacing(generation: Int)
    }

    /// What the claiming transaction decided; errors are thrown only after it committed.
    private enum Claim: Sendable {
        case token(Usable)
        case failed(any Error)
        /// Another caller (task or replica) holds an unexpired lease: look again after a moment.
        case wait
        /// This caller holds the lease; the row as it was when claimed.
        case claimed(ConnectionRecord)
    }

    /// What the bank said to a claimed refresh.
    private enum BankAnswer: Sendable {
        case tokens(TokenSet)
        case failed(any Error)
    }

    /// How long a claim on a refresh lasts: the bank call's deadline plus a margin for the two transactions
    /// around it. A caller that died holding one (kill -9) delays the next refresh of that connection by this much
    /// at most.
    var leaseDuration: TimeInterval { bankSide.settings.bankCallTimeoutSeconds + 10 }

    /// Refreshes connection `id`, unless the re-read row shows it is no longer needed, without holding a database
    /// connection or a row lock during the bank call:
    ///
    /// 1. a short transaction locks the row, re-reads it, and takes the refresh lease (an id and an expiry) — or
    ///    finds the token fresh now, or another caller's unexpired lease (then it looks again every 50 ms, holding
    ///    nothing, and uses the token that caller commits);
    /// 2. the bank is called with no transaction open;
    /// 3. a second short transaction locks the row again and, only if the lease is still this caller's, stores the
    ///    new tokens (or the failure) and releases the lease; its commit is retried when the database fails.
    ///
    /// One refresh per connection at a time across replicas, as with the row lock before (docs/race.md).
    /// - Throws: `GatewayError` (see `withAccessToken`).
    func refresh(_ id: UUID, client: BankClient, context: AdapterContext, mode: RefreshMode) async throws -> Usable {
        let lease = RowLease(id: UUID(), until: .distantPast)
        var claimed: ConnectionRecord?
        while claimed == nil {
            switch try await claim(id, lease: lease, mode: mode) {
            case .token(let usable): return usable
            case .failed(let error): throw error
            case .wait: try await Task.sleep(for: .milliseconds(50))
            case .claimed(let row): claimed = row
            }
        }
        guard let row = claimed else { throw GatewayError.internal("refresh claim lost") }
        let answer = await callBank(row, client: client, context: context)
        return try await complete(id, lease: lease.id, answer: answer, context: context)
    }

    /// Step 1 of `refresh`: in one short step under the row's lock, decides whether a refresh is needed and takes
    /// the lease.
    private func claim(_ id: UUID, lease: RowLease, mode: RefreshMode) async throws -> Claim {
        let now = bankSide.now()
        let taken = RefreshLease(id: lease.id, until: now.addingTimeInterval(leaseDuration))
        return try await store.claimRefresh(id, lease: taken, now: now) { row, heldByAnother in
            do { try Self.requireActive(row) } catch { return .answer(.failed(error)) }
            if let usable = try reusable(row, mode: mode, now: now) { return .answer(.token(usable)) }
            if heldByAnother { return .answer(.wait) }
            // The refresh lifetime is over: the bank would refuse; the customer must authorize again.
            if let deadline = row.reauthorizeBy ?? row.refreshExpiresAt, deadline <= now {
                let event = markReauthorizationRequired(&row, reason: "refresh lifetime over", now: now)
                return .change(.failed(Self.reauthorizationError(row.bankID, message: "refresh lifetime over")), event)
            }
            guard row.refreshTokenSealed != nil else {
                let event = markReauthorizationRequired(&row, reason: "no refresh token", now: now)
                return .change(.failed(Self.reauthorizationError(row.bankID, message: "no refresh token held")), event)
            }
            return .claim(.claimed(row))
        }
    }

    /// Step 2 of `refresh`: the bank call, outside any transaction. Never throws: the answer is committed in step 3.
    private func callBank(_ row: ConnectionRecord, client: BankClient, context: AdapterContext) async -> BankAnswer {
        do {
            guard let refreshSealed = row.refreshTokenSealed else { throw GatewayError.internal("no refresh token") }
            let refreshToken = try bankSide.vault.open(
                refreshSealed, owner: ConnectionRecord.sealOwner(row.id, "refresh_token"))
            let previous = TokenSet(
                accessToken: Secret(""), refreshToken: refreshToken, expiresAt: row.accessExpiresAt ?? bankSide.now(),
                refreshExpiresAt: row.refreshExpiresAt)
            let adapter = try bankSide.adapters.adapter(for: row.bankID)
            return .tokens(
                try await adapter.refresh(refreshToken, client: client, context: context)
                    .merged(keepingRefreshOf: previous, rotates: client.bank.tokenDefaults.refreshTokenRotates))
        } catch {
            return .failed(error)
        }
    }

    /// Step 3 of `refresh`: stores what the bank answered and releases the lease, in a short transaction that
    /// checks the lease is still `lease`. Retried (three attempts in about a second) when the database fails: new
    /// tokens that are not stored may be lost for good when the bank rotates refresh tokens.
    private func complete(_ id: UUID, lease: UUID, answer: BankAnswer, context: AdapterContext) async throws -> Usable {
        var attempt = 0
        while true {
            attempt += 1
            let outcome: Claim
            do {
                outcome = try await commit(id, lease: lease, answer: answer, context: context)
            } catch GatewayError.unavailable(let detail, let retryAfter) {
                if attempt < 3 {
                    context.logger.warning(
                        "storing the refresh result failed; retrying",
                        metadata: ["connection.id": id.uuidString.lowercased(), "attempt": "\(attempt)"])
                    try? await Task.sleep(for: .milliseconds(300 * attempt))
                    continue
                }
                if case .tokens = answer {
                    context.logger.error(
                        "the bank refreshed the tokens but they could not be stored",
                        metadata: ["connection.id": id.uuidString.lowercased()])
                }
                throw GatewayError.unavailable(detail, retryAfter: retryAfter)
            }
            switch outcome {
            case .token(let usable): return usable
            case .failed(let error): throw error
            case .wait, .claimed: throw GatewayError.internal("unexpected refresh outcome")
            }
        }
    }

    /// The step of step 3: stores the answer if the lease is still `lease` (the repository ends it).
    private func commit(_ id: UUID, lease: UUID, answer: BankAnswer, context: AdapterContext) async throws -> Claim {
        let now = bankSide.now()
        let committed: Claim? = try await store.commitRefresh(id, lease: lease) { row in
            do { try Self.requireActive(row) } catch { return (.failed(error), nil) }  // revoked during the bank call
            switch answer {
            case .failed(let error as AdapterError):
                if case .refreshTokenDead = error {
                    let event = markReauthorizationRequired(&row, reason: "\(error)", now: now)
                    return (.failed(GatewayError.upstream(bank: row.bankID, error)), event)
                }
                // Keep the connection and its tokens: the refresh token may still be valid (lost response, 5xx).
                row.lastRefreshError = "\(error)"
                row.nextRefreshAt = now.addingTimeInterval(max(30, bankSide.settings.refresherIntervalSeconds))
                row.updatedAt = now
                return (.failed(translateBankError(error, bank: row.bankID)), nil)
            case .failed(let error):
                return (.failed(error), nil)
            case .tokens(let fresh):
                try row.holdTokens(fresh, vault: bankSide.vault, now: now)
                row.lastRefreshError = nil
                row.nextRefreshAt = nil
                context.logger.info(
                    "refreshed the access token",
                    metadata: [
                        "connection.id": id.uuidString.lowercased(), "bank": row.bankID.description,
                        "token.generation": "\(row.tokenGeneration)",
                    ])
                return (.token(Usable(token: fresh.accessToken, generation: row.tokenGeneration)), nil)
            }
        }
        guard let committed else {
            // The lease expired and another caller took it: its refresh decides (ours used the same refresh token;
            // storing both would let a stale token overwrite a newer one).
            context.logger.warning(
                "refresh lease lost before the bank answered; answer discarded",
                metadata: ["connection.id": id.uuidString.lowercased()])
            return .failed(GatewayError.conflict("the connection's tokens are being refreshed; retry"))
        }
        return committed
    }

    /// The locked row's token when `mode` says no refresh is needed any more.
    private func reusable(_ row: ConnectionRecord, mode: RefreshMode, now: Date) throws -> Usable? {
        guard let sealed = row.accessTokenSealed, let expiresAt = row.accessExpiresAt else { return nil }
        let fresh: Bool
        switch mode {
        case .ifExpiringWithin(let margin): fresh = expiresAt.timeIntervalSince(now) > margin
        case .replacing(let generation): fresh = row.tokenGeneration != generation && expiresAt > now
        }
        guard fresh else { return nil }
        return Usable(token: try openedTokens.open(row.id, sealed: sealed), generation: row.tokenGeneration)
    }

    /// Drops the tokens of `row` (the customer must authorize again) and answers the event to write with it.
    private func markReauthorizationRequired(_ row: inout ConnectionRecord, reason: String, now: Date) -> LifecycleEvent {
        row.dropTokens(becoming: .reauthorizationRequired, at: now)
        row.lastRefreshError = reason
        logger.info(
            "connection needs the customer to authorize again",
            metadata: ["connection.id": row.id.uuidString.lowercased(), "bank": row.bankID.description])
        return row.event(.connectionReauthorizationRequired, reason: reason)
    }

    // MARK: - Status checks

    /// - Throws: the error a read on a connection that is not `active` gets.
    static func requireActive(_ connection: ConnectionRecord) throws {
        switch connection.status {
        case .active: return
        case .pendingAuthorization:
            throw GatewayError.conflict("connection is pending_authorization: finish the authorization first")
        case .revoked: throw GatewayError.conflict("connection is revoked")
        case .refused: throw GatewayError.conflict("the customer refused the authorization: create a new connection")
        case .reauthorizationRequired:
            throw reauthorizationError(connection.bankID, message: "the customer must authorize again")
        }
    }

    /// `/problems/reauthorization-required` (409) for a connection whose refresh token can no longer be used.
    static func reauthorizationError(_ bank: BankID, message: String) -> GatewayError {
        .reauthorizationRequired(bank: bank, reason: message)
    }

    // MARK: - Background refresher

    /// Refreshes, ahead of expiry, the access tokens expiring within `refreshAheadSeconds` of the active connections
    /// that will be needed — used within `refreshRecentUseSeconds`, or with a refresh token expiring within
    /// `refreshKeepAliveSeconds` when set — through the same locked path, every `refresherIntervalSeconds`, until the task is
    /// cancelled. Failures are logged and retried after a back-off; they never stop the loop.
    /// - Parameter isReady: Checked before each pass (the database may not be migrated yet at start-up).
    public func runRefresher(isReady: @escaping @Sendable () -> Bool = { true }) async {
        let interval = bankSide.settings.refresherIntervalSeconds
        guard interval > 0 else { return }
        while !Task.isCancelled {
            if isReady() { _ = await refreshDue() }
            do { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) } catch { return }
        }
    }

    /// One pass of the background refresher.
    /// - Returns: How many connections were refreshed (or found fresh after waiting for the lock).
    @discardableResult
    public func refreshDue(limit: Int = 100) async -> Int {
        let now = bankSide.now()
        let ahead = bankSide.settings.refreshAheadSeconds
        let ids: [UUID]
        do {
            let keepAlive = bankSide.settings.refreshKeepAliveSeconds
            ids = try await store.dueForRefresh(
                horizon: now.addingTimeInterval(ahead), now: now,
                usedSince: now.addingTimeInterval(-bankSide.settings.refreshRecentUseSeconds),
                keepAliveUntil: keepAlive > 0 ? now.addingTimeInterval(keepAlive) : nil, limit: limit)
        } catch {
            logger.warning("background refresher cannot read connections", metadata: ["error": "\(error)"])
            return 0
        }
        var done = 0
        for id in ids {
            if Task.isCancelled { break }
            let logger = logger.with(["connection.id": id.uuidString.lowercased()])
            do {
                guard let connection = try await store.find(id) else { continue }
                let client = try await bankSide.clients.client(for: connection, in: store)
                let context = bankSide.settings.adapterContext(
                    requestID: "refresher-" + CorrelationID.generate(), logger: logger)
                _ = try await refresh(id, client: client, context: context, mode: .ifExpiringWithin(ahead))
                done += 1
            } catch {
                logger.warning("background refresh failed", metadata: ["error": "\(error)"])
            }
        }
        return done
    }
}

/// Opened access tokens by connection, with the sealed bytes they came from (a token is opened once, not on every
/// read; a new token has new sealed bytes). Opened tokens stay in process memory like the opened certificate keys;
/// they never go to logs or responses.
final class OpenedAccessTokens: Sendable {
    private let vault: SecretVault
    private let cache = RecordCache<UUID, Opened>(ttl: nil)

    private struct Opened: Sendable {
        var sealed: [UInt8]
        var token: Secret<String>
    }

    /// - Parameter vault: Opens the sealed tokens.
    init(vault: SecretVault) { self.vault = vault }

    /// The access token sealed in `sealed` for connection `id`.
    func open(_ id: UUID, sealed: [UInt8]) throws -> Secret<String> {
        if let hit = cache.get(id), hit.sealed == sealed { return hit.token }
        let token = try vault.open(sealed, owner: ConnectionRecord.sealOwner(id, "access_token"))
        cache.put(id, Opened(sealed: sealed, token: token))
        return token
    }
}
