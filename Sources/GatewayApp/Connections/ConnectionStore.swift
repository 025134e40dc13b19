import FoundationEssentials
import GatewayCore
import PostgresKit

/// PostgreSQL persistence of connections, their stable account ids and the unattended requests (tables
/// `connections`, `connection_accounts`, `unattended_requests`): the `ConnectionRepository` of `ConnectionService`,
/// the `RefreshLeaseRepository` of `TokenKeeper` and the `AccountInformationRepository` of
/// `AccountInformationService`. Every method that takes a `PostgresConnection` runs inside the caller's transaction.
///
/// Reads of a connection row and of a connection's account ids go through an in-process `RecordCache` (the hot
/// read path then needs no query); every change goes through `withLockedRow`, which drops the cached row once the
/// transaction is over.
struct ConnectionStore: RefreshLeaseRepository, AccountInformationRepository {
    let db: StoreDatabase
    /// The registrations connections are made with (shared with `RegistrationService` in `Application`, so that its
    /// changes drop this side's cached rows).
    let registrations: RegistrationStore
    private let rows: RecordCache<UUID, ConnectionRecord>
    private let accountMaps: RecordCache<UUID, AccountMap>

    /// A connection's account ids by account key, with the bank's resourceId each was last seen under.
    struct AccountMap: Sendable {
        var byKey: [String: (id: String, resourceID: String)] = [:]

        /// The bank's resourceId and the stable account key of account `id`.
        func account(_ id: String) -> (key: String, resourceID: String)? {
            byKey.first { $0.value.id == id }.map { ($0.key, $0.value.resourceID) }
        }
    }

    /// - Parameters:
    ///   - registrations: The registration store the connections' registrations are read from.
    ///   - cacheTTL: How long a cached row is trusted (`.zero` disables the cache).
    init(db: PostgresClient, registrations: RegistrationStore, cacheTTL: Duration) {
        self.db = StoreDatabase(db)
        self.registrations = registrations
        self.rows = RecordCache(ttl: cacheTTL)
        self.accountMaps = RecordCache(ttl: cacheTTL)
    }

    /// The refresh lease of a connection (migration 0010; `TokenKeeper.refresh`).
    private static let refreshLease = RowLease.Columns(table: "connections", prefix: "refresh_lease")

    static let columnsSQL = Query(unsafeSQL: """
        id, registration_id, bank_id, environment, psu_reference, redirect_uri, roles, status, state_hash,
        state_expires_at, pkce_verifier_sealed, access_token_sealed, access_expires_at, refresh_token_sealed,
        refresh_expires_at, authorized_at, reauthorize_by, token_generation, last_refresh_error, next_refresh_at,
        authorization_error, connected_psu, consents::text AS consents, last_used_at, created_at, updated_at
        """)

    // MARK: - Connections

    func insert(_ r: ConnectionRecord) async throws {
        _ = try await db.execute("""
            INSERT INTO connections (id, registration_id, bank_id, environment, psu_reference, redirect_uri, roles,
              status, state_hash, state_expires_at, pkce_verifier_sealed, created_at, updated_at)
            VALUES (\(r.id), \(r.registrationID), \(r.bankID.description), \(r.environment.rawValue),
              \(r.psuReference), \(r.redirectURI), \(r.roles.map(\.rawValue)), \(r.status.rawValue), \(r.stateHash),
              \(r.stateExpiresAt), \(r.pkceVerifierSealed), \(r.createdAt), \(r.updatedAt))
            """)
    }

    /// The connection, from the cache when fresh (see `RecordCache`): callers that decide on tokens or state re-read
    /// it under the lock (`withLockedRow`).
    func find(_ id: UUID) async throws -> ConnectionRecord? {
        try await rows.value(id) {
            try await db.query("SELECT \(Self.columnsSQL) FROM connections WHERE id = \(id)").first.map(Self.decode)
        }
    }

