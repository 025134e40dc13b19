import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// Payment initiation (docs/payments.md): creates payments at most once at the bank, follows the customer's
/// approval, confirms, refreshes and cancels them. The payment row and the identifiers sent to the bank are
/// committed before the bank call; an ambiguous outcome makes the payment `unknown`, and nothing ever POSTs it again:
/// the reconciler (`PaymentReconciler`) resolves it from the bank or leaves it for an operator.
public struct PaymentService: Sendable {
    let store: any PaymentRepository
    let tokens: ClientCredentialsTokens
    /// Picks registrations and reads connections (its repository), and carries the bank side.
    let connections: ConnectionService
    /// The clients, adapters, catalog, vault, connection settings and clock, the connection service's.
    var bankSide: BankSide { connections.bankSide }
    /// The customer's token of a connection, for a funds check by connection (`TokenKeeper`).
    let accessTokens: any ConnectionAccessTokens
    let settings: Config.Payments
    /// The `Idempotency-Key` rules of the payment POSTs.
    let idempotency: IdempotencyKeys
    var now: @Sendable () -> Date { bankSide.now }
    let logger: Logger

    /// - Parameters:
    ///   - store: `PaymentStore` (PostgreSQL), or an in-memory repository in tests.
    ///   - idempotencyKeys: Where `Idempotency-Key` claims and answers are kept.
    ///   - clientTokens: Where client-credentials tokens are kept.
    ///   - connections: The connection service over the same registrations and bank side.
    ///   - accessTokens: The customer's token of a connection (`TokenKeeper`).
    ///   - settings: `Config.payments`.
    ///   - logger: Receives the reconciler's and the token issuer's lines (never secrets).
    init(
        store: any PaymentRepository, idempotencyKeys: any IdempotencyKeyRepository,
        clientTokens: any ClientTokenRepository, connections: ConnectionService,
        accessTokens: any ConnectionAccessTokens, settings: Config.Payments, logger: Logger
    ) {
        self.store = store
        self.connections = connections
        self.accessTokens = accessTokens
        self.settings = settings
        self.logger = logger
        let bankSide = connections.bankSide
        self.tokens = ClientCredentialsTokens(
            store: clientTokens, vault: bankSide.vault, refreshMargin: bankSide.settings.refreshMarginSeconds,
            now: bankSide.now, logger: logger)
        self.idempotency = IdempotencyKeys(
            store: idempotencyKeys, vault: bankSide.vault, now: bankSide.now,
            staleAfter: settings.staleAfterSeconds)
    }

    /// What `POST /v1/payments` asks for, validated.
    struct CreateRequest: Sendable {
        var bank: BankID
        var registrationID: UUID?
        var psuReference: String
        var debtorIBAN: String?
        var creditorName: String
        var creditorIBAN: String
        var creditorBIC: String?
        var amount: DecimalAmount
        var currency: String
        var remittance: String
        var endToEndID: String?
        var requestedExecutionDate: CalendarDate?
        var instant: Bool
        var redirectURI: String
    }

    /// A payment and, at creation only, the URL sending the customer to approve it.
    struct Outcome: Sendable {
        var record: PaymentRecord
        var authorizationURL: String?
    }

    // MARK: - Create

