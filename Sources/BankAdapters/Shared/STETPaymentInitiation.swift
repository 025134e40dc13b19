import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging

/// The STET PISP and CBPII calls both families share (docs/protocol.md §2.7, §4.7, §5.6), signed with the
/// PSD2 `keyId` like the AIS calls, with `Digest` on every body. No call here is ever retried by the transport
/// (`POST`/`PUT` are not idempotent, docs/curl.md); the service decides what an ambiguous outcome means.
struct STETPaymentInitiation: Sendable {
    /// The resource-call plumbing (API root, signing, PSU headers) is the account-information one.
    let resources: STETAccountInformation

    init(client: BankClient, dependencies: AdapterDependencies) throws {
        resources = try STETAccountInformation(client: client, dependencies: dependencies)
    }

    private var caller: BankCaller { resources.caller }

    private func call(
        _ method: String, _ path: String, template: String, token: Secret<String>, context: AdapterContext,
        body: [UInt8] = []
    ) throws -> BankCall {
        var call = try resources.resource(
            resources.apiRoot + path, method: method, template: template, token: token, context: context, body: body)
        // A payment request, confirmation or cancellation is never sent twice, not even by libcurl.
        call.atMostOnce = method != "GET"
        return call
    }

    private func resourcePath(_ id: String) -> String {
        "/payment-requests/" + STETResourceURLs.encodePathSegment(id)
    }

    /// `POST /payment-requests` → 201, `Location`, `_links.consentApproval`.
    func submit(_ order: PaymentOrder, token: Secret<String>, context: AdapterContext) async throws
        -> PaymentSubmission
    {
        let request = try call(
            "POST", "/payment-requests", template: "/payment-requests", token: token, context: context,
            body: STETPayments.requestBody(order))
        let response = try await caller.send(request, kind: .resource, context: context)
        return try STETPayments.submission(location: response.header("Location"), body: response.body)
    }

    /// `GET /payment-requests/{id}`.
    func status(resourceID: String, token: Secret<String>, context: AdapterContext) async throws
        -> PaymentBankStatus
    {
        let request = try call(
            "GET", resourcePath(resourceID), template: "/payment-requests/{id}", token: token, context: context)
        let response = try await caller.send(request, kind: .resource, context: context)
        return try STETPayments.status(from: response.body)
    }

    /// `POST /payment-requests/{id}/o-confirmation` (STET 1.4), or `…/confirmation` for a `v1.6…` API, with `{}`.
    func confirm(resourceID: String, token: Secret<String>, context: AdapterContext) async throws
        -> PaymentBankStatus
    {
        let leaf = resources.client.bank.apiVersion.hasPrefix("v1.6") ? "confirmation" : "o-confirmation"
        let request = try call(
            "POST", resourcePath(resourceID) + "/" + leaf, template: "/payment-requests/{id}/" + leaf, token: token,
            context: context, body: Array("{}".utf8))
        let response = try await caller.send(request, kind: .resource, context: context)
        return try STETPayments.status(from: response.body)
    }

    /// `PUT /payment-requests/{id}` with `RJCT`/`DS02`.
    func cancel(resourceID: String, token: Secret<String>, context: AdapterContext) async throws
        -> PaymentBankStatus
    {
        let request = try call(
            "PUT", resourcePath(resourceID), template: "/payment-requests/{id}", token: token, context: context,
            body: STETPayments.cancellationBody)
        let response = try await caller.send(request, kind: .resource, context: context)
        return try STETPayments.status(from: response.body)
    }

    /// `POST /funds-confirmations`.
    func funds(_ question: FundsQuestion, token: Secret<String>, context: AdapterContext) async throws -> Bool {
        let request = try call(
            "POST", "/funds-confirmations", template: "/funds-confirmations", token: token, context: context,
            body: STETPayments.fundsBody(question))
        let response = try await caller.send(request, kind: .resource, context: context)
        return try STETPayments.fundsResult(from: response.body)
    }
}

extension STETAdapter {
    // MARK: - Payments (PaymentAdapter)

    public func clientCredentialsToken(scope: String, client: BankClient, context: AdapterContext) async throws
        -> TokenSet
    {
        let form = STETOAuth.clientCredentialsForm(clientID: try client.requireClientID(), scope: scope)
        return try await STETTokenEndpoint(caller: caller(client)).post(Secret(form), kind: .token, context: context)
    }

    public func submitPayment(
        _ order: PaymentOrder, token: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws -> PaymentSubmission {
        try await STETPaymentInitiation(client: client, dependencies: dependencies).submit(
            order, token: token, context: context)
    }

    public func paymentApprovalURL(_ approvalURL: String, _ request: AuthorizationRequest, client: BankClient) throws
        -> String
    {
        guard let url = BankURL(approvalURL) else {
            throw AdapterError.invalidResponse(reason: "payment request: consentApproval is not an absolute https URL")
        }
        return STETOAuth.paymentApprovalURL(url.absolute, request, bank: client.bank)
    }

    public func paymentStatus(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus
    {
        try await STETPaymentInitiation(client: client, dependencies: dependencies).status(
            resourceID: resourceID, token: token, context: context)
    }

    public func confirmPayment(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus
    {
        try await STETPaymentInitiation(client: client, dependencies: dependencies).confirm(
            resourceID: resourceID, token: token, context: context)
    }

    public func cancelPayment(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus
    {
        try await STETPaymentInitiation(client: client, dependencies: dependencies).cancel(
            resourceID: resourceID, token: token, context: context)
    }

    public func confirmFunds(
        _ question: FundsQuestion, token: Secret<String>, client: BankClient, context: AdapterContext
    ) async throws -> Bool {
        try await STETPaymentInitiation(client: client, dependencies: dependencies).funds(
            question, token: token, context: context)
    }
}
