import FoundationEssentials

/// One versioned schema change. Versions are applied in increasing order, each once.
public struct Migration: Sendable, Equatable {
    /// A positive number, unique in the list (the `NNNN` of `NNNN_name.sql`).
    public var version: Int
    /// A short name for logs and `schema_migrations.name`.
    public var name: String
    /// One or more SQL statements, run in one transaction. Must not contain `BEGIN`/`COMMIT`.
    public var sql: String

    /// Loads every `NNNN_name.sql` file of `directory` (other files are ignored), sorted by version.
    /// - Throws: `DatabaseError` `.migrationMismatch` for two files with the same version, or a file error.
    public static func load(from directory: URL) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var migrations: [Migration] = []
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"),
                let version = Int(stem[..<underscore]), version > 0,
                stem[..<underscore].allSatisfy({ $0.isASCII && $0.isNumber })
            else { continue }
            let name = String(stem[stem.index(after: underscore)...])
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        try validate(migrations)
        return migrations.sorted { $0.version < $1.version }
    }

    /// Refuses non-positive or duplicate versions.
    static func validate(_ migrations: [Migration]) throws {
        var seen = Set<Int>()
        for migration in migrations {
            guard migration.version > 0 else {
                throw DatabaseError(
                    .migrationMismatch, message: "migration version \(migration.version) is not positive")
            }
            guard seen.insert(migration.version).inserted else {
                throw DatabaseError(.migrationMismatch, message: "two migrations have version \(migration.version)")
            }
        }
    }
}