    /// Runs `body` in a transaction holding connection `id`'s row lock (`SELECT … FOR UPDATE`, nil when there is no
    /// such row): the one place where tokens and state change. The cached copy is dropped when the transaction is
    /// over, committed or not.
    func withLockedRow<T: Sendable>(
        _ id: UUID, _ body: (ConnectionRecord?, PostgresConnection) async throws -> T
    ) async throws -> T {
        defer { rows.remove(id) }
        return try await db.withTransaction { tx in
            let row = try await tx.query("SELECT \(Self.columnsSQL) FROM connections WHERE id = \(id) FOR UPDATE")
                .first.map(Self.decode)
            return try await body(row, tx)
        }
    }

    /// Locks the row, applies `change` and writes the row and its event in one transaction (see the protocol).
    func modify(_ id: UUID, _ change: @Sendable (inout ConnectionRecord) throws -> LifecycleEvent?) async throws
        -> ConnectionRecord
    {
        try await withLockedRow(id) { locked, tx in
            guard var row = locked else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            let event = try change(&row)
            try await update(row, on: tx)
            if let event { try await EventOutbox.append(event, at: row.updatedAt, on: tx) }
            return row
        }
    }

    /// One page of a customer's connections, newest first, after the keyset `after` (created_at, id).
    func list(psuReference: String?, after: (createdAt: Date, id: UUID)?, limit: Int) async throws
        -> [ConnectionRecord]
    {
        let afterDate = after?.createdAt
        let afterID = after?.id
        return try await db.query("""
            SELECT \(Self.columnsSQL) FROM connections
            WHERE (\(psuReference)::text IS NULL OR psu_reference = \(psuReference))
              AND (\(afterDate)::timestamptz IS NULL OR (created_at, id) < (\(afterDate), \(afterID)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """).map(Self.decode)
    }

    /// Active connections whose `reauthorizeBy` is before `before` (of one customer when `psuReference` is given),
    /// soonest first: the forecast of `GET /v1/connections?reauthorizeBefore=` (docs/events.md).
    func dueForReauthorization(before: Date, psuReference: String?, limit: Int) async throws -> [ConnectionRecord] {
        try await db.query("""
            SELECT \(Self.columnsSQL) FROM connections
            WHERE status = 'active' AND reauthorize_by IS NOT NULL AND reauthorize_by < \(before)
              AND (\(psuReference)::text IS NULL OR psu_reference = \(psuReference))
            ORDER BY reauthorize_by, id LIMIT \(limit)
            """).map(Self.decode)
    }

    /// Writes the mutable columns of `r` (status, state, tokens, expiries, refresh bookkeeping).
    func update(_ r: ConnectionRecord, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("""
            UPDATE connections SET status = \(r.status.rawValue), state_hash = \(r.stateHash),
              state_expires_at = \(r.stateExpiresAt), pkce_verifier_sealed = \(r.pkceVerifierSealed),
              access_token_sealed = \(r.accessTokenSealed), access_expires_at = \(r.accessExpiresAt),
              refresh_token_sealed = \(r.refreshTokenSealed), refresh_expires_at = \(r.refreshExpiresAt),
              authorized_at = \(r.authorizedAt), reauthorize_by = \(r.reauthorizeBy),
              token_generation = \(r.tokenGeneration), last_refresh_error = \(r.lastRefreshError),
              next_refresh_at = \(r.nextRefreshAt), authorization_error = \(r.authorizationError),
              updated_at = \(r.updatedAt)
            WHERE id = \(r.id)
            """)
    }

    /// Records the customer's name the bank gave (`connectedPsu`) when it differs from the stored one.
    func setConnectedPSU(_ id: UUID, _ name: String) async throws {
        defer { rows.remove(id) }
        _ = try await db.execute("""
            UPDATE connections SET connected_psu = \(name), updated_at = now()
            WHERE id = \(id) AND connected_psu IS DISTINCT FROM \(name)
            """)
    }

