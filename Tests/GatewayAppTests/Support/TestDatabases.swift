import Foundation
import GatewayLogging
import PostgresKit
import Synchronization
import TestSupport

@testable import GatewayApp

/// The gateway's databases on the scripts/test cluster: each one its own PostgreSQL database, a copy
/// (`CREATE DATABASE … TEMPLATE`) of a template the shipped migrations were applied to once per test process, so
/// that a test pays for a file copy instead of every migration. Whoever creates one drops it (`drop`, `with`).
///
/// The copy a test gets was made while the previous one ran (one spare is kept ready): the suite runs serially
/// and mostly waits, so the copy costs it nothing. The last spare stays behind with the template, in the throwaway
/// cluster scripts/test removes.
enum TestDatabases {
    /// A new database: migrated (a copy of the template) or empty (`migrated: false`, for the migration tests).
    /// Returns its URL.
    static func create(migrated: Bool = true) async throws -> String {
        guard migrated else { return try await copy(of: nil) }
        let mine = spare.withLock { spare in
            let taken = spare ?? Task { try await copy(of: template.value) }
            spare = Task { try await copy(of: template.value) }
            return taken
        }
        return try await mine.value
    }

    /// A database copied from `template` (the default `template1` when nil); returns its URL.
    private static func copy(of template: String?) async throws -> String {
        let admin = try TestEnvironment.databaseURL()
        let name = uniqueName("passerelle_t")
        try await withAdmin { db in
            guard let template else {
                _ = try await db.execute(Query(unsafeSQL: "CREATE DATABASE \(name)"))
                return
            }
            // The template's last session may still be closing on the server side (SQLSTATE 55006): retry shortly.
            for attempt in 1...50 {
                do {
                    _ = try await db.execute(Query(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE \(template)"))
                    return
                } catch let error as DatabaseError where error.sqlState == "55006" && attempt < 50 {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        return url(admin, database: name)
    }

    /// The next copy of the template, being made.
    private static let spare = Mutex<Task<String, any Error>?>(nil)

    /// Drops the database at `url` (its sessions are ended first); errors are ignored (teardown).
    static func drop(_ url: String) async {
        guard let slash = url.lastIndex(of: "/") else { return }
        let name = url[url.index(after: slash)...].prefix { $0 != "?" }
        try? await withAdmin { db in
            _ = try await db.execute(Query(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
    }

    /// Runs `body` with a new database and drops it afterwards, whatever happens.
    static func with<T>(migrated: Bool = true, _ body: (String) async throws -> T) async throws -> T {
        let url = try await create(migrated: migrated)
        do {
            let value = try await body(url)
            await drop(url)
            return value
        } catch {
            await drop(url)
            throw error
        }
    }

    /// Runs `body` with a client (a pool of two) of a new migrated database; shuts it down and drops the database
    /// afterwards, whatever happens.
    static func withClient<T>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await with { url in
            let db = PostgresClient(
                configuration: PostgresConfiguration(url: Secret(url), poolSize: 2),
                logger: Logger(label: "test.db", level: .error))
            do {
                let value = try await body(db)
                await db.shutdown()
                return value
            } catch {
                await db.shutdown()
                throw error
            }
        }
    }

    /// The template, migrated once per process (the cluster is thrown away with it at the end of scripts/test).
    private static let template = Task<String, any Error> {
        let name = uniqueName("passerelle_template")
        try await withAdmin { db in _ = try await db.execute(Query(unsafeSQL: "CREATE DATABASE \(name)")) }
        let client = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(url(try TestEnvironment.databaseURL(), database: name)), poolSize: 1),
            logger: Logger(label: "test", level: .error))
        do {
            _ = try await Migrator(
                client: client, migrations: try AppDatabase.migrations(), logger: Logger(label: "test", level: .error)
            ).migrate()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        return name
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    /// `admin` with its database name replaced by `database` (the query string kept).
    static func url(_ admin: String, database: String) -> String {
        let (base, query) = admin.firstIndex(of: "?").map { (admin[..<$0], admin[$0...]) } ?? (admin[...], ""[...])
        guard let slash = base.lastIndex(of: "/") else { return admin }
        return String(base[...slash]) + database + query
    }

    private static func withAdmin(_ body: (PostgresClient) async throws -> Void) async throws {
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(try TestEnvironment.databaseURL()), poolSize: 1),
            logger: Logger(label: "test", level: .error))
        do {
            try await body(db)
        } catch {
            await db.shutdown()
            throw error
        }
        await db.shutdown()
    }
}
