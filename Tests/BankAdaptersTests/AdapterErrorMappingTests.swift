import Foundation
import GatewayCore
import GatewayLogging
import Testing

@testable import BankAdapters
@testable import CurlKit

/// Bank answers and transport failures, recorded, and what the adapters make of them.
@Suite struct AdapterErrorMappingTests {
    let bpce = TestBanks.bpce
    func client() throws -> BankClient { try TestBanks.client(TestBanks.bpce, clientID: "c9") }

    func adapter(_ answers: [RecordingTransport.Answer]) -> (BPCEAdapter, RecordingTransport) {
        let transport = RecordingTransport(answers)
        return (BPCEAdapter(dependencies: Fixed.dependencies(transport)), transport)
    }

    @Test func emptyListsFrom204AndNAAC() async throws {
        for answer: RecordingTransport.Answer in [
            .empty(204), .json(404, #"{"status":404,"error":"Not Found","message":"NAAC"}"#),
            .json(403, #"{"status":403,"error":"Forbidden","message":"NAAC"}"#),
        ] {
            let (adapter, _) = adapter([answer])
            #expect(
                try await adapter.accounts(accessToken: Secret("at"), client: client(), context: Fixed.context())
                    .isEmpty)
        }
        for answer: RecordingTransport.Answer in [.empty(204), .json(404, #"{"status":404,"error":"Not Found"}"#)] {
            let (adapter, _) = adapter([answer])
            #expect(
                try await adapter.trustedBeneficiaries(
                    accessToken: Secret("at"), client: client(), context: Fixed.context()
                )
                .isEmpty)
        }
    }

    @Test func balancesOfAnAccountNotConsentedAreNoAccounts() async throws {
        let (adapter, _) = adapter([.json(403, #"{"status":403,"error":"Forbidden","message":"NAAC"}"#)])
        await #expect(throws: AdapterError.noAccounts) {
            _ = try await adapter.balances(
                accountID: "A1", accessToken: Secret("at"), client: client(), context: Fixed.context())
        }
    }

    @Test func notImplementedRateLimitedAndUnavailable() async throws {
        let cases: [(RecordingTransport.Answer, AdapterError)] = [
            (.json(501, #"{"status":501,"message":"NIMP"}"#), .notImplemented(code: "NIMP", message: nil)),
            (.json(400, #"{"status":400,"message":"NIMP"}"#), .notImplemented(code: "NIMP", message: nil)),
            (
                .json(
                    429, #"{"status":429,"error":"Too Many Requests"}"#, headers: [(name: "Retry-After", value: "60")]),
                .rateLimited(retryAfter: 60, code: nil, message: nil)
            ),
            (
                .json(403, #"{"status":403,"message":"TMRQ"}"#),
                .rateLimited(retryAfter: nil, code: "TMRQ", message: nil)
            ),
            (.json(500, #"{"status":500,"message":"INTE"}"#), .unavailable(status: 500, code: "INTE", message: nil)),
            (
                .response(OutboundResponse(status: 503, body: Array("ERREUR Technique".utf8))),
                .unavailable(status: 503, code: nil, message: "ERREUR Technique")
            ),
            (
                .response(
                    OutboundResponse(
                        status: 502, headers: [(name: "Content-Type", value: "text/html")],
                        body: Array("<html>Bad gateway token=SECRET</html>".utf8))),
                .unavailable(status: 502, code: nil, message: nil)
            ),
            (.json(401, #"{"status":401,"error":"Unauthorized"}"#), .tokenExpired),
            (
                .json(
                    401, #"{"status":401,"error":"Unauthorized","message":"token expired"}"#,
                    headers: [(name: "WWW-Authenticate", value: #"Bearer error="invalid_token""#)]),
                .tokenExpired
            ),
            (
                .json(401, #"{"status":401,"error":"Unauthorized","message":"Invalid signature"}"#),
                .unauthorized(status: 401, code: nil, message: "Invalid signature")
            ),
            (
                .json(403, #"{"status":403,"error":"Forbidden","message":"Invalid signature"}"#),
                .unauthorized(status: 403, code: nil, message: "Invalid signature")
            ),
            (
                .json(403, #"{"status":403,"error":"Forbidden","message":"scope aisp missing"}"#),
                .rejected(status: 403, code: nil, message: "scope aisp missing")
            ),
        ]
        for (answer, expected) in cases {
            let (adapter, _) = adapter([answer])
            await #expect(throws: expected) {
                _ = try await adapter.identity(accessToken: Secret("at"), client: client(), context: Fixed.context())
            }
        }
    }

    @Test func deadRefreshTokensAndRejectedCodes() async throws {
        let (ei, _) = (
            EuroInformationAdapter(
                dependencies: Fixed.dependencies(
                    RecordingTransport(
                        status: 400, json: #"{"error":"invalid_grant","error_description":"Refresh token has expired"}"#
                    ))),
            ()
        )
        await #expect(
            throws: AdapterError.refreshTokenDead(code: "invalid_grant", message: "Refresh token has expired")
        ) {
            _ = try await ei.refresh(
                Secret("RT"), client: try TestBanks.client(TestBanks.ei, clientID: "c1"), context: Fixed.context())
        }
        let (adapter, _) = adapter([.json(400, #"{"error":"invalid_grant","error_description":"code already used"}"#)])
        await #expect(throws: AdapterError.rejected(status: 400, code: "invalid_grant", message: "code already used")) {
            _ = try await adapter.exchangeCode(
                CodeExchange(code: Secret("C"), redirectURI: "https://tpp.example/cb"), client: client(),
                context: Fixed.context())
        }
    }

    @Test func registrationErrorsCarryTheBankCodeAndMessage() async throws {
        let (adapter, transport) = adapter([
            .json(200, #"{"access_token":"REG","token_type":"Bearer"}"#),
            .json(400, #"{"error":"invalid_client_metadata","error_description":"client_name must be unique"}"#),
        ])
        await #expect(
            throws: AdapterError.rejected(
                status: 400, code: "invalid_client_metadata", message: "client_name must be unique")
        ) {
            _ = try await adapter.register(
                TestBanks.registration, client: try TestBanks.client(TestBanks.bpce), context: Fixed.context())
        }
        #expect(transport.requests.count == 2)
        let (refused, _) = self.adapter([.json(401, #"{"error":"invalid_client","error_description":"no QWAC"}"#)])
        await #expect(throws: AdapterError.unauthorized(status: 401, code: "invalid_client", message: "no QWAC")) {
            _ = try await refused.register(
                TestBanks.registration, client: try TestBanks.client(TestBanks.bpce), context: Fixed.context())
        }
    }

    @Test func transportFailuresBecomeTimeoutOrTransport() async throws {
        let timeout = OutboundError(code: .timeout(.total), bankID: "bpce:13807", host: "bpce.test", message: "")
        let (slow, _) = adapter([.failure(timeout)])
        await #expect(throws: AdapterError.timeout) {
            _ = try await slow.accounts(accessToken: Secret("at"), client: client(), context: Fixed.context())
        }
        let refused = OutboundError(
            code: .connectionRefused, bankID: "bpce:13807", host: "bpce.test", curlCode: 7, message: "refused")
        let (down, _) = adapter([.failure(refused)])
        await #expect {
            _ = try await down.accounts(accessToken: Secret("at"), client: client(), context: Fixed.context())
        } throws: { error in
            guard case AdapterError.transport(let reason) = error else { return false }
            return reason.contains("connection refused") && reason.contains("bpce.test")
        }
    }

    @Test func invalidBodiesAreInvalidResponsesWithoutTheBody() async throws {
        let (adapter, _) = adapter([.json(200, #"{"accounts":[{"name":"no id SECRET-IBAN"}]}"#)])
        await #expect {
            _ = try await adapter.accounts(accessToken: Secret("at"), client: client(), context: Fixed.context())
        } throws: { error in
            guard case AdapterError.invalidResponse(let reason) = error else { return false }
            return !reason.contains("SECRET")
        }
    }
}
