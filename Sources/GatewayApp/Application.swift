import BankAdapters
import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import HTTPServerKit
import PostgresKit
import Reactor
import Synchronization

/// The composition root of `passerelle serve`: builds every service once from `Config` and wires the router.
/// No module below reads the environment or creates its own dependencies.
public final class Application: Sendable {
    public let config: Config
    public let logger: Logger
    public let db: PostgresClient
    public let metrics: MetricsRegistry
    public let lifecycle: ServerLifecycle
    public let catalog: BankCatalog
    public let apiKeys: APIKeyStore
    public let vault: SecretVault
    public let certificates: CertificateService
    public let registrations: RegistrationService
    /// Outbound HTTPS to banks; `nil` when the application was given adapters directly (tests with fakes).
    public let transport: CurlTransport?
    public let audit: PostgresAuditSink
    /// Connections, token lifecycle and account information.
    public let connectionServices: (connections: ConnectionService, accounts: AccountInformationService, tokens: TokenKeeper)
    /// Lifecycle events: the feed, webhook endpoints, their delivery and the time-based events (docs/events.md).
    let events: EventStore
    public let webhooks: WebhookService
    /// HTTPS to webhook receivers: its own transport (the receivers' trust anchors, no client certificate, no
    /// bank audit rows).
    let webhookTransport: CurlTransport
    let webhookDispatcher: WebhookDispatcher
    let lifecycleScheduler: LifecycleScheduler
    /// Every bank call's outcome passes through it on its way to the audit log (`bank.unavailable` / `recovered`).
    let bankHealth: BankHealthMonitor
    /// Payment initiation and funds confirmation.
    public let payments: PaymentService
    private let prepared = Atomic<Bool>(false)
    /// The event loops (`PASSERELLE_EVENT_LOOPS`): the HTTP server's connections, their `/v1` handlers and the
    /// bank transfers those make all run on them, so an API call stays on one thread from request to answer.
    public let reactors: ReactorGroup

