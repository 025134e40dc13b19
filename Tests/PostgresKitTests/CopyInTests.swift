import Foundation
import GatewayLogging
import PostgresKit
import TestSupport
import Testing

/// `PostgresConnection.copyIn` and `CopyRows`: what goes in comes back, byte for byte; a bad row fails the whole
/// statement and leaves the session usable.
@Suite struct CopyInTests {
    @Test func rowsWithEveryEscapeNullsAndArraysComeBackAsWritten() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient { db in
            try await db.execute(
                "CREATE TABLE \(identifier: table) (n integer, s text, at timestamptz, d double precision, tags text[])")
            let awkward = ["tab\there", "line\nbreak", "carriage\rreturn", "back\\slash \\N", "", "é€ ✓", "\\."]
            let date = Date(timeIntervalSince1970: 1_700_000_000.25)
            var rows = CopyRows()
            for (index, text) in awkward.enumerated() {
                rows.field(index)
                rows.field(text)
                rows.field(date)
                rows.field(-1.5)
                rows.field(PostgresTextArray([text, "(request-target)", "a,b", "{x}"]))
                rows.endRow()
            }
            let nothing: String? = nil
            rows.field(awkward.count)
            rows.field(nothing)
            rows.field(nil as Date?)
            rows.field(nil as Double?)
            rows.field(nil as PostgresTextArray?)
            rows.endRow()
            #expect(rows.count == awkward.count + 1)

            let copied = try await db.withConnection { connection in
                try await connection.copyIn("COPY \(table) (n, s, at, d, tags) FROM STDIN", rows: rows)
            }
            #expect(copied == awkward.count + 1)
            let back = try await db.query("SELECT * FROM \(identifier: table) ORDER BY n")
            #expect(back.count == awkward.count + 1)
            for (index, text) in awkward.enumerated() {
                #expect(try back[index].decode("s", as: String.self) == text)
                #expect(try back[index].decode("tags", as: [String].self) == [text, "(request-target)", "a,b", "{x}"])
                #expect(try back[index].decode("d", as: Double.self) == -1.5)
                #expect(try back[index].decode("at", as: Date.self).timeIntervalSince1970 == 1_700_000_000.25)
            }
            let last = back[awkward.count]
            #expect(try last.decode("s", as: String?.self) == nil)
            #expect(try last.decode("at", as: Date?.self) == nil)
            #expect(try last.decode("tags", as: [String]?.self) == nil)
        }
    }

    @Test func aBadRowFailsTheWholeCopyAndTheSessionStaysUsable() async throws {
        let table = TestDatabase.uniqueName()
        try await TestDatabase.withClient(try TestDatabase.configuration(poolSize: 1)) { db in
            try await db.execute("CREATE TABLE \(identifier: table) (n integer NOT NULL)")
            var rows = CopyRows()
            for value in ["1", "2", "not a number", "4"] {
                rows.field(value)
                rows.endRow()
            }
            await #expect(throws: DatabaseError.self) {
                try await db.withConnection { try await $0.copyIn("COPY \(table) (n) FROM STDIN", rows: rows) }
            }
            let count = try await db.query("SELECT count(*) AS c FROM \(identifier: table)")
            #expect(try count[0].decode("c", as: Int.self) == 0, "no row of a failed COPY is kept")

            // Not a COPY FROM STDIN: refused, and the (only) connection still answers.
            await #expect(throws: DatabaseError.self) {
                try await db.withConnection { try await $0.copyIn("SELECT 1", rows: CopyRows()) }
            }
            await #expect(throws: DatabaseError.self) {
                try await db.withConnection { try await $0.copyIn("COPY no_such_table (n) FROM STDIN", rows: rows) }
            }
            let one = try await db.query("SELECT 1 AS one")
            #expect(try one[0].decode("one", as: Int.self) == 1)
        }
    }
}
