import Foundation
import GatewayCore
import GatewayLogging
import HTTPServerKit
import PostgresKit
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
    private let prepared = Atomic<Bool>(false)

    /// - Parameters:
    ///   - adapters: The bank adapters by provider (the real ones from `BankAdapters`, or fakes in tests).
    ///   - now: The clock for expiries and activation (injected in tests).
    /// - Throws: `BankCatalogError` when `PASSERELLE_BANKS_FILE` is unreadable or invalid; `ConfigError` without a
    ///   master key.
    public init(
        config: Config, logger: Logger, adapters: [Provider: any BankAdapter] = [:],
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.config = config
        self.logger = logger
        self.metrics = MetricsRegistry()
        self.lifecycle = ServerLifecycle()
        self.db = AppDatabase.client(config.database, logger: logger)
        self.catalog = try Self.loadCatalog(config: config)
        self.apiKeys = APIKeyStore(db: db)
        guard let keyring = config.masterKeyring else {
            throw ConfigError(problems: ["PASSERELLE_MASTER_KEY or PASSERELLE_MASTER_KEY_FILE: required by serve"])
        }
        self.vault = SecretVault(keyring: keyring)
        self.certificates = CertificateService(store: CertificateStore(db: db), vault: vault, now: now)
        self.registrations = RegistrationService(
            db: db, certificates: certificates, catalog: catalog, adapters: adapters,
            publicBaseURL: config.publicBaseURL, now: now)
    }

    static func loadCatalog(config: Config) throws -> BankCatalog {
        guard let path = config.banksFile else { return .builtIn }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BankCatalogError(problems: ["PASSERELLE_BANKS_FILE: cannot read \(path)"])
        }
        return try BankCatalog.builtIn.applying(overrides: data)
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

    /// Readiness: prepared (migrations applied), the database answers, not draining (checked by the server).
    public func readiness() async -> Readiness {
        guard prepared.load(ordering: .acquiring) else { return .notReady(["database not prepared (starting up)"]) }
        do {
            _ = try await db.query("SELECT 1")
            return .ready
        } catch {
            return .notReady(["database unreachable"])
        }
    }

    /// The full request handler: operations routes, the OpenAPI document and the API behind the key gate.
    public func makeHandler() -> any HTTPHandler {
        var routes = Router.Builder()
        OperationsRoutes.add(to: &routes, lifecycle: lifecycle, metrics: metrics) { [self] in await readiness() }
        BanksRoutes.add(to: &routes, catalog: catalog)
        CertificatesRoutes.add(to: &routes, service: certificates)
        RegistrationsRoutes.add(to: &routes, service: registrations, deadline: .seconds(config.bankTimeoutSeconds))
        let router = routes.build()
        return APIKeyGate(next: router, keys: apiKeys)
    }

    /// The HTTP server for `config.http`.
    public func makeServer() throws -> HTTPServer {
        let http = config.http
        return try HTTPServer(
            configuration: .init(
                host: http.host, port: http.port, limits: HTTPLimits(maxBodyBytes: http.maxBodyBytes),
                maxConnections: http.maxConnections, headerTimeout: .milliseconds(Int(http.headerTimeoutSeconds * 1000)),
                idleTimeout: .milliseconds(Int(http.idleTimeoutSeconds * 1000))),
            handler: makeHandler(), logger: logger.labeled("passerelle.http"), metrics: metrics, lifecycle: lifecycle)
    }

    /// Releases the database pool.
    public func shutdown() async {
        await db.shutdown()
    }
}
