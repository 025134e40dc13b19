import HTTPServerKit

/// One BPCE bank code (docs/protocol.md §5): group-wide registration API, OAuth per codetab, STET 1.4.2 resources
/// under `/stet/psd2/v1/`.
struct BPCEBank {
    let simulator: BankSimulator
    let codetab: String
    /// `/bpce/<codetab>` when the bank was selected by path, empty when by Host.
    let prefix: String

    /// BPCE registrations are group-wide.
    static let registry = "bpce"
    /// The generic client id of the registration token (docs/protocol.md §5.2).
    static let registrationClientID = "PSD2_TPPRegister"
    var style: BankSimulator.TokenStyle { .init(tokenType: "Bearer", extraScope: "offline_access") }

    func handle(_ call: Call, rest: [String]) throws(SimulatorRejection) -> HTTPResponse {
        let method = call.request.method
        if match(rest, ["stet", "psd2", "oauth", "token"]) != nil {
            guard method == .post else { throw methodNotAllowed(call) }
            return try token(call)
        }
        if match(rest, ["stet", "psd2", "oauth", "authorize"]) != nil {
            guard method == .get else { throw methodNotAllowed(call) }
            let client = simulator.store.client(call.request.queryValue("client_id") ?? "", now: call.now)
            return try simulator.authorize(
                call, client: client?.registry == Self.registry ? client : nil,
                rules: .init(requirePKCE: false, requireState: false, redirectPrefixMatch: true))
        }
        if match(rest, ["stet", "setting", "v1", "register"]) != nil {
            guard method == .post else { throw methodNotAllowed(call) }
            return try registration(call, clientID: nil)
        }
        if let p = match(rest, ["stet", "setting", "v1", "register", "{id}"]) {
            guard [.get, .put, .delete].contains(method) else { throw methodNotAllowed(call) }
            return try registration(call, clientID: p["id"]!)
        }
        if rest.count >= 3, rest[0] == "stet", rest[1] == "psd2", rest[2] == "v1" {
            let client = try authenticateSignedCall(call)
            let flavor = STETFlavor(
                family: .bpce, bank: call.bank, apiRoot: prefix + "/stet/psd2/v1", client: client,
                consentApprovalBase: call.pageOrigin(simulator.configuration) + prefix + "/stet/psd2/oauth/authorize")
            return try STETResources(simulator: simulator, flavor: flavor).handle(call, rest: Array(rest.dropFirst(3)))
        }
        throw call.stet(404, "Not Found", "no BPCE resource at \(call.path)")
    }

    func methodNotAllowed(_ call: Call) -> SimulatorRejection {
        call.stet(405, "Method Not Allowed", "\(call.request.method) not allowed on \(call.path)")
    }

    // MARK: - Signed PSD2 calls

    /// mTLS with a registered QWAC, signature with keyId = client_id (or the registered kid, or a certificate URL for
    /// the bearer's client), client active.
    func authenticateSignedCall(_ call: Call) throws(SimulatorRejection) -> SimulatedClient {
        try simulator.authenticateSignedCall(call, policy: .bpce) { sig throws(SimulatorRejection) in
            let store = simulator.store
            var client = store.client(sig.keyId, now: call.now).flatMap { $0.registry == Self.registry ? $0 : nil }
            if client == nil {
                client = store.state.withLock { s in
                    s.clients.values.first {
                        $0.registry == Self.registry && $0.settings.keys.contains { $0.kid == sig.keyId }
                    }
                }
            }
            if client == nil && sig.keyId.hasPrefix("https://") {
                // A certificate URL: the simulator cannot fetch it, so it uses the key of the bearer token's client.
                client = bearerClientID(call).flatMap { store.client($0, now: call.now) }
            }
            guard let client else { throw call.stet(403, "Invalid signature", "keyId unknown") }
            guard client.activeAt <= call.now else {
                throw call.stet(
                    403, "Forbidden",
                    "client \(client.clientID) is not active before \(ParisCalendar.timestamp(client.activeAt))")
            }
            guard let key = client.settings.keys.first else {
                throw call.stet(403, "Invalid signature", "keyId unknown")
            }
            return (client, key)
        }.0
    }

