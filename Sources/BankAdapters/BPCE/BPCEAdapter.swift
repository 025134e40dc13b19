import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import JSONKit
import OpenSSLKit

/// The Groupe BPCE (89C3) adapter (docs/protocol.md §5): the `PSD2_TPPRegister`/`manageRegistration` token, then
/// signed `POST/PUT/GET/DELETE /stet/setting/v1/register` with exactly one JWK (leaf-only `x5c`, `x5t#S256`, our
/// `kid`); registrations are `pending` until the activation rule's 14:00 Paris time; OAuth without PKCE and without
/// `scope` on code and refresh; STET AIS under `/stet/psd2/v1` with `PUT /consents`, signed with the `client_id`.
///
/// Errors: see `BankAdapter`; 204 / `NAAC` on lists give empty lists, `NIMP` → `.notImplemented`, 429 / `TMRQ` →
/// `.rateLimited`.
public struct BPCEAdapter: STETAdapter, PaymentAdapter {
    public var provider: Provider { .bpce }
    /// The `client_id` of the registration-token call [S].
    public static let registrationClientID = "PSD2_TPPRegister"
    /// Its scope [S].
    public static let registrationScope = "manageRegistration"
    let dependencies: AdapterDependencies

    /// - Parameter dependencies: Transport, caches, clock, request ids, activation calendar.
    public init(dependencies: AdapterDependencies) { self.dependencies = dependencies }

    // MARK: - Registration

    /// Registration token, then signed `POST /register`; signed with the profile's `registrationKeyIdMode` (a
    /// certificate URL by default, our `kid` when no URL is configured). `pending`, with `activatesAt`.
    public func register(_ request: RegistrationRequest, client: BankClient, context: AdapterContext) async throws
        -> RegistrationResult
    {
        let endpoint = try client.endpoints().registration.trimmingSuffix("/")
        let body = try document(request, client: client, isCreation: true)
        let keyID = registrationKeyID(client: client, request: request, clientID: nil)
        return try await send(
            "POST", url: endpoint, template: try registrationTemplate(client, id: false), body: body, keyID: keyID,
            request: request,
            client: client, context: context)
    }

    /// Signed `PUT /register/{client_id}` with the full document and the (possibly new) QSealC. The result is
    /// `pending` with the `activatesAt` of the change (the service keeps the registration in effect until then); a
    /// 201 without a body or without `client_id` is success (the seed promises only the status).
    public func updateRegistration(
        _ existing: RegistrationReference, with request: RegistrationRequest, client: BankClient,
        context: AdapterContext
    ) async throws -> RegistrationResult {
        let url = try registrationURL(existing.clientID, client: client)
        let body = try document(request, client: client, isCreation: false)
        let keyID = registrationKeyID(client: client, request: request, clientID: existing.clientID)
        return try await send(
            "PUT", url: url, template: try registrationTemplate(client, id: true), body: body, keyID: keyID,
            request: request, client: client, context: context, knownClientID: existing.clientID)
    }

