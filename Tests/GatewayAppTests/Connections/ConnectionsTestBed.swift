import Foundation
import GatewayLogging
import OpenSSLKit
import PostgresKit
import Synchronization
import TestSupport

@testable import GatewayApp
@testable import GatewayCore

/// A settable wall clock shared by the services under test.
final class ConnectionsClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_900_000_000)) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A fresh database (its own PostgreSQL database on the scripts/test cluster, migrated: `TestDatabases`), a vault,
/// certificates and one active registration per provider, and the services wired to `FakeBankAdapter`s.
struct ConnectionsTestBed {
    let db: PostgresClient
    let clock: ConnectionsClock
    let vault: SecretVault
    let euroInformation: FakeBankAdapter
    let bpce: FakeBankAdapter
    let connections: ConnectionService
    let accounts: AccountInformationService
    let tokens: TokenKeeper
    let logs: CapturingLogSink
    /// Every SQL statement the pool ran (PostgresKit's debug line per statement), to count round trips.
    let sqlLogs: CapturingLogSink
    let logger: Logger
    let cicRegistration: UUID
    let bpceRegistration: UUID
    private let databaseURL: String

    static let redirect = "https://tpp.example/callback"

    /// - Parameters:
    ///   - settings: Overrides of the default connection settings.
    ///   - recordCacheTTL: How long cached rows are trusted (`PASSERELLE_RECORD_CACHE_SECONDS`).
    static func make(
        settings: Config.Connections = Config.Connections(), poolSize: Int = 10,
        recordCacheTTL: Duration = .seconds(2)
    ) async throws -> ConnectionsTestBed {
        let url = try await TestDatabases.create()
        let logs = CapturingLogSink()
        let logger = Logger(label: "test", level: .debug, sink: logs)
        let sqlLogs = CapturingLogSink()
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(url), poolSize: poolSize),
            logger: Logger(label: "test.db", level: .debug, sink: sqlLogs))

        let keyring = try MasterKeyring(parsing: Base64.encode(Random.bytes(32)))
        let vault = SecretVault(keyring: keyring)
        let clock = ConnectionsClock()
        let certificates = CertificateService(store: CertificateStore(db: db), vault: vault)
        let qwac = try await insertCertificate(db: db, vault: vault, kind: "qwac")
        let qseal = try await insertCertificate(db: db, vault: vault, kind: "qseal")
        let cic = try await insertRegistration(
            db: db, provider: .euroInformation, bank: BankID("cmcic:cic")!, qwac: qwac, qseal: qseal, status: .active,
            clientID: "ei-client", now: clock.now)
        let bpce = try await insertRegistration(
            db: db, provider: .bpce, bank: BankID("bpce:13807")!, qwac: qwac, qseal: qseal, status: .active,
            clientID: "bpce-client", now: clock.now)

        let eiAdapter = FakeBankAdapter(provider: .euroInformation, responses: .init(now: clock.now))
        let bpceAdapter = FakeBankAdapter(provider: .bpce, responses: .init(now: clock.now))
        let bankSide = BankSide(
            clients: BankClientFactory(catalog: .builtIn, certificates: certificates), vault: vault,
            adapters: AdapterDirectory([eiAdapter, bpceAdapter]), settings: settings, now: { clock.now })
        let store = ConnectionStore(
            db: db, registrations: RegistrationStore(db: db, cacheTTL: recordCacheTTL, now: { clock.now }),
            cacheTTL: recordCacheTTL)
        let tokens = TokenKeeper(store: store, bankSide: bankSide, logger: logger)
        return ConnectionsTestBed(
            db: db, clock: clock, vault: vault, euroInformation: eiAdapter, bpce: bpceAdapter,
            connections: ConnectionService(store: store, bankSide: bankSide),
            accounts: AccountInformationService(store: store, tokens: tokens), tokens: tokens, logs: logs,
            sqlLogs: sqlLogs, logger: logger, cicRegistration: cic, bpceRegistration: bpce, databaseURL: url)
    }

    /// Closes the pool and drops the database.
    func tearDown() async {
        await db.shutdown()
        await TestDatabases.drop(databaseURL)
    }

    /// Runs `body` with a fresh bed and always tears it down.
    static func with(
        settings: Config.Connections = Config.Connections(), poolSize: Int = 10,
        recordCacheTTL: Duration = .seconds(2), _ body: (ConnectionsTestBed) async throws -> Void
    ) async throws {
        let bed = try await make(settings: settings, poolSize: poolSize, recordCacheTTL: recordCacheTTL)
        do {
            try await body(bed)
        } catch {
            await bed.tearDown()
            throw error
        }
        await bed.tearDown()
    }

    // MARK: - Fixtures

    static func insertCertificate(db: PostgresClient, vault: SecretVault, kind: String) async throws -> UUID {
        let stored = try Self.certificate(vault: vault, kind: kind)
        try await CertificateStore(db: db).insert(stored)
        return stored.id
    }

    /// A certificate row of `kind` with a sealed stand-in key (the fake adapters never use the material).
    static func certificate(vault: SecretVault, kind: String) throws -> StoredCertificate {
        let id = UUID()
        let sealed = try vault.seal(Secret("not a real key"), owner: CertificateService.keyOwner(id))
        let now = Date()
        return StoredCertificate(
            id: id, kind: kind, label: nil, subject: "CN=test", issuer: "CN=test CA", serialNumber: "01",
            organizationIdentifier: "PSDFR-ACPR-12345", roles: ["aisp"], ncaName: nil, ncaId: nil,
            notBefore: now.addingTimeInterval(-86_400), notAfter: now.addingTimeInterval(86_400 * 365 * 20),
            sha256Fingerprint: Hex.encode(Random.bytes(32)), certificatePEM: "PEM", chainPEM: "PEM",
            privateKeySealed: sealed, createdAt: now)
    }

    @discardableResult
    static func insertRegistration(
        db: PostgresClient, provider: Provider, bank: BankID, environment: Environment = .sandbox, qwac: UUID,
        qseal: UUID, status: RegistrationStatus, clientID: String, activatesAt: Date? = nil, now: Date
    ) async throws -> UUID {
        let record = Self.registration(
            provider: provider, bank: bank, environment: environment, qwac: qwac, qseal: qseal, status: status,
            clientID: clientID, activatesAt: activatesAt, now: now)
        try await RegistrationStore(db: db).insert(record)
        return record.id
    }

    /// What the in-process router tests run over: an `InMemoryConnectionRepository` holding active sandbox
    /// registrations with `roles` at Euro-Information (`cmcic:cic`, client `ei-client`) and BPCE (`bpce:13807`,
    /// group-wide, client `bpce-client`), their certificates in memory, and the bank side over them: the client
    /// factory, a fresh vault, `adapters`, the default connection settings and `now`.
    struct InMemoryBankSide {
        let repository: InMemoryConnectionRepository
        let bankSide: BankSide
        let cic: RegistrationRecord
        let group: RegistrationRecord
    }

    static func inMemoryBankSide(
        now: @escaping @Sendable () -> Date, adapters: [any BankAdapter], roles: [Role] = [.aisp]
    ) async throws -> InMemoryBankSide {
        let repository = InMemoryConnectionRepository(now: now)
        let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
        let certificates = InMemoryCertificateRepository()
        let qwac = try certificate(vault: vault, kind: "qwac")
        let qseal = try certificate(vault: vault, kind: "qseal")
        for certificate in [qwac, qseal] { try await certificates.insert(certificate) }
        var cic = registration(
            provider: .euroInformation, bank: BankID("cmcic:cic")!, qwac: qwac.id, qseal: qseal.id, status: .active,
            clientID: "ei-client", now: now())
        var group = registration(
            provider: .bpce, bank: BankID("bpce:13807")!, qwac: qwac.id, qseal: qseal.id, status: .active,
            clientID: "bpce-client", now: now())
        cic.roles = roles
        group.roles = roles
        repository.recordRegistration(cic)
        repository.recordRegistration(group)
        let bankSide = BankSide(
            clients: BankClientFactory(
                catalog: .builtIn, certificates: CertificateService(store: certificates, vault: vault)),
            vault: vault, adapters: AdapterDirectory(adapters), settings: Config.Connections(), now: now)
        return InMemoryBankSide(repository: repository, bankSide: bankSide, cic: cic, group: group)
    }

    /// An active Euro-Information (`cmcic:cic`) registration row with its two certificates, in a fresh database: what
    /// payment and token rows refer to.
    static func insertActiveRegistration(db: PostgresClient, now: Date) async throws -> UUID {
        let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
        let qwac = try await insertCertificate(db: db, vault: vault, kind: "qwac")
        let qseal = try await insertCertificate(db: db, vault: vault, kind: "qseal")
        return try await insertRegistration(
            db: db, provider: .euroInformation, bank: BankID("cmcic:cic")!, qwac: qwac, qseal: qseal, status: .active,
            clientID: "client-1", now: now)
    }

    /// A registration row with `redirect` as its one redirect URI and the `aisp` role.
    static func registration(
        provider: Provider, bank: BankID, environment: Environment = .sandbox, qwac: UUID, qseal: UUID,
        status: RegistrationStatus, clientID: String, activatesAt: Date? = nil, now: Date
    ) -> RegistrationRecord {
        let id = UUID()
        return RegistrationRecord(
            id: id, provider: provider, bankID: bank, environment: environment, status: status,
            clientID: clientID, registrationClientURI: nil, activatesAt: activatesAt,
            settings: RegistrationSettings(
                qwacCertificateID: qwac, qsealCertificateID: qseal, clientName: "Test TPP \(id)",
                redirectURIs: [redirect], roles: [.aisp], contact: .init(name: "Ops", email: "ops@tpp.example"),
                softwareID: nil, logoURI: nil, keyID: "kid-1", bankKeys: []),
            clientLegalID: nil, lastRequest: nil, lastResponse: nil, version: 1, createdAt: now, updatedAt: now)
    }

    // MARK: - Shortcuts

    /// Creates a connection at `bank` and returns it with its state.
    func create(bank: String = "cmcic:cic", psuReference: String = "psu-1") async throws -> ConnectionService.Created {
        try await connections.create(
            ConnectionService.CreateRequest(
                bank: BankID(bank)!, psuReference: psuReference, redirectURI: Self.redirect, roles: [.aisp]),
            requestID: "req-create", logger: logger)
    }

    /// Creates and authorizes a connection; the fake's code exchange gives the tokens.
    func activeConnection(bank: String = "cmcic:cic") async throws -> ConnectionRecord {
        let created = try await create(bank: bank)
        return try await connections.authorize(
            created.record.id, code: "code-1", state: created.state, requestID: "req-auth", logger: logger)
    }

    /// An attended caller (PSU-IP-Address present) or an unattended one.
    func caller(attended: Bool = true) -> Caller {
        Caller(
            requestID: "req-read", logger: logger,
            psu: attended ? PSUContext(headers: [(name: "PSU-IP-Address", value: "192.0.2.10")]) : PSUContext())
    }

    /// The number of refresh calls the fake of `provider` received.
    func refreshCount(_ adapter: FakeBankAdapter) -> Int {
        adapter.calls.filter { $0 == .refresh }.count
    }
}
