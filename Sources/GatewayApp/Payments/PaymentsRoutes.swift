import FoundationEssentials
import GatewayCore
import GatewayLogging
import HTTPServerKit

/// The payment and funds-confirmation routes (openapi/passerelle.yaml, docs/payments.md): thin handlers that
/// decode, run under the `Idempotency-Key` rules (`IdempotencyKeys`) and call one `PaymentService` method.
public enum PaymentsRoutes {
    static let pageSize = 50

    /// Adds every `/v1/payments…` route and `/v1/funds-confirmations`.
    public static func add(to routes: inout Router.Builder, payments: PaymentService) {
        /// The `Idempotency-Key` is checked first, then the PSU headers, then the body.
        @Sendable func caller(_ request: HTTPRequest, _ context: RequestContext) throws
            -> (key: String, caller: Caller)
        {
            (try IdempotencyKeys.key(of: request), try ConnectionsRoutes.caller(request, context))
        }

        routes.add(.post, "/v1/payments") { request, context in
            let (key, who) = try caller(request, context)
            let body = try JSONCoding.decode(PaymentCreateBody.self, from: request).validated()
            return try await payments.idempotency.run(request, context: context) {
                let outcome = try await payments.create(
                    body, principal: context.principal ?? "-", idempotencyKey: key, caller: who)
                // 201 once the bank has the payment; 202 while its outcome is not known (docs/payments.md).
                let status = outcome.record.status == .unknown || outcome.record.status == .submitting ? 202 : 201
                var response = JSONCoding.response(
                    status, PaymentView(outcome.record, authorizationURL: outcome.authorizationURL))
                response.headers.set("Location", "/v1/payments/\(outcome.record.id.uuidString.lowercased())")
                return response
            }
        }
        routes.add(.get, "/v1/payments") { request, _ in
            let (reference, cursor) = try PSUListing.query(request)
            let page = try await payments.page(psuReference: reference, cursor: cursor, pageSize: pageSize)
            return JSONCoding.response(
                200, PaymentListView(payments: page.records.map { PaymentView($0) }, nextCursor: page.nextCursor))
        }
        routes.add(.get, "/v1/payments/{paymentId}") { request, context in
            JSONCoding.response(200, PaymentView(try await payments.get(try paymentID(request), logger: context.logger)))
        }
        routes.add(.post, "/v1/payments/{paymentId}/authorization") { request, context in
            let id = try paymentID(request)
            let who = try caller(request, context).caller
            let body = try JSONCoding.decode(ConnectionAuthorizationBody.self, from: request)
            return try await payments.idempotency.run(request, context: context) {
                let record = try await payments.authorize(
                    id, code: body.code, error: body.error, errorDescription: body.errorDescription, state: body.state,
                    caller: who)
                return JSONCoding.response(200, PaymentView(record))
            }
        }
        routes.add(.post, "/v1/payments/{paymentId}/cancellation") { request, context in
            let id = try paymentID(request)
            let who = try caller(request, context).caller
            if !request.body.isEmpty { _ = try JSONCoding.decode(EmptyBody.self, from: request) }
            return try await payments.idempotency.run(request, context: context) {
                JSONCoding.response(200, PaymentView(try await payments.cancel(id, caller: who)))
            }
        }
        routes.add(.post, "/v1/funds-confirmations") { request, context in
            let who = try caller(request, context).caller
            let body = try JSONCoding.decode(FundsConfirmationBody.self, from: request).validated()
            return try await payments.idempotency.run(request, context: context) {
                JSONCoding.response(200, FundsAnswer(available: try await payments.confirmFunds(body, caller: who)))
            }
        }
    }

    struct FundsAnswer: Encodable { var available: Bool }

    /// `{}`: the cancellation takes no field.
    struct EmptyBody: ValidatedBody {
        func validate(into rules: inout FieldRules) {}
    }

    static func paymentID(_ request: HTTPRequest) throws -> UUID {
        let raw = request.pathParameters["paymentId"] ?? ""
        guard let id = UUID(uuidString: raw) else { throw GatewayError.notFound(resource: "payment", id: raw) }
        return id
    }
}
