import CurlKit
import Foundation
import GatewayCore
import GatewayLogging
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

    /// `POST …/oauth2/registrations` (mTLS, no signature) with the QSealC and its full chain in `x5c` and `kid: null`;
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
    /// (`GET` first), restricted to the kids in `existing.keys` when given; the QSealC of `client` is added with
    /// `kid: null` when the bank does not have it yet (rotation: old and new keys side by side).
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
        let wanted = Set(existing.keys.compactMap(\.kid))
        var keys = (document["jwks"]?["keys"]?.arrayValue ?? []).filter { key in
            wanted.isEmpty || key["kid"]?.stringValue.map(wanted.contains) == true
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
        return endpoint + "/" + STETOAuth.percentEncode(existing.clientID)
    }

    /// The registration endpoint's path for the audit log, with `/{clientId}` for RFC 7592 calls.
    func registrationTemplate(_ client: BankClient, id: Bool) throws -> String {
        let path = (BankURL(try client.endpoints().registration)?.target ?? "/").trimmingSuffix("/")
        return id ? path + "/{clientId}" : path
    }

    /// A new JWK for the QSealC of `client`: `kty`, `kid: null`, the full chain in `x5c`, `x5u` when configured.
    func newKey(_ request: RegistrationRequest, client: BankClient) throws -> JSONValue {
        let chain = try dependencies.credentials.certificate(client.qseal).chain
        var members: [(String, JSONValue)] = [
            ("kty", "RSA"), ("kid", .null), ("x5c", .array(chain.map { .string($0.base64DER) })),
        ]
        if let url = request.certificateURL { members.append(("x5u", .string(url))) }
        return .object(members)
    }

    /// The RFC 7591 document (docs/protocol.md §4.2).
    func document(_ request: RegistrationRequest, client: BankClient, keys: [JSONValue], clientID: String?) throws
        -> [UInt8]
    {
        var grants: [JSONValue] = ["authorization_code", "refresh_token"]
        if request.roles.contains(.pisp) || request.roles.contains(.cbpii) { grants.append("client_credentials") }
        var members: [(String, JSONValue)] = []
        if let clientID { members.append(("client_id", .string(clientID))) }
        members += [
            ("client_name", .string(request.clientName)),
            ("redirect_uris", .array(request.redirectURIs.map(JSONValue.string))),
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
        return JSONValue.object(members).bytes
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