    /// - Parameters:
    ///   - adapters: The bank adapters by provider (the real ones from `BankAdapters`, or fakes in tests).
    ///   - now: The clock for expiries and activation (injected in tests).
    /// - Throws: `ConfigError` without a master key (the configuration reader reports it for `serve`).
    ///   - makeAdapters: Builds the adapters from the outbound transport (production: `BankAdapters`' registry).
    public init(
        config: Config, logger: Logger, adapters: [Provider: any BankAdapter] = [:],
        makeAdapters: (@Sendable (any HTTPTransport) -> [Provider: any BankAdapter])? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.config = config
        self.logger = logger
        self.metrics = MetricsRegistry()
        self.reactors = ReactorGroup(name: "loop", count: config.http.eventLoops)
        self.lifecycle = ServerLifecycle()
        self.db = AppDatabase.client(config.database, logger: logger)
        self.catalog = config.catalog
        self.apiKeys = APIKeyStore(db: db, cacheTTL: config.database.recordCacheTTL)
        self.audit = PostgresAuditSink(db: db, logger: logger.labeled("passerelle.audit"))
        let store = StoreDatabase(db)
        self.bankHealth = BankHealthMonitor(
            inner: audit, db: store, threshold: config.events.bankUnavailableAfterFailures,
            logger: logger.labeled("passerelle.events"))
        var adapters = adapters
        if let makeAdapters {
            let transport = try CurlTransport(
                configuration: Self.transportConfiguration(config), reactors: reactors, auditSink: bankHealth,
                logger: logger.labeled("passerelle.outbound"))
            self.transport = transport
            adapters.merge(makeAdapters(transport)) { given, _ in given }
        } else {
            self.transport = nil
        }
        guard let keyring = config.masterKeyring else {
            throw ConfigError(problems: ["PASSERELLE_MASTER_KEY or PASSERELLE_MASTER_KEY_FILE: required by serve"])
        }
        self.vault = SecretVault(keyring: keyring)
        self.certificates = CertificateService(store: CertificateStore(db: db), vault: vault, now: now)
        // One factory (and so one cache of opened certificate material) for registrations and connections.
        let clients = BankClientFactory(catalog: catalog, certificates: certificates)
        // One registration store (and so one cache of registration rows) for the same reason.
        let recordCacheTTL = config.database.recordCacheTTL
        let registrationStore = RegistrationStore(db: db, cacheTTL: recordCacheTTL, now: now)
        let adapterDirectory = AdapterDirectory(byProvider: adapters)
        self.registrations = RegistrationService(
            store: registrationStore, certificates: certificates, catalog: catalog, clients: clients,
            adapters: adapterDirectory,
            publicBaseURL: config.publicBaseURL, sandboxActivationImmediate: config.sandboxActivationImmediate,
            bpceRegistrationBank: config.bpceRegistrationBank, now: now)
        var connectionSettings = config.connections
        connectionSettings.bankCallTimeoutSeconds = config.bankTimeoutSeconds
        let bankSide = BankSide(
            clients: clients, vault: vault, adapters: adapterDirectory, settings: connectionSettings, now: now)
        let connectionStore = ConnectionStore(db: db, registrations: registrationStore, cacheTTL: recordCacheTTL)
        let connectionLogger = logger.labeled("passerelle.connections")
        // One keeper (and so one cache of opened access tokens) for the account reads, payments and the refresher.
        let tokens = TokenKeeper(store: connectionStore, bankSide: bankSide, logger: connectionLogger)
        let connections = ConnectionService(store: connectionStore, bankSide: bankSide)
        self.connectionServices = (
            connections, AccountInformationService(store: connectionStore, tokens: tokens), tokens
        )
        self.events = EventStore(db: store)
        self.webhooks = WebhookService(store: WebhookEndpointStore(db: store), vault: vault, now: now)
        self.webhookTransport = try CurlTransport(
            configuration: Self.webhookTransportConfiguration(config), reactors: reactors,
            logger: logger.labeled("passerelle.webhooks"))
        let e = config.events
        self.webhookDispatcher = WebhookDispatcher(
            db: store, vault: vault, transport: webhookTransport,
            settings: .init(
                pollInterval: .milliseconds(Int(e.webhookPollSeconds * 1000)),
                timeout: .milliseconds(Int(e.webhookTimeoutSeconds * 1000)),
                retryBase: .milliseconds(Int(e.webhookRetryBaseSeconds * 1000)), retryMax: .seconds(3600),
                retryWindowSeconds: e.webhookRetryHours * 3600),
            now: now, logger: logger.labeled("passerelle.webhooks"), metrics: metrics)
        self.lifecycleScheduler = LifecycleScheduler(
            db: store,
            settings: .init(
                scanInterval: .milliseconds(Int(e.scanSeconds * 1000)), reauthorizationNoticeDays: e.reauthorizationNoticeDays,
                certificateNoticeDays: e.certificateNoticeDays),
            now: now, logger: logger.labeled("passerelle.events"), metrics: metrics)
        self.payments = PaymentService(
            store: PaymentStore(db: store), idempotencyKeys: IdempotencyKeyStore(db: store),
            clientTokens: ClientTokenStore(db: store), connections: connections, accessTokens: tokens,
            settings: config.payments, logger: connectionLogger)
    }

    /// The background token refresher (part of `runBackground()`), until the task is cancelled.
    public func runTokenRefresher() async {
        await connectionServices.tokens.runRefresher { [self] in prepared.load(ordering: .acquiring) }
    }

    /// Waits for the database, applies migrations and seeds the bootstrap API key. `/ready` answers 503 until
    /// this has succeeded.
    public func prepare() async throws {
        try await AppDatabase.prepare(db, config: config.database, logger: logger)
        if let key = config.bootstrapAPIKey {
            try await apiKeys.bootstrap(name: "bootstrap", key: key)
        }
        prepared.store(true, ordering: .releasing)
    }

    /// How long `/ready` waits for the database before answering 503 (operators' probes give up after 2 s).
    static let readinessDatabaseWait = Duration.milliseconds(1500)

    /// Readiness: prepared (migrations applied), the database answers within `readinessDatabaseWait`, not
    /// draining (checked by the server). Answers in time whatever the database does (down, frozen, pool full).
    public func readiness() async -> Readiness {
        guard prepared.load(ordering: .acquiring) else { return .notReady(["database not prepared (starting up)"]) }
        guard await db.isAvailable(within: Self.readinessDatabaseWait) else {
            return .notReady(["database unreachable or not answering"])
        }
        return .ready
    }

