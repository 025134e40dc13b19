import Foundation
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
/// Keys are `pk_` + 32 base64url characters (192 random bits); only `SHA-256(key)` is stored. A successful
/// check is cached for `cacheTTL` (default 5 s) so that a hot API does not query the database per request;
/// a revocation therefore takes effect within that time on other replicas (at once on the one that revoked).
public final class APIKeyStore: Sendable {
    private let db: PostgresClient
    /// Key id by SHA-256 of the key, for keys found active.
    private let cache: RecordCache<[UInt8], UUID>

    public init(db: PostgresClient, cacheTTL: Duration = .seconds(5)) {
        self.db = db
        self.cache = RecordCache(ttl: cacheTTL)
    }

    /// Makes a new key named `name` and returns it with its info. The key is shown once; it cannot be recovered.
    /// - Throws: `DatabaseError` with code `.uniqueViolation` when the name is taken.
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
    public func authenticate(_ presented: String) async throws -> UUID? {
        guard presented.hasPrefix("pk_"), presented.utf8.count <= 200 else { return nil }
        let hash = Digest.sha256(presented)
        if let hit = cache.get(hash) { return hit }
        let epoch = cache.epoch
        let rows = try await db.query(
            "SELECT id, key_hash FROM api_keys WHERE key_hash = \(hash) AND revoked_at IS NULL")
        guard let row = rows.first else { return nil }
        let stored: [UInt8] = try row.decode("key_hash")
        guard ConstantTime.equals(stored, hash) else { return nil }
        let id: UUID = try row.decode("id")
        cache.put(hash, id, readAt: epoch)
        _ = try? await db.execute(
            "UPDATE api_keys SET last_used_at = now() WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')")
        return id
    }

    private func insert(name: String, key: String) async throws -> APIKeyInfo {
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
