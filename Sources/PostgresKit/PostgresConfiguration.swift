import GatewayLogging

/// How `PostgresClient` connects and how long it waits. Built by the app from `Config.Database`.
public struct PostgresConfiguration: Sendable {
    /// The libpq connection URL (`postgresql://user:password@host:port/db?sslmode=…`). It may hold a password, so it
    /// stays wrapped and is never logged.
    public var url: Secret<String>
    /// A password given apart from the URL (e.g. read from a secret file); it overrides one the URL holds.
    public var password: Secret<String>?
    /// The most connections the pool opens.
    public var poolSize: Int
    /// The longest a caller waits for a free connection before `DatabaseError.Code.timeout`.
    public var acquireTimeout: Duration
    /// The longest a new connection may take (libpq `connect_timeout`, whole seconds, at least 2).
    public var connectTimeout: Duration
    /// The server-side `statement_timeout` of every session; nil leaves the server's default.
    public var statementTimeout: Duration?
    /// The longest the client waits for the server's answer to one statement before `DatabaseError.Code.timeout`
    /// (and closing the session): by default `statementTimeout` plus `acquireTimeout`, so that the server's own
    /// timeout fires first and this one only when the server does not answer at all (frozen, unreachable peer).
    /// nil: no client-side deadline.
    public var responseTimeout: Duration?
    /// Shown in `pg_stat_activity.application_name`.
    public var applicationName: String
    /// The session's `search_path` (schema names separated by commas: letters, digits, `_`, `$` only); nil keeps
    /// the server's default. Lets tests and tenants keep their tables, including `schema_migrations`, apart.
    public var searchPath: String? {
        didSet {
            precondition(
                searchPath?.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_$,".contains($0)) } ?? true,
                "searchPath holds only schema names and commas")
        }
    }

    /// - Parameters:
    ///   - url: libpq URL or `key=value` connection string.
    ///   - poolSize: Connections in the pool (at least 1).
    ///   - timeout: Used for both `acquireTimeout` and `connectTimeout`.
    ///   - statementTimeout: Server-side limit per statement (default 30 s).
    ///   - applicationName: `application_name` of each session.
    public init(
        url: Secret<String>, poolSize: Int = 10, timeout: Duration = .seconds(5),
        statementTimeout: Duration? = .seconds(30), applicationName: String = "passerelle"
    ) {
        self.url = url
        self.password = nil
        self.poolSize = max(1, poolSize)
        self.acquireTimeout = timeout
        self.connectTimeout = timeout
        self.statementTimeout = statementTimeout
        self.responseTimeout = statementTimeout.map { $0 + timeout }
        self.applicationName = applicationName
        self.searchPath = nil
    }

    /// The keyword/value pairs given to `PQconnectdbParams` after the URL (they override what the URL says).
    /// The session always speaks UTF-8, ISO dates and UTC, which the text codecs rely on.
    var connectionParameters: [(String, String)] {
        var options = "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres"
        if let statementTimeout {
            options += " -c statement_timeout=\(max(1, statementTimeout.milliseconds))"
        }
        if let searchPath { options += " -c search_path=\(searchPath)" }
        return [
            ("connect_timeout", String(max(2, Int((connectTimeout.seconds).rounded(.up))))),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
            ("options", options),
        ]
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// The duration in whole milliseconds, rounded up.
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
