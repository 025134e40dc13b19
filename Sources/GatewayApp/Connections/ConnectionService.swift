import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// Creates connections (the bank's authorization URL with a single-use state and PKCE), finishes them with the code
/// the bank sent back, and reads, lists and revokes them (docs/connections.md). Sealed values never leave it.
public struct ConnectionService: Sendable {
    /// `ConnectionStore` (PostgreSQL), or an in-memory repository in tests.
    let store: any ConnectionRepository
    /// The clients, vault, adapters, settings and clock of the bank calls, shared with the token keeper and the
    /// payment service.
    let bankSide: BankSide

    /// Connections on one page of the list.
    static let pageSize = 50
    /// Connections answered by a reauthorization forecast at most.
    static let forecastLimit = 1000

    // MARK: - Create

    /// What `POST /v1/connections` asks for, validated.
    struct CreateRequest: Sendable {
        var bank: BankID
        var psuReference: String
        var redirectURI: String
        var roles: [Role]
        var registrationID: UUID?
        var environment: Environment?
        var language: String?
    }

    /// A new connection with the secrets only its creator sees once: the authorization URL and the state.
    struct Created: Sendable {
        var record: ConnectionRecord
        var authorizationURL: String
        var state: String
        /// The API view, with the authorization URL and the state.
        var view: ConnectionView
    }

    /// Starts a customer's authorization at `request.bank`.
    /// - Throws: `GatewayError.notFound` (bank, registration), `.validation` (redirect URI not registered, roles),
    ///   `.conflict` (no usable registration, a pending one with its activation time, ambiguous environment).
    func create(_ request: CreateRequest, requestID: String, logger: Logger) async throws -> Created {
        let profile = try bankSide.catalog.require(request.bank)
        let registration = try await pickRegistration(for: request, profile: profile)
        guard registration.redirectURIs.contains(request.redirectURI) else {
            throw GatewayError.refusedFields([
                FieldIssue(field: "redirectUri", message: "is not one of the registration's redirect URIs")
            ])
        }
        let unsupported = request.roles.filter { !profile.roles.contains($0) || !registration.roles.contains($0) }
        guard unsupported.isEmpty else {
            throw GatewayError.refusedFields([
                FieldIssue(
                    field: "roles",
                    message: "not offered by this bank or registration: "
                        + unsupported.map(\.rawValue).joined(separator: ", "))
            ])
        }
        guard let clientID = registration.clientID else {
            throw GatewayError.conflict("registration \(registration.id.uuidString.lowercased()) has no client id")
        }
        let client = try await bankSide.clients.client(for: registration, bank: request.bank)
        let adapter = try bankSide.adapters.adapter(for: request.bank)

        let id = UUID()
        let now = bankSide.now()
        let state = Base64.urlEncode(Random.bytes(32))
        var verifierSealed: [UInt8]?
        var challenge: String?
        if profile.supportsPKCE {
            // RFC 7636 §4.1–4.2: 32 random octets → 43-character verifier; S256 challenge.
            let verifier = Base64.urlEncode(Random.bytes(32))
            challenge = Base64.urlEncode(Digest.sha256(verifier))
            verifierSealed = try bankSide.vault.seal(
                Secret(verifier), owner: ConnectionRecord.sealOwner(id, "pkce_verifier"))
        }
        let url = try await bankCall(request.bank) {
            try adapter.authorizationURL(
                AuthorizationRequest(
                    clientID: clientID, redirectURI: request.redirectURI, state: state, roles: request.roles,
                    extendedTransactionHistory: registration.extendedTransactionHistory, codeChallenge: challenge,
                    language: request.language),
                client: client)
        }
        let record = ConnectionRecord(
            id: id, registrationID: registration.id, bankID: request.bank, environment: registration.environment,
            psuReference: request.psuReference, redirectURI: request.redirectURI, roles: request.roles,
            status: .pendingAuthorization, stateHash: Digest.sha256(state),
            stateExpiresAt: now.addingTimeInterval(bankSide.settings.stateTTLSeconds),
            pkceVerifierSealed: verifierSealed, tokenGeneration: 0, createdAt: now, updatedAt: now)
        try await store.insert(record)
        logger.info(
            "connection created",
            metadata: [
                "connection.id": id.uuidString.lowercased(), "bank": request.bank.description,
                "registration.id": registration.id.uuidString.lowercased(),
            ])
        return Created(
            record: record, authorizationURL: url, state: state,
            view: try await view(of: record, authorizationURL: url, state: state))
    }

