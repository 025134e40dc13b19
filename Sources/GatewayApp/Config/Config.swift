import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit

/// Every setting of `passerelle serve`, read once from the environment by a pure function.
/// Sub-configurations are passed down to the modules; no module reads the environment itself.
public struct Config: Sendable {
    /// The HTTP listener.
    public struct HTTP: Sendable {
        public var host = "0.0.0.0"
        public var port = 8080
        /// Seconds in-flight requests get to finish after SIGTERM.
        public var shutdownGraceSeconds = 20.0
        public var maxConnections = 1024
        /// Connections one client address may hold at once (0: no limit); beyond it 503 and close.
        public var maxConnectionsPerPeer = 256
        /// Slowest average rate a request body may arrive at once 5 s have passed (0: none); then 408 and close.
        public var minBodyBytesPerSecond = 1024
        /// A second listener serving only `/health`, `/ready` and `/metrics` on its own thread, so probes answer
        /// whatever the API listener goes through (floods, slow clients); nil: none (they stay on `port` too).
        public var opsPort: Int?
        public var idleTimeoutSeconds = 60.0
        public var headerTimeoutSeconds = 10.0
        public var maxBodyBytes = 1 << 20
        /// Event loops (reactor threads): each serves its share of the HTTP connections, runs their `/v1`
        /// handlers and drives their bank calls. Default: the cores this process may use.
        public var eventLoops = ProcessInfo.processInfo.activeProcessorCount
    }

    /// PostgreSQL.
    public struct Database: Sendable {
        /// libpq connection URL; nil means "not configured" (the run script provides a local cluster).
        public var url: Secret<String>?
        /// A password given apart from the URL (`PASSERELLE_DATABASE_PASSWORD[_FILE]`); it overrides the URL's.
        public var password: Secret<String>?
        public var poolSize = 10
        /// How long one query may wait for a connection / the server before failing clearly.
        public var timeoutSeconds = 5.0
        /// The server-side `statement_timeout`; the client gives up on an answer after this plus `timeoutSeconds`
        /// (a frozen or unreachable server then costs a bounded wait, answered 503).
        public var statementTimeoutSeconds = 30.0
        /// How long `serve` waits for a database that is not up yet; `.infinity` (`forever`) waits as long as it
        /// takes, for containers started next to their database.
        public var startupWaitSeconds = 60.0
        /// How long a replica trusts its in-memory copy of an API key, connection, registration or account-id row
        /// (0 disables the cache). Its own writes are seen at once; another replica's after at most this.
        public var recordCacheSeconds = 2.0

        /// The defaults (also the stores' default cache TTL).
        public init() {}

        /// `recordCacheSeconds` as the TTL the stores' `RecordCache`s take.
        public var recordCacheTTL: Duration { .milliseconds(Int64(recordCacheSeconds * 1000)) }
    }

    /// Connections, tokens and account reads (docs/connections.md).
    public struct Connections: Sendable {
        /// Lifetime of the single-use OAuth `state` handed out with an authorization URL.
        public var stateTTLSeconds = 900.0
        /// An access token expiring within this margin is refreshed before a bank call.
        public var refreshMarginSeconds = 60.0
        /// The background refresher refreshes tokens expiring within this horizon.
        public var refreshAheadSeconds = 300.0
        /// Seconds between two passes of the background refresher (0 disables it).
        public var refresherIntervalSeconds = 30.0
        /// The background refresher renews only connections used (a bank read) or authorized within this window.
        public var refreshRecentUseSeconds = 172_800.0
        /// Also renews connections whose refresh token expires within this horizon, used or not (0: never; for a
        /// bank whose refresh extends the refresh token's lifetime).
        public var refreshKeepAliveSeconds = 0.0
        /// Unattended reads allowed per connection × account × resource in the rolling window.
        public var unattendedLimit = 4
        /// The rolling window of the unattended budget.
        public var unattendedWindowSeconds = 86_400.0
        /// Bank transaction pages followed per API call before answering with a `nextCursor`.
        public var transactionPagesPerCall = 10
        /// Deadline of one bank call (token exchange, refresh, one read); set from `bankTimeoutSeconds`.
        public var bankCallTimeoutSeconds = 30.0
        /// Days after the customer's authorization by which a Euro-Information connection must be authorized again
        /// (`reauthorizeBy`; the bank publishes no lifetime: 180 days is the longest an AIS access may go without
        /// SCA, RTS (EU) 2018/389 Art. 10a as amended by (EU) 2022/2360). 0: not shown.
        public var euroInformationReauthorizeDays = 180
    }

