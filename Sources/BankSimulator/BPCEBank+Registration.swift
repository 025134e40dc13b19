import HTTPServerKit

/// BPCE's PSD2 Registration API (docs/protocol.md §5.2): `POST /stet/setting/v1/register` and
/// `GET/PUT/DELETE /stet/setting/v1/register/{client_id}`, with mTLS, the `manageRegistration` bearer, a signature
/// and a digest; every field rule of the seed; activation at 14:00 Paris time.
extension BPCEBank {
    static let scopes: Set<String> = ["aisp", "pisp", "cbpii"]

    func invalid(_ description: String) -> SimulatorRejection { .oauth(400, "invalid_client_metadata", description) }

    func registration(_ call: Call, clientID: String?) throws(SimulatorRejection) -> HTTPResponse {
        guard let qwacDER = call.request.peerCertificateDER,
            let qwac = try? simulator.crypto.certificateInfo(der: qwacDER),
            let orgID = qwac.organizationIdentifier
        else {
            throw .oauth(
                401, "invalid_client", "a QWAC with an organizationIdentifier is required",
                reason: "registration without a usable client certificate")
        }
        if qwac.isSignedWithRSASSAPSS {
            throw .oauth(400, "invalid_request", "certificates signed with RSASSA-PSS are refused")
        }
        // Bearer: the PSD2_TPPRegister / manageRegistration token, for the same organisation.
        let grant: AccessGrant
        do {
            grant = try simulator.bearer(
                call, bank: Self.registry, clientID: Self.registrationClientID, anyOf: ["manageRegistration"],
                kinds: [.registration])
        } catch {
            throw .oauth(
                401, "invalid_token", "a valid manageRegistration access token is required", reason: error.reason)
        }
        guard grant.organizationIdentifier == orgID else {
            throw .oauth(
                401, "invalid_token", "token issued to another organisation",
                reason: "registration token issued to \(grant.organizationIdentifier ?? "-"), QWAC is \(orgID)")
        }
        var existing: SimulatedClient?
        if let clientID {
            guard let c = simulator.store.client(clientID, now: call.now), c.registry == Self.registry else {
                throw .oauth(
                    404, "invalid_client", "Resource not found", reason: "client_id \(clientID) unknown at BPCE")
            }
            guard c.providerLegalID == orgID else {
                throw .oauth(
                    404, "invalid_client", "Resource not found",
                    reason: "client \(clientID) belongs to another organisation")
            }
            existing = c
        }
        // Signature: header shape first, then the key: keyId = client_id, kid, or a certificate URL.
        let sig: CavageSignature
        do {
            sig = try RequestSignatureCheck.checkShape(
                call.request, policy: .bpce, now: call.now, skew: simulator.configuration.dateSkew,
                crypto: simulator.crypto)
        } catch { throw .oauth(error.status, "invalid_request", error.reason) }
        if call.request.method == .put || call.request.method == .post, call.request.body.isEmpty {
            throw invalid("a JSON body is required")
        }
        // A POST or PUT body is validated first: it carries the key the request must be signed with.
        let doc = JSON.parse(call.request.body)
        var settings: ClientSettings?
        if call.request.method == .post || call.request.method == .put {
            guard let doc else { throw invalid("body is not a JSON object") }
            let validated = try validate(
                doc, orgID: orgID, isCreation: existing == nil, excluding: existing?.clientID, now: call.now)
            if let refusal = PSD2RoleCheck.refusal(
                scopes: validated.scopes, certificates: [("QWAC", qwac)] + validated.keys.map { ("QSealC", $0.info) })
            {
                throw invalid(refusal)
            }
            settings = validated
        }
        var candidates: [RegisteredKey] = []
        if let existing,
            sig.keyId == existing.clientID || sig.keyId.hasPrefix("https://")
                || existing.settings.keys.contains(where: { $0.kid == sig.keyId })
        {
            candidates += existing.settings.keys
        }
        if let key = settings?.keys.first,
            sig.keyId.hasPrefix("https://") || sig.keyId == key.kid
                || (existing != nil && sig.keyId == existing!.clientID)
        {
            // The initial POST (and a PUT that rotates the certificate) is verified with the certificate of the body.
            candidates.append(key)
        }
        guard !candidates.isEmpty else {
            throw .oauth(403, "invalid_request", "keyId unknown", reason: "keyId unknown")
        }
        var verified = false
        var lastFailure = ""
        for key in candidates {
            do {
                try RequestSignatureCheck.verify(call.request, sig, key: key, now: call.now, crypto: simulator.crypto)
                verified = true
                break
            } catch { lastFailure = error.reason }
        }
        guard verified else {
            throw .oauth(403, "invalid_request", "signature verification failed", reason: lastFailure)
        }

        switch call.request.method {
        case .get:
            simulator.store.countRegistration(existing!.clientID, "read")
            return .json(200, document(existing!, pendingFirst: true).bytes)
        case .delete:
            simulator.store.state.withLock { $0.clients[existing!.clientID] = nil }
            simulator.store.countRegistration(existing!.clientID, "deleted")
            return HTTPResponse(status: 204)
        default:
            guard let settings else { throw invalid("body is not a JSON object") }
            let activeAt =
                simulator.configuration.activationMode == .immediate
                ? call.now
                : ParisCalendar.bpceActivation(
                    after: call.now, cutoff: simulator.configuration.activationCutoff,
                    extraHolidays: simulator.configuration.extraHolidays)
            var client: SimulatedClient
            if var c = existing {
                // A modification takes effect at its activation time, keys and QWAC included: until then PSD2
                // calls are checked against the settings and certificates in effect.
                c.pending = PendingChange(settings: settings, activeAt: activeAt, qwacFingerprint: qwac.sha256Base64URL)
                if activeAt <= call.now { c.applyPendingChange() }
                client = c
            } else {
                client = SimulatedClient(
                    clientID: RandomToken.uuid(), registry: Self.registry, settings: settings, pending: nil,
                    activeAt: activeAt,
                    qwacFingerprints: [qwac.sha256Base64URL], providerLegalID: orgID, subjectDN: qwac.subject)
            }
            let stored = client
            try simulator.store.withState { s throws(SimulatorRejection) in
                // client_name is unique across registrations (checked again under the lock).
                if s.clients.values.contains(where: {
                    $0.registry == Self.registry && $0.clientID != stored.clientID
                        && ($0.settings.clientName == settings.clientName
                            || $0.pending?.settings.clientName == settings.clientName)
                }) {
                    throw .oauth(400, "invalid_client_metadata", "client_name must be unique")
                }
                // "if a TPP requires a new profile (= new cliend_ID), it has to use another set of eIDAS
                // certifciates" (seed bpce-89c3-registration-api, "Limits").
                if existing == nil, let other = s.clients.values.first(where: { c in
                    c.registry == Self.registry
                        && (c.qwacFingerprints.contains(qwac.sha256Base64URL)
                            || c.settings.keys.contains { $0.info.sha256Base64URL == settings.keys[0].info.sha256Base64URL })
                }) {
                    throw .oauth(
                        400, "invalid_client_metadata",
                        "these eIDAS certificates are already used by client \(other.clientID): a new client needs another set")
                }
                s.clients[stored.clientID] = stored
            }
            simulator.store.countRegistration(client.clientID, existing == nil ? "created" : "updated")
            call.context.logger.info(
                "simulator BPCE registration \(existing == nil ? "created" : "updated"), active at \(ParisCalendar.timestamp(activeAt))",
                metadata: ["request.id": call.context.requestID, "registration.client_id": client.clientID])
            var response = HTTPResponse.json(201, document(client, pendingFirst: true).bytes)
            response.headers.set("X-Simulator-Active-At", ParisCalendar.timestamp(activeAt))
            return response
        }
    }

