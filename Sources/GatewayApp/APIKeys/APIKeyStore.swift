import BlockingIO
import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit
import Synchronization

/// An internal API key as listed (the key itself is never stored, only its SHA-256).
public struct APIKeyInfo: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var prefix: String
    public var createdAt: Date
    public var revokedAt: Date?
    public var lastUsedAt: Date?
}

/// Creates, lists, revokes and checks internal API keys (`Authorization: Bearer <key>` on every `/v1` route).
///
/// Keys made here are `pk_` + 32 base64url characters (192 random bits); a bootstrap key is any 16–200 visible
/// ASCII characters. Only `SHA-256(key)` is stored. Both verdicts of a check are cached for `cacheTTL` (default
/// 5 s) so that a hot API, or a client repeating a wrong key, does not query the database per request: a
/// revocation takes effect within that time on other replicas (at once on the one that revoked), and so does a
/// key created by another process after it was first presented.
/// While the database is unavailable or slower than `recheckWait`, a key this replica found active within the last
/// `outageGrace` is still accepted, so that calls that need no database (the bank catalog) keep answering through
/// an outage.
public final class APIKeyStore: Sendable {
    /// How old a successful check may be to stand in for one the database cannot answer.
    public static let outageGrace = Duration.seconds(600)
    /// How long the re-check of such a key waits for the database before the earlier check stands.
    public static let recheckWait = Duration.seconds(1)

    private let db: StoreDatabase
    /// Key id by SHA-256 of the key, for keys found active.
    private let cache: RecordCache<[UInt8], UUID>
    /// SHA-256 of keys found unknown or revoked (bounded: emptied past its capacity).
    private let misses: RecordCache<[UInt8], Bool>
    private let lookups = Atomic<Int>(0)
    /// Database look-ups `authenticate` made (for tests and metrics).
    public var databaseLookups: Int { lookups.load(ordering: .relaxed) }

    /// What the caches already know of a presented key.
    public enum CachedVerdict: Sendable, Equatable {
        case valid(UUID)
        case invalid
    }

    /// A key as presented: its shape checked and, when well formed, hashed once for both `cachedVerdict` and
    /// `authenticate` (a request that misses the caches goes through both).
    public struct PresentedKey: Sendable {
        /// SHA-256 of the key; nil for a malformed key, which is never hashed nor looked up.
        let hash: [UInt8]?

        public init(_ presented: String) {
            hash = APIKeyStore.isWellFormed(presented) ? Digest.sha256(presented) : nil
        }
    }

    public init(db: PostgresClient, cacheTTL: Duration = .seconds(5)) {
        self.db = StoreDatabase(db)
        self.cache = RecordCache(ttl: cacheTTL)
        self.misses = RecordCache(ttl: cacheTTL)
    }

