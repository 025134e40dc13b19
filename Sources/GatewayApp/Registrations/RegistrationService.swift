import FoundationEssentials
import GatewayCore
import GatewayLogging
import JSONKit

/// Registers the TPP at banks, and reads, updates and deletes those registrations — at the bank first, then in
/// PostgreSQL, so a row always reflects what the bank accepted and a bank error leaves nothing half-written.
public struct RegistrationService: Sendable {
    let store: any RegistrationRepository
    let certificates: CertificateService
    let catalog: BankCatalog
    let clients: BankClientFactory
    let adapters: AdapterDirectory
    /// Where Passerelle serves its QSealC certificates (`<base>/certificates/<sha256>.pem`), if configured.
    let publicBaseURL: String?
    /// Treat pending sandbox registrations as active at once (`PASSERELLE_SANDBOX_ACTIVATION=immediate`).
    let sandboxActivationImmediate: Bool
    /// The BPCE bank code a group-wide registration goes through, per environment (`Config.bpceRegistrationBank`).
    let bpceRegistrationBank: [Environment: String]
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - store: `RegistrationStore` (PostgreSQL, shared with the connections for its row cache), or an in-memory
    ///     repository in tests; its clock should be `now`.
    ///   - certificates: The certificates registrations use.
    ///   - clients: Builds the bank client of a registration for each bank call.
    ///   - now: The wall clock (validity of certificates, activation of pending registrations, lease expiry).
    public init(
        store: any RegistrationRepository, certificates: CertificateService, catalog: BankCatalog,
        clients: BankClientFactory, adapters: AdapterDirectory, publicBaseURL: String?,
        sandboxActivationImmediate: Bool = false, bpceRegistrationBank: [Environment: String] = [.sandbox: "13807"],
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.certificates = certificates
        self.catalog = catalog
        self.clients = clients
        self.adapters = adapters
        self.publicBaseURL = publicBaseURL
        self.sandboxActivationImmediate = sandboxActivationImmediate
        self.bpceRegistrationBank = bpceRegistrationBank
        self.now = now
    }

    // MARK: - Create

    func create(_ body: RegistrationCreate, context: AdapterContext) async throws -> RegistrationRecord {
        var issues: [FieldIssue] = []
        let environment = Environment(rawValue: body.environment)
        if environment == nil { issues.append(FieldIssue(field: "environment", message: "expected sandbox or production")) }
        let profile = resolveBank(body.bank, environment: environment ?? .sandbox, issues: &issues)
        let roles = parseRoles(body.roles, issues: &issues)
        validate(contact: body.contact, provider: profile?.provider, issues: &issues)
        let qwacID = UUID(uuidString: body.qwacCertificateId)
        let qsealID = UUID(uuidString: body.qsealCertificateId)
        if qwacID == nil { issues.append(FieldIssue(field: "qwacCertificateId", message: "not a certificate id")) }
        if qsealID == nil { issues.append(FieldIssue(field: "qsealCertificateId", message: "not a certificate id")) }
        guard issues.isEmpty, let environment, let profile, let qwacID, let qsealID else {
            throw GatewayError.refusedFields(issues)
        }
        let (qwac, qseal) = try await checkCertificates(qwac: qwacID, qseal: qsealID)

        var record = RegistrationRecord(
            id: UUID(), provider: profile.provider, bankID: profile.id, environment: environment, status: .registering,
            clientID: nil, registrationClientURI: nil, activatesAt: nil,
            settings: RegistrationSettings(
                qwacCertificateID: qwacID, qsealCertificateID: qsealID, clientName: body.clientName,
                redirectURIs: body.redirectUris, roles: roles, contact: body.contact, softwareID: body.softwareId,
                logoURI: body.logoUri, keyID: nil, bankKeys: []),
            clientLegalID: body.clientLegalId, extendedTransactionHistory: body.extendedTransactionHistory ?? false,
            lastRequest: nil, lastResponse: nil, version: 0, createdAt: now(), updatedAt: now())
        try await RegistrationPreflight(store: store).check(record, qwac: qwac, qseal: qseal)
        let request = registrationRequest(
            for: record, qseal: qseal, extendedHistory: record.extendedTransactionHistory)
        let client = try await clients.client(for: record)
        // The intent first (version 0: nothing at the bank yet; the completion makes it 1): no client can exist at the bank without a row here (docs/operations.md, "Failure modes").
        try await store.insert(record)
        let result: RegistrationResult
        do {
            result = try await bankCall(profile.id) {
                try await adapters.adapter(for: profile.id).register(request, client: client, context: context)
            }
        } catch GatewayError.upstreamTimeout(let bank) {
            // No answer in time: the bank may or may not hold a client. The row stays `registering` for an operator.
            context.logger.warning(
                "registration timed out at the bank; kept as registering",
                metadata: ["bank": bank.description, "registration.id": record.id.uuidString.lowercased()])
            throw GatewayError.upstreamTimeout(bank: bank)
        } catch {
            try? await store.removeIntent(record.id)  // refused: a refusal stores nothing (a leftover stays visible)
            throw error
        }
        apply(result, to: &record)
        try await completeIntent(record, client: client, context: context)
        record.version = 1
        return record
    }