    /// Every field rule of the seed, one error per rule.
    func validate(_ doc: JSON, orgID: String, isCreation: Bool, excluding: String?, now: Int64)
        throws(SimulatorRejection) -> ClientSettings
    {
        guard let members = doc.objectMembers else { throw invalid("body is not a JSON object") }
        func requiredString(_ name: String) throws(SimulatorRejection) -> String {
            guard let v = doc[name] else { throw invalid("\(name) is required") }
            guard let s = v.stringValue, !s.trimmingSpaces.isEmpty else {
                throw invalid("\(name) must be a non-empty string")
            }
            return s
        }
        func optionalString(_ name: String) throws(SimulatorRejection) {
            if let v = doc[name], !v.isNull, v.stringValue == nil { throw invalid("\(name) must be a string") }
        }
        // redirect_uris
        guard let uris = doc["redirect_uris"] else {
            throw .oauth(400, "invalid_redirect_uri", "redirect_uris is required")
        }
        guard let arr = uris.arrayValue, !arr.isEmpty else {
            throw .oauth(400, "invalid_redirect_uri", "redirect_uris must be a non-empty string array")
        }
        var redirectURIs: [String] = []
        for u in arr {
            guard let s = u.stringValue, isAcceptableRedirectURI(s) else {
                throw .oauth(
                    400, "invalid_redirect_uri", "redirect_uris entries must be URIs with a scheme and an authority")
            }
            redirectURIs.append(s)
        }
        guard try requiredString("token_endpoint_auth_method") == "tls_client_auth" else {
            throw invalid("token_endpoint_auth_method must be tls_client_auth")
        }
        guard let grants = doc["grant_types"]?.arrayValue else {
            throw invalid("grant_types is required (string array)")
        }
        let grantTypes = grants.compactMap(\.stringValue)
        guard grantTypes.count == grants.count, grantTypes.contains("client_credentials") else {
            throw invalid("grant_types must contain client_credentials")
        }
        if simulator.configuration.bpceStrictGrantTypes {
            guard grantTypes == ["client_credentials"] else {
                throw invalid("grant_types must be [\"client_credentials\"]")
            }
        } else {
            guard Set(grantTypes).isSubset(of: ["client_credentials", "authorization_code", "refresh_token"]) else {
                throw invalid("grant_types has an unknown value")
            }
        }
        guard doc["response_types"]?.arrayValue?.compactMap(\.stringValue) == ["code"] else {
            throw invalid("response_types must be [\"code\"]")
        }
        let clientName = try requiredString("client_name")
        // scope: comma-separated aisp / pisp / cbpii
        let scopeText = try requiredString("scope")
        let scopes = scopeText.split(separator: ",").map { $0.trimmingSpaces }
        guard !scopes.contains(where: { $0.contains(" ") }) else {
            throw invalid("scope must be comma-separated (e.g. \"aisp, pisp\")")
        }
        for s in scopes where !Self.scopes.contains(s) { throw invalid("scope \(s) is not one of aisp, pisp, cbpii") }
        guard Set(scopes).count == scopes.count else { throw invalid("scope repeats a value") }
        // contact
        guard let contact = doc["contact"] else { throw invalid("contact is required") }
        for field in ["contact_name", "email", "phone_number"] {
            guard let v = contact[field]?.stringValue, !v.trimmingSpaces.isEmpty else {
                throw invalid("contact.\(field) is required")
            }
        }
        guard contact["email"]?.stringValue?.contains("@") == true else {
            throw invalid("contact.email is not an e-mail address")
        }
        // provider_legal_id / client_legal_id
        let legalID = try requiredString("provider_legal_id")
        guard isOrganizationIdentifier(legalID, prefix: "PSD") else {
            throw invalid("provider_legal_id must look like PSDXX-YYYYYYYY-ZZZZZZZZ")
        }
        guard legalID == orgID else {
            throw invalid("provider_legal_id does not match the QWAC organizationIdentifier")
        }
        if let agent = doc["client_legal_id"], !agent.isNull {
            guard let s = agent.stringValue, isOrganizationIdentifier(s, prefix: "AGT") else {
                throw invalid("client_legal_id must look like AGTFR-ACPR-12345001")
            }
        }
        _ = try requiredString("software_id")
        if isCreation { _ = try requiredString("software_version") } else { try optionalString("software_version") }
        for name in ["software_statement", "client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri", "logo"] {
            try optionalString(name)
        }
        let key = try validateJWKS(doc, orgID: orgID, now: now)
        let known: Set<String> = [
            "redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types", "client_name", "scope",
            "jwks", "client_id",
        ]
        return ClientSettings(
            clientName: clientName, scopes: scopes, redirectURIs: redirectURIs, grantTypes: grantTypes, keys: [key],
            extraFields: members.filter { !known.contains($0.0) })
    }

