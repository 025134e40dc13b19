import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// The STET AIS calls both families share (docs/protocol.md §2.4–§2.6), signed with the PSD2 `keyId` of the
/// bank's `keyIdMode`, PSU headers forwarded. Bank differences are profile data (API root, signed headers,
/// `digestWithoutBody`, `supportsPutConsents`).
struct STETAccountInformation: Sendable {
    let caller: BankCaller
    let apiRoot: String

    init(client: BankClient, dependencies: AdapterDependencies) throws {
        caller = BankCaller(client: client, dependencies: dependencies)
        apiRoot = try client.endpoints().apiRoot.trimmingSuffix("/")
    }

    var client: BankClient { caller.client }
    /// The API root's path, for path templates (`/stet/psd2/v1`).
    private var rootPath: String { (BankURL(apiRoot)?.target ?? "").trimmingSuffix("/") }

    /// A PSD2 resource call: the bearer token, the PSU headers, signed with the PSD2 `keyId` (shared with the
    /// payment calls, `STETPaymentInitiation`).
    func resource(
        _ url: String, method: String = "GET", template: String, token: Secret<String>, context: AdapterContext,
        body: [UInt8] = []
    ) throws -> BankCall {
        BankCall(
            method: method, url: url, pathTemplate: rootPath + template, body: body,
            contentType: body.isEmpty ? nil : "application/json", bearer: token,
            signing: .sign(keyID: try Self.psd2KeyID(client)), psu: context.psu)
    }

    /// `GET /accounts`: 204, or `NAAC` (403/404), give an empty list; `connectedPsu` when the bank sends it.
    func accounts(token: Secret<String>, context: AdapterContext) async throws -> AccountList {
        let request = try resource(apiRoot + "/accounts", template: "/accounts", token: token, context: context)
        do {
            let response = try await caller.send(request, kind: .resource, context: context, passThrough: [204])
            if response.status == 204 || Self.isBlank(response.body) { return [] }
            return try STETMapping.accounts(from: response.body, lenient: client.bank.lenientJSON)
        } catch AdapterError.noAccounts {
            return []
        }
    }

    /// `GET /accounts/{id}/balances`.
    func balances(accountID: String, token: Secret<String>, context: AdapterContext) async throws -> [Balance] {
        let url = apiRoot + "/accounts/" + STETResourceURLs.encodePathSegment(accountID) + "/balances"
        let request = try resource(url, template: "/accounts/{id}/balances", token: token, context: context)
        let response = try await caller.send(request, kind: .resource, context: context, passThrough: [204])
        if response.status == 204 || Self.isBlank(response.body) { return [] }
        return try STETMapping.balances(from: response.body, lenient: client.bank.lenientJSON)
    }

    /// One page of `GET /accounts/{id}/transactions`: the first with `dateFrom`/`dateTo`, or the bank's `next` URL
    /// taken verbatim (checked to be on the API's host).
    func transactions(
        accountID: String, page: TransactionPageRequest, token: Secret<String>, context: AdapterContext
    ) async throws -> TransactionPage {
        let url = try STETResourceURLs.transactions(apiRoot: apiRoot, accountID: accountID, page: page)
        let request = try resource(url, template: "/accounts/{id}/transactions", token: token, context: context)
        let response = try await caller.send(request, kind: .resource, context: context, passThrough: [204])
        if response.status == 204 || Self.isBlank(response.body) {
            return TransactionPage(transactions: [], nextPageURL: nil)
        }
        return try STETMapping.transactionsPage(
            from: response.body, apiRoot: apiRoot, lenient: client.bank.lenientJSON)
    }

    /// `PUT /consents` (201, no body); a no-op where the profile says the bank has no such call.
    func putConsents(_ consents: ConsentRequest, token: Secret<String>, context: AdapterContext) async throws {
        guard client.bank.supportsPutConsents else { return }
        let body = STETMapping.consentsBody(consents)
        let request = try resource(
            apiRoot + "/consents", method: "PUT", template: "/consents", token: token, context: context, body: body)
        _ = try await caller.send(request, kind: .resource, context: context)
    }