    /// Stores the bank's answer into the intent row, retrying when the database is unavailable. When that cannot
    /// succeed, the row turns `failed` with the bank's client id (no bodies), so an operator sees it and `DELETE`
    /// removes the client at the bank; when even that cannot be written, the client is deleted at the bank. The
    /// caller gets the storage error either way.
    private func completeIntent(_ record: RegistrationRecord, client: BankClient, context: AdapterContext) async throws {
        let failure: any Error
        do {
            try await Self.retryingWhileUnavailable { try await store.complete(record) }
            return
        } catch {
            failure = error
        }
        guard let reference = record.reference else { throw failure }
        let metadata = [
            "bank": record.bankID.description, "registration.id": record.id.uuidString.lowercased(),
            "client_id": reference.clientID, "error": "\(failure)",
        ]
        do {
            try await store.markFailed(
                record.id, clientID: reference.clientID, registrationClientURI: record.registrationClientURI)
            context.logger.error(
                "registration accepted by the bank but its answer could not be stored; kept as failed "
                    + "(DELETE /v1/registrations/{id} removes it at the bank)", metadata: metadata)
        } catch {
            context.logger.error(
                "registration accepted by the bank but could not be recorded; deleting it at the bank",
                metadata: metadata)
            do {
                try await adapters.adapter(for: record.bankID).deleteRegistration(
                    reference, client: client, context: context)
                try? await store.removeIntent(record.id)
            } catch {
                context.logger.error(
                    "deleting the unrecorded registration at the bank failed: remove it by hand",
                    metadata: metadata.merging(["delete.error": "\(error)"]) { $1 })
            }
        }
        throw failure
    }

    // MARK: - Read

    func get(_ id: UUID) async throws -> RegistrationRecord {
        guard let record = try await store.find(id) else {
            throw GatewayError.notFound(resource: "registration", id: id.uuidString.lowercased())
        }
        if record.status == .deleted { throw GatewayError.notFound(resource: "registration", id: id.uuidString.lowercased()) }
        return record
    }

    /// Every registration not deleted, newest first; with `bank` (a bank id; `bpce` or any BPCE bank code for the
    /// group-wide BPCE registrations) or `environment`, only those at it.
    func list(bank: String? = nil, environment: String? = nil) async throws -> [RegistrationRecord] {
        try await store.list().filter { r in
            (environment.map { $0 == r.environment.rawValue } ?? true)
                && (bank.map { r.provider == .bpce ? $0.hasPrefix("bpce") : $0 == r.bankID.description } ?? true)
        }
    }

    // MARK: - Update