    private func validateJWKS(_ doc: JSON, orgID: String, now: Int64) throws(SimulatorRejection) -> RegisteredKey {
        guard let jwks = doc["jwks"], jwks.objectMembers != nil else { throw invalid("jwks is required") }
        guard let keys = jwks["keys"]?.arrayValue else { throw invalid("jwks.keys is required") }
        guard keys.count == 1 else { throw invalid("jwks.keys must contain exactly one JWK") }
        let key = keys[0]
        guard key["kty"]?.stringValue == "RSA" else { throw invalid("jwks.keys[0].kty must be RSA") }
        guard key["use"]?.stringValue == "sig" else { throw invalid("jwks.keys[0].use must be sig") }
        guard key["alg"]?.stringValue == "RS256" else { throw invalid("jwks.keys[0].alg must be RS256") }
        guard key["key_ops"]?.arrayValue?.compactMap(\.stringValue) == ["verify"] else {
            throw invalid("jwks.keys[0].key_ops must be [\"verify\"]")
        }
        guard let kid = key["kid"]?.stringValue, !kid.isEmpty else { throw invalid("jwks.keys[0].kid is required") }
        if key["x5u"] != nil { throw invalid("jwks.keys[0].x5u is forbidden") }
        if key["x5t"] != nil { throw invalid("jwks.keys[0].x5t is forbidden") }
        guard let x5c = key["x5c"]?.arrayValue, !x5c.isEmpty else { throw invalid("jwks.keys[0].x5c is required") }
        guard x5c.count == 1 else { throw invalid("jwks.keys[0].x5c must hold only the QSealC, without its chain") }
        guard let b64 = x5c[0].stringValue, let der = Base64Text.decode(b64) else {
            throw invalid("jwks.keys[0].x5c[0] must be standard base64 of a DER certificate")
        }
        guard let info = try? simulator.crypto.certificateInfo(der: der) else {
            throw invalid("jwks.keys[0].x5c[0] is not a certificate")
        }
        guard info.isRSA else { throw invalid("jwks.keys[0].x5c[0] is not an RSA certificate") }
        guard !info.isSignedWithRSASSAPSS else {
            throw invalid("jwks.keys[0].x5c[0] is signed with RSASSA-PSS, which is refused")
        }
        guard info.notAfter > now else { throw invalid("jwks.keys[0].x5c[0] has expired") }
        guard info.organizationIdentifier == orgID else {
            throw invalid("jwks.keys[0].x5c[0] organizationIdentifier does not match the QWAC's")
        }
        guard let thumb = key["x5t#S256"]?.stringValue else { throw invalid("jwks.keys[0].x5t#S256 is required") }
        guard thumb == info.sha256Base64URL else {
            throw invalid("jwks.keys[0].x5t#S256 is not the SHA-256 thumbprint (base64url) of x5c[0]")
        }
        return RegisteredKey(kid: kid, x5u: nil, x5c: [b64], certificateDER: der, info: info)
    }