    /// Payments and idempotency keys (docs/payments.md).
    public struct Payments: Sendable {
        /// How long idempotency keys (and their stored answers) are kept; at least 24 h.
        public var idempotencyRetentionSeconds = 86_400.0
        /// Seconds between two passes of the payment reconciler (0 disables it).
        public var reconcilerIntervalSeconds = 30.0
        /// After this long a request still `in_flight` (or a payment still `submitting`) is taken to have died
        /// with its process; set from the bank timeout (twice it, at least 60 s) unless configured. Shorter is safe
        /// (a taken-over request finds the committed payment, never sends it again) but answers a live duplicate
        /// request with the payment's current state rather than 409.
        public var staleAfterSeconds = 120.0
        public init() {}
    }

    /// Outbound HTTPS to banks (CurlKit).
    public struct Outbound: Sendable {
        public var connectTimeoutSeconds = 5.0
        public var maxResponseBytes = 10 << 20
        public var idleTimeoutSeconds = 50.0
        /// Connections to one bank host at once, per event loop (further calls wait, under their deadline).
        public var maxConnectionsPerHost = 32
        public var maxRetries = 2
        public var proxy: String?
    }

    /// Lifecycle events and webhooks (docs/events.md).
    public struct Events: Sendable {
        /// How often each replica looks for time-based events (expiring certificates and consents, activations).
        public var scanSeconds = 60.0
        /// Days before `reauthorizeBy` at which `connection.reauthorization_due` is sent.
        public var reauthorizationNoticeDays = [7, 1]
        /// Days before a certificate's `notAfter` at which `certificate.expiring` is sent.
        public var certificateNoticeDays = [30, 7, 1]
        /// How often each replica looks for webhook deliveries to make.
        public var webhookPollSeconds = 1.0
        /// Deadline of one delivery.
        public var webhookTimeoutSeconds = 10.0
        /// First retry delay; doubles per attempt, at most one hour.
        public var webhookRetryBaseSeconds = 5.0
        /// A delivery not accepted this long after the event is marked failed.
        public var webhookRetryHours = 24.0
        /// Trust anchors for receivers' TLS certificates (PEM); the system's when unset.
        public var webhookCAFile: String?
        /// Bank calls failing in a row (transport error or 5xx) after which `bank.unavailable` is sent.
        public var bankUnavailableAfterFailures = 5
    }

    public var http = HTTP()
    public var outbound = Outbound()
    public var events = Events()
    public var database = Database()
    public var connections = Connections()
    public var payments = Payments()
    public var logLevel: Logger.Level = .info
    /// Base64 of 32 bytes, from `PASSERELLE_MASTER_KEY` or the file named by `PASSERELLE_MASTER_KEY_FILE`.
    public var masterKey: Secret<String>?

    /// The parsed master keyring (validated in `init(environment:)`), or nil when no key is configured.
    public var masterKeyring: MasterKeyring? {
        masterKey.flatMap { try? MasterKeyring(parsing: $0.reveal) }
    }
    /// `PASSERELLE_BANKS_FILE`, read and checked by `init(environment:)` into `catalog`.
    public var banksFile: String?
    /// The bank catalog: the built-in one with the banks file's overrides applied (docs/core.md).
    public var catalog: BankCatalog = .builtIn
    public var bankCAFile: String?
    public var bootstrapAPIKey: Secret<String>?
    /// Base URL where this Passerelle is reachable by banks for its QSealC (`<base>/certificates/<sha256>.pem`),
    /// used as a certificate-URL `keyId` (BPCE registration calls) or JWK `x5u`.
    public var publicBaseURL: String?
    /// Total deadline of one API call's bank exchange, in seconds.
    public var bankTimeoutSeconds = 30.0
    /// The BPCE bank code a group-wide registration (`"bank": "bpce"`) goes through, per environment. Sandbox:
    /// 13807, the bank the BPCE sandbox documentation names for AIS (seed `bpce-89c3-ais-sandbox`); production:
    /// none by default (the first BPCE bank of the catalog), which an operator should set.
    public var bpceRegistrationBank: [Environment: String] = [.sandbox: "13807"]
    /// Sandbox registrations a bank accepts as pending (BPCE: next working day 14:00 Paris) become active at once.
    /// For a local simulator that activates immediately (`scripts/run`); never for production registrations.
    public var sandboxActivationImmediate = false
    /// BPCE's working-day calendar for activation times (docs/protocol.md §7.5): weekends, French public holidays
    /// (`PASSERELLE_BPCE_FRENCH_PUBLIC_HOLIDAYS`) and `PASSERELLE_BPCE_EXTRA_HOLIDAYS`.
    public var bpceActivationCalendar = ActivationCalendar()