    /// Creates the payment at the bank, at most once: see the type's documentation.
    /// - Throws: `.notFound` (bank, registration), `.refusedFields` (redirect URI, role), `.conflict` (no usable
    ///   registration, an `endToEndId` already used), `.unsupportedByBank`, the bank's refusal (`.upstream`) — the
    ///   payment is then `rejected`. An ambiguous bank outcome is not an error: the payment is `unknown`.
    /// - Parameters:
    ///   - principal: The API key's principal and `idempotencyKey` the request's `Idempotency-Key`, stored with
    ///     the payment: a request taken over after a crash finds it by them.
    func create(_ request: CreateRequest, principal: String, idempotencyKey: String, caller: Caller) async throws
        -> Outcome
    {
        // A claim taken over after a crash: what the first attempt committed is the answer, never a second payment.
        if let existing = try await store.find(principal: principal, idempotencyKey: idempotencyKey) {
            return Outcome(record: try await settle(existing, logger: caller.logger), authorizationURL: nil)
        }
        let profile = try bankSide.catalog.require(request.bank)
        let registration = try await connections.pickRegistration(
            for: ConnectionService.CreateRequest(
                bank: request.bank, psuReference: request.psuReference, redirectURI: request.redirectURI,
                roles: [.pisp], registrationID: request.registrationID),
            profile: profile)
        guard registration.redirectURIs.contains(request.redirectURI) else {
            throw GatewayError.refusedFields([
                FieldIssue(field: "redirectUri", message: "is not one of the registration's redirect URIs")
            ])
        }
        guard profile.roles.contains(.pisp), registration.roles.contains(.pisp) else {
            throw GatewayError.refusedFields([
                FieldIssue(field: "bank", message: "the bank or the registration does not offer the pisp role")
            ])
        }
        guard let clientID = registration.clientID else {
            throw GatewayError.conflict("registration \(registration.id.uuidString.lowercased()) has no client id")
        }
        let client = try await bankSide.clients.client(for: registration, bank: request.bank)
        let adapter = try paymentAdapter(request.bank)
        let context = bankSide.settings.adapterContext(for: caller)
        var token = try await tokens.token(
            scope: "pisp", registration: registration.id, client: client, adapter: adapter, context: context)

        let createdAt = now()
        let id = UUID()
        let order = PaymentOrder(
            paymentInformationID: Self.identifier("P"), instructionID: Self.identifier("I"),
            endToEndID: request.endToEndID ?? Self.identifier("E"), createdAt: createdAt,
            initiatingParty: registration.clientName, debtorIBAN: request.debtorIBAN,
            creditorName: request.creditorName, creditorIBAN: request.creditorIBAN, creditorBIC: request.creditorBIC,
            amount: request.amount, currency: request.currency, remittance: request.remittance,
            requestedExecutionDate: request.requestedExecutionDate, instant: request.instant,
            redirectURI: request.redirectURI)
        var record = PaymentRecord(
            id: id, principal: principal, idempotencyKey: idempotencyKey,
            registrationID: registration.id, bankID: request.bank, environment: registration.environment,
            psuReference: request.psuReference, redirectURI: request.redirectURI, status: .submitting, order: order,
            nextCheckAt: createdAt.addingTimeInterval(settings.staleAfterSeconds), createdAt: createdAt,
            updatedAt: createdAt)
        // Committed before the bank is called: a crash from here on leaves a row the reconciler turns `unknown`.
        try await store.insert(record)
        caller.logger.info(
            "payment submitting",
            metadata: ["payment.id": id.uuidString.lowercased(), "bank": request.bank.description])

        var submission: PaymentSubmission?
        var failure: (any Error)?
        for attempt in 0..<2 {
            do {
                submission = try await adapter.submitPayment(order, token: token, client: client, context: context)
                break
            } catch AdapterError.tokenExpired where attempt == 0 {
                // A 401 is a definite refusal (the bank did not act): one new token, one more try.
                token = try await tokens.token(
                    scope: "pisp", registration: registration.id, client: client, adapter: adapter, context: context,
                    replacing: token)
            } catch {
                failure = error
                break
            }
        }
        if let submission {
            let state = Base64.urlEncode(Random.bytes(32))
            var challenge: String?
            if profile.supportsPKCE {
                let verifier = Base64.urlEncode(Random.bytes(32))
                challenge = Base64.urlEncode(Digest.sha256(verifier))
                record.pkceVerifierSealed = try bankSide.vault.seal(
                    Secret(verifier), owner: PaymentRecord.sealOwner(id, "pkce_verifier"))
            }
            let url = try await bankCall(request.bank) {
                try adapter.paymentApprovalURL(
                    submission.approvalURL,
                    AuthorizationRequest(
                        clientID: clientID, redirectURI: request.redirectURI, state: state, roles: [.pisp],
                        codeChallenge: challenge),
                    client: client)
            }
            record.bankResourceID = submission.resourceID
            record.bankLocation = submission.location
            record.approvalURL = submission.approvalURL
            record.status = .authorizationRequired
            record.stateHash = Digest.sha256(state)
            record.stateExpiresAt = now().addingTimeInterval(bankSide.settings.stateTTLSeconds)
            record.nextCheckAt = nil
            record.updatedAt = now()
            let stored = record
            _ = try await store.modify(id) { row in row = stored }
            caller.logger.info(
                "payment created at the bank",
                metadata: ["payment.id": id.uuidString.lowercased(), "bank": request.bank.description])
            return Outcome(record: record, authorizationURL: url)
        }
        let error = failure ?? AdapterError.invalidResponse(reason: "no answer")
        if Self.isAmbiguous(error) {
            record.status = .unknown
            record.statusDetail = "the bank's answer to the payment request was lost (\(Self.describe(error))); "
                + "it is never sent again: the reconciler resolves it or an operator does"
            record.nextCheckAt = now()
        } else {
            record.status = .rejected
            record.statusDetail = "the bank refused the payment request: \(Self.describe(error))"
            record.nextCheckAt = nil
            if case .rejected(_, let code, _) = error as? AdapterError { record.bankStatusReason = code }
        }
        record.updatedAt = now()
        let stored = record
        _ = try await store.modify(id) { row in row = stored }
        caller.logger.warning(
            record.status == .unknown ? "payment outcome unknown" : "payment refused by the bank",
            metadata: [
                "payment.id": id.uuidString.lowercased(), "bank": request.bank.description,
                "error": Self.describe(error),
            ])
        if record.status == .rejected { throw translateBankError(error, bank: request.bank) }
        return Outcome(record: record, authorizationURL: nil)
    }

    /// `<prefix>` + 32 lowercase hex digits: 33 characters, within ISO 20022's 35, unique (random 128 bits).
    static func identifier(_ prefix: String) -> String {
        prefix + Hex.encode(Random.bytes(16))
    }

