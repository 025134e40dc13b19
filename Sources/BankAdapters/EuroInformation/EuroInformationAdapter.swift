import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import JSONKit
import OpenSSLKit

/// The Euro-Information (Crédit Mutuel / CIC …) adapter (docs/protocol.md §4): RFC 7591/7592 registration
/// authenticated by the QWAC alone, OAuth with PKCE S256 and an unsigned token endpoint, STET AIS under the brand's
/// `apiRoot`, signed with the bank's `kid` (or the registered `x5u`).
///
/// Errors: see `BankAdapter`; registration calls classify 401/403 as `.unauthorized`, 400 as `.rejected` with the
/// bank's `error`/`error_description`.
public struct EuroInformationAdapter: STETAdapter, PaymentAdapter {
    public var provider: Provider { .euroInformation }
    let dependencies: AdapterDependencies

    /// - Parameter dependencies: Transport, caches, clock, request ids.
    public init(dependencies: AdapterDependencies) { self.dependencies = dependencies }

    // MARK: - Registration

    /// `POST …/oauth2/registrations` (mTLS, no signature) with the QSealC, its `n`/`e` and its full chain in `x5c`;
    /// the result holds the `client_id`, `registration_client_uri` and the bank's `kid` per key (matched by leaf
    /// fingerprint); `keyID` is the `kid` of the QSealC (or the `x5u` URL when the profile's `keyIdMode` is `x5u`).
    public func register(_ request: RegistrationRequest, client: BankClient, context: AdapterContext) async throws
        -> RegistrationResult
    {
        let endpoint = try client.endpoints().registration
        let body = try document(request, client: client, keys: [try newKey(request, client: client)], clientID: nil)
        return try await send(
            "POST", url: endpoint, template: try registrationTemplate(client, id: false), body: body, client: client,
            request: request, context: context)
    }

    /// `PUT <registration_client_uri>` with the full document. The keys come from the bank's current document
    /// (`GET` first): those whose `kid` is in `existing.keys` (the keys the service keeps; the others are retired)
    /// and whose certificate has not expired — the bank refuses a document holding an expired one; the QSealC of
    /// `client` is added without `kid` when the bank does not have it yet (rotation: old and new keys side by side;
    /// docs/adapters.md "Euro-Information keys").
    public func updateRegistration(
        _ existing: RegistrationReference, with request: RegistrationRequest, client: BankClient,
        context: AdapterContext
    ) async throws -> RegistrationResult {
        let url = try registrationURL(existing, client: client)
        let current = try await caller(client).send(
            BankCall(
                method: "GET", url: url, pathTemplate: try registrationTemplate(client, id: true),
                accept: "application/json"),
            kind: .registration, context: context)
        let (document, _) = try RegistrationDocument.parse(current.body)
        let kept = Set(existing.keys.compactMap(\.kid))
        let now = dependencies.now()
        var keys: [JSONNode] = (document["jwks"]?["keys"]?.arrayValue ?? []).compactMap { key in
            guard let kid = key["kid"]?.stringValue, kept.contains(kid),
                let leaf = key["x5c"]?.arrayValue?.first?.stringValue.flatMap(Base64.decode),
                let certificate = try? Certificate(der: leaf), certificate.notAfter > now
            else { return nil }
            return Self.withKeyParameters(key, of: certificate)
        }
        let fingerprint = try dependencies.credentials.certificate(client.qseal).fingerprint
        let registered = RegistrationDocument.keys(of: .object([("jwks", .object([("keys", .array(keys))]))]))
        if !registered.contains(where: { $0.sha256Fingerprint == fingerprint }) {
            keys.append(try newKey(request, client: client))
        }
        let body = try self.document(request, client: client, keys: keys, clientID: existing.clientID)
        return try await send(
            "PUT", url: url, template: try registrationTemplate(client, id: true), body: body, client: client,
            request: request, context: context)
    }