    /// Records the consent the bank accepted.
    func setConsents(_ id: UUID, _ consents: ConsentRequest) async throws {
        defer { rows.remove(id) }
        _ = try await db.execute("""
            UPDATE connections SET consents = \(JSONText(JSONCoding.string(consents)))::jsonb, updated_at = now()
            WHERE id = \(id)
            """)
    }

    // MARK: - Refresh lease

    func claimRefresh<T: Sendable>(
        _ id: UUID, lease: RefreshLease, now: Date,
        _ step: @Sendable (inout ConnectionRecord, _ heldByAnother: Bool) throws -> RefreshClaimStep<T>
    ) async throws -> T {
        try await withLockedRow(id) { locked, tx in
            guard var row = locked else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            let held = try await Self.refreshLease.read(id, on: tx)
            let heldByAnother = held.map { $0.id != lease.id && $0.until > now } ?? false
            switch try step(&row, heldByAnother) {
            case .answer(let value):
                return value
            case .claim(let value):
                try await Self.refreshLease.write(id, RowLease(id: lease.id, until: lease.until), on: tx)
                return value
            case .change(let value, let event):
                try await update(row, on: tx)
                try await EventOutbox.append(event, at: row.updatedAt, on: tx)
                return value
            }
        }
    }

    func commitRefresh<T: Sendable>(
        _ id: UUID, lease: UUID, _ step: @Sendable (inout ConnectionRecord) throws -> (T, LifecycleEvent?)
    ) async throws -> T? {
        try await withLockedRow(id) { locked, tx in
            guard var row = locked else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            guard try await Self.refreshLease.read(id, on: tx)?.id == lease else { return nil }
            try await Self.refreshLease.write(id, nil, on: tx)
            let (value, event) = try step(&row)
            try await update(row, on: tx)
            if let event { try await EventOutbox.append(event, at: row.updatedAt, on: tx) }
            return value
        }
    }

    func dueForRefresh(horizon: Date, now: Date, usedSince: Date, keepAliveUntil: Date?, limit: Int) async throws
        -> [UUID]
    {
        try await db.query("""
            SELECT id FROM connections
            WHERE status = 'active' AND access_expires_at <= \(horizon)
              AND (next_refresh_at IS NULL OR next_refresh_at <= \(now))
              AND (COALESCE(last_used_at, authorized_at) >= \(usedSince)
                   OR (\(keepAliveUntil)::timestamptz IS NOT NULL AND refresh_expires_at <= \(keepAliveUntil)))
            ORDER BY access_expires_at LIMIT \(limit)
            """).map { try $0.decode("id", as: UUID.self) }
    }

    /// Records a bank read through connection `connection` at `now`, at most once a minute per connection (a
    /// write per read would queue concurrent reads on the row).
    func markUsed(_ connection: ConnectionRecord, now: Date) async throws {
        if let last = connection.lastUsedAt, now.timeIntervalSince(last) < 60 { return }
        defer { rows.remove(connection.id) }
        _ = try await db.execute("""
            UPDATE connections SET last_used_at = \(now)
            WHERE id = \(connection.id) AND (last_used_at IS NULL OR last_used_at < \(now.addingTimeInterval(-60)))
            """)
    }