    func bearerClientID(_ call: Call) -> String? {
        guard let h = call.request.headers["Authorization"], h.lowercased().hasPrefix("bearer ") else { return nil }
        let token = String(h.dropFirst(7)).trimmingSpaces
        return simulator.store.state.withLock { $0.accessTokens[token]?.clientID }
    }

    // MARK: - Token endpoint

    func token(_ call: Call) throws(SimulatorRejection) -> HTTPResponse {
        if call.faults.contains(.tokenFailure) {
            throw .oauth(500, "server_error", "Technical error", reason: "fault token-failure")
        }
        try simulator.requireFormBody(call)
        guard let qwacDER = call.request.peerCertificateDER else {
            throw .oauth(
                401, "invalid_client", "client certificate required",
                reason: "no client certificate at the token endpoint")
        }
        guard let qwac = try? simulator.crypto.certificateInfo(der: qwacDER), let orgID = qwac.organizationIdentifier
        else {
            throw .oauth(401, "invalid_client", "client certificate has no organizationIdentifier")
        }
        if qwac.isSignedWithRSASSAPSS {
            throw .oauth(401, "invalid_client", "certificates signed with RSASSA-PSS are refused")
        }
        guard qwac.notAfter > call.now else { throw .oauth(401, "invalid_client", "client certificate expired") }
        let grantType = call.formValue("grant_type")
        guard let clientID = call.formValue("client_id"), !clientID.isEmpty else {
            throw .oauth(400, "invalid_request", "client_id is required")
        }
        if clientID == Self.registrationClientID {
            guard grantType == "client_credentials", call.formValue("scope") == "manageRegistration" else {
                throw .oauth(
                    400, "invalid_request",
                    "PSD2_TPPRegister needs grant_type=client_credentials and scope=manageRegistration")
            }
            let grant = AccessGrant(
                kind: .registration, bank: Self.registry, clientID: clientID, scopes: ["manageRegistration"],
                persona: nil,
                familyID: nil, paymentID: nil, expiresAt: call.now + simulator.configuration.registrationTokenLifetime,
                organizationIdentifier: orgID)
            return simulator.clientCredentials(call, grant: grant, style: .init(tokenType: "Bearer", extraScope: nil))
        }
        guard let client = simulator.store.client(clientID, now: call.now), client.registry == Self.registry else {
            throw .oauth(401, "invalid_client", "Unknown client", reason: "client_id unknown at BPCE")
        }
        guard client.activeAt <= call.now else {
            throw .oauth(
                401, "invalid_client", "Client not active yet",
                reason: "client \(clientID) is not active before \(ParisCalendar.timestamp(client.activeAt))")
        }
        guard client.qwacFingerprints.contains(qwac.sha256Base64URL) else {
            throw .oauth(
                401, "invalid_client", "Client certificate mismatch",
                reason: "client certificate is not a QWAC registered for client \(clientID)")
        }
        switch grantType {
        case "authorization_code", "refresh_token":
            if call.formValue("scope") != nil {
                throw .oauth(400, "invalid_request", "scope must not be sent with grant_type \(grantType!)")
            }
            return grantType == "refresh_token"
                ? try simulator.refresh(call, clientID: clientID, style: style)
                : try simulator.exchangeCode(call, clientID: clientID, style: style, requireVerifier: false)
        case "client_credentials":
            let scopes = Set((call.formValue("scope") ?? "").split(separator: " ").map { $0.lowercased() })
            return try simulator.paymentClientCredentials(
                call, client: client, scopes: scopes, style: .init(tokenType: "Bearer", extraScope: nil))
        case let other?: throw .oauth(400, "unsupported_grant_type", "grant_type \(other) is not supported")
        case nil: throw .oauth(400, "invalid_request", "grant_type is required")
        }
    }
}