    /// The full request handler: the router (operations routes and documents public, the API behind API keys).
    public func makeHandler() -> any HTTPHandler {
        makeRouter()
    }

    /// Every route of the service (exposed for the OpenAPI coverage test). Every `/v1` route is declared inside
    /// `authenticated(by:)`; `build(requiringAuthenticationUnder:)` refuses to start otherwise.
    public func makeRouter() -> Router {
        var routes = Router.Builder()
        OperationsRoutes.add(to: &routes, lifecycle: lifecycle, metrics: metrics) { [self] in await readiness() }
        OpenAPIRoute.add(to: &routes)
        CertificatesRoutes.addPublic(to: &routes, service: certificates)
        routes.authenticated(by: APIKeyAuthenticator(keys: apiKeys)) { api in
            BanksRoutes.add(to: &api, catalog: catalog)
            CertificatesRoutes.add(to: &api, service: certificates)
            RegistrationsRoutes.add(to: &api, service: registrations, deadline: .seconds(config.bankTimeoutSeconds))
            ConnectionsRoutes.add(
                to: &api, connections: connectionServices.connections, accountInformation: connectionServices.accounts)
            EventsRoutes.addFeed(to: &api, events: events)
            EventsRoutes.addWebhooks(to: &api, webhooks: webhooks)
            PaymentsRoutes.add(to: &api, payments: payments)
        }
        return routes.build(requiringAuthenticationUnder: "/v1")
    }

    /// The HTTP server for `config.http`.
    public func makeServer() throws -> HTTPServer {
        let http = config.http
        var configuration = HTTPServer.Configuration(host: http.host, port: http.port)
        configuration.limits = HTTPLimits(maxBodyBytes: http.maxBodyBytes)
        configuration.maxConnections = http.maxConnections
        configuration.maxConnectionsPerPeer = http.maxConnectionsPerPeer
        configuration.headerTimeout = .milliseconds(Int(http.headerTimeoutSeconds * 1000))
        configuration.idleTimeout = .milliseconds(Int(http.idleTimeoutSeconds * 1000))
        configuration.minBodyBytesPerSecond = http.minBodyBytesPerSecond
        // API calls run on their connection's event loop (signing, the bank transfer and the answer on one thread;
        // database calls hop to PostgresKit's threads); health, readiness, metrics and the OpenAPI document run
        // on the shared pool, so they answer even while an event loop is busy signing.
        configuration.reactors = reactors
        configuration.handlerPlacement = { head in head.target.hasPrefix("/v1/") ? .eventLoop : .pool }
        return try HTTPServer(
            configuration: configuration,
            handler: makeHandler(), logger: logger.labeled("passerelle.http"), metrics: metrics, lifecycle: lifecycle)
    }

    /// The operations listener (`PASSERELLE_OPS_PORT`): `/health`, `/ready` and `/metrics` only, on a reactor of its
    /// own, sharing the API server's lifecycle (draining) and metrics. Nil when no port is configured. Probes reach
    /// it whatever the API listener goes through: a full connection table, a flood from one peer, busy event
    /// loops (docs/operations.md, "Failure modes").
    public func makeOperationsServer() throws -> HTTPServer? {
        guard let port = config.http.opsPort else { return nil }
        var routes = Router.Builder()
        OperationsRoutes.add(to: &routes, lifecycle: lifecycle, metrics: metrics) { [self] in await readiness() }
        var configuration = HTTPServer.Configuration(host: config.http.host, port: port)
        configuration.maxConnections = 64
        configuration.maxConnectionsPerPeer = 16
        configuration.headerTimeout = .seconds(2)
        configuration.idleTimeout = .seconds(10)
        configuration.handlerTimeout = .seconds(5)
        return try HTTPServer(
            configuration: configuration, handler: routes.build(), logger: logger.labeled("passerelle.ops"),
            metrics: metrics, lifecycle: lifecycle)
    }