    /// `GET <registration_client_uri>`.
    public func readRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext)
        async throws -> RegistrationResult
    {
        let request = BankCall(
            method: "GET", url: try registrationURL(existing, client: client),
            pathTemplate: try registrationTemplate(client, id: true), accept: "application/json")
        let response = try await caller(client).send(request, kind: .registration, context: context)
        return try result(response, sent: "", client: client, certificateURL: nil)
    }

    /// `DELETE <registration_client_uri>` (204).
    public func deleteRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext)
        async throws
    {
        let request = BankCall(
            method: "DELETE", url: try registrationURL(existing, client: client),
            pathTemplate: try registrationTemplate(client, id: true), accept: "application/json")
        _ = try await caller(client).send(request, kind: .registration, context: context)
    }

    // MARK: - Internals

    /// The stored `registration_client_uri` (same origin as the registration endpoint), else `…/registrations/{id}`.
    func registrationURL(_ existing: RegistrationReference, client: BankClient) throws -> String {
        let endpoint = try client.endpoints().registration.trimmingSuffix("/")
        if let uri = existing.registrationClientURI, !uri.isEmpty {
            do {
                return try STETLinks.resolve(uri, apiRoot: endpoint)
            } catch {
                throw AdapterError.notCallable(reason: "registrationClientUri: not on the bank's registration host")
            }
        }
        return endpoint + "/" + PercentEncoding.encode(existing.clientID)
    }

    /// The registration endpoint's path for the audit log, with `/{clientId}` for RFC 7592 calls.
    func registrationTemplate(_ client: BankClient, id: Bool) throws -> String {
        let path = (BankURL(try client.endpoints().registration)?.target ?? "/").trimmingSuffix("/")
        return id ? path + "/{clientId}" : path
    }

    /// `key` with `n` and `e` (RFC 7518 §6.3.1) of `certificate` when the bank's copy lacks them.
    static func withKeyParameters(_ key: JSONNode, of certificate: Certificate) -> JSONNode {
        guard case .object(var members) = key, key["n"] == nil || key["e"] == nil,
            let jwk = try? JWK(certificate: certificate, chain: .none), let n = jwk.n, let e = jwk.e
        else { return key }
        members.removeAll { $0.key == "n" || $0.key == "e" }
        let at = (members.firstIndex { $0.key == "x5c" }) ?? members.endIndex
        members.insert(contentsOf: [("n", .string(n)), ("e", .string(e))], at: at)
        return .object(members)
    }

    /// A new JWK for the QSealC of `client`: `kty`, `n` and `e` (RFC 7518 §6.3.1: required members of an RSA
    /// public key), the full chain in `x5c`, `x5u` when configured. No `kid`: the bank generates it (a `kid` member
    /// is a string, RFC 7517 §4.5, so not `null`).
    func newKey(_ request: RegistrationRequest, client: BankClient) throws -> JSONNode {
        let parsed = try dependencies.credentials.certificate(client.qseal)
        let chain = parsed.chain
        let jwk: JWK
        do {
            jwk = try JWK(certificate: parsed.leaf, chain: .none)
        } catch {
            throw AdapterError.notCallable(reason: "QSealC \(client.qseal.id): \(error)")
        }
        var members: [(key: String, value: JSONNode)] = [("kty", "RSA")]
        if let n = jwk.n { members.append(("n", .string(n))) }
        if let e = jwk.e { members.append(("e", .string(e))) }
        members.append(("x5c", .array(chain.map { .string($0.base64DER) })))
        if let url = request.certificateURL { members.append(("x5u", .string(url))) }
        return .object(members)
    }

    /// The RFC 7591 document (docs/protocol.md §4.2).
    func document(_ request: RegistrationRequest, client: BankClient, keys: [JSONNode], clientID: String?) throws
        -> [UInt8]
    {
        var grants: [JSONNode] = ["authorization_code", "refresh_token"]
        if request.roles.contains(.pisp) || request.roles.contains(.cbpii) { grants.append("client_credentials") }
        var members: [(key: String, value: JSONNode)] = []
        if let clientID { members.append(("client_id", .string(clientID))) }
        members += [
            ("client_name", .string(request.clientName)),
            ("redirect_uris", .array(request.redirectURIs.map(JSONNode.string))),
            ("token_endpoint_auth_method", "tls_client_auth"), ("grant_types", .array(grants)),
            ("response_types", ["code"]),
            (
                "scope",
                .string(
                    STETOAuth.registrationScope(
                        for: request.roles, extendedHistory: request.extendedTransactionHistory, bank: client.bank))
            ),
            ("contacts", .array([.string(request.contact.email)])),
        ]
        if let logo = request.logoURI { members.append(("logo_uri", .string(logo))) }
        members.append(("jwks", .object([("keys", .array(keys))])))
        return JSONNode.object(members).bytes()
    }

    private func send(
        _ method: String, url: String, template: String, body: [UInt8], client: BankClient,
        request: RegistrationRequest, context: AdapterContext
    ) async throws -> RegistrationResult {
        let outbound = BankCall(
            method: method, url: url, pathTemplate: template, body: body, contentType: "application/json",
            accept: "application/json")
        let response = try await caller(client).send(outbound, kind: .registration, context: context)
        return try result(
            response, sent: String(decoding: body, as: UTF8.self), client: client,
            certificateURL: request.certificateURL)
    }

    /// Reads the bank's document: keys matched to the QSealC of `client` by fingerprint give the `keyID`.
    func result(_ response: OutboundResponse, sent: String, client: BankClient, certificateURL: String?) throws
        -> RegistrationResult
    {
        let (document, clientID) = try RegistrationDocument.parse(response.body)
        let keys = RegistrationDocument.keys(of: document)
        let fingerprint = try dependencies.credentials.certificate(client.qseal).fingerprint
        let ours = keys.first { $0.sha256Fingerprint == fingerprint }
        let keyID: String? =
            switch client.bank.keyIdMode {
            case .x5u, .url: certificateURL ?? ours?.kid
            case .clientId: clientID
            case .kid: ours?.kid
            }
        return RegistrationResult(
            clientID: clientID, registrationClientURI: document["registration_client_uri"]?.stringValue,
            keyID: keyID, keys: keys, status: .active, requestBody: sent,
            responseBody: RegistrationDocument.storable(response.body), httpStatus: response.status)
    }
}