    /// Signed `GET /register/{client_id}`. The bank's document says nothing about activation: the result is
    /// `active`, and the service keeps its own `activatesAt` for a registration still pending.
    public func readRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext)
        async throws -> RegistrationResult
    {
        let response = try await call(
            "GET", url: try registrationURL(existing.clientID, client: client),
            template: try registrationTemplate(client, id: true), body: [],
            keyID: registrationKeyID(client: client, request: nil, clientID: existing.clientID), client: client,
            context: context)
        return try result(
            response, sent: "", request: nil, client: client, status: .active, activatesAt: nil,
            knownClientID: existing.clientID)
    }

    /// Signed `DELETE /register/{client_id}` (204).
    public func deleteRegistration(_ existing: RegistrationReference, client: BankClient, context: AdapterContext)
        async throws
    {
        _ = try await call(
            "DELETE", url: try registrationURL(existing.clientID, client: client),
            template: try registrationTemplate(client, id: true), body: [],
            keyID: registrationKeyID(client: client, request: nil, clientID: existing.clientID), client: client,
            context: context)
    }

    // MARK: - Internals

    func registrationURL(_ clientID: String, client: BankClient) throws -> String {
        try client.endpoints().registration.trimmingSuffix("/") + "/" + PercentEncoding.encode(clientID)
    }

    /// The registration endpoint's path for the audit log, with `/{clientId}` for later calls.
    func registrationTemplate(_ client: BankClient, id: Bool) throws -> String {
        let path = (BankURL(try client.endpoints().registration)?.target ?? "/").trimmingSuffix("/")
        return id ? path + "/{clientId}" : path
    }

    /// The `keyId` of registration calls for `registrationKeyIdMode` (docs/protocol.md §5.5): the certificate URL
    /// when configured, else our `kid` (POST) or the `client_id` (later calls).
    func registrationKeyID(client: BankClient, request: RegistrationRequest?, clientID: String?) -> String {
        let fallback = clientID ?? request?.keyID ?? ""
        switch client.bank.registrationKeyIdMode ?? .url {
        case .url, .x5u: return request?.certificateURL ?? fallback
        case .kid: return request?.keyID ?? fallback
        case .clientId: return clientID ?? request?.keyID ?? ""
        }
    }

    /// The seed's document (docs/protocol.md §5.2): exactly one JWK with the leaf only, `x5t#S256`, our `kid`, no
    /// `x5u`/`x5t`; comma-separated scope; `provider_legal_id` from the QSealC's organizationIdentifier.
    func document(_ request: RegistrationRequest, client: BankClient, isCreation: Bool) throws -> [UInt8] {
        let leaf = try dependencies.credentials.certificate(client.qseal).leaf
        let jwk: JWK
        do {
            jwk = try JWK(certificate: leaf, chain: .leafOnly, kid: request.keyID)
        } catch {
            throw AdapterError.notCallable(reason: "QSealC \(client.qseal.id): \(error)")
        }
        var key: [(key: String, value: JSONNode)] = [("kty", .string(jwk.kty))]
        if let n = jwk.n { key.append(("n", .string(n))) }
        if let e = jwk.e { key.append(("e", .string(e))) }
        key += [
            ("use", "sig"), ("alg", "RS256"), ("key_ops", ["verify"]), ("kid", .string(request.keyID)),
            ("x5c", .array((jwk.x5c ?? []).map(JSONNode.string))), ("x5t#S256", .string(leaf.x5tS256)),
        ]
        var contact: [(key: String, value: JSONNode)] = [
            ("contact_name", .string(request.contact.name)), ("email", .string(request.contact.email)),
        ]
        if let phone = request.contact.phone { contact.append(("phone_number", .string(phone))) }
        var members: [(key: String, value: JSONNode)] = [
            ("redirect_uris", .array(request.redirectURIs.map(JSONNode.string))),
            ("token_endpoint_auth_method", "tls_client_auth"), ("grant_types", ["client_credentials"]),
            ("response_types", ["code"]), ("client_name", .string(request.clientName)),
            (
                "scope",
                .string(
                    STETOAuth.registrationScope(
                        for: request.roles, extendedHistory: false, bank: client.bank))
            ),
            ("contact", .object(contact)),
            ("provider_legal_id", .string(leaf.organizationIdentifier ?? request.providerLegalID)),
        ]
        if let agent = request.clientLegalID { members.append(("client_legal_id", .string(agent))) }
        if let logo = request.logoURI { members.append(("logo_uri", .string(logo))) }
        members += [
            ("jwks", .object([("keys", .array([.object(key)]))])),
            ("software_id", .string(request.softwareID ?? request.clientName)),
        ]
        if isCreation { members.append(("software_version", "1.0")) }
        return JSONNode.object(members).bytes()
    }

    /// The `manageRegistration` access token (client credentials over mTLS, never signed).
    func registrationToken(client: BankClient, context: AdapterContext) async throws -> Secret<String> {
        let form = STETOAuth.clientCredentialsForm(
            clientID: Self.registrationClientID, scope: Self.registrationScope)
        return try await STETTokenEndpoint(caller: caller(client)).post(
            Secret(form), kind: .registration, context: context
        ).accessToken
    }

    private func call(
        _ method: String, url: String, template: String, body: [UInt8], keyID: String, client: BankClient,
        context: AdapterContext
    ) async throws -> OutboundResponse {
        let token = try await registrationToken(client: client, context: context)
        let request = BankCall(
            method: method, url: url, pathTemplate: template, body: body,
            contentType: body.isEmpty ? nil : "application/json", accept: "application/json", bearer: token,
            signing: .sign(keyID: keyID))
        return try await caller(client).send(request, kind: .registration, context: context)
    }

    private func send(
        _ method: String, url: String, template: String, body: [UInt8], keyID: String, request: RegistrationRequest,
        client: BankClient, context: AdapterContext, knownClientID: String? = nil
    ) async throws -> RegistrationResult {
        let response = try await call(
            method, url: url, template: template, body: body, keyID: keyID, client: client, context: context)
        let activatesAt = dependencies.activationCalendar.activatesAt(submittedAt: dependencies.now())
        return try result(
            response, sent: String(decoding: body, as: UTF8.self), request: request, client: client,
            status: .pending, activatesAt: activatesAt, knownClientID: knownClientID)
    }

    func result(
        _ response: OutboundResponse, sent: String, request: RegistrationRequest?, client: BankClient,
        status: RegistrationStatus, activatesAt: Date?, knownClientID: String? = nil
    ) throws -> RegistrationResult {
        let (document, clientID) = try RegistrationDocument.parse(response.body, knownClientID: knownClientID)
        var keys = RegistrationDocument.keys(of: document)
        if keys.isEmpty, let request {
            let fingerprint = try dependencies.credentials.certificate(client.qseal).fingerprint
            keys = [RegistrationResult.Key(kid: request.keyID, sha256Fingerprint: fingerprint)]
        }
        let keyID: String? =
            switch client.bank.keyIdMode {
            case .clientId: clientID
            case .kid: keys.first?.kid
            case .url, .x5u: request?.certificateURL ?? clientID
            }
        return RegistrationResult(
            clientID: clientID, registrationClientURI: nil, keyID: keyID, keys: keys, status: status,
            activatesAt: activatesAt, requestBody: sent, responseBody: RegistrationDocument.storable(response.body),
            httpStatus: response.status)
    }
}
