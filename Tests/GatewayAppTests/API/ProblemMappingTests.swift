import GatewayCore
import HTTPServerKit
import Testing

@testable import GatewayApp

/// The one edge mapping from `GatewayError` to an RFC 9457 problem (`GatewayError+Problem.swift`).
@Suite struct ProblemMappingTests {
    @Test func rendersABankErrorWithTheBanksCode() throws {
        let bank = BankID("cmcic:cic")!
        let problem = GatewayError.upstream(bank: bank, .rejected(status: 400, code: "invalid_redirect_uri", message: "bad uri"))
            .problem(instance: "/v1/registrations", requestID: "req-1")
        let json = problem.json
        #expect(json.contains(#""type":"/problems/bank-error""#))
        #expect(json.contains(#""status":502"#))
        #expect(json.contains(#""bank":{"code":"invalid_redirect_uri","httpStatus":400,"id":"cmcic:cic","message":"bad uri"}"#))
        #expect(json.contains(#""requestId":"req-1""#))
        #expect(!json.contains("errors"))
    }

    @Test func rendersValidationIssuesRetryAfterAndHidesInternalDetail() {
        let validation = GatewayError.validation([FieldIssue(field: "redirectUris[0]", message: "must be https")])
            .problem(instance: "/v1/x", requestID: "r")
        #expect(validation.status == 400)
        #expect(validation.extensions["errors"] == #"[{"field":"redirectUris[0]","message":"must be https"}]"#)
        let budget = GatewayError.budgetExhausted(retryAfter: 3600).problem(instance: "/v1/x", requestID: "r")
        #expect(budget.status == 429)
        #expect(budget.headers["Retry-After"] == "3600")
        #expect(budget.extensions["retryAfter"] == "3600", "the member the OpenAPI document declares")
        let limited = GatewayError.upstream(bank: BankID("bpce:13807")!, .rateLimited(retryAfter: 30, code: "TMRQ", message: nil))
            .problem(instance: "/v1/x", requestID: "r")
        #expect(limited.status == 429)
        #expect(limited.headers["Retry-After"] == "30")
        #expect(limited.extensions["retryAfter"] == "30")
        let refused = GatewayError.refusedFields([FieldIssue(field: "balances[0]", message: "checksum")])
            .problem(instance: "/v1/x", requestID: "r")
        #expect(refused.status == 422)
        #expect(refused.extensions["errors"]?.contains("balances[0]") == true)
        let internalError = GatewayError.internal("db password=x").problem(instance: "/v1/x", requestID: "r")
        #expect(internalError.status == 500)
        #expect(internalError.detail?.contains("password") == false)
        let unauthorized = GatewayError.unauthorized.problem(instance: "/v1/x", requestID: "r")
        #expect(unauthorized.headers["WWW-Authenticate"] == "Bearer")
    }
}