    /// Applies `patch` at the bank, then stores the result, under the registration's bank-call lease: concurrent
    /// updates of one registration run one after the other, and no database connection or lock is held while the
    /// bank answers (`withBankCallLease`).
    ///
    /// A bank that applies modifications later (BPCE: at `activatesAt`, docs/adapters.md "Modifications at BPCE")
    /// gets them as the registration's `pendingChange`: until then the registration stays as it is in effect at the
    /// bank (status, certificates, keyId, redirect URIs), and the repository's reads switch to the new values exactly
    /// at `activatesAt`. A bank that applies them at once (Euro-Information) changes the registration now.
    func update(_ id: UUID, patch: RegistrationPatch, context: AdapterContext) async throws -> RegistrationRecord {
        try await withBankCallLease(id, context: context) { claimed in
            var current = claimed
            guard var reference = current.reference else {
                throw GatewayError.conflict("registration has no client id at the bank; register again")
            }
            // The bank keeps the key of the QSealC in effect (the one signing until the bank confirms a new one);
            // keys of QSealCs replaced earlier are retired (docs/adapters.md "Euro-Information keys").
            let inEffect = Self.hexFingerprint(try await certificates.get(current.qsealCertificateID))
            reference.keys = reference.keys.filter { $0.sha256Fingerprint?.lowercased() == inEffect }
            // The bank's PUT replaces its whole document, a change still waiting included: start from that.
            var record = current.withPendingChangeApplied()
            var issues: [FieldIssue] = []
            if let name = patch.clientName { record.clientName = name }
            if let uris = patch.redirectUris { record.redirectURIs = uris }
            if let contact = patch.contact { record.contact = contact }
            if let roles = patch.roles { record.roles = parseRoles(roles, issues: &issues) }
            if let software = patch.softwareId { record.softwareID = software }
            if let logo = patch.logoUri { record.logoURI = logo }
            validate(contact: record.contact, provider: record.provider, issues: &issues)
            if let raw = patch.qwacCertificateId {
                if let new = UUID(uuidString: raw) { record.qwacCertificateID = new } else {
                    issues.append(FieldIssue(field: "qwacCertificateId", message: "not a certificate id"))
                }
            }
            if let raw = patch.qsealCertificateId {
                if let new = UUID(uuidString: raw) { record.qsealCertificateID = new } else {
                    issues.append(FieldIssue(field: "qsealCertificateId", message: "not a certificate id"))
                }
            }
            guard issues.isEmpty else { throw GatewayError.refusedFields(issues) }
            let (qwac, qseal) = try await checkCertificates(
                qwac: record.qwacCertificateID, qseal: record.qsealCertificateID)
            try await RegistrationPreflight(store: store).check(record, qwac: qwac, qseal: qseal)
            let request = registrationRequest(
                for: record, qseal: qseal, extendedHistory: record.extendedTransactionHistory)
            let client = try await clients.client(for: record)
            let result = try await bankCall(record.bankID) {
                try await adapters.adapter(for: record.bankID).updateRegistration(
                    reference, with: request, client: client, context: context)
            }
            if let activatesAt = result.activatesAt, activatesAt > now(), !immediate(record) {
                var proposed = record
                proposed.keyID = result.keyID
                proposed.bankKeys = result.keys
                current.pendingChange = RegistrationChange(from: current, to: proposed, activatesAt: activatesAt)
                current.lastRequest = Self.jsonOrNil(result.requestBody)
                current.lastResponse = Self.jsonOrNil(result.responseBody)
                record = current
            } else {
                apply(result, to: &record)
            }
            return record
        }
    }

    // MARK: - Delete

    /// Deletes the client at the bank, then marks the row deleted (kept as history for connections and audit), under
    /// the registration's bank-call lease (see `update`).
    func delete(_ id: UUID, context: AdapterContext) async throws {
        _ = try await withBankCallLease(id, context: context) { claimed in
            var record = claimed
            if let reference = record.reference {
                let client = try await clients.client(for: record)
                try await bankCall(record.bankID) {
                    try await adapters.adapter(for: record.bankID).deleteRegistration(reference, client: client, context: context)
                }
            }
            record.status = .deleted
            return record
        }
    }

    // MARK: - Helpers

    /// Runs `write` again while it throws `GatewayError.unavailable`: three attempts in about a second, for what
    /// must be stored once the bank has it.
    static func retryingWhileUnavailable(_ write: () async throws -> Void) async throws {
        for attempt in 1... {
            do {
                return try await write()
            } catch GatewayError.unavailable(_, _) where attempt < 3 {
                try? await Task.sleep(for: .milliseconds(300 * attempt))
            }
        }
    }

    func apply(_ result: RegistrationResult, to record: inout RegistrationRecord) {
        record.clientID = result.clientID
        record.registrationClientURI = result.registrationClientURI ?? record.registrationClientURI
        record.keyID = result.keyID
        record.bankKeys = result.keys
        record.status = result.status
        record.activatesAt = result.activatesAt
        if record.status == .pending, immediate(record) {
            record.status = .active
            record.activatesAt = now()
        }
        record.lastRequest = Self.jsonOrNil(result.requestBody)
        record.lastResponse = Self.jsonOrNil(result.responseBody)
    }

