import HTTPServerKit

/// One Euro-Information brand (docs/protocol.md §4): RFC 7591/7592 registration over mTLS, OAuth with PKCE,
/// STET resources under `{root}stet-psd2-api/{version}/`.
struct EuroInformationBank {
    let simulator: BankSimulator
    let segment: String
    /// `/cic/` or `/sandbox/cic/`.
    let root: String

    var registry: String { "cmcic:" + segment }
    var style: BankSimulator.TokenStyle { .init(tokenType: "Bearer", extraScope: nil) }

    func handle(_ call: Call, rest: [String]) throws(SimulatorRejection) -> HTTPResponse {
        let method = call.request.method
        if match(rest, ["oauth2", "registrations"]) != nil {
            guard method == .post else { throw methodNotAllowed(call) }
            return try register(call, existing: nil)
        }
        if let p = match(rest, ["oauth2", "registrations", "{id}"]) {
            let id = p["id"]!
            switch method {
            case .get, .put, .delete: return try manage(call, clientID: id)
            default: throw methodNotAllowed(call)
            }
        }
        if match(rest, ["oauth2", "token"]) != nil {
            guard method == .post else { throw methodNotAllowed(call) }
            return try token(call)
        }
        let isAuthorizePage =
            rest.count == 4 && rest[0] == "oauth2"
            && ((rest[2] == "sandbox" && rest[3] == "signin.html")
                || (rest[2] == "banque" && rest[3] == "oauth2_authorization.aspx"))
        if isAuthorizePage {
            guard method == .get else { throw methodNotAllowed(call) }
            let client = simulator.store.client(call.request.queryValue("client_id") ?? "", now: call.now)
            return try simulator.authorize(
                call, client: client?.registry == registry ? client : nil,
                rules: .init(requirePKCE: true, requireState: true, redirectPrefixMatch: false))
        }
        if rest.count >= 2, rest[0] == "stet-psd2-api" {
            guard simulator.configuration.euroInformationAPIVersions.contains(rest[1]) else {
                let served = simulator.configuration.euroInformationAPIVersions.sorted().joined(separator: ", ")
                throw call.stet(404, "Not Found", "API version \(rest[1]) not served (configured \(served))")
            }
            let apiRoot = root + "stet-psd2-api/" + rest[1]
            let (client, _) = try authenticateSignedCall(call)
            let flavor = STETFlavor(
                family: .euroInformation, bank: call.bank, apiRoot: apiRoot, client: client,
                consentApprovalBase: call.pageOrigin(simulator.configuration) + root + "oauth2/fr/sandbox/signin.html")
            return try STETResources(simulator: simulator, flavor: flavor).handle(call, rest: Array(rest.dropFirst(2)))
        }
        throw call.stet(404, "Not Found", "no Euro-Information resource at \(call.path)")
    }

    func methodNotAllowed(_ call: Call) -> SimulatorRejection {
        call.stet(405, "Method Not Allowed", "\(call.request.method) not allowed on \(call.path)")
    }

    // MARK: - Signed STET calls

    /// mTLS QWAC, Cavage signature with keyId = registered `kid` or `x5u`, and the QWAC belonging to that client.
    func authenticateSignedCall(_ call: Call) throws(SimulatorRejection) -> (SimulatedClient, RegisteredKey) {
        try simulator.authenticateSignedCall(call, policy: .euroInformation) { sig throws(SimulatorRejection) in
            let found = simulator.store.state.withLock { s -> (SimulatedClient, RegisteredKey)? in
                for c in s.clients.values where c.registry == registry {
                    if let k = c.settings.keys.first(where: {
                        $0.kid == sig.keyId || ($0.x5u != nil && $0.x5u == sig.keyId)
                    }) {
                        return (c, k)
                    }
                }
                return nil
            }
            guard let found else { throw call.stet(403, "Invalid signature", "keyId unknown") }
            return found
        }
    }

    // MARK: - Token endpoint

    func token(_ call: Call) throws(SimulatorRejection) -> HTTPResponse {
        if call.faults.contains(.tokenFailure) {
            throw .oauth(500, "server_error", "Technical error", reason: "fault token-failure")
        }
        try simulator.requireFormBody(call)
        guard let qwac = call.request.peerCertificateDER else {
            throw .oauth(
                401, "invalid_client", "client certificate required",
                reason: "no client certificate at the token endpoint")
        }
        guard let clientID = call.formValue("client_id"), let client = simulator.store.client(clientID, now: call.now),
            client.registry == registry
        else { throw .oauth(401, "invalid_client", "Unknown client", reason: "client_id unknown at \(call.bank)") }
        let fp = (try? simulator.crypto.certificateInfo(der: qwac))?.sha256Base64URL ?? ""
        guard client.qwacFingerprints.contains(fp) else {
            throw .oauth(
                401, "invalid_client", "Client certificate mismatch",
                reason: "client certificate is not a QWAC registered for client \(clientID)")
        }
        if let grant = call.formValue("grant_type"), !client.settings.grantTypes.contains(grant),
            ["authorization_code", "refresh_token", "client_credentials"].contains(grant)
        {
            throw .oauth(400, "unauthorized_client", "grant_type \(grant) is not registered for this client")
        }
        switch call.formValue("grant_type") {
        case "authorization_code":
            return try simulator.exchangeCode(call, clientID: clientID, style: style, requireVerifier: true)
        case "refresh_token": return try simulator.refresh(call, clientID: clientID, style: style)
        case "client_credentials":
            let scopes = Set((call.formValue("scope") ?? "").split(separator: " ").map(String.init))
            return try simulator.paymentClientCredentials(call, client: client, scopes: scopes, style: style)
        case let other?: throw .oauth(400, "unsupported_grant_type", "grant_type \(other) is not supported")
        case nil: throw .oauth(400, "invalid_request", "grant_type is required")
        }
    }
}
