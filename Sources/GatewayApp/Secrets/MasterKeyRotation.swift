import FoundationEssentials
import GatewayLogging
import PostgresKit

/// Re-wraps every sealed secret's data key under the current master key version (`passerelle rotate-master-key`).
///
/// Rotation: set `PASSERELLE_MASTER_KEY` to `2:NEW,1:OLD` (the highest version is current), run this, then drop the
/// old version. Only the small wrapped data keys change; the secrets themselves are not re-encrypted, and the
/// associated data (row and column) stays valid. Each row is updated in its own short transaction.
public enum MasterKeyRotation {
    /// Every sealed column: table, primary-key column(s) as SQL, column.
    static let columns: [(table: String, key: String, column: String)] = [
        ("certificates", "id::text", "private_key_sealed"),
        ("connections", "id::text", "pkce_verifier_sealed"),
        ("connections", "id::text", "access_token_sealed"),
        ("connections", "id::text", "refresh_token_sealed"),
        ("connection_accounts", "connection_id::text || '/' || account_id", "iban_sealed"),
        ("webhook_endpoints", "id::text", "secret_sealed"),
    ]

    /// - Returns: how many values were re-wrapped.
    public static func run(db: PostgresClient, vault: SecretVault, logger: Logger) async throws -> Int {
        var rewrapped = 0
        for (table, key, column) in columns {
            let exists = try await db.query("""
                SELECT 1 FROM information_schema.columns WHERE table_name = \(table) AND column_name = \(column)
                """)
            guard !exists.isEmpty else { continue }
            let rows = try await db.query(Query(unsafeSQL:
                "SELECT \(key) AS k, \(column) AS v FROM \(table) WHERE \(column) IS NOT NULL"))
            for row in rows {
                let k: String = try row.decode("k")
                let sealed: [UInt8] = try row.decode("v")
                guard let fresh = try vault.rewrapped(sealed) else { continue }
                // Compare-and-set: a value changed meanwhile (e.g. a token refresh) is already current.
                // Table and column names come from the constant list above, never from input.
                let (t, c, kx) = (Query(unsafeSQL: table), Query(unsafeSQL: column), Query(unsafeSQL: key))
                let n = try await db.execute("UPDATE \(t) SET \(c) = \(fresh) WHERE \(kx) = \(k) AND \(c) = \(sealed)")
                rewrapped += n
            }
            logger.info("re-wrapped sealed values", metadata: ["table": table, "column": column])
        }
        return rewrapped
    }
}