    /// The registration a new connection uses: the one named, or the newest active one of the bank's provider
    /// (same brand for Euro-Information, any bank code for group-wide BPCE) in the environment.
    func pickRegistration(for request: CreateRequest, profile: BankProfile) async throws -> RegistrationRecord {
        let now = bankSide.now()
        let provider = request.bank.provider
        // Euro-Information clients are per brand; BPCE registrations are group-wide.
        let sameBank: (RegistrationRecord) -> Bool = { provider == .bpce || $0.bankID == request.bank }
        if let id = request.registrationID {
            guard let registration = try await store.registration(id), registration.status != .deleted,
                registration.provider == provider, sameBank(registration)
            else {
                throw GatewayError.notFound(resource: "registration", id: id.uuidString.lowercased())
            }
            if let environment = request.environment, environment != registration.environment {
                throw GatewayError.refusedFields([
                    FieldIssue(field: "environment", message: "differs from the registration's environment")
                ])
            }
            try Self.requireUsable(registration, now: now)
            return registration
        }
        let environments = request.environment.map { [$0] } ?? profile.environments
        var candidates: [RegistrationRecord] = []
        for environment in environments {
            candidates += try await store.registrations(provider: provider, environment: environment)
                .filter(sameBank)
        }
        let active = candidates.filter { $0.effectiveStatus(at: now) == .active }
        if Set(active.map(\.environment)).count > 1 {
            throw GatewayError.refusedFields([
                FieldIssue(
                    field: "environment",
                    message: "active registrations exist in sandbox and production: give environment or registrationId")
            ])
        }
        if let chosen = active.first { return chosen }
        if let pending = candidates.first(where: { $0.effectiveStatus(at: now) == .pending }) {
            try Self.requireUsable(pending, now: now)
        }
        throw GatewayError.conflict(
            "no active registration for \(request.bank) (\(provider)); register with POST /v1/registrations first")
    }

    /// When the customer must authorize again where the bank gives no refresh lifetime: Euro-Information, after
    /// `PASSERELLE_EI_REAUTHORIZE_DAYS` (docs/connections.md); nil elsewhere or when set to 0.
    static func configuredReauthorizeBy(provider: Provider, authorizedAt: Date, settings: Config.Connections) -> Date? {
        guard provider == .euroInformation, settings.euroInformationReauthorizeDays > 0 else { return nil }
        return authorizedAt.addingTimeInterval(TimeInterval(settings.euroInformationReauthorizeDays) * 86_400)
    }

    /// - Throws: `.conflict` for a registration that is pending (saying when it activates) or failed.
    static func requireUsable(_ registration: RegistrationRecord, now: Date) throws {
        switch registration.effectiveStatus(at: now) {
        case .active: return
        case .pending:
            let when = registration.activatesAt.map { " it activates at \(RFC3339.string($0))" } ?? ""
            throw GatewayError.conflict(
                "registration \(registration.id.uuidString.lowercased()) is pending at the bank;\(when)")
        case .registering, .failed, .deleted:
            throw GatewayError.conflict(
                "registration \(registration.id.uuidString.lowercased()) is \(registration.status)")
        }
    }

    // MARK: - Authorize

    /// Checks `state` against pending connection `id` and consumes it (committed before anything else happens, so
    /// a replay never reaches the bank), applying `change` to the row in the same transaction.
    /// - Throws: `.notFound`; `.conflict` for a wrong or reused state or a connection not pending.
    private func consumeState(
        _ id: UUID, _ state: String, _ change: @Sendable (inout ConnectionRecord) -> Void
    ) async throws -> ConnectionRecord {
        let presented = Digest.sha256(state)
        let at = bankSide.now()
        return try await store.modify(id) { row in
            guard row.status == .pendingAuthorization, let expected = row.stateHash else {
                throw GatewayError.conflict("this connection's state was already used; create a new connection")
            }
            guard ConstantTime.equals(expected, presented) else {
                throw GatewayError.conflict("state does not match this connection")
            }
            row.stateHash = nil
            row.updatedAt = at
            change(&row)
            return row.status == .refused ? row.event(.connectionRefused, reason: row.authorizationError) : nil
        }
    }