    /// The production adapters (Euro-Information, BPCE) over `transport`, with the application's clock.
    public static func standardAdapters(
        now: @escaping @Sendable () -> Date = { Date() }, activationCalendar: ActivationCalendar = ActivationCalendar()
    ) -> @Sendable (any HTTPTransport) -> [Provider: any BankAdapter] {
        { transport in
            let registry = AdapterRegistry.standard(
                dependencies: AdapterDependencies(transport: transport, now: now, activationCalendar: activationCalendar))
            var adapters: [Provider: any BankAdapter] = [:]
            for provider in registry.providers { adapters[provider] = registry[provider] }
            return adapters
        }
    }

    static func transportConfiguration(_ config: Config) -> CurlTransport.Configuration {
        var c = CurlTransport.Configuration()
        c.trustAnchors = config.bankCAFile.map { .pemFile($0) } ?? .system
        c.connectTimeout = .milliseconds(Int(config.outbound.connectTimeoutSeconds * 1000))
        c.maxResponseBytes = config.outbound.maxResponseBytes
        c.idleTimeout = .milliseconds(Int(config.outbound.idleTimeoutSeconds * 1000))
        c.maxConnectionsPerHost = config.outbound.maxConnectionsPerHost
        c.retry = RetryPolicy(maxRetries: config.outbound.maxRetries)
        c.proxyURL = config.outbound.proxy
        c.userAgent = "Passerelle/\(PasserelleVersion.current)"
        return c
    }

    static func webhookTransportConfiguration(_ config: Config) -> CurlTransport.Configuration {
        var c = CurlTransport.Configuration()
        c.trustAnchors = config.events.webhookCAFile.map { .pemFile($0) } ?? .system
        c.connectTimeout = .milliseconds(Int(config.outbound.connectTimeoutSeconds * 1000))
        c.maxResponseBytes = 64 << 10
        c.retry = RetryPolicy(maxRetries: 0)  // the dispatcher retries, with its own backoff
        c.allowsLoopbackHTTP = true  // a receiver on this machine (docs/events.md); elsewhere https only
        c.proxyURL = config.outbound.proxy
        c.userAgent = "Passerelle-Webhooks/\(PasserelleVersion.current)"
        return c
    }

    /// Work that runs beside the server until cancelled: the audit-log writer and the outbound metrics.
    public func runBackground() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.audit.run() }
            group.addTask { await self.publishOutboundMetrics() }
            group.addTask { await self.runTokenRefresher() }
            group.addTask { [self] in await webhookDispatcher.run { self.prepared.load(ordering: .acquiring) } }
            group.addTask { [self] in await lifecycleScheduler.run { self.prepared.load(ordering: .acquiring) } }
            group.addTask { [self] in await bankHealth.run { self.prepared.load(ordering: .acquiring) } }
            group.addTask { await self.payments.runReconciler { [self] in prepared.load(ordering: .acquiring) } }
        }
    }

    /// Copies the transport's counters into `/metrics` every second (connection reuse is a key figure).
    func publishOutboundMetrics() async {
        guard let transport else { return }
        let requests = metrics.gauge("passerelle_outbound_requests", help: "Bank calls made (cumulative).")
        let connections = metrics.gauge(
            "passerelle_outbound_connections_opened", help: "New TLS connections to banks (cumulative).")
        let reused = metrics.gauge("passerelle_outbound_connections_reused", help: "Bank calls that reused a connection (cumulative).")
        let failures = metrics.gauge("passerelle_outbound_failures", help: "Bank calls that failed at transport level (cumulative).")
        let idle = metrics.gauge("passerelle_outbound_idle_connections", help: "Idle pooled connections to banks.")
        while !Task.isCancelled {
            let c = transport.countersSnapshot
            requests.set(Double(c.requests))
            connections.set(Double(c.newConnections))
            reused.set(Double(c.reusedConnections))
            failures.set(Double(c.failures))
            idle.set(Double(c.idleConnections))
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Flushes the audit log, stops the transport and the event loops and releases the database pool.
    public func shutdown() async {
        await audit.flush()
        await transport?.shutdown()
        await webhookTransport.shutdown()
        reactors.shutdown()
        await db.shutdown()
    }
}
