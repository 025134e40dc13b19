import FoundationEssentials
import GatewayCore
import PostgresKit

/// PostgreSQL persistence of registrations (table `registrations`): the `RegistrationRepository` of the service, and
/// the reads of connections and payments (`cached`). Every read answers the registration as in effect at `now`
/// (`RegistrationRecord.inEffect(at:)`): a BPCE change applies exactly at its activation time.
public struct RegistrationStore: RegistrationRepository {
    let db: StoreDatabase
    let now: @Sendable () -> Date
    /// Rows read by bank calls (`cached`); each write of this store drops the row it changed (`forget`).
    private let cache: RecordCache<UUID, RegistrationRecord>

    /// - Parameter cacheTTL: How long `cached` trusts a row (`.zero` disables the cache).
    /// - Parameter now: The clock pending changes are applied against (the application's).
    public init(
        db: PostgresClient, cacheTTL: Duration = Config.Database().recordCacheTTL,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.db = StoreDatabase(db)
        self.now = now
        self.cache = RecordCache(ttl: cacheTTL)
    }

    static let columnsSQL = Query(unsafeSQL: """
        id, provider, bank_id, environment, status, client_id, key_id, registration_client_uri, activates_at,
        qwac_certificate_id, qseal_certificate_id, client_name, redirect_uris, roles, contact::text AS contact,
        software_id, logo_uri, client_legal_id, extended_transaction_history, bank_keys::text AS bank_keys,
        last_request::text AS last_request, last_response::text AS last_response, version, created_at, updated_at,
        pending_change::text AS pending_change
        """)

    public func insert(_ r: RegistrationRecord) async throws {
        _ = try await db.execute("""
            INSERT INTO registrations (id, provider, bank_id, environment, status, client_id, key_id,
              registration_client_uri, activates_at, qwac_certificate_id, qseal_certificate_id, client_name,
              redirect_uris, roles, contact, software_id, logo_uri, client_legal_id, extended_transaction_history,
              bank_keys, pending_change, last_request, last_response, version)
            VALUES (\(r.id), \(r.provider.rawValue), \(r.bankID.description), \(r.environment.rawValue),
              \(r.status.rawValue), \(r.clientID), \(r.keyID), \(r.registrationClientURI), \(r.activatesAt),
              \(r.qwacCertificateID), \(r.qsealCertificateID), \(r.clientName), \(r.redirectURIs),
              \(r.roles.map(\.rawValue)), \(JSONText(JSONCoding.string(r.contact)))::jsonb, \(r.softwareID),
              \(r.logoURI), \(r.clientLegalID), \(r.extendedTransactionHistory),
              \(JSONText(JSONCoding.string(r.bankKeys)))::jsonb,
              \(r.pendingChange.map { JSONText(JSONCoding.string($0)) })::jsonb,
              \(r.lastRequest.map { JSONText($0) })::jsonb, \(r.lastResponse.map { JSONText($0) })::jsonb, \(r.version))
            """)
    }

    /// Writes every mutable column of `r` (status, bank state, metadata) and bumps `version`.
    func update(_ r: RegistrationRecord, on connection: PostgresConnection) async throws {
        _ = try await connection.execute("""
            UPDATE registrations SET status = \(r.status.rawValue), client_id = \(r.clientID), key_id = \(r.keyID),
              registration_client_uri = \(r.registrationClientURI), activates_at = \(r.activatesAt),
              qwac_certificate_id = \(r.qwacCertificateID), qseal_certificate_id = \(r.qsealCertificateID),
              client_name = \(r.clientName), redirect_uris = \(r.redirectURIs), roles = \(r.roles.map(\.rawValue)),
              contact = \(JSONText(JSONCoding.string(r.contact)))::jsonb, software_id = \(r.softwareID),
              logo_uri = \(r.logoURI), client_legal_id = \(r.clientLegalID),
              extended_transaction_history = \(r.extendedTransactionHistory),
              bank_keys = \(JSONText(JSONCoding.string(r.bankKeys)))::jsonb,
              pending_change = \(r.pendingChange.map { JSONText(JSONCoding.string($0)) })::jsonb,
              last_request = \(r.lastRequest.map { JSONText($0) })::jsonb,
              last_response = \(r.lastResponse.map { JSONText($0) })::jsonb,
              version = version + 1, updated_at = now()
            WHERE id = \(r.id)
            """)
    }

