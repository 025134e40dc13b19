import Foundation

/// Where the test command (scripts/test) put the things tests need. Tests that need a database or the test PKI
/// never skip silently: they fail with a message saying how to run them.
public enum TestEnvironment {
    /// `PASSERELLE_TEST_DATABASE_URL`, exported by scripts/test for its throwaway cluster.
    public static func databaseURL() throws -> String {
        try require("PASSERELLE_TEST_DATABASE_URL", hint: "run the suite with scripts/test, which starts a throwaway PostgreSQL cluster")
    }

    /// `PASSERELLE_TEST_PKI`: the folder scripts/make-test-pki filled (CA, QWAC, QSealC, server certificates).
    public static func pkiDirectory() throws -> String {
        try require("PASSERELLE_TEST_PKI", hint: "run the suite with scripts/test, which generates the test PKI")
    }

    /// A file of the test PKI, e.g. `pki("qwac.crt")`.
    public static func pki(_ name: String) throws -> String {
        try pkiDirectory() + "/" + name
    }

    /// The contents of a test PKI file.
    public static func pkiContents(_ name: String) throws -> String {
        try String(contentsOfFile: pki(name), encoding: .utf8)
    }

    /// The PostgreSQL data directory and pg_ctl of the throwaway cluster (for restart tests).
    public static func postgresControl() throws -> (dataDirectory: String, pgCtl: String, runAs: String?) {
        let data = try require("PASSERELLE_TEST_PGDATA", hint: "run the suite with scripts/test")
        let ctl = try require("PASSERELLE_TEST_PG_CTL", hint: "run the suite with scripts/test")
        return (data, ctl, ProcessInfo.processInfo.environment["PASSERELLE_TEST_PG_USER"])
    }

    /// The built `passerelle` executable (for tests that start the service as a process).
    public static func executablePath() -> String? {
        ProcessInfo.processInfo.environment["PASSERELLE_TEST_BINARY"]
    }

    static func require(_ name: String, hint: String) throws -> String {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
            throw MissingTestEnvironment(variable: name, hint: hint)
        }
        return v
    }
}

/// Thrown (and so reported as a failure, not a skip) when the suite runs outside scripts/test.
public struct MissingTestEnvironment: Error, CustomStringConvertible {
    public let variable: String
    public let hint: String
    public var description: String { "\(variable) is not set: \(hint)" }
}