    /// Whether the bank may have acted although we have no answer: a timeout, a broken connection, a 5xx, an
    /// unreadable 2xx, a cancelled call. Such a payment is `unknown`, never sent again.
    static func isAmbiguous(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        guard let adapterError = error as? AdapterError else { return true }
        switch adapterError {
        case .timeout, .transport, .unavailable, .invalidResponse: return true
        default: return false
        }
    }

    static func describe(_ error: any Error) -> String {
        if let adapterError = error as? AdapterError { return adapterError.description }
        if error is CancellationError { return "cancelled" }
        return String(describing: type(of: error))
    }

    func paymentAdapter(_ bank: BankID) throws -> any PaymentAdapter {
        guard let adapter = try bankSide.adapters.adapter(for: bank) as? any PaymentAdapter else {
            throw GatewayError.unsupportedByBank(bank: bank, feature: "payment initiation")
        }
        return adapter
    }

    // MARK: - Read

    /// Payment `id`, refreshed from the bank when it is not final (a failure to refresh keeps the stored status).
    /// - Throws: `.notFound`.
    func get(_ id: UUID, logger: Logger) async throws -> PaymentRecord {
        guard let record = try await store.find(id) else {
            throw GatewayError.notFound(resource: "payment", id: id.uuidString.lowercased())
        }
        return try await settle(record, logger: logger)
    }

    /// `record`, brought up to date: a `submitting` row older than the stale delay (its process died) becomes
    /// `unknown`; a non-final payment known to the bank is read from it.
    func settle(_ record: PaymentRecord, logger: Logger) async throws -> PaymentRecord {
        if record.status == .submitting {
            guard record.createdAt < now().addingTimeInterval(-settings.staleAfterSeconds) else { return record }
            return try await markUnknownIfSubmitting(record.id)
        }
        guard !record.isFinalOrAwaitingCustomer, record.bankResourceID != nil else { return record }
        do {
            return try await refresh(record, logger: logger)
        } catch {
            logger.info(
                "payment status not refreshed",
                metadata: ["payment.id": record.id.uuidString.lowercased(), "error": "\(error)"])
            return record
        }
    }

    /// A `submitting` payment whose process died during the bank call: `unknown`, never sent again.
    func markUnknownIfSubmitting(_ id: UUID) async throws -> PaymentRecord {
        try await store.modify(id) { [now] row in
            guard row.status == .submitting else { return }
            row.status = .unknown
            row.statusDetail = "the process sending the payment request stopped before the bank's answer; "
                + "it is never sent again: the reconciler resolves it or an operator does"
            row.nextCheckAt = now()
            row.updatedAt = now()
        }
    }

    /// Reads the payment's status at the bank (client-credentials `pisp` token) and stores it.
    func refresh(_ record: PaymentRecord, logger: Logger) async throws -> PaymentRecord {
        guard let resourceID = record.bankResourceID else { return record }
        let bank = try await bankStatus(record, logger: logger) { adapter, token, client, context in
            try await adapter.paymentStatus(resourceID: resourceID, token: token, client: client, context: context)
        }
        return try await store.modify(record.id) { [now] row in
            let wasUnknown = row.status == .unknown
            row.apply(bank, now: now())
            if wasUnknown, row.status == .authorizationRequired, row.stateHash == nil {
                // Created at the bank but its approval URL never reached the caller: it cannot be approved.
                row.statusDetail = "resolved at the bank; the approval link was never handed out"
            }
            row.nextCheckAt = row.status == .unknown ? row.nextCheckAt : nil
        }
    }

    /// Runs one client-credentials `pisp` call for `record`, with one retry on a refused token.
    func bankStatus(
        _ record: PaymentRecord, logger: Logger,
        _ body: (any PaymentAdapter, Secret<String>, BankClient, AdapterContext) async throws -> PaymentBankStatus
    ) async throws -> PaymentBankStatus {
        guard let registration = try await connections.store.registration(record.registrationID),
            registration.status != .deleted
        else { throw GatewayError.conflict("the registration of this payment no longer exists") }
        let client = try await bankSide.clients.client(for: registration, bank: record.bankID)
        let adapter = try paymentAdapter(record.bankID)
        let context = bankSide.settings.adapterContext(requestID: "-", logger: logger)
        let token = try await tokens.token(
            scope: "pisp", registration: registration.id, client: client, adapter: adapter, context: context)
        do {
            return try await body(adapter, token, client, context)
        } catch AdapterError.tokenExpired {
            let renewed = try await tokens.token(
                scope: "pisp", registration: registration.id, client: client, adapter: adapter, context: context,
                replacing: token)
            return try await bankCall(record.bankID) { try await body(adapter, renewed, client, context) }
        } catch {
            throw translateBankError(error, bank: record.bankID)
        }
    }
}

extension PaymentRecord {
    /// Final, or waiting for the customer at the bank (nothing to refresh until the approval comes back).
    var isFinalOrAwaitingCustomer: Bool { status.isFinal || (status == .authorizationRequired && !confirmed) }
}