    /// Whether `presented` can be a key at all: 16–200 visible ASCII characters (checked before any hashing).
    public static func isWellFormed(_ presented: String) -> Bool {
        let n = presented.utf8.count
        return n >= 16 && n <= 200 && presented.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// The verdict the caches hold for `presented`, or nil when only the database can tell. A malformed key is
    /// invalid without a look-up.
    public func cachedVerdict(_ presented: PresentedKey) -> CachedVerdict? {
        guard let hash = presented.hash else { return .invalid }
        if let id = cache.get(hash) { return .valid(id) }
        if misses.get(hash) != nil { return .invalid }
        return nil
    }

    /// Makes a new key named `name` and returns it with its info. The key is shown once; it cannot be recovered.
    /// - Throws: `GatewayError.conflict` when the name is taken.
    public func create(name: String) async throws -> (key: Secret<String>, info: APIKeyInfo) {
        let key = "pk_" + Base64.urlEncode(Random.bytes(24))
        let info = try await insert(name: name, key: key)
        return (Secret(key), info)
    }

    /// Makes sure `key` exists under `name` (start-up bootstrap from `PASSERELLE_BOOTSTRAP_API_KEY`).
    /// An existing key with that name but another value is replaced; a revoked one stays revoked only if the
    /// value is unchanged.
    public func bootstrap(name: String, key: Secret<String>) async throws {
        let hash = Digest.sha256(key.reveal)
        let prefix = String(key.reveal.prefix(6))
        _ = try await db.execute("""
            INSERT INTO api_keys (id, name, key_hash, key_prefix) VALUES (\(UUID()), \(name), \(hash), \(prefix))
            ON CONFLICT (name) DO UPDATE SET key_hash = EXCLUDED.key_hash, key_prefix = EXCLUDED.key_prefix,
              revoked_at = CASE WHEN api_keys.key_hash = EXCLUDED.key_hash THEN api_keys.revoked_at ELSE NULL END
            """)
        misses.removeAll()
    }

    /// Every key, newest first.
    public func list() async throws -> [APIKeyInfo] {
        try await db.query(
            "SELECT id, name, key_prefix, created_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at DESC"
        ).map(Self.info)
    }

    /// Revokes the key with this name or id. Returns false when there is none.
    public func revoke(nameOrID: String) async throws -> Bool {
        let id = UUID(uuidString: nameOrID)
        let n = try await db.execute("""
            UPDATE api_keys SET revoked_at = now()
            WHERE (name = \(nameOrID) OR id = \(id)) AND revoked_at IS NULL
            """)
        cache.removeAll()
        return n > 0
    }

    /// The id of the active key `presented`, or nil. The stored hash is compared in constant time.
    public func authenticate(_ presented: PresentedKey) async throws -> UUID? {
        switch cachedVerdict(presented) {
        case .valid(let id): return id
        case .invalid: return nil
        case nil: break
        }
        guard let hash = presented.hash else { return nil }
        let epoch = cache.epoch
        let missEpoch = misses.epoch
        lookups.add(1, ordering: .relaxed)
        let query: Query = "SELECT id, key_hash FROM api_keys WHERE key_hash = \(hash) AND revoked_at IS NULL"
        let known = cache.lastKnown(hash, maxAge: Self.outageGrace)
        let rows: [Row]
        do {
            if let known {
                // Found valid recently: wait for the database only `recheckWait`, then trust that check (a frozen
                // database would otherwise hold the call for its whole response deadline).
                let db = self.db
                let lookup = Task { () async -> Result<[Row], any Error> in
                    do { return .success(try await db.query(query)) } catch { return .failure(error) }
                }
                guard let answer = await lookup.value(within: Self.recheckWait) else { return known }
                rows = try answer.get()
            } else {
                rows = try await db.query(query)
            }
        } catch GatewayError.unavailable(let detail, let retryAfter) {
            if let known { return known }
            throw GatewayError.unavailable(detail, retryAfter: retryAfter)
        }
        guard let row = rows.first else {
            misses.put(hash, true, readAt: missEpoch)
            return nil
        }
        let stored: [UInt8] = try row.decode("key_hash")
        guard ConstantTime.equals(stored, hash) else { return nil }
        let id: UUID = try row.decode("id")
        cache.put(hash, id, readAt: epoch)
        _ = try? await db.execute(
            "UPDATE api_keys SET last_used_at = now() WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')")
        return id
    }

    private func insert(name: String, key: String) async throws -> APIKeyInfo {
        defer { misses.removeAll() }
        let hash = Digest.sha256(key)
        let rows = try await db.query("""
            INSERT INTO api_keys (id, name, key_hash, key_prefix) VALUES (\(UUID()), \(name), \(hash), \(String(key.prefix(6))))
            RETURNING id, name, key_prefix, created_at, revoked_at, last_used_at
            """)
        return try Self.info(rows[0])
    }

    private static func info(_ row: Row) throws -> APIKeyInfo {
        APIKeyInfo(
            id: try row.decode("id"), name: try row.decode("name"), prefix: try row.decode("key_prefix"),
            createdAt: try row.decode("created_at"), revokedAt: try row.decode("revoked_at"),
            lastUsedAt: try row.decode("last_used_at"))
    }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