    /// Pending sandbox registrations and changes are treated as active at once (`PASSERELLE_SANDBOX_ACTIVATION`).
    func immediate(_ record: RegistrationRecord) -> Bool {
        record.environment == .sandbox && sandboxActivationImmediate
    }

    /// Stored in jsonb columns: keep the body when it is JSON, otherwise wrap it as a JSON string.
    static func jsonOrNil(_ body: String) -> String? {
        guard !body.isEmpty else { return nil }
        if (try? JSONParser.parse(Array(body.utf8))) != nil { return body }
        return JSONCoding.string(body)
    }

    /// A stored certificate's SHA-256 as `RegistrationResult.Key.sha256Fingerprint` writes it (lowercase hex).
    static func hexFingerprint(_ certificate: StoredCertificate) -> String {
        certificate.sha256Fingerprint.replacing(":", with: "").lowercased()
    }

    func registrationRequest(for record: RegistrationRecord, qseal: StoredCertificate, extendedHistory: Bool)
        -> RegistrationRequest
    {
        let fingerprint = Self.hexFingerprint(qseal)
        return RegistrationRequest(
            clientName: record.clientName, redirectURIs: record.redirectURIs, roles: record.roles,
            extendedTransactionHistory: extendedHistory, contact: record.contact, softwareID: record.softwareID,
            logoURI: record.logoURI, clientLegalID: record.clientLegalID,
            providerLegalID: qseal.organizationIdentifier, keyID: "qseal-" + fingerprint.prefix(16),
            certificateURL: publicBaseURL.map { "\($0)/certificates/\(fingerprint).pem" })
    }

    func resolveBank(_ raw: String, environment: Environment, issues: inout [FieldIssue]) -> BankProfile? {
        if raw == "bpce" {
            guard let profile = catalog.bpceRegistrationBank(code: bpceRegistrationBank[environment], for: environment)
            else {
                issues.append(FieldIssue(field: "bank", message: "no BPCE bank offers the \(environment) environment"))
                return nil
            }
            return profile
        }
        guard let id = BankID(raw), let profile = catalog.profile(for: id) else {
            issues.append(FieldIssue(field: "bank", message: "unknown bank (see GET /v1/banks)"))
            return nil
        }
        guard profile.endpoints(for: environment) != nil else {
            issues.append(FieldIssue(field: "environment", message: "\(id) has no \(environment) environment"))
            return nil
        }
        return profile
    }

    func parseRoles(_ raw: [String], issues: inout [FieldIssue]) -> [Role] {
        var roles: [Role] = []
        for (i, r) in raw.enumerated() {
            if let role = Role(rawValue: r) { roles.append(role) } else {
                issues.append(FieldIssue(field: "roles[\(i)]", message: "expected aisp, pisp or cbpii"))
            }
        }
        if raw.isEmpty { issues.append(FieldIssue(field: "roles", message: "at least one role is required")) }
        return roles
    }

    /// The rules of the bank that formats alone do not state (formats: `RegistrationFields`, run when the body
    /// was decoded).
    func validate(contact: RegistrationRequest.Contact, provider: Provider?, issues: inout [FieldIssue]) {
        // BPCE's registration API requires contact.phone_number (seed bpce-89c3-registration-api).
        if provider == .bpce, (contact.phone ?? "").trimmingWhitespace().isEmpty {
            issues.append(FieldIssue(field: "contact.phone", message: "required by BPCE"))
        }
    }

    /// Both certificates exist, are of the right kind and are valid now.
    func checkCertificates(qwac: UUID, qseal: UUID) async throws -> (StoredCertificate, StoredCertificate) {
        let w = try await certificates.get(qwac)
        let s = try await certificates.get(qseal)
        var issues: [FieldIssue] = []
        if w.kind != "qwac" { issues.append(FieldIssue(field: "qwacCertificateId", message: "is a \(w.kind), not a qwac")) }
        if s.kind != "qseal" { issues.append(FieldIssue(field: "qsealCertificateId", message: "is a \(s.kind), not a qseal")) }
        guard issues.isEmpty else { throw GatewayError.refusedFields(issues) }
        let at = now()
        for c in [w, s] where c.notAfter < at {
            throw GatewayError.unprocessable("certificate \(c.id.uuidString.lowercased()) expired on \(RFC3339.string(c.notAfter))")
        }
        return (w, s)
    }
}
