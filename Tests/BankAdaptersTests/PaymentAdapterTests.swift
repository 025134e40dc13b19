import CurlKit
import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import Testing

@testable import BankAdapters

/// The payment calls on the wire (docs/protocol.md §2.7, §4.7, §5.6): exact URL, body, digest, what is signed, the
/// fresh connection, and the mapping of the bank's answers.
struct PaymentAdapterTests {
    static let order = PaymentOrder(
        paymentInformationID: "Pabc", instructionID: "Iabc", endToEndID: "Eabc", createdAt: Fixed.now,
        initiatingParty: "Passerelle Test", debtorIBAN: nil, creditorName: "SCI DES TILLEULS",
        creditorIBAN: "FR7610107001011234567890129", creditorBIC: "BREDFRPP", amount: DecimalAmount("12.3")!,
        currency: "EUR", remittance: "Order 123", requestedExecutionDate: nil, instant: false,
        redirectURI: "https://tpp.example/callback")

    static let created = RecordingTransport.Answer.json(
        201, #"{"appliedAuthenticationApproach":"REDIRECT","_links":{"consentApproval":{"href":"https://ei.test/sandbox/cic/oauth2/fr/sandbox/signin.html?paymentRequestResourceId=PR1"}}}"#,
        headers: [("Location", "https://ei.test/sandbox/cic/stet-psd2-api/v2.1/payment-requests/PR1")])

