import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import PostgresKit

/// Creates connections (the bank's authorization URL with a single-use state and PKCE), finishes them with the code
/// the bank sent back, and reads, lists and revokes them (docs/connections.md). Sealed values never leave it.
public struct ConnectionService: Sendable {
    let deps: ConnectionDependencies

    /// - Parameter deps: Storage, vault, adapters, settings and clock.
    public init(deps: ConnectionDependencies) { self.deps = deps }

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
    }

    /// Starts a customer's authorization at `request.bank`.
    /// - Throws: `GatewayError.notFound` (bank, registration), `.validation` (redirect URI not registered, roles),
    ///   `.conflict` (no usable registration, a pending one with its activation time, ambiguous environment).
    func create(_ request: CreateRequest, requestID: String, logger: Logger) async throws -> Created {
        let profile = try deps.catalog.require(request.bank)
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
        let client = try await deps.clients.client(for: registration, bank: request.bank)
        let adapter = try deps.adapters.adapter(for: request.bank)

        let id = UUID()
        let now = deps.now()
        let state = Base64.urlEncode(Random.bytes(32))
        var verifierSealed: [UInt8]?
        var challenge: String?
        if profile.supportsPKCE {
            // RFC 7636 §4.1–4.2: 32 random octets → 43-character verifier; S256 challenge.
            let verifier = Base64.urlEncode(Random.bytes(32))
            challenge = Base64.urlEncode(Digest.sha256(verifier))
            verifierSealed = try deps.vault.seal(Secret(verifier), owner: ConnectionRecord.sealOwner(id, "pkce_verifier"))
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
            stateExpiresAt: now.addingTimeInterval(deps.settings.stateTTLSeconds), pkceVerifierSealed: verifierSealed,
            tokenGeneration: 0, createdAt: now, updatedAt: now)
        try await deps.store.insert(record)
        logger.info(
            "connection created",
            metadata: [
                "connection.id": id.uuidString.lowercased(), "bank": request.bank.description,
                "registration.id": registration.id.uuidString.lowercased(),
            ])
        return Created(record: record, authorizationURL: url, state: state)
    }

    /// The registration a new connection uses: the one named, or the newest active one of the bank's provider
    /// (same brand for Euro-Information, any bank code for group-wide BPCE) in the environment.
    func pickRegistration(for request: CreateRequest, profile: BankProfile) async throws -> RegistrationRecord {
        let now = deps.now()
        let provider = request.bank.provider
        // Euro-Information clients are per brand; BPCE registrations are group-wide.
        let sameBank: (RegistrationRecord) -> Bool = { provider == .bpce || $0.bankID == request.bank }
        if let id = request.registrationID {
            guard let registration = try await deps.registrations.find(id), registration.status != .deleted,
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
            candidates += try await deps.registrations.candidates(provider: provider, environment: environment)
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
        return try await deps.store.withLockedRow(id) { locked, tx in
            guard var row = locked else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            guard row.status == .pendingAuthorization, let expected = row.stateHash else {
                throw GatewayError.conflict("this connection's state was already used; create a new connection")
            }
            guard ConstantTime.equals(expected, presented) else {
                throw GatewayError.conflict("state does not match this connection")
            }
            row.stateHash = nil
            row.updatedAt = deps.now()
            change(&row)
            try await deps.store.update(row, on: tx)
            if row.status == .refused {
                try await EventOutbox.append(
                    row.event(.connectionRefused, reason: row.authorizationError), at: row.updatedAt, on: tx)
            }
            return row
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
        let now = deps.now()
        guard let expiresAt = claimed.stateExpiresAt, expiresAt > now else {
            throw GatewayError.conflict("state expired; create a new connection")
        }
        let client = try await deps.client(for: claimed)
        let adapter = try deps.adapters.adapter(for: claimed.bankID)
        let verifier = try claimed.pkceVerifierSealed.map {
            try deps.vault.open($0, owner: ConnectionRecord.sealOwner(id, "pkce_verifier"))
        }
        let context = deps.adapterContext(requestID: requestID, logger: logger)
        let issued: TokenSet
        do {
            issued = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: claimed.redirectURI, codeVerifier: verifier),
                client: client, context: context)
        } catch {
            throw translateBankError(error, bank: claimed.bankID)
        }
        return try await deps.store.withLockedRow(id) { locked, tx in
            guard var row = locked else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            guard row.status == .pendingAuthorization else {
                throw GatewayError.conflict("connection is \(row.status)")
            }
            let now = deps.now()
            var withLifetime = issued
            if withLifetime.refreshExpiresAt == nil, let seconds = client.bank.tokenDefaults.refreshTokenSeconds {
                withLifetime.refreshExpiresAt = now.addingTimeInterval(TimeInterval(seconds))
            }
            try deps.tokens.store(withLifetime, in: &row, now: now)
            row.status = .active
            row.authorizedAt = now
            row.reauthorizeBy = withLifetime.refreshExpiresAt ?? Self.configuredReauthorizeBy(
                provider: row.bankID.provider, authorizedAt: now, settings: deps.settings)
            row.pkceVerifierSealed = nil
            row.stateExpiresAt = nil
            try await deps.store.update(row, on: tx)
            try await EventOutbox.append(row.event(.connectionAuthorized), at: now, on: tx)
            logger.info(
                "connection authorized",
                metadata: ["connection.id": id.uuidString.lowercased(), "bank": row.bankID.description])
            return row
        }
    }

    // MARK: - Read, list, revoke

    /// Connection `id`.
    /// - Throws: `.notFound`.
    func get(_ id: UUID) async throws -> ConnectionRecord {
        guard let record = try await deps.store.find(id) else {
            throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
        }
        return record
    }

    /// The API view of `record`, with its unattended budget (`authorizationURL`/`state` only at creation).
    func view(_ record: ConnectionRecord, authorizationURL: String? = nil, state: String? = nil) async throws
        -> ConnectionView
    {
        let usage = try await deps.budget.usage(of: record)
        return ConnectionView(
            record, usage: usage, settings: deps.settings, authorizationURL: authorizationURL, state: state)
    }

    /// One page of a customer's connections, newest first, after `cursor` (a `nextCursor` of this listing),
    /// with their budgets read in one query.
    /// - Throws: `.refusedFields` for a cursor of another listing or not issued here.
    func page(psuReference: String?, cursor: String?, pageSize: Int) async throws -> ConnectionListView {
        // Every customer's listing has the reference "" in its cursors (a psuReference is never empty).
        let after = try PSUListing.position(cursor, psuReference: psuReference ?? "")
        let records = try await deps.store.list(psuReference: psuReference, after: after, limit: pageSize + 1)
        let shown = Array(records.prefix(pageSize))
        let usage = try await deps.budget.usage(of: shown)
        let views = shown.map { ConnectionView($0, usage: usage[$0.id] ?? [], settings: deps.settings) }
        let next = records.count > pageSize ? shown.last : nil
        return ConnectionListView(
            connections: views,
            nextCursor: PSUListing.nextCursor(psuReference: psuReference ?? "", after: next.map { ($0.createdAt, $0.id) }))
    }

    /// The active connections to reauthorize before `before`, soonest first, at most `limit` (no cursor: a forecast
    /// is read again rather than paged).
    func reauthorizationForecast(before: Date, psuReference: String?, limit: Int) async throws -> ConnectionListView {
        let records = try await deps.store.dueForReauthorization(before: before, psuReference: psuReference, limit: limit)
        let usage = try await deps.budget.usage(of: records)
        return ConnectionListView(
            connections: records.map { ConnectionView($0, usage: usage[$0.id] ?? [], settings: deps.settings) },
            nextCursor: nil)
    }

    /// Revokes connection `id`: forgets its tokens, state and verifier. Idempotent.
    /// - Throws: `.notFound`.
    func revoke(_ id: UUID, logger: Logger) async throws {
        try await deps.store.withLockedRow(id) { locked, tx in
            guard var row = locked else {
                throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
            }
            // Revoked already (another replica's DELETE of the same connection, or a repeated one): nothing changes,
            // so no second `connection.revoked`.
            guard row.status != .revoked else { return }
            row.dropTokens(becoming: .revoked, at: deps.now())
            row.stateHash = nil
            row.pkceVerifierSealed = nil
            try await deps.store.update(row, on: tx)
            try await EventOutbox.append(row.event(.connectionRevoked), at: row.updatedAt, on: tx)
        }
        logger.info("connection revoked", metadata: ["connection.id": id.uuidString.lowercased()])
    }
}
