import GatewayLogging

/// Applies `Migration`s to the database in version order, each in its own transaction, recording them in
/// `schema_migrations (version, name, checksum, applied_at)`.
///
/// The whole run holds a session-level `pg_advisory_lock`, so several replicas starting together apply each
/// migration exactly once: the others wait, then find nothing left to do. A migration already applied whose SQL
/// changed (its SHA-256, computed by the server, differs) is refused: ship a new migration instead.
public struct Migrator: Sendable {
    /// The `pg_advisory_lock` key shared by every Passerelle replica (an arbitrary fixed number).
    static let lockKey: Int64 = 0x2F3A_5C71_90D4_1B62

    private let client: PostgresClient
    private let migrations: [Migration]
    private let logger: Logger

    /// - Parameters:
    ///   - client: Where to apply them.
    ///   - migrations: In any order; versions must be unique and positive.
    ///   - logger: Gets one info line per applied migration.
    public init(client: PostgresClient, migrations: [Migration], logger: Logger) {
        self.client = client
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Applies every pending migration.
    /// - Returns: The versions this call applied (empty when another replica already did).
    /// - Throws: `DatabaseError` `.migrationMismatch` when an applied migration's checksum changed or versions are
    ///   duplicated; the failing migration's `DatabaseError` (its transaction rolled back, later ones not run).
    @discardableResult
    public func migrate() async throws -> [Int] {
        try Migration.validate(migrations)
        return try await client.withConnection { connection in
            // No statement timeout while waiting for the lock or running DDL; RESET restores the session default.
            _ = try await connection.executeScript("SET statement_timeout = 0", cancellable: false)
            connection.removeResponseTimeout()
            defer { connection.restoreResponseTimeout() }
            do {
                try await connection.execute("SELECT pg_advisory_lock(\(Self.lockKey))")
            } catch {
                _ = try? await connection.executeScript("RESET statement_timeout", cancellable: false)
                throw error
            }
            do {
                let applied = try await apply(on: connection)
                try await unlock(connection)
                return applied
            } catch {
                try? await unlock(connection)
                throw error
            }
        }
    }

    /// How many migrations are not applied yet (for readiness). 0 means the schema is current.
    /// - Throws: `DatabaseError` when the database is unreachable.
    public func pendingCount() async throws -> Int {
        let rows = try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try rows.first?.decode("present", as: Bool.self) == true else { return migrations.count }
        let applied = try await client.query("SELECT version FROM schema_migrations")
        let versions = Set(try applied.map { try $0.decode("version", as: Int.self) })
        return migrations.filter { !versions.contains($0.version) }.count
    }

    // MARK: - Steps (under the advisory lock)

    private func apply(on connection: PostgresConnection) async throws -> [Int] {
        _ = try await connection.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var appliedChecksums: [Int: (name: String, matches: Bool)] = [:]
        for migration in migrations {
            let rows = try await connection.query(
                """
                SELECT name, checksum = encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex') AS matches
                FROM schema_migrations WHERE version = \(migration.version)
                """)
            if let row = rows.first {
                appliedChecksums[migration.version] = (
                    try row.decode("name", as: String.self), try row.decode("matches", as: Bool.self)
                )
            }
        }
        for (version, applied) in appliedChecksums.sorted(by: { $0.key < $1.key }) where !applied.matches {
            throw DatabaseError(
                .migrationMismatch,
                message: "migration \(version) (\(applied.name)) was applied with different SQL; "
                    + "never edit an applied migration, add a new one")
        }
        var done: [Int] = []
        for migration in migrations where appliedChecksums[migration.version] == nil {
            let start = ContinuousClock.now
            _ = try await connection.executeScript("BEGIN", cancellable: false)
            do {
                _ = try await connection.executeScript(migration.sql)
                try await connection.execute(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name),
                            encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex'))
                    """)
                let tag = try await connection.executeScript("COMMIT", cancellable: false)
                guard tag == "COMMIT" else {
                    throw DatabaseError(.other, message: "migration transaction rolled back", operation: "COMMIT")
                }
            } catch {
                await connection.rollback()
                logger.error("migration failed", metadata: migration.logMetadata(["error": "\(error)"]))
                throw error
            }
            done.append(migration.version)
            logger.info(
                "migration applied",
                metadata: migration.logMetadata([
                    "duration.ms": "\(Int((ContinuousClock.now - start).seconds * 1000))"
                ]))
        }
        return done
    }

    private func unlock(_ connection: PostgresConnection) async throws {
        try await connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))")
        _ = try await connection.executeScript("RESET statement_timeout", cancellable: false)
    }
}

extension Migration {
    /// Which migration a log line is about, with `extra`.
    fileprivate func logMetadata(_ extra: [String: String]) -> [String: String] {
        extra.merging(["migration.version": "\(version)", "migration.name": name]) { _, own in own }
    }
}
