import FoundationEssentials
import GatewayLogging
import GatewayCore
import HTTPServerKit

/// The connection and account-information routes (openapi/passerelle.yaml): thin handlers that decode, call one
/// `ConnectionService` / `AccountInformationService` method, and encode.
public enum ConnectionsRoutes {
    /// Adds every `/v1/connections…` route.
    public static func add(
        to routes: inout Router.Builder, connections: ConnectionService, accountInformation: AccountInformationService
    ) {
        addConnections(to: &routes, connections)
        addAccountInformation(to: &routes, accountInformation)
    }

    /// Create, list, read, revoke and authorize connections.
    static func addConnections(to routes: inout Router.Builder, _ connections: ConnectionService) {
        routes.add(.post, "/v1/connections") { request, context in
            let body = try JSONCoding.decode(ConnectionCreateBody.self, from: request).validated()
            let created = try await connections.create(body, requestID: context.requestID, logger: context.logger)
            var response = JSONCoding.response(201, created.view)
            response.headers.set("Location", "/v1/connections/\(created.record.id.uuidString.lowercased())")
            return response
        }
        routes.add(.get, "/v1/connections") { request, _ in
            var rules = FieldRules()
            let query = try request.queryParameters(allowed: ["psuReference", "cursor", "reauthorizeBefore"], into: &rules)
            rules.text(query["psuReference"], "psuReference", length: 1...200)
            rules.text(query["cursor"], "cursor", length: 1...4096)
            let before = query["reauthorizeBefore"].map(RFC3339.date)
            if case .some(nil) = before { rules.fail("reauthorizeBefore", "expected an RFC 3339 timestamp") }
            guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
            return JSONCoding.response(
                200,
                try await connections.list(
                    psuReference: query["psuReference"], cursor: query["cursor"], reauthorizeBefore: before ?? nil))
        }
        routes.add(.get, "/v1/connections/{connectionId}") { request, _ in
            JSONCoding.response(200, try await connections.view(try connectionID(request)))
        }
        routes.add(.delete, "/v1/connections/{connectionId}") { request, context in
            try await connections.revoke(try connectionID(request), logger: context.logger)
            return HTTPResponse(status: 204)
        }
        routes.add(.post, "/v1/connections/{connectionId}/authorization") { request, context in
            let id = try connectionID(request)
            let body = try JSONCoding.decode(ConnectionAuthorizationBody.self, from: request)
            return JSONCoding.response(
                200,
                try await connections.finishAuthorization(
                    id, with: body, requestID: context.requestID, logger: context.logger))
        }
    }

    /// Accounts, balances, transactions, consents, trusted beneficiaries, identity.
    static func addAccountInformation(to routes: inout Router.Builder, _ accountInformation: AccountInformationService) {
        struct Beneficiaries: Encodable { var beneficiaries: [Beneficiary] }

        routes.add(.get, "/v1/connections/{connectionId}/accounts") { request, context in
            let accounts = try await accountInformation.accounts(
                connectionID: try connectionID(request), caller: try caller(request, context))
            return .json(200, AccountInformationJSON.accounts(accounts))
        }
        routes.add(.get, "/v1/connections/{connectionId}/accounts/{accountId}/balances") { request, context in
            let balances = try await accountInformation.balances(
                connectionID: try connectionID(request), accountID: try accountID(request),
                caller: try caller(request, context))
            return .json(200, AccountInformationJSON.balances(balances))
        }
        routes.add(.get, "/v1/connections/{connectionId}/accounts/{accountId}/transactions") { request, context in
            var rules = FieldRules()
            let query = try request.queryParameters(allowed: ["from", "to", "cursor"], into: &rules)
            func date(_ name: String) -> CalendarDate? {
                guard let text = query[name] else { return nil }
                guard let date = CalendarDate(text) else {
                    rules.fail(name, "expected a date YYYY-MM-DD")
                    return nil
                }
                return date
            }
            let from = date("from")
            let to = date("to")
            let cursor = query["cursor"]
            rules.text(cursor, "cursor", length: 1...4096)
            guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
            // Well-formed but contradictory: refused on meaning (422), as the document says.
            if let from, let to, to <= from { rules.refuse("to", "must be after from") }
            if cursor != nil, from != nil || to != nil { rules.refuse("cursor", "give either cursor or from/to") }
            guard rules.refusals.isEmpty else { throw GatewayError.refusedFields(rules.refusals) }
            let page = try await accountInformation.transactions(
                connectionID: try connectionID(request), accountID: try accountID(request), from: from, to: to,
                cursor: cursor, caller: try caller(request, context))
            return .json(200, AccountInformationJSON.transactions(page.transactions, nextCursor: page.nextCursor))
        }
        routes.add(.put, "/v1/connections/{connectionId}/consents") { request, context in
            let consents = try JSONCoding.decode(ConsentRequest.self, from: request)
            try await accountInformation.putConsents(
                connectionID: try connectionID(request), consents: consents, caller: try caller(request, context))
            return JSONCoding.response(200, consents)
        }
        routes.add(.get, "/v1/connections/{connectionId}/trusted-beneficiaries") { request, context in
            let list = try await accountInformation.trustedBeneficiaries(
                connectionID: try connectionID(request), caller: try caller(request, context))
            return JSONCoding.response(200, Beneficiaries(beneficiaries: list))
        }
        routes.add(.get, "/v1/connections/{connectionId}/identity") { request, context in
            JSONCoding.response(
                200,
                try await accountInformation.identity(
                    connectionID: try connectionID(request), caller: try caller(request, context)))
        }
    }

    static func connectionID(_ request: HTTPRequest) throws -> UUID {
        let raw = request.pathParameters["connectionId"] ?? ""
        guard let id = UUID(uuidString: raw) else { throw GatewayError.notFound(resource: "connection", id: raw) }
        return id
    }

    /// The bank calls' caller of `request`: its id, its logger and its checked `PSU-*` headers.
    static func caller(_ request: HTTPRequest, _ context: RequestContext) throws -> Caller {
        Caller(requestID: context.requestID, logger: context.logger, psu: try psuContext(request))
    }

    /// The STET `PSU-*` headers, each checked before it is forwarded and signed (an empty one is refused too).
    static func psuContext(_ request: HTTPRequest) throws -> PSUContext {
        var rules = FieldRules()
        let psu = PSUContext(headers: request.headers.fields) { header, name, value in
            switch header {
            case .ipAddress: rules.matches(value, name, .psuIPAddress)
            case .ipPort: rules.matches(value, name, .psuIPPort)
            case .httpMethod: rules.oneOf(value, name, ["GET", "POST", "PUT", "PATCH", "DELETE"])
            default: rules.matches(value, name, .psuHeaderText)
            }
        }
        guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
        return psu
    }

    static func accountID(_ request: HTTPRequest) throws -> String {
        let raw = request.pathParameters["accountId"] ?? ""
        guard InputPattern.accountId.matches(raw) else { throw GatewayError.notFound(resource: "account", id: raw) }
        return raw
    }
}
