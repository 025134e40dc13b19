import Foundation
import GatewayLogging
import PostgresKit
import TestSupport
import Testing

@Suite struct RoundTripTests {
    struct Document: Codable, Equatable {
        var name: String
        var tags: [String]
    }

    @Test func everySupportedTypeRoundTripsIncludingNulls() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute(
                """
                CREATE TABLE \(identifier: table) (
                    id serial PRIMARY KEY, s text, i bigint, i64 bigint, i32 integer, b boolean, d double precision,
                    bytes bytea, at timestamptz, u uuid, arr text[], doc jsonb)
                """)
            let uuid = UUID()
            let date = Date(timeIntervalSince1970: 1_700_000_000.654321)
            let bytes: [UInt8] = [0, 1, 2, 0xFE, 0xFF, 0x5C, 0x78]
            let array = ["a", "b c", "quote\"", "back\\slash", "", "NULL", "é€"]
            let document = Document(name: "x\"y", tags: ["1", "2"])
            let text = "unicode ✓ 'quotes' \\ and\nnewline"
            try await db.execute(
                """
                INSERT INTO \(identifier: table) (s, i, i64, i32, b, d, bytes, at, u, arr, doc)
                VALUES (\(text), \(Int.max), \(Int64.min), \(Int32.min), \(true), \(-1.5e-300), \(bytes), \(date),
                        \(uuid), \(array), \(json: document))
                """)
            let nothing: String? = nil
            let noInt: Int? = nil
            let noDate: Date? = nil
            let noBytes: [UInt8]? = nil
            let noArray: [String]? = nil
            let noUUID: UUID? = nil
            let noBool: Bool? = nil
            try await db.execute(
                """
                INSERT INTO \(identifier: table) (s, i, i64, i32, b, d, bytes, at, u, arr, doc)
                VALUES (\(nothing), \(noInt), \(noInt.map(Int64.init)), \(noInt.map(Int32.init)), \(noBool),
                        \(noInt.map(Double.init)), \(noBytes), \(noDate), \(noUUID), \(noArray), \(nil as JSONText?))
                """)
            let rows = try await db.query("SELECT * FROM \(identifier: table) ORDER BY id")
            #expect(rows.count == 2)
            let full = rows[0]
            #expect(try full.decode("s", as: String.self) == text)
            #expect(try full.decode("i", as: Int.self) == Int.max)
            #expect(try full.decode("i64", as: Int64.self) == Int64.min)
            #expect(try full.decode("i32", as: Int32.self) == Int32.min)
            #expect(try full.decode("b", as: Bool.self) == true)
            #expect(try full.decode("d", as: Double.self) == -1.5e-300)
            #expect(try full.decode("bytes", as: [UInt8].self) == bytes)
            let decodedDate = try full.decode("at", as: Date.self)
            #expect(abs(decodedDate.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
            #expect(try full.decode("u", as: UUID.self) == uuid)
            #expect(try full.decode("arr", as: [String].self) == array)
            #expect(try full.decodeJSON("doc", as: Document.self) == document)
            #expect(try full.decode("s", as: String?.self) == text)

            let empty = rows[1]
            #expect(try empty.decode("s", as: String?.self) == nil)
            #expect(try empty.decode("i", as: Int?.self) == nil)
            #expect(try empty.decode("i64", as: Int64?.self) == nil)
            #expect(try empty.decode("i32", as: Int32?.self) == nil)
            #expect(try empty.decode("b", as: Bool?.self) == nil)
            #expect(try empty.decode("d", as: Double?.self) == nil)
            #expect(try empty.decode("bytes", as: [UInt8]?.self) == nil)
            #expect(try empty.decode("at", as: Date?.self) == nil)
            #expect(try empty.decode("u", as: UUID?.self) == nil)
            #expect(try empty.decode("arr", as: [String]?.self) == nil)
            #expect(try empty.decode("doc", as: JSONText?.self) == nil)
            #expect(throws: DatabaseError(.decodingFailed)) { try empty.decode("s", as: String.self) }
            #expect(throws: DatabaseError(.decodingFailed)) { try full.decode("missing", as: String.self) }
            #expect(throws: DatabaseError(.decodingFailed)) { try full.decode("s", as: Int.self) }
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func bindsAreTypedSoServerSideExpressionsWork() async throws {
        try await TestDatabase.withClient { db in
            let date = Date(timeIntervalSince1970: 86_400 * 365)
            let row = try await db.query(
                """
                SELECT \(date) + interval '1 day' AS later, \(41) + 1 AS answer, \(["x", "y"]) || 'z'::text AS arr,
                       length(\([UInt8]([1, 2, 3]))) AS len, \(nil as Int?) IS NULL AS was_null, \(2.5) * 2 AS d,
                       \(UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!)::text AS u
                """)[0]
            #expect(try row.decode("later", as: Date.self) == Date(timeIntervalSince1970: 86_400 * 366))
            #expect(try row.decode("answer", as: Int.self) == 42)
            #expect(try row.decode("arr", as: [String].self) == ["x", "y", "z"])
            #expect(try row.decode("len", as: Int.self) == 3)
            #expect(try row.decode("was_null", as: Bool.self))
            #expect(try row.decode("d", as: Double.self) == 5)
            #expect(try row.decode("u", as: String.self) == "6f9619ff-8b86-d011-b42d-00c04fc964ff")
        }
    }
}