    /// `GET /trusted-beneficiaries`: 204 and 404 give an empty list; `NAAC` is left to the service (at BPCE it
    /// means the consent is missing).
    func trustedBeneficiaries(token: Secret<String>, context: AdapterContext) async throws -> [Beneficiary] {
        let request = try resource(
            apiRoot + "/trusted-beneficiaries", template: "/trusted-beneficiaries", token: token, context: context)
        let response = try await caller.send(request, kind: .resource, context: context, passThrough: [204, 404])
        if response.status == 204 || response.status == 404 { return [] }
        return try STETMapping.beneficiaries(from: response.body, lenient: client.bank.lenientJSON)
    }

    /// `GET /end-user-identity`.
    func identity(token: Secret<String>, context: AdapterContext) async throws -> Identity {
        let request = try resource(
            apiRoot + "/end-user-identity", template: "/end-user-identity", token: token, context: context)
        let response = try await caller.send(request, kind: .resource, context: context)
        return try STETMapping.identity(from: response.body, lenient: client.bank.lenientJSON)
    }

    /// The `keyId` of PSD2 calls for the profile's `keyIdMode`: the `client_id` (BPCE) or the stored key id (the
    /// bank's `kid`, the registered `x5u`, a certificate URL).
    /// - Throws: `AdapterError.notCallable` when the client has no such value yet.
    static func psd2KeyID(_ client: BankClient) throws -> String {
        let value: String? =
            switch client.bank.keyIdMode {
            case .clientId: client.clientID ?? client.keyID
            case .kid, .x5u, .url: client.keyID
            }
        guard let value, !value.isEmpty else {
            throw AdapterError.notCallable(reason: "keyId: no \(client.bank.keyIdMode.rawValue) to sign with at \(client.bank.id)")
        }
        return value
    }

    static func isBlank(_ body: [UInt8]) -> Bool {
        body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }
}

/// The token endpoint calls (docs/protocol.md §2.3, §4.3, §5.3): form bodies from `STETOAuth`, mTLS, never signed.
struct STETTokenEndpoint: Sendable {
    let caller: BankCaller

    /// Posts `form` to the profile's token endpoint and maps the answer to tokens.
    /// - Throws: `AdapterError` classified for `kind` (`.refreshTokenDead` for a dead refresh token).
    func post(_ form: Secret<String>, kind: STETErrorClassifier.CallKind, context: AdapterContext) async throws
        -> TokenSet
    {
        let endpoint = try caller.client.endpoints().token
        let request = BankCall(
            method: "POST", url: endpoint, pathTemplate: BankURL(endpoint)?.target ?? "/",
            body: Array(form.reveal.utf8), contentType: "application/x-www-form-urlencoded; charset=utf-8",
            accept: "application/json")
        let response = try await caller.send(request, kind: kind, context: context)
        return try STETMapping.tokens(
            from: response.body, receivedAt: caller.dependencies.now(), defaults: caller.client.bank.tokenDefaults,
            lenient: caller.client.bank.lenientJSON)
    }

    /// The `refresh_token` grant.
    func refresh(_ token: Secret<String>, clientID: String, context: AdapterContext) async throws -> TokenSet {
        try await post(STETOAuth.refreshForm(token, clientID: clientID), kind: .refresh, context: context)
    }

    /// The `authorization_code` grant (`code_verifier` where the bank supports PKCE; never `scope`).
    func exchange(_ exchange: CodeExchange, clientID: String, context: AdapterContext) async throws -> TokenSet {
        try await post(
            STETOAuth.codeExchangeForm(exchange, clientID: clientID, bank: caller.client.bank), kind: .token,
            context: context)
    }
}

extension BankClient {
    /// The registered `client_id`.
    /// - Throws: `AdapterError.notCallable` while the client is not registered.
    func requireClientID() throws -> String {
        guard let clientID, !clientID.isEmpty else {
            throw AdapterError.notCallable(reason: "clientId: no client_id for \(bank.id)")
        }
        return clientID
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while !suffix.isEmpty, text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