    public func find(_ id: UUID) async throws -> RegistrationRecord? {
        try await db.query("SELECT \(Self.columnsSQL) FROM registrations WHERE id = \(id)").first.map(Self.decode)?
            .inEffect(at: now())
    }

    /// `find` through the cache (see `RecordCache`): for the bank calls of connections, not for API answers.
    func cached(_ id: UUID) async throws -> RegistrationRecord? {
        try await cache.value(id) { try await find(id) }?.inEffect(at: now())
    }

    /// Drops the cached row of registration `id`: after each write of it.
    func forget(_ id: UUID) { cache.remove(id) }

    /// The row locked FOR UPDATE inside `connection`'s transaction: concurrent updates of one registration are
    /// serialized (the second waits, then sees the first one's result).
    func lock(_ id: UUID, on connection: PostgresConnection) async throws -> RegistrationRecord? {
        try await connection.query("SELECT \(Self.columnsSQL) FROM registrations WHERE id = \(id) FOR UPDATE")
            .first.map(Self.decode)?.inEffect(at: now())
    }

    public func list() async throws -> [RegistrationRecord] {
        try await db.query(
            "SELECT \(Self.columnsSQL) FROM registrations WHERE status <> 'deleted' ORDER BY created_at DESC"
        ).map { try Self.decode($0).inEffect(at: now()) }
    }

    /// Registrations usable or soon usable for `provider` in `environment`, newest first (pending ones included,
    /// so a caller can say when a pending one activates).
    public func candidates(provider: Provider, environment: Environment, bankID: BankID? = nil) async throws
        -> [RegistrationRecord]
    {
        let bank = bankID?.description
        return try await db.query("""
            SELECT \(Self.columnsSQL) FROM registrations
            WHERE provider = \(provider.rawValue) AND environment = \(environment.rawValue)
              AND status IN ('active', 'pending') AND (\(bank)::text IS NULL OR bank_id = \(bank))
            ORDER BY created_at DESC
            """).map { try Self.decode($0).inEffect(at: now()) }
    }

    /// The record of `row` (read with `columnsSQL`), each column decoded into its member.
    static func decode(_ row: Row) throws -> RegistrationRecord {
        let id: UUID = try row.decode("id")
        /// A NOT NULL text column that `make` reads.
        func value<T>(_ column: String, _ make: (String) throws -> T?) throws -> T {
            guard let text = try row.decode(column, as: String?.self), let value = try make(text) else {
                throw GatewayError.internal("registration \(id) has an unreadable \(column)")
            }
            return value
        }
        /// A jsonb column read as text (`contact::text AS contact`).
        func json<T: Decodable>(_ type: T.Type) -> (String) throws -> T? {
            { try JSONCoding.decoder.decode(type, from: Array($0.utf8)) }
        }
        return try RegistrationRecord(
            id: id, provider: value("provider", Provider.init(rawValue:)), bankID: value("bank_id") { BankID($0) },
            environment: value("environment", Environment.init(rawValue:)),
            status: value("status", RegistrationStatus.init(rawValue:)), clientID: row.decode("client_id"),
            registrationClientURI: row.decode("registration_client_uri"), activatesAt: row.decode("activates_at"),
            settings: RegistrationSettings(
                qwacCertificateID: row.decode("qwac_certificate_id"),
                qsealCertificateID: row.decode("qseal_certificate_id"), clientName: row.decode("client_name"),
                redirectURIs: row.decode("redirect_uris", as: [String].self),
                roles: row.decode("roles", as: [String].self).compactMap(Role.init(rawValue:)),
                contact: value("contact", json(RegistrationRequest.Contact.self)),
                softwareID: row.decode("software_id"), logoURI: row.decode("logo_uri"), keyID: row.decode("key_id"),
                bankKeys: value("bank_keys", json([RegistrationResult.Key].self))),
            clientLegalID: row.decode("client_legal_id"),
            extendedTransactionHistory: row.decode("extended_transaction_history"),
            pendingChange: row.decode("pending_change", as: String?.self).flatMap(json(RegistrationChange.self)),
            lastRequest: row.decode("last_request"), lastResponse: row.decode("last_response"),
            version: row.decode("version"), createdAt: row.decode("created_at"), updatedAt: row.decode("updated_at"))
    }
}