@Suite struct DatabaseErrorTests {
    @Test func uniqueViolationSurfacesAsItsOwnCodeWithConstraintAndWithoutValues() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute(
                "CREATE TABLE \(identifier: table) (email text CONSTRAINT \(identifier: table + "_email") UNIQUE)")
            try await db.execute("INSERT INTO \(identifier: table) VALUES (\("alice@example.test"))")
            let error = try await #require(throws: DatabaseError.self) {
                try await db.execute("INSERT INTO \(identifier: table) VALUES (\("alice@example.test"))")
            }
            #expect(error.code == .uniqueViolation)
            #expect(error.sqlState == "23505")
            #expect(error.constraint == table + "_email")
            #expect(error.table == table)
            #expect(!error.description.contains("alice"))
            #expect(!error.isUnavailable)
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func foreignKeyAndDataErrorsAreDistinguishedAndRedacted() async throws {
        let parent = TestDatabase.uniqueName()
        let child = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute("CREATE TABLE \(identifier: parent) (id int PRIMARY KEY)")
            try await db.execute(
                "CREATE TABLE \(identifier: child) (parent int REFERENCES \(identifier: parent))")
            await #expect(throws: DatabaseError(.foreignKeyViolation)) {
                try await db.execute("INSERT INTO \(identifier: child) VALUES (\(Int32(7)))")
            }
            let dataError = try await #require(throws: DatabaseError.self) {
                try await db.query("SELECT \("4111-secret-value")::int")
            }
            #expect(dataError.sqlState == "22P02")
            #expect(!dataError.description.contains("4111-secret-value"))
            await #expect(throws: DatabaseError(.other)) { try await db.query("SELECT * FROM no_such_table_xyz") }
            try await db.execute("DROP TABLE \(identifier: child), \(identifier: parent)")
        }
    }

    @Test func lockNotAvailableAndStatementTimeoutHaveTheirCodes() async throws {
        let table = TestDatabase.uniqueName()
        var config = try TestDatabase.configuration()
        config.statementTimeout = .milliseconds(200)
        try await TestDatabase.withClient(config) { db in
            try await db.execute("CREATE TABLE \(identifier: table) (id int)")
            await #expect(throws: DatabaseError(.timeout)) { try await db.query("SELECT pg_sleep(5)") }
            try await db.withTransaction { tx in
                try await tx.execute("LOCK TABLE \(identifier: table) IN ACCESS EXCLUSIVE MODE")
                await #expect(throws: DatabaseError(.lockNotAvailable)) {
                    try await db.withTransaction { other in
                        try await other.execute("LOCK TABLE \(identifier: table) IN ACCESS EXCLUSIVE MODE NOWAIT")
                    }
                }
            }
            try await db.execute("DROP TABLE \(identifier: table)")
        }
    }

    @Test func debugLogsShowSQLTextButNeverBindValues() async throws {
        let sink = CapturingLogSink()
        try await TestDatabase.withClient(logger: Logger(label: "test", level: .debug, sink: sink)) { db in
            try await db.query("SELECT \("bind-value-never-logged") AS v")
            _ = try? await db.query("SELECT \("another-hidden-value")::int")
        }
        #expect(sink.text.contains("SELECT $1 AS v"))
        #expect(!sink.text.contains("bind-value-never-logged"))
        #expect(!sink.text.contains("another-hidden-value"))
    }
}
