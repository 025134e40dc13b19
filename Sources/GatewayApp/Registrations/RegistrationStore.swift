import Foundation
import GatewayCore
import PostgresKit

/// PostgreSQL persistence of registrations (table `registrations`). Every read answers the registration as in
/// effect at `now` (`RegistrationRecord.inEffect(at:)`): a BPCE change applies exactly at its activation time.
public struct RegistrationStore: Sendable {
    let db: StoreDatabase
    let now: @Sendable () -> Date
    /// Rows read by bank calls (`cached`); dropped by `forget` after each change this replica commits.
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

    public func insert(_ r: RegistrationRecord, on connection: PostgresConnection? = nil) async throws {
        let query: Query = """
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
            """
        if let connection { _ = try await connection.execute(query) } else { _ = try await db.execute(query) }
    }

    /// Writes every mutable column of `r` (status, bank state, metadata) and bumps `version`.
    public func update(_ r: RegistrationRecord, on connection: PostgresConnection) async throws {
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

    /// Drops the cached row of registration `id`; call after committing a change to it.
    func forget(_ id: UUID) { cache.remove(id) }

    /// The row locked FOR UPDATE inside `connection`'s transaction: concurrent updates of one registration are
    /// serialized (the second waits, then sees the first one's result).
    public func lock(_ id: UUID, on connection: PostgresConnection) async throws -> RegistrationRecord? {
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

    static func decode(_ row: Row) throws -> RegistrationRecord {
        let id: UUID = try row.decode("id")
        let provider: String = try row.decode("provider")
        let bank: String = try row.decode("bank_id")
        let environment: String = try row.decode("environment")
        let status: String = try row.decode("status")
        let clientID: String? = try row.decode("client_id")
        let keyID: String? = try row.decode("key_id")
        let uri: String? = try row.decode("registration_client_uri")
        let activatesAt: Date? = try row.decode("activates_at")
        let qwac: UUID = try row.decode("qwac_certificate_id")
        let qseal: UUID = try row.decode("qseal_certificate_id")
        let clientName: String = try row.decode("client_name")
        let redirects: [String] = try row.decode("redirect_uris", as: [String].self)
        let roles: [String] = try row.decode("roles", as: [String].self)
        let contactText: String = try row.decode("contact")
        let softwareID: String? = try row.decode("software_id")
        let logo: String? = try row.decode("logo_uri")
        let legal: String? = try row.decode("client_legal_id")
        let keysText: String = try row.decode("bank_keys")
        let lastRequest: String? = try row.decode("last_request")
        let lastResponse: String? = try row.decode("last_response")
        let changeText: String? = try row.decode("pending_change")
        let version: Int = try row.decode("version")
        let createdAt: Date = try row.decode("created_at")
        let updatedAt: Date = try row.decode("updated_at")
        guard let p = Provider(rawValue: provider), let b = BankID(bank), let e = Environment(rawValue: environment),
            let s = RegistrationStatus(rawValue: status)
        else { throw GatewayError.internal("registration \(id) has an unreadable row") }
        return RegistrationRecord(
            id: id, provider: p, bankID: b, environment: e, status: s, clientID: clientID, keyID: keyID,
            registrationClientURI: uri, activatesAt: activatesAt, qwacCertificateID: qwac, qsealCertificateID: qseal,
            clientName: clientName, redirectURIs: redirects, roles: roles.compactMap(Role.init(rawValue:)),
            contact: try JSONCoding.decoder.decode(RegistrationRequest.Contact.self, from: Array(contactText.utf8)),
            softwareID: softwareID, logoURI: logo, clientLegalID: legal,
            extendedTransactionHistory: try row.decode("extended_transaction_history"),
            bankKeys: try JSONCoding.decoder.decode([RegistrationResult.Key].self, from: Array(keysText.utf8)),
            pendingChange: try changeText.map {
                try JSONCoding.decoder.decode(RegistrationChange.self, from: Array($0.utf8))
            },
            lastRequest: lastRequest, lastResponse: lastResponse, version: version, createdAt: createdAt,
            updatedAt: updatedAt)
    }
}