    /// Records the bank's redirect error (RFC 6749 §4.1.2.1: the customer refused, or the bank ended the
    /// authorization): checks and consumes the state as `authorize` does, and the connection ends `refused` with
    /// the error kept (sanitized). No bank is called.
    /// - Throws: `.notFound`; `.conflict` for a wrong or reused state or a connection not pending.
    func refuse(_ id: UUID, error: String, description: String?, state: String, logger: Logger) async throws
        -> ConnectionRecord
    {
        let reason = [AdapterError.sanitize(error), AdapterError.sanitize(description)].compactMap { $0 }
        let refused = try await consumeState(id, state) { row in
            row.status = .refused
            row.stateExpiresAt = nil
            row.pkceVerifierSealed = nil
            row.authorizationError = reason.joined(separator: ": ")
        }
        logger.info(
            "connection refused at the bank",
            metadata: ["connection.id": id.uuidString.lowercased(), "bank": refused.bankID.description])
        return refused
    }

    /// Finishes the authorization: checks the state (once, unexpired), exchanges the code, stores the tokens.
    /// The state is consumed (committed) before the bank is called, so a replay never reaches the bank.
    /// - Throws: `.notFound`; `.conflict` for a wrong, reused or expired state or a connection not pending;
    ///   `.upstream` / `.upstreamTimeout` when the bank refuses the code or does not answer.
    func authorize(_ id: UUID, code: String, state: String, requestID: String, logger: Logger) async throws
        -> ConnectionRecord
    {
        // An expired state is consumed too, and refused below, after the commit.
        let claimed = try await consumeState(id, state) { _ in }
        guard let expiresAt = claimed.stateExpiresAt, expiresAt > bankSide.now() else {
            throw GatewayError.conflict("state expired; create a new connection")
        }
        let registration = try await store.registration(claimed.registrationID)
        let client = try await bankSide.clients.client(for: claimed, registration: registration)
        let adapter = try bankSide.adapters.adapter(for: claimed.bankID)
        let verifier = try claimed.pkceVerifierSealed.map {
            try bankSide.vault.open($0, owner: ConnectionRecord.sealOwner(id, "pkce_verifier"))
        }
        let context = bankSide.settings.adapterContext(requestID: requestID, logger: logger)
        let issued: TokenSet
        do {
            issued = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: claimed.redirectURI, codeVerifier: verifier),
                client: client, context: context)
        } catch {
            throw translateBankError(error, bank: claimed.bankID)
        }
        let at = bankSide.now()
        let refreshTokenSeconds = client.bank.tokenDefaults.refreshTokenSeconds
        let authorized = try await store.modify(id) { row in
            guard row.status == .pendingAuthorization else {
                throw GatewayError.conflict("connection is \(row.status)")
            }
            var withLifetime = issued
            if withLifetime.refreshExpiresAt == nil, let seconds = refreshTokenSeconds {
                withLifetime.refreshExpiresAt = at.addingTimeInterval(TimeInterval(seconds))
            }
            try row.holdTokens(withLifetime, vault: bankSide.vault, now: at)
            row.status = .active
            row.authorizedAt = at
            row.reauthorizeBy = withLifetime.refreshExpiresAt ?? Self.configuredReauthorizeBy(
                provider: row.bankID.provider, authorizedAt: at, settings: bankSide.settings)
            row.pkceVerifierSealed = nil
            row.stateExpiresAt = nil
            return row.event(.connectionAuthorized)
        }
        logger.info(
            "connection authorized",
            metadata: ["connection.id": id.uuidString.lowercased(), "bank": authorized.bankID.description])
        return authorized
    }

    /// Finishes the authorization with what the bank's redirect carried: the code (`authorize`) or the error
    /// (`refuse`).
    /// - Returns: The connection as the API shows it.
    /// - Throws: see `authorize` and `refuse`.
    func finishAuthorization(
        _ id: UUID, with redirect: ConnectionAuthorizationBody, requestID: String, logger: Logger
    ) async throws -> ConnectionView {
        let record: ConnectionRecord
        if let error = redirect.error {
            record = try await refuse(
                id, error: error, description: redirect.errorDescription, state: redirect.state, logger: logger)
        } else {
            record = try await authorize(
                id, code: redirect.code ?? "", state: redirect.state, requestID: requestID, logger: logger)
        }
        return try await view(of: record)
    }

    // MARK: - Read, list, revoke

    /// Connection `id`.
    /// - Throws: `.notFound`.
    func get(_ id: UUID) async throws -> ConnectionRecord {
        guard let record = try await store.find(id) else {
            throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
        }
        return record
    }

    /// Connection `id` as the API shows it.
    /// - Throws: `.notFound`.
    func view(_ id: UUID) async throws -> ConnectionView {
        try await view(of: try await get(id))
    }

    /// The API view of `record`, with its unattended budget (`authorizationURL`/`state` only at creation).
    func view(of record: ConnectionRecord, authorizationURL: String? = nil, state: String? = nil) async throws
        -> ConnectionView
    {
        let usage = try await store.unattendedUsage(of: [record], since: windowStart())
        return ConnectionView(
            record, usage: usage[record.id] ?? [], settings: bankSide.settings, authorizationURL: authorizationURL,
            state: state)
    }

    /// `GET /v1/connections`: with `reauthorizeBefore`, the reauthorization forecast; otherwise one page of a
    /// customer's connections (everyone's without `psuReference`).
    /// - Throws: `.refusedFields` for a cursor of another listing or not issued here.
    func list(psuReference: String?, cursor: String?, reauthorizeBefore: Date?) async throws -> ConnectionListView {
        if let reauthorizeBefore {
            return try await reauthorizationForecast(
                before: reauthorizeBefore, psuReference: psuReference, limit: Self.forecastLimit)
        }
        return try await page(psuReference: psuReference, cursor: cursor, pageSize: Self.pageSize)
    }

    /// One page of a customer's connections, newest first, after `cursor` (a `nextCursor` of this listing),
    /// with their budgets read in one query.
    /// - Throws: `.refusedFields` for a cursor of another listing or not issued here.
    func page(psuReference: String?, cursor: String?, pageSize: Int) async throws -> ConnectionListView {
        // Every customer's listing has the reference "" in its cursors (a psuReference is never empty).
        let after = try PSUListing.position(cursor, psuReference: psuReference ?? "")
        let records = try await store.list(
            psuReference: psuReference, after: after.map { (createdAt: $0.0, id: $0.1) }, limit: pageSize + 1)
        let shown = Array(records.prefix(pageSize))
        let next = records.count > pageSize ? shown.last : nil
        return ConnectionListView(
            connections: try await views(of: shown),
            nextCursor: PSUListing.nextCursor(psuReference: psuReference ?? "", after: next.map { ($0.createdAt, $0.id) }))
    }

    /// The active connections to reauthorize before `before`, soonest first, at most `limit` (no cursor: a forecast
    /// is read again rather than paged).
    func reauthorizationForecast(before: Date, psuReference: String?, limit: Int) async throws -> ConnectionListView {
        let records = try await store.dueForReauthorization(before: before, psuReference: psuReference, limit: limit)
        return ConnectionListView(connections: try await views(of: records), nextCursor: nil)
    }

    /// The API views of `records`, their budgets read at once.
    private func views(of records: [ConnectionRecord]) async throws -> [ConnectionView] {
        let usage = try await store.unattendedUsage(of: records, since: windowStart())
        return records.map { ConnectionView($0, usage: usage[$0.id] ?? [], settings: bankSide.settings) }
    }

    /// Where the unattended budget's rolling window starts now.
    private func windowStart() -> Date { bankSide.now().addingTimeInterval(-bankSide.settings.unattendedWindowSeconds) }

    /// Revokes connection `id`: forgets its tokens, state and verifier. Idempotent.
    /// - Throws: `.notFound`.
    func revoke(_ id: UUID, logger: Logger) async throws {
        let at = bankSide.now()
        _ = try await store.modify(id) { row in
            // Revoked already (another replica's DELETE of the same connection, or a repeated one): nothing changes,
            // so no second `connection.revoked`.
            guard row.status != .revoked else { return nil }
            row.dropTokens(becoming: .revoked, at: at)
            row.stateHash = nil
            row.pkceVerifierSealed = nil
            return row.event(.connectionRevoked)
        }
        logger.info("connection revoked", metadata: ["connection.id": id.uuidString.lowercased()])
    }
}