    public init() {}

    /// Builds the configuration from `environment`, checking everything that can be checked without a network:
    /// values and ranges, the database URL's syntax, the master key, the banks file.
    /// - Parameters:
    ///   - requireMasterKey: `PASSERELLE_MASTER_KEY` or `PASSERELLE_MASTER_KEY_FILE` must be set (`serve`,
    ///     `rotate-master-key`).
    ///   - readFile: how to read the files named by `PASSERELLE_MASTER_KEY_FILE` and `PASSERELLE_BANKS_FILE`
    ///     (nil when unreadable; injected by some tests).
    /// - Throws: `ConfigError` listing every missing or invalid setting at once.
    public init(
        environment: [String: String], requireMasterKey: Bool = false,
        readFile: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
    ) throws(ConfigError) {
        var env = EnvironmentReader(environment)
        http.host = env.string("PASSERELLE_HTTP_HOST", default: http.host)
        http.port = env.int("PASSERELLE_HTTP_PORT", default: http.port, in: 0...65535)
        http.shutdownGraceSeconds = env.seconds(
            "PASSERELLE_SHUTDOWN_GRACE_SECONDS", default: http.shutdownGraceSeconds, in: 0...3600)
        http.maxConnections = env.int("PASSERELLE_HTTP_MAX_CONNECTIONS", default: http.maxConnections, in: 1...1_000_000)
        http.maxConnectionsPerPeer = env.int(
            "PASSERELLE_HTTP_MAX_CONNECTIONS_PER_PEER", default: http.maxConnectionsPerPeer, in: 0...1_000_000)
        http.minBodyBytesPerSecond = env.int(
            "PASSERELLE_HTTP_MIN_BODY_BYTES_PER_SECOND", default: http.minBodyBytesPerSecond, in: 0...(1 << 30))
        if env.raw("PASSERELLE_OPS_PORT") != nil {
            http.opsPort = env.int("PASSERELLE_OPS_PORT", default: 0, in: 0...65535)
        }
        http.idleTimeoutSeconds = env.seconds(
            "PASSERELLE_HTTP_IDLE_TIMEOUT_SECONDS", default: http.idleTimeoutSeconds, in: 0.1...86400)
        http.headerTimeoutSeconds = env.seconds(
            "PASSERELLE_HTTP_HEADER_TIMEOUT_SECONDS", default: http.headerTimeoutSeconds, in: 0.1...3600)
        http.eventLoops = env.int("PASSERELLE_EVENT_LOOPS", default: http.eventLoops, in: 1...256)
        http.maxBodyBytes = env.int("PASSERELLE_HTTP_MAX_BODY_BYTES", default: http.maxBodyBytes, in: 0...(1 << 30))

        database.url = env.secret("PASSERELLE_DATABASE_URL", orFile: readFile)
        database.password = env.secret("PASSERELLE_DATABASE_PASSWORD", orFile: readFile)
        if database.url == nil {
            env.report("PASSERELLE_DATABASE_URL: required (a libpq URL such as postgresql://user@host:5432/db)")
        }
        if let url = database.url, !PostgresConfiguration.isWellFormed(url: url) {
            // The value is not echoed: it may hold a password.
            env.report(
                "PASSERELLE_DATABASE_URL: not a valid libpq URL or connection string "
                    + "(e.g. postgresql://user@host:5432/db)")
        }
        database.poolSize = env.int("PASSERELLE_DATABASE_POOL_SIZE", default: database.poolSize, in: 1...500)
        database.timeoutSeconds = env.seconds(
            "PASSERELLE_DATABASE_TIMEOUT_SECONDS", default: database.timeoutSeconds, in: 0.1...600)
        database.statementTimeoutSeconds = env.seconds(
            "PASSERELLE_DATABASE_STATEMENT_TIMEOUT_SECONDS", default: database.statementTimeoutSeconds, in: 0.1...3600)
        if env.raw("PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS")?.lowercased() == "forever" {
            database.startupWaitSeconds = .infinity
        } else {
            database.startupWaitSeconds = env.seconds(
                "PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS", default: database.startupWaitSeconds, in: 0...86_400)
        }
        database.recordCacheSeconds = env.seconds(
            "PASSERELLE_RECORD_CACHE_SECONDS", default: database.recordCacheSeconds, in: 0...300)

        connections.stateTTLSeconds = env.seconds(
            "PASSERELLE_AUTHORIZATION_STATE_TTL_SECONDS", default: connections.stateTTLSeconds, in: 10...86_400)
        connections.refreshMarginSeconds = env.seconds(
            "PASSERELLE_TOKEN_REFRESH_MARGIN_SECONDS", default: connections.refreshMarginSeconds, in: 0...3600)
        connections.refreshAheadSeconds = env.seconds(
            "PASSERELLE_TOKEN_REFRESH_AHEAD_SECONDS", default: connections.refreshAheadSeconds, in: 0...86_400)
        connections.refresherIntervalSeconds = env.seconds(
            "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS", default: connections.refresherIntervalSeconds, in: 0...86_400)
        connections.refreshRecentUseSeconds = env.seconds(
            "PASSERELLE_TOKEN_REFRESH_RECENT_USE_SECONDS", default: connections.refreshRecentUseSeconds,
            in: 0...(90 * 86_400))
        connections.refreshKeepAliveSeconds = env.seconds(
            "PASSERELLE_TOKEN_REFRESH_KEEPALIVE_SECONDS", default: connections.refreshKeepAliveSeconds,
            in: 0...(365 * 86_400))
        connections.euroInformationReauthorizeDays = env.int(
            "PASSERELLE_EI_REAUTHORIZE_DAYS", default: connections.euroInformationReauthorizeDays, in: 0...3650)
        connections.unattendedLimit = env.int(
            "PASSERELLE_UNATTENDED_LIMIT", default: connections.unattendedLimit, in: 0...1000)
        connections.unattendedWindowSeconds = env.seconds(
            "PASSERELLE_UNATTENDED_WINDOW_SECONDS", default: connections.unattendedWindowSeconds, in: 1...(7 * 86_400))
        connections.transactionPagesPerCall = env.int(
            "PASSERELLE_TRANSACTION_PAGES_PER_CALL", default: connections.transactionPagesPerCall, in: 1...1000)

        let level = env.choice(
            "PASSERELLE_LOG_LEVEL", default: "info", allowed: ["trace", "debug", "info", "warning", "error"])
        logLevel = Logger.Level(name: level) ?? .info

        masterKey = env.secret("PASSERELLE_MASTER_KEY", orFile: readFile)
        if requireMasterKey, env.raw("PASSERELLE_MASTER_KEY") == nil, env.raw("PASSERELLE_MASTER_KEY_FILE") == nil {
            env.report(
                "PASSERELLE_MASTER_KEY or PASSERELLE_MASTER_KEY_FILE: required (make one with `openssl rand -base64 32`)")
        }
        if let key = masterKey {
            do { _ = try MasterKeyring(parsing: key.reveal) } catch {
                env.report("PASSERELLE_MASTER_KEY: \(error) (make one with `openssl rand -base64 32`)")
            }
        }

        banksFile = env.optionalString("PASSERELLE_BANKS_FILE")
        if let path = banksFile {
            if let text = readFile(path) {
                do { catalog = try BankCatalog.builtIn.applying(overrides: Data(text.utf8)) } catch {
                    env.report("PASSERELLE_BANKS_FILE: \(path): \(error)")
                }
            } else {
                env.report("PASSERELLE_BANKS_FILE: cannot read \(path)")
            }
        }
        bankCAFile = env.optionalString("PASSERELLE_BANK_CA_FILE")
        if let path = bankCAFile, readFile(path) == nil { env.report("PASSERELLE_BANK_CA_FILE: cannot read \(path)") }
        bootstrapAPIKey = env.secret("PASSERELLE_BOOTSTRAP_API_KEY", orFile: readFile)
        publicBaseURL = env.optionalString("PASSERELLE_PUBLIC_BASE_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        if let url = publicBaseURL, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            env.report("PASSERELLE_PUBLIC_BASE_URL: expected an http(s) URL, got \"\(url)\"")
        }
        outbound.connectTimeoutSeconds = env.seconds(
            "PASSERELLE_OUTBOUND_CONNECT_TIMEOUT_SECONDS", default: outbound.connectTimeoutSeconds, in: 0.1...120)
        outbound.maxResponseBytes = env.int(
            "PASSERELLE_OUTBOUND_MAX_RESPONSE_BYTES", default: outbound.maxResponseBytes, in: 1024...(1 << 30))
        outbound.idleTimeoutSeconds = env.seconds(
            "PASSERELLE_OUTBOUND_IDLE_TIMEOUT_SECONDS", default: outbound.idleTimeoutSeconds, in: 1...3600)
        outbound.maxConnectionsPerHost = env.int(
            "PASSERELLE_OUTBOUND_MAX_CONNECTIONS_PER_HOST", default: outbound.maxConnectionsPerHost, in: 1...4096)
        outbound.maxRetries = env.int("PASSERELLE_OUTBOUND_MAX_RETRIES", default: outbound.maxRetries, in: 0...10)
        outbound.proxy = env.optionalString("PASSERELLE_OUTBOUND_PROXY")
        sandboxActivationImmediate =
            env.choice("PASSERELLE_SANDBOX_ACTIVATION", default: "bank-rule", allowed: ["bank-rule", "immediate"])
            == "immediate"
        if let text = env.optionalString("PASSERELLE_BPCE_EXTRA_HOLIDAYS") {
            do {
                bpceActivationCalendar.extraHolidays = try ActivationCalendar.parseHolidays(text)
            } catch {
                env.report("PASSERELLE_BPCE_EXTRA_HOLIDAYS: dates YYYY-MM-DD separated by commas expected")
            }
        }
        bpceActivationCalendar.includesFrenchPublicHolidays = env.bool(
            "PASSERELLE_BPCE_FRENCH_PUBLIC_HOLIDAYS", default: true)
        bankTimeoutSeconds = env.seconds("PASSERELLE_BANK_TIMEOUT_SECONDS", default: bankTimeoutSeconds, in: 1...600)
        payments.idempotencyRetentionSeconds = env.seconds(
            "PASSERELLE_IDEMPOTENCY_RETENTION_SECONDS", default: payments.idempotencyRetentionSeconds,
            in: 86_400...(30 * 86_400))
        payments.reconcilerIntervalSeconds = env.seconds(
            "PASSERELLE_PAYMENT_RECONCILER_INTERVAL_SECONDS", default: payments.reconcilerIntervalSeconds, in: 0...86_400)
        payments.staleAfterSeconds = env.seconds(
            "PASSERELLE_PAYMENT_STALE_AFTER_SECONDS", default: max(60, 2 * bankTimeoutSeconds),
            in: 1...86_400)
        for environment in Environment.allCases {
            let name =
                environment == .sandbox
                ? "PASSERELLE_BPCE_REGISTRATION_BANK_SANDBOX" : "PASSERELLE_BPCE_REGISTRATION_BANK_PRODUCTION"
            guard let code = env.optionalString(name) ?? bpceRegistrationBank[environment] else { continue }
            if catalog.bpceRegistrationBank(code: code, for: environment) == nil {
                env.report("\(name): no BPCE bank '\(code)' with \(environment) URLs in the catalog")
            } else {
                bpceRegistrationBank[environment] = code
            }
        }
        events.scanSeconds = env.seconds("PASSERELLE_EVENTS_SCAN_SECONDS", default: events.scanSeconds, in: 0.1...86_400)
        events.reauthorizationNoticeDays = env.days(
            "PASSERELLE_REAUTHORIZATION_NOTICE_DAYS", default: events.reauthorizationNoticeDays)
        events.certificateNoticeDays = env.days("PASSERELLE_CERTIFICATE_NOTICE_DAYS", default: events.certificateNoticeDays)
        events.webhookPollSeconds = env.seconds(
            "PASSERELLE_WEBHOOK_POLL_SECONDS", default: events.webhookPollSeconds, in: 0.05...3600)
        events.webhookTimeoutSeconds = env.seconds(
            "PASSERELLE_WEBHOOK_TIMEOUT_SECONDS", default: events.webhookTimeoutSeconds, in: 0.5...120)
        events.webhookRetryBaseSeconds = env.seconds(
            "PASSERELLE_WEBHOOK_RETRY_BASE_SECONDS", default: events.webhookRetryBaseSeconds, in: 0.05...3600)
        events.webhookRetryHours = env.seconds("PASSERELLE_WEBHOOK_RETRY_HOURS", default: events.webhookRetryHours, in: 0.001...720)
        events.webhookCAFile = env.optionalString("PASSERELLE_WEBHOOK_CA_FILE")
        events.bankUnavailableAfterFailures = env.int(
            "PASSERELLE_BANK_UNAVAILABLE_AFTER_FAILURES", default: events.bankUnavailableAfterFailures, in: 1...10_000)
        if let path = events.webhookCAFile, readFile(path) == nil {
            env.report("PASSERELLE_WEBHOOK_CA_FILE: cannot read \(path)")
        }
        if let key = bootstrapAPIKey, !APIKeyStore.isWellFormed(key.reveal) {
            env.report("PASSERELLE_BOOTSTRAP_API_KEY: 16 to 200 visible ASCII characters (no spaces) expected")
        }

        if !env.problems.isEmpty { throw ConfigError(problems: env.problems) }
    }
}

/// Every configuration problem found, reported together.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public var description: String {
        "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
