import FoundationEssentials
import GatewayCore

/// `POST /v1/connections` body (openapi `ConnectionCreate`). `environment` is an optional extension: needed only
/// when active registrations exist in both environments and no `registrationId` is given.
struct ConnectionCreateBody: ValidatedBody {
    var bank: String
    var psuReference: String
    var redirectUri: String
    var roles: [String]?
    var registrationId: String?
    var environment: String?
    var language: String?

    func validate(into rules: inout FieldRules) {
        rules.matches(bank, "bank", .bankId)
        rules.text(psuReference, "psuReference", length: 1...200)
        rules.matches(redirectUri, "redirectUri", .redirectURI, maxLength: 2048)
        rules.count(roles, "roles", 1...3)
        for (i, role) in (roles ?? []).enumerated() { rules.oneOf(role, "roles[\(i)]", ["aisp", "pisp", "cbpii"]) }
        rules.uuid(registrationId, "registrationId")
        rules.oneOf(environment, "environment", ["sandbox", "production"])
        rules.matches(language, "language", .languageTag)
    }

    /// The request for the service; `validate` has run (`JSONCoding.decode`), so every field parses.
    /// - Throws: `GatewayError.validation` if it has not.
    func validated() throws -> ConnectionService.CreateRequest {
        guard let bankID = BankID(bank) else {
            throw GatewayError.validation([FieldIssue(field: "bank", message: InputPattern.bankId.hint)])
        }
        let roles = (self.roles ?? ["aisp"]).compactMap(Role.init(rawValue:))
        return ConnectionService.CreateRequest(
            bank: bankID, psuReference: psuReference, redirectURI: redirectUri, roles: Array(Set(roles)).sorted(),
            registrationID: registrationId.flatMap(UUID.init(uuidString:)),
            environment: environment.flatMap(Environment.init(rawValue:)), language: language)
    }
}

/// `POST /v1/connections/{id}/authorization` and `POST /v1/payments/{id}/authorization` body: what the bank's redirect carried — a `code`, or an OAuth
/// `error` (RFC 6749 §4.1.2.1, the customer refused) with its optional `errorDescription` — and the `state`.
struct ConnectionAuthorizationBody: ValidatedBody {
    var code: String?
    var error: String?
    var errorDescription: String?
    var state: String

    func validate(into rules: inout FieldRules) {
        switch (code, error) {
        case (nil, nil): rules.fail("code", "give the code, or the bank's error, from the redirect")
        case (.some, .some): rules.fail("error", "give either code or error, not both")
        default: break
        }
        if errorDescription != nil && error == nil { rules.fail("errorDescription", "only with error") }
        rules.text(code, "code", length: 1...4096)
        rules.matches(error, "error", .oauthError)
        rules.text(errorDescription, "errorDescription", length: 1...1000)
        rules.text(state, "state", length: 1...512)
    }
}

/// The `Connection` schema: status and lifetimes, never tokens. `authorizationUrl` and `state` only in the
/// creation response (the state is stored as a hash and cannot be shown again).
struct ConnectionView: Encodable {
    /// The unattended budget of the connection's accounts and resources in the rolling window.
    struct Budget: Encodable {
        struct Used: Encodable {
            var accountId: String?
            var resource: String
            var count: Int
            var remaining: Int
            var nextAvailableAt: Date?
        }
        var limit: Int
        var windowSeconds: Int
        var used: [Used]

        init(_ usage: [UnattendedUsage], settings: Config.Connections) {
            limit = settings.unattendedLimit
            windowSeconds = Int(settings.unattendedWindowSeconds)
            let window = settings.unattendedWindowSeconds
            used = usage.map { [limit] u in
                Used(
                    accountId: u.accountID, resource: u.resource, count: u.count, remaining: max(0, limit - u.count),
                    nextAvailableAt: u.count >= limit ? u.oldest.addingTimeInterval(window) : nil)
            }
        }
    }

    var record: ConnectionRecord
    var unattendedBudget: Budget
    var authorizationURL: String?
    var state: String?

    init(
        _ record: ConnectionRecord, usage: [UnattendedUsage], settings: Config.Connections,
        authorizationURL: String? = nil, state: String? = nil
    ) {
        self.record = record
        unattendedBudget = Budget(usage, settings: settings)
        self.authorizationURL = authorizationURL
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case id, bank, environment, registrationId, psuReference, status, roles, authorizationUrl, state
        case accessExpiresAt, reauthorizeBy, authorizedAt, authorizationError, connectedPsu, consents
        case unattendedBudget, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(record.id.uuidString.lowercased(), forKey: .id)
        try json.encode(record.bankID, forKey: .bank)
        try json.encode(record.environment, forKey: .environment)
        try json.encode(record.registrationID.uuidString.lowercased(), forKey: .registrationId)
        try json.encode(record.psuReference, forKey: .psuReference)
        try json.encode(record.status, forKey: .status)
        try json.encode(record.roles, forKey: .roles)
        try json.encodeIfPresent(authorizationURL, forKey: .authorizationUrl)
        try json.encodeIfPresent(state, forKey: .state)
        try json.encodeIfPresent(record.status == .active ? record.accessExpiresAt : nil, forKey: .accessExpiresAt)
        try json.encodeIfPresent(record.reauthorizeBy, forKey: .reauthorizeBy)
        try json.encodeIfPresent(record.authorizedAt, forKey: .authorizedAt)
        // When `refused`: the bank's OAuth error and description, as it redirected back (sanitized).
        try json.encodeIfPresent(record.authorizationError, forKey: .authorizationError)
        // The customer's name as the bank gives it (BPCE `connectedPsu`), once the accounts were listed.
        try json.encodeIfPresent(record.connectedPSU, forKey: .connectedPsu)
        // The last consent forwarded to the bank: the IBANs for balances and transactions, and the rest.
        try json.encodeIfPresent(record.consents, forKey: .consents)
        try json.encode(unattendedBudget, forKey: .unattendedBudget)
        try json.encode(record.createdAt, forKey: .createdAt)
        try json.encode(record.updatedAt, forKey: .updatedAt)
    }
}

/// `GET /v1/connections?psuReference=` answer.
struct ConnectionListView: Encodable {
    var connections: [ConnectionView]
    var nextCursor: String?
}

/// Keyset position of the connections list cursor.
struct ConnectionListCursor: Codable {
    var p: String
    var t: Double
    var i: String
}

/// `PUT /v1/connections/{id}/consents`: IBANs are checked before anything is sent to the bank.
extension ConsentRequest: ValidatedBody {
    func validate(into rules: inout FieldRules) {
        rules.count(balances, "balances", 0...100)
        rules.count(transactions, "transactions", 0...100)
        for (i, iban) in balances.enumerated() { rules.iban(iban, "balances[\(i)]") }
        for (i, iban) in transactions.enumerated() { rules.iban(iban, "transactions[\(i)]") }
    }
}