    func document(_ client: SimulatedClient, pendingFirst: Bool) -> JSON {
        let s = (pendingFirst ? client.pending?.settings : nil) ?? client.settings
        let key = s.keys[0]
        let jwk: JSON = .object([
            ("kty", "RSA"), ("use", "sig"), ("alg", "RS256"), ("key_ops", .array(["verify"])),
            ("kid", .string(key.kid)),
            ("x5c", .array(key.x5c.map(JSON.string))), ("x5t#S256", .string(key.info.sha256Base64URL)),
        ])
        return .object(
            [
                ("client_id", .string(client.clientID)), ("client_name", .string(s.clientName)),
                ("redirect_uris", .array(s.redirectURIs.map(JSON.string))),
                ("token_endpoint_auth_method", "tls_client_auth"),
                ("grant_types", .array(s.grantTypes.map(JSON.string))), ("response_types", .array(["code"])),
                ("scope", .string(s.scopes.joined(separator: ", "))), ("jwks", .object([("keys", .array([jwk]))])),
            ] + s.extraFields)
    }
}

/// `PSDXX-YYYYYYYY-ZZZZZZZZ` (ETSI TS 119 495): prefix, ISO country, `-`, NCA id (2–8 capitals), `-`, number.
func isOrganizationIdentifier(_ s: String, prefix: String) -> Bool {
    let parts = s.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == prefix.count + 2, parts[0].hasPrefix(prefix) else { return false }
    let country = parts[0].dropFirst(prefix.count)
    return country.allSatisfy { $0.isASCII && $0.isUppercase } && (2...8).contains(parts[1].count)
        && parts[1].allSatisfy { $0.isASCII && $0.isUppercase } && !parts[2].isEmpty
        && parts[2].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
}
