import Foundation
import GatewayCore

/// `POST /v1/connections` body (openapi `ConnectionCreate`). `environment` is an optional extension: needed only
/// when active registrations exist in both environments and no `registrationId` is given.
struct ConnectionCreateBody: Decodable {
    var bank: String
    var psuReference: String
    var redirectUri: String
    var roles: [String]?
    var registrationId: String?
    var environment: String?
    var language: String?

    /// The validated request, every problem reported at once.
    /// - Throws: `GatewayError.validation`.
    func validated() throws -> ConnectionService.CreateRequest {
        var issues: [FieldIssue] = []
        let bankID = BankID(bank)
        if bankID == nil {
            issues.append(FieldIssue(field: "bank", message: "expected cmcic:<segment> or bpce:<5-digit code>"))
        }
        let reference = psuReference.trimmingCharacters(in: .whitespaces)
        if reference.isEmpty || reference.count > 200 {
            issues.append(FieldIssue(field: "psuReference", message: "1 to 200 characters"))
        }
        if URLComponents(string: redirectUri)?.scheme == nil {
            issues.append(FieldIssue(field: "redirectUri", message: "must be an absolute URI"))
        }
        var parsedRoles: [Role] = []
        for (index, raw) in (roles ?? ["aisp"]).enumerated() {
            if let role = Role(rawValue: raw) { parsedRoles.append(role) } else {
                issues.append(FieldIssue(field: "roles[\(index)]", message: "expected aisp, pisp or cbpii"))
            }
        }
        if roles?.isEmpty == true { issues.append(FieldIssue(field: "roles", message: "must not be empty")) }
        var registrationID: UUID?
        if let registrationId {
            registrationID = UUID(uuidString: registrationId)
            if registrationID == nil { issues.append(FieldIssue(field: "registrationId", message: "not a UUID")) }
        }
        var env: Environment?
        if let environment {
            env = Environment(rawValue: environment)
            if env == nil { issues.append(FieldIssue(field: "environment", message: "expected sandbox or production")) }
        }
        if let language, language.isEmpty || language.count > 8 || !language.allSatisfy({ $0.isLetter || $0 == "-" }) {
            issues.append(FieldIssue(field: "language", message: "expected a language tag such as fr or en"))
        }
        guard issues.isEmpty, let bankID else { throw GatewayError.validation(issues) }
        return ConnectionService.CreateRequest(
            bank: bankID, psuReference: reference, redirectURI: redirectUri, roles: Array(Set(parsedRoles)).sorted(),
            registrationID: registrationID, environment: env, language: language)
    }
}

/// `POST /v1/connections/{id}/authorization` body.
struct ConnectionAuthorizationBody: Decodable {
    var code: String
    var state: String
}

/// The `Connection` schema: status and lifetimes, never tokens. `authorizationUrl` and `state` only in the
/// creation response (the state is stored as a hash and cannot be shown again).
struct ConnectionView: Encodable {
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
    }

    var id: String
    var bank: BankID
    var environment: Environment
    var registrationId: String
    var psuReference: String
    var status: ConnectionStatus
    var roles: [Role]
    var authorizationUrl: String?
    var state: String?
    var accessExpiresAt: Date?
    var reauthorizeBy: Date?
    var authorizedAt: Date?
    var unattendedBudget: Budget
    var createdAt: Date
    var updatedAt: Date

    init(
        _ r: ConnectionRecord, usage: [UnattendedBudget.Usage], settings: Config.Connections,
        authorizationURL: String? = nil, state: String? = nil
    ) {
        id = r.id.uuidString.lowercased()
        bank = r.bankID
        environment = r.environment
        registrationId = r.registrationID.uuidString.lowercased()
        psuReference = r.psuReference
        status = r.status
        roles = r.roles
        authorizationUrl = authorizationURL
        self.state = state
        accessExpiresAt = r.status == .active ? r.accessExpiresAt : nil
        reauthorizeBy = r.reauthorizeBy
        authorizedAt = r.authorizedAt
        let limit = settings.unattendedLimit
        unattendedBudget = Budget(
            limit: limit, windowSeconds: Int(settings.unattendedWindowSeconds),
            used: usage.map { u in
                Budget.Used(
                    accountId: u.accountID, resource: u.resource, count: u.count, remaining: max(0, limit - u.count),
                    nextAvailableAt: u.count >= limit ? u.oldest.addingTimeInterval(settings.unattendedWindowSeconds) : nil)
            })
        createdAt = r.createdAt
        updatedAt = r.updatedAt
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
