import Foundation
import GatewayLogging
import GatewayCore
import HTTPServerKit

/// The connection and account-information routes (internal-api.md): thin handlers that decode, call
/// `ConnectionService` / `AccountInformationService`, and encode.
public enum ConnectionsRoutes {
    static let pageSize = 50

    /// Adds every `/v1/connections…` route.
    public static func add(
        to routes: inout Router.Builder, connections: ConnectionService, accountInformation: AccountInformationService
    ) {
        let settings = connections.deps.settings
        @Sendable func view(_ record: ConnectionRecord, url: String? = nil, state: String? = nil) async throws -> ConnectionView {
            let usage = try await connections.budget.usage(connectionID: record.id)
            return ConnectionView(record, usage: usage, settings: settings, authorizationURL: url, state: state)
        }

        routes.add(.post, "/v1/connections") { request, context in
            let body = try JSONCoding.decode(ConnectionCreateBody.self, from: request).validated()
            let created = try await connections.create(body, requestID: context.requestID, logger: context.logger)
            var response = JSONCoding.response(
                201, try await view(created.record, url: created.authorizationURL, state: created.state))
            response.headers.set("Location", "/v1/connections/\(created.record.id.uuidString.lowercased())")
            return response
        }
        routes.add(.get, "/v1/connections") { request, _ in
            var rules = FieldRules()
            let query = try request.queryParameters(allowed: ["psuReference", "cursor"], into: &rules)
            if query["psuReference"] == nil { rules.fail("psuReference", "is required") }
            rules.text(query["psuReference"], "psuReference", length: 1...200)
            rules.text(query["cursor"], "cursor", length: 1...4096)
            guard rules.issues.isEmpty, let reference = query["psuReference"] else {
                throw GatewayError.validation(rules.issues)
            }
            var after: (Date, UUID)?
            if let cursor = query["cursor"] {
                let position = try OpaqueCursor.decode(ConnectionListCursor.self, from: cursor)
                guard position.p == reference, let id = UUID(uuidString: position.i) else {
                    throw GatewayError.refusedFields([FieldIssue(field: "cursor", message: "belongs to another listing")])
                }
                after = (Date(timeIntervalSince1970: position.t), id)
            }
            let records = try await connections.list(psuReference: reference, after: after, limit: pageSize + 1)
            var views: [ConnectionView] = []
            for record in records.prefix(pageSize) { views.append(try await view(record)) }
            let next = records.count > pageSize ? records[pageSize - 1] : nil
            return JSONCoding.response(
                200,
                ConnectionListView(
                    connections: views,
                    nextCursor: next.map {
                        OpaqueCursor.encode(
                            ConnectionListCursor(
                                p: reference, t: $0.createdAt.timeIntervalSince1970, i: $0.id.uuidString.lowercased()))
                    }))
        }
        routes.add(.get, "/v1/connections/{connectionId}") { request, _ in
            JSONCoding.response(200, try await view(try await connections.get(try connectionID(request))))
        }
        routes.add(.delete, "/v1/connections/{connectionId}") { request, context in
            try await connections.revoke(try connectionID(request), logger: context.logger)
            return HTTPResponse(status: 204)
        }
        routes.add(.post, "/v1/connections/{connectionId}/authorization") { request, context in
            let id = try connectionID(request)
            let body = try JSONCoding.decode(ConnectionAuthorizationBody.self, from: request)
            let record = try await connections.authorize(
                id, code: body.code, state: body.state, requestID: context.requestID, logger: context.logger)
            return JSONCoding.response(200, try await view(record))
        }

        // MARK: account information

        @Sendable func caller(_ request: HTTPRequest, _ context: RequestContext) throws -> AccountInformationService.Caller {
            AccountInformationService.Caller(
                requestID: context.requestID, logger: context.logger, psu: try psuContext(request))
        }
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

    /// The STET `PSU-*` headers, each checked before it is forwarded and signed (an empty one is refused too).
    static func psuContext(_ request: HTTPRequest) throws -> PSUContext {
        var rules = FieldRules()
        for (name, value) in request.headers where ASCII.hasPrefixIgnoringCase(name, "psu-") {
            let pattern: InputPattern
            if ASCII.equalsIgnoringCase(name, "PSU-IP-Address") {
                pattern = .psuIPAddress
            } else if ASCII.equalsIgnoringCase(name, "PSU-IP-Port") {
                pattern = .psuIPPort
            } else if ASCII.equalsIgnoringCase(name, "PSU-HTTP-Method") {
                rules.oneOf(value, name, ["GET", "POST", "PUT", "PATCH", "DELETE"])
                continue
            } else {
                pattern = .psuHeaderText
            }
            rules.matches(value, name, pattern)
        }
        guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
        return PSUContext(headers: request.headers.fields)
    }

    static func accountID(_ request: HTTPRequest) throws -> String {
        let raw = request.pathParameters["accountId"] ?? ""
        guard InputPattern.accountId.matches(raw) else { throw GatewayError.notFound(resource: "account", id: raw) }
        return raw
    }
}