    @Test func thePaymentRequestIsTheISO20022ShapeSignedWithDigestOnAFreshConnection() async throws {
        let transport = RecordingTransport([Self.created])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let client = try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "kid-1")
        let submission = try await adapter.submitPayment(
            Self.order, token: Secret("pisp-token"), client: client, context: Fixed.context())

        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "https://ei.test/sandbox/cic/stet-psd2-api/v2.1/payment-requests")
        #expect(request.pathTemplate == "/sandbox/cic/stet-psd2-api/v2.1/payment-requests")
        #expect(request.freshConnection, "never on a reused connection (libcurl resends there)")
        #expect(request.header("Authorization") == "Bearer pisp-token")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Digest") == Digest.headerValue(for: request.body))
        #expect(request.header("Signature")?.contains(#"keyId="kid-1""#) == true)
        for name in ["(request-target)", "digest", "content-type", "x-request-id", "date"] {
            #expect(request.signedHeaderNames.contains(name), "\(name) is signed")
        }
        #expect(!request.signedHeaderNames.contains("authorization"))
        #expect(
            request.bodyText
                == #"{"paymentInformationId":"Pabc","creationDateTime":"2026-11-18T08:00:00.000+00:00","numberOfTransactions":1,"initiatingParty":{"name":"Passerelle Test"},"paymentTypeInformation":{"serviceLevel":"SEPA","categoryPurpose":"DVPM"},"beneficiary":{"creditorAgent":{"bicFi":"BREDFRPP"},"creditor":{"name":"SCI DES TILLEULS"},"creditorAccount":{"iban":"FR7610107001011234567890129"}},"chargeBearer":"SLEV","creditTransferTransaction":[{"paymentId":{"instructionId":"Iabc","endToEndId":"Eabc"},"instructedAmount":{"currency":"EUR","amount":"12.30"},"remittanceInformation":{"unstructured":["Order 123"]}}],"supplementaryData":{"acceptedAuthenticationApproach":["REDIRECT"],"successfulReportUrl":"https://tpp.example/callback","unsuccessfulReportUrl":"https://tpp.example/callback"}}"#
        )
        #expect(submission.resourceID == "PR1")
        #expect(submission.approvalURL.hasSuffix("paymentRequestResourceId=PR1"))
    }

    @Test func anInstantPaymentAtBPCESaysINSTAndSignsWithTheClientID() async throws {
        var order = Self.order
        order.instant = true
        order.debtorIBAN = "FR7613807008043001965405158"
        let transport = RecordingTransport([Self.created])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        _ = try await adapter.submitPayment(
            order, token: Secret("t"), client: try TestBanks.client(TestBanks.bpce, clientID: "bpce-client"),
            context: Fixed.context())
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://bpce.test/stet/psd2/v1/payment-requests")
        #expect(request.bodyText.contains(#""paymentTypeInformation":{"serviceLevel":"SEPA","localInstrument":"INST","categoryPurpose":"DVPM"}"#))
        #expect(request.bodyText.contains(#""debtorAccount":{"iban":"FR7613807008043001965405158"}"#))
        #expect(request.header("Signature")?.contains(#"keyId="bpce-client""#) == true)
    }

    @Test func aCreationWithoutLocationIsAnInvalidResponse() async throws {
        let transport = RecordingTransport([.json(201, #"{"_links":{"consentApproval":{"href":"https://x.test/a"}}}"#)])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        await #expect(throws: AdapterError.self) {
            _ = try await adapter.submitPayment(
                Self.order, token: Secret("t"), client: try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "k"),
                context: Fixed.context())
        }
    }

    @Test func confirmationCancellationAndStatusCalls() async throws {
        let status = #"{"paymentRequest":{"resourceId":"PR 1","paymentInformationStatus":"RJCT","statusReasonInformation":"DS02"}}"#
        let transport = RecordingTransport([.json(200, status), .json(200, status), .json(200, status)])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let client = try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "k")
        let confirmed = try await adapter.confirmPayment(
            resourceID: "PR 1", token: Secret("code-token"), client: client, context: Fixed.context())
        let cancelled = try await adapter.cancelPayment(
            resourceID: "PR 1", token: Secret("t"), client: client, context: Fixed.context())
        let read = try await adapter.paymentStatus(
            resourceID: "PR 1", token: Secret("t"), client: client, context: Fixed.context())
        #expect(confirmed == PaymentBankStatus(code: "RJCT", reason: "DS02"))
        #expect(cancelled == confirmed && read == confirmed)
        let root = "https://ei.test/sandbox/cic/stet-psd2-api/v2.1/payment-requests/PR%201"
        #expect(transport.requests.map(\.method) == ["POST", "PUT", "GET"])
        #expect(transport.requests.map(\.url) == [root + "/o-confirmation", root, root])
        #expect(transport.requests[0].bodyText == "{}")
        #expect(transport.requests[1].bodyText == #"{"paymentInformationStatus":"RJCT","statusReasonInformation":"DS02"}"#)
        #expect(transport.requests.map(\.freshConnection) == [true, true, false])
    }

    @Test func clientCredentialsAreAFormForTheScopeAndNotSigned() async throws {
        let transport = RecordingTransport([
            .json(200, #"{"access_token":"cc-1","token_type":"Bearer","expires_in":3600,"scope":"pisp"}"#)
        ])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        let tokens = try await adapter.clientCredentialsToken(
            scope: "pisp", client: try TestBanks.client(TestBanks.bpce, clientID: "bpce-client"),
            context: Fixed.context())
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://bpce.test/stet/psd2/oauth/token")
        #expect(request.bodyText == "grant_type=client_credentials&client_id=bpce-client&scope=pisp")
        #expect(request.header("Signature") == nil)
        #expect(tokens.accessToken.reveal == "cc-1")
        #expect(tokens.expiresAt == Fixed.now.addingTimeInterval(3600))
    }

    @Test func theApprovalURLAddsTheAuthorizeParametersOnce() throws {
        let href = "https://ei.test/sandbox/cic/oauth2/fr/sandbox/signin.html?paymentRequestResourceId=PR1"
        let request = AuthorizationRequest(
            clientID: "c1", redirectURI: "https://tpp.example/callback", state: "st", roles: [.pisp],
            codeChallenge: String(repeating: "a", count: 43))
        let ei = try EuroInformationAdapter(dependencies: Fixed.dependencies(RecordingTransport([]))).paymentApprovalURL(
            href, request, client: try TestBanks.client(TestBanks.ei, clientID: "c1"))
        #expect(
            ei == href + "&response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Ftpp.example%2Fcallback"
                + "&scope=pisp&state=st&code_challenge=\(String(repeating: "a", count: 43))&code_challenge_method=S256")
        let bpce = try BPCEAdapter(dependencies: Fixed.dependencies(RecordingTransport([]))).paymentApprovalURL(
            "https://bpce.test/stet/psd2/oauth/authorize?client_id=c1&paymentRequestResourceId=PR1", request,
            client: try TestBanks.client(TestBanks.bpce, clientID: "c1"))
        #expect(!bpce.contains("code_challenge"), "no PKCE at BPCE")
        #expect(bpce.components(separatedBy: "client_id=").count == 2, "a parameter the link has is not repeated")
    }

    @Test func fundsConfirmationSendsThePaymentCoverageRequest() async throws {
        let transport = RecordingTransport([.json(200, #"{"request":{},"result":false,"_links":{}}"#)])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let available = try await adapter.confirmFunds(
            FundsQuestion(requestID: "F1", iban: "FR7613807008043001965405158", amount: DecimalAmount("5000")!,
                currency: "EUR", payee: "SCI"),
            token: Secret("t"), client: try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "k"),
            context: Fixed.context())
        #expect(available == false)
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://ei.test/sandbox/cic/stet-psd2-api/v2.1/funds-confirmations")
        #expect(request.bodyText == #"{"paymentCoverageRequestId":"F1","payee":"SCI","instructedAmount":{"currency":"EUR","amount":"5000.00"},"accountId":{"iban":"FR7613807008043001965405158"}}"#)
    }
}