    /// The unattended requests of the connections' customers in one query (a page of the connections list):
    /// connection-level ones (account key '') and those of the connection's own accounts (`UnattendedBudget`).
    func unattendedUsage(of connections: [ConnectionRecord], since: Date) async throws -> [UUID: [UnattendedUsage]] {
        guard !connections.isEmpty else { return [:] }
        let ids = connections.map { $0.id.uuidString.lowercased() }
        let banks = connections.map(\.bankID.description)
        let psus = connections.map(\.psuReference)
        var result: [UUID: [UnattendedUsage]] = [:]
        for row in try await db.query("""
            SELECT c.id AS connection_id, ca.account_id, u.resource, count(*) AS n, min(u.at) AS oldest
            FROM unnest(\(ids)::uuid[], \(banks)::text[], \(psus)::text[]) AS c(id, bank_id, psu_reference)
            JOIN unattended_requests u ON u.bank_id = c.bank_id AND u.psu_reference = c.psu_reference AND u.at > \(since)
            LEFT JOIN connection_accounts ca ON ca.connection_id = c.id AND ca.account_key = u.account_key
            WHERE u.account_key = '' OR ca.account_id IS NOT NULL
            GROUP BY c.id, ca.account_id, u.resource ORDER BY c.id, ca.account_id NULLS FIRST, u.resource
            """)
        {
            let id: UUID = try row.decode("connection_id")
            result[id, default: []].append(
                UnattendedUsage(
                    accountID: try row.decode("account_id"), resource: try row.decode("resource"),
                    count: try row.decode("n"), oldest: try row.decode("oldest")))
        }
        return result
    }

/// Counts under a transaction-scoped advisory lock on a hash of the key: two replicas counting the same key are
    /// serialized.
    func countUnattendedRequest(_ key: UnattendedKey, now: Date, window: TimeInterval, limit: Int) async throws
        -> UnattendedCount
    {
        let since = now.addingTimeInterval(-window)
        let (bank, psu, account, resource) = (key.bank.description, key.psuReference, key.accountKey, key.resource)
        let lockName = "unattended:\(bank)|\(psu)|\(account)|\(resource)"
        return try await db.withTransaction { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockName), 0))")
            _ = try await tx.execute("""
                DELETE FROM unattended_requests WHERE bank_id = \(bank) AND psu_reference = \(psu)
                  AND account_key = \(account) AND resource = \(resource) AND at <= \(since)
                """)
            let rows = try await tx.query("""
                SELECT count(*) AS n, min(at) AS oldest FROM unattended_requests
                WHERE bank_id = \(bank) AND psu_reference = \(psu) AND account_key = \(account)
                  AND resource = \(resource) AND at > \(since)
                """)
            let count: Int = try rows.first?.decode("n") ?? 0
            if count >= limit {
                let oldest: Date? = try rows.first?.decode("oldest")
                return .full(oldest: oldest ?? now)
            }
            _ = try await tx.execute("""
                INSERT INTO unattended_requests (bank_id, psu_reference, account_key, resource, at)
                VALUES (\(bank), \(psu), \(account), \(resource), \(now))
                """)
            return .counted
        }
    }

    // MARK: - Registrations

    func registration(_ id: UUID) async throws -> RegistrationRecord? { try await registrations.find(id) }

    /// Through the registration store's cache (dropped by every write of `RegistrationService`, which shares it).
    func registrationForBankCall(_ id: UUID) async throws -> RegistrationRecord? { try await registrations.cached(id) }

    func registrations(provider: Provider, environment: Environment) async throws -> [RegistrationRecord] {
        try await registrations.candidates(provider: provider, environment: environment)
    }

    // MARK: - Stable account ids

    /// Maps each `(key, resourceId)` to the connection's stable account id, creating ids for new keys and recording
    /// the bank's current resourceId for known ones. Returns the account ids in input order.
    func accountIDs(connectionID: UUID, accounts: [(key: String, resourceID: String)], now: Date) async throws
        -> [String]
    {
        guard !accounts.isEmpty else { return [] }
        // Common case first: every account is already mapped to the same resourceId — no write, no lock, and no
        // query while the map is cached (an upsert per read made concurrent reads of one connection queue on row
        // locks). Ids never change once given, so a cached map is only ever missing accounts, never wrong about one.
        let existing = try await accountMap(connectionID).byKey
        if accounts.allSatisfy({ existing[$0.key]?.resourceID == $0.resourceID }) {
            return accounts.map { existing[$0.key]!.id }
        }
        defer { accountMaps.remove(connectionID) }
        return try await db.withTransaction { tx in
            var ids: [String] = []
            for account in accounts {
                if let hit = existing[account.key], hit.resourceID == account.resourceID {
                    ids.append(hit.id)
                    continue
                }
                let rows = try await tx.query("""
                    INSERT INTO connection_accounts (connection_id, account_id, account_key, bank_resource_id, updated_at)
                    VALUES (\(connectionID), \(Self.newAccountID()), \(account.key), \(account.resourceID), \(now))
                    ON CONFLICT (connection_id, account_key)
                    DO UPDATE SET bank_resource_id = EXCLUDED.bank_resource_id, updated_at = EXCLUDED.updated_at
                    RETURNING account_id
                    """)
                guard let row = rows.first else { throw GatewayError.internal("account id upsert returned no row") }
                ids.append(try row.decode("account_id", as: String.self))
            }
            return ids
        }
    }

    /// The bank's current resourceId and the stable key (`account_key`) of account `accountID`, or nil when the
    /// connection has no such account.
    func bankAccount(connectionID: UUID, accountID: String) async throws -> (key: String, resourceID: String)? {
        if let hit = try await accountMap(connectionID).account(accountID) { return hit }
        // Perhaps listed through another replica since this one cached the map.
        accountMaps.remove(connectionID)
        return try await accountMap(connectionID).account(accountID)
    }

    /// Every account id of the connection (cached, see `RecordCache`).
    private func accountMap(_ connectionID: UUID) async throws -> AccountMap {
        try await accountMaps.value(connectionID) {
            var map = AccountMap()
            for row in try await db.query("""
                SELECT account_key, account_id, bank_resource_id FROM connection_accounts
                WHERE connection_id = \(connectionID)
                """)
            {
                map.byKey[try row.decode("account_key", as: String.self)] = (
                    try row.decode("account_id", as: String.self), try row.decode("bank_resource_id", as: String.self)
                )
            }
            return map
        } ?? AccountMap()
    }

    /// `acc_` followed by 20 random hex digits: unguessable across connections, meaningless to the bank.
    static func newAccountID() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("acc_".utf8)
        for _ in 0..<10 {
            let b = UInt8.random(in: 0...255, using: &generator)
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Decoding

    static func decode(_ row: Row) throws -> ConnectionRecord {
        let id: UUID = try row.decode("id")
        let bank: String = try row.decode("bank_id")
        let environment: String = try row.decode("environment")
        let status: String = try row.decode("status")
        guard let bankID = BankID(bank), let env = Environment(rawValue: environment),
            let st = ConnectionStatus(rawValue: status)
        else { throw GatewayError.internal("connection \(id) has an unreadable row") }
        return ConnectionRecord(
            id: id, registrationID: try row.decode("registration_id"), bankID: bankID, environment: env,
            psuReference: try row.decode("psu_reference"), redirectURI: try row.decode("redirect_uri"),
            roles: try row.decode("roles", as: [String].self).compactMap(Role.init(rawValue:)), status: st,
            stateHash: try row.decode("state_hash"), stateExpiresAt: try row.decode("state_expires_at"),
            pkceVerifierSealed: try row.decode("pkce_verifier_sealed"),
            accessTokenSealed: try row.decode("access_token_sealed"),
            accessExpiresAt: try row.decode("access_expires_at"),
            refreshTokenSealed: try row.decode("refresh_token_sealed"),
            refreshExpiresAt: try row.decode("refresh_expires_at"), authorizedAt: try row.decode("authorized_at"),
            reauthorizeBy: try row.decode("reauthorize_by"), tokenGeneration: try row.decode("token_generation"),
            lastRefreshError: try row.decode("last_refresh_error"), nextRefreshAt: try row.decode("next_refresh_at"),
            authorizationError: try row.decode("authorization_error"), connectedPSU: try row.decode("connected_psu"),
            consents: try (row.decode("consents", as: String?.self)).map {
                try JSONCoding.decoder.decode(ConsentRequest.self, from: Array($0.utf8))
            },
            lastUsedAt: try row.decode("last_used_at"), createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"))
    }
}
