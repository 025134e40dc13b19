import Foundation
import Testing

@testable import PostgresKit

@Suite struct TextFormatTests {
    @Test func byteaHexRoundTrips() {
        let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xAB, 0xFF]
        #expect(PostgresTextFormat.byteaHex(bytes) == "\\x00017f80abff")
        #expect(PostgresTextFormat.parseByteaHex("\\x00017F80abff") == bytes)
        #expect(PostgresTextFormat.parseByteaHex("\\x") == [])
        #expect(PostgresTextFormat.parseByteaHex("\\x0") == nil)
        #expect(PostgresTextFormat.parseByteaHex("\\xzz") == nil)
        #expect(PostgresTextFormat.parseByteaHex("abc") == nil)
    }

    @Test func formatsTimestampsInUTCWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        #expect(PostgresTextFormat.timestamp(date) == "2023-11-14 22:13:20.123456+00")
        #expect(PostgresTextFormat.timestamp(Date(timeIntervalSince1970: -1.5)) == "1969-12-31 23:59:58.500000+00")
    }

    @Test func parsesTimestampsWithOffsetsAndShortFractions() throws {
        let parse = PostgresTextFormat.parseTimestamp
        #expect(parse("2023-11-14 22:13:20.123456+00")?.timeIntervalSince1970 == 1_700_000_000.123456)
        #expect(parse("2023-11-14 22:13:20+00")?.timeIntervalSince1970 == 1_700_000_000)
        #expect(parse("2023-11-14 23:13:20.5+01")?.timeIntervalSince1970 == 1_700_000_000.5)
        #expect(parse("2023-11-14 17:43:20-04:30")?.timeIntervalSince1970 == 1_700_000_000)
        #expect(parse("2023-11-14T22:13:20Z")?.timeIntervalSince1970 == 1_700_000_000)
        #expect(parse("2000-02-29 00:00:00")?.timeIntervalSince1970 == 951_782_400)
        #expect(parse("infinity") == nil)
        #expect(parse("2023-13-14 22:13:20+00") == nil)
        #expect(parse("2023-11-14 22:13:20.1234567+00")?.timeIntervalSince1970 == 1_700_000_000.123456)
    }

    @Test func civilDateConversionIsConsistent() {
        for days in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let (y, m, d) = PostgresTextFormat.civil(fromDays: days)
            #expect(PostgresTextFormat.daysFromCivil(y, m, d) == days)
        }
    }

    @Test func textArraysRoundTrip() {
        let values = ["plain", "with space", "quote\"inside", "back\\slash", "", "NULL", "{brace}", "a,b"]
        let literal = PostgresTextFormat.textArray(values)
        #expect(PostgresTextFormat.parseTextArray(literal) == values.map { Optional($0) })
        #expect(PostgresTextFormat.parseTextArray("{}") == [])
        #expect(PostgresTextFormat.parseTextArray("{a,NULL,\"NULL\"}") == ["a", nil, "NULL"])
        #expect(PostgresTextFormat.parseTextArray("{{a},{b}}") == nil)
        #expect(PostgresTextFormat.parseTextArray("a,b") == nil)
    }

    @Test func interpolationBindsValuesAsPlaceholders() {
        let name = "Robert'); DROP TABLE students;--"
        let limit = 10
        let missing: String? = nil
        let query: Query =
            "SELECT * FROM \(identifier: "we\"ird") WHERE name = \(name) AND note = \(missing) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM \"we\"\"ird\" WHERE name = $1 AND note = $2 LIMIT $3")
        #expect(
            query.binds == [
                PostgresBind(text: name, type: 0), PostgresBind(text: nil, type: 0), PostgresBind(text: "10", type: 20),
            ])
        #expect(!query.description.contains("DROP"))
    }

    @Test func splicedFragmentsAreRenumbered() {
        let filter: Query = "status = \("active") AND note <> '$1'"
        var query: Query = "SELECT 1 WHERE id = \(42) AND \(filter)"
        query.append(" OR bank = \("cmcic")")
        #expect(query.sql == "SELECT 1 WHERE id = $1 AND status = $2 AND note <> '$1' OR bank = $3")
        #expect(query.binds.map(\.text) == ["42", "active", "cmcic"])
    }

    @Test func dataExceptionMessagesHideQuotedInput() {
        let message = DatabaseError.redactedMessage(
            "invalid input syntax for type integer: \"4111 1111\"", sqlState: "22P02")
        #expect(message == "invalid input syntax for type integer: \"<redacted>\"")
        let kept = DatabaseError.redactedMessage(
            "duplicate key value violates unique constraint \"k\"", sqlState: "23505")
        #expect(kept.contains("\"k\""))
    }

    @Test func mapsSQLStatesToCodes() {
        #expect(DatabaseError.code(forSQLState: "23505") == .uniqueViolation)
        #expect(DatabaseError.code(forSQLState: "23503") == .foreignKeyViolation)
        #expect(DatabaseError.code(forSQLState: "40001") == .serializationFailure)
        #expect(DatabaseError.code(forSQLState: "55P03") == .lockNotAvailable)
        #expect(DatabaseError.code(forSQLState: "57P01") == .connectionFailed)
        #expect(DatabaseError.code(forSQLState: "08006") == .connectionFailed)
        #expect(DatabaseError.code(forSQLState: "57014") == .timeout)
        #expect(DatabaseError.code(forSQLState: "42P01") == .other)
    }

    @Test func loadsMigrationsFromAFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestDatabase.uniqueName("mig"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "CREATE TABLE b ();".write(
            to: dir.appendingPathComponent("0002_second.sql"), atomically: true, encoding: .utf8)
        try "CREATE TABLE a ();".write(
            to: dir.appendingPathComponent("0001_first_one.sql"), atomically: true, encoding: .utf8)
        try "ignored".write(to: dir.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let migrations = try Migration.load(from: dir)
        #expect(
            migrations == [
                Migration(version: 1, name: "first_one", sql: "CREATE TABLE a ();"),
                Migration(version: 2, name: "second", sql: "CREATE TABLE b ();"),
            ])
        try "x".write(to: dir.appendingPathComponent("02_dup.sql"), atomically: true, encoding: .utf8)
        #expect(throws: DatabaseError(.migrationMismatch)) { try Migration.load(from: dir) }
    }
}
