import HTTPServerKit

/// RFC 7591 / 7592 dynamic client registration at Euro-Information (docs/protocol.md §4.2), authenticated by the
/// QWAC alone.
extension EuroInformationBank {
    static let scopes: Set<String> = ["aisp", "extended_transaction_history", "pisp", "cbpii"]
    static let grantTypes: Set<String> = ["authorization_code", "refresh_token", "client_credentials"]

    func metadataError(_ description: String) -> SimulatorRejection {
        .oauth(400, "invalid_client_metadata", description)
    }

    /// POST (existing == nil) or PUT of a registration document.
    func register(_ call: Call, existing: SimulatedClient?) throws(SimulatorRejection) -> HTTPResponse {
        guard let qwacDER = call.request.peerCertificateDER else {
            throw .oauth(
                401, "invalid_client", "client certificate required",
                reason: "registration without a client certificate")
        }
        guard let qwac = try? simulator.crypto.certificateInfo(der: qwacDER), let orgID = qwac.organizationIdentifier
        else {
            throw .oauth(
                401, "invalid_client", "client certificate has no organizationIdentifier",
                reason: "QWAC without organizationIdentifier")
        }
        guard qwac.notAfter > call.now else { throw .oauth(401, "invalid_client", "client certificate expired") }
        guard let doc = JSON.parse(call.request.body), let members = doc.objectMembers else {
            throw metadataError("body is not a JSON object")
        }
        guard let name = doc["client_name"]?.stringValue, !name.trimmingSpaces.isEmpty else {
            throw metadataError("client_name is required")
        }
        guard let uris = doc["redirect_uris"]?.arrayValue, !uris.isEmpty else {
            throw .oauth(400, "invalid_redirect_uri", "redirect_uris must be a non-empty array")
        }
        var redirectURIs: [String] = []
        for u in uris {
            guard let s = u.stringValue, isAcceptableRedirectURI(s) else {
                throw .oauth(400, "invalid_redirect_uri", "redirect_uris entries must be absolute https URIs")
            }
            redirectURIs.append(s)
        }
        guard doc["token_endpoint_auth_method"]?.stringValue == "tls_client_auth" else {
            throw metadataError("token_endpoint_auth_method must be tls_client_auth")
        }
        var grantTypes = ["authorization_code", "refresh_token"]
        if let g = doc["grant_types"] {
            guard let arr = g.arrayValue?.compactMap(\.stringValue), arr.count == g.arrayValue?.count,
                Set(arr).isSubset(of: Self.grantTypes)
            else {
                throw metadataError(
                    "grant_types must be a subset of authorization_code, refresh_token, client_credentials")
            }
            grantTypes = arr
        }
        if let r = doc["response_types"] {
            guard r.arrayValue?.compactMap(\.stringValue) == ["code"] else {
                throw metadataError("response_types must be [\"code\"]")
            }
        }
        guard let scopeText = doc["scope"]?.stringValue, !scopeText.trimmingSpaces.isEmpty else {
            throw metadataError("scope is required")
        }
        if scopeText.contains(",") {
            throw metadataError("scope must be space-separated (RFC 7591), not comma-separated")
        }
        let scopes = scopeText.split(separator: " ").map(String.init)
        for s in scopes where !Self.scopes.contains(s) { throw metadataError("unknown scope \(s)") }
        if scopes.contains("extended_transaction_history") && !scopes.contains("aisp") {
            throw metadataError("extended_transaction_history requires aisp")
        }
        let keys = try parseKeys(doc, orgID: orgID, existing: existing, now: call.now)
        if !root.hasPrefix("/sandbox/"),
            let refusal = PSD2RoleCheck.refusal(
                scopes: scopes, certificates: [("QWAC", qwac)] + keys.map { ("QSealC \($0.kid)", $0.info) })
        {
            throw metadataError(refusal)
        }

        let known: Set<String> = [
            "client_name", "redirect_uris", "token_endpoint_auth_method", "grant_types", "response_types", "scope",
            "jwks", "client_id", "registration_client_uri", "tls_client_auth_subject_dn", "provider_legal_id",
        ]
        let settings = ClientSettings(
            clientName: name, scopes: scopes, redirectURIs: redirectURIs, grantTypes: grantTypes, keys: keys,
            extraFields: members.filter { !known.contains($0.0) })
        let client: SimulatedClient
        if var c = existing {
            c.settings = settings
            c.qwacFingerprints.insert(qwac.sha256Base64URL)
            client = c
        } else {
            client = SimulatedClient(
                clientID: RandomToken.hex(40), registry: registry, settings: settings, pending: nil, activeAt: call.now,
                qwacFingerprints: [qwac.sha256Base64URL], providerLegalID: orgID, subjectDN: qwac.subject)
        }
        simulator.store.state.withLock { $0.clients[client.clientID] = client }
        simulator.store.countRegistration(client.clientID, existing == nil ? "created" : "updated")
        return .json(existing == nil ? 201 : 200, document(client, call).bytes)
    }

    /// GET, PUT, DELETE `{root}oauth2/registrations/{client_id}` (RFC 7592).
    func manage(_ call: Call, clientID: String) throws(SimulatorRejection) -> HTTPResponse {
        guard let qwacDER = call.request.peerCertificateDER else {
            throw .oauth(
                401, "invalid_client", "client certificate required",
                reason: "registration management without a client certificate")
        }
        guard let client = simulator.store.client(clientID, now: call.now), client.registry == registry else {
            throw .oauth(
                401, "invalid_client", "Unknown client", reason: "client_id \(clientID) unknown at \(call.bank)")
        }
        let qwac = try? simulator.crypto.certificateInfo(der: qwacDER)
        let sameCertificate = qwac.map { client.qwacFingerprints.contains($0.sha256Base64URL) } ?? false
        let sameOrganisation = qwac?.organizationIdentifier == client.providerLegalID
        // A PUT may present a new QWAC of the same organisation (certificate rotation); GET and DELETE need a registered one.
        guard sameCertificate || (call.request.method == .put && sameOrganisation) else {
            throw .oauth(
                401, "invalid_client", "Client certificate mismatch",
                reason: "client certificate is not a QWAC registered for client \(clientID)")
        }
        switch call.request.method {
        case .get:
            simulator.store.countRegistration(clientID, "read")
            return .json(200, document(client, call).bytes)
        case .delete:
            simulator.store.state.withLock { $0.clients[clientID] = nil }
            simulator.store.countRegistration(clientID, "deleted")
            return HTTPResponse(status: 204)
        default:
            return try register(call, existing: client)
        }
    }

    private func parseKeys(_ doc: JSON, orgID: String, existing: SimulatedClient?, now: Int64)
        throws(SimulatorRejection) -> [RegisteredKey]
    {
        guard let keys = doc["jwks"]?["keys"]?.arrayValue, !keys.isEmpty else {
            throw metadataError("jwks.keys must hold at least one key")
        }
        var out: [RegisteredKey] = []
        for (i, key) in keys.enumerated() {
            guard key["kty"]?.stringValue == "RSA" else { throw metadataError("jwks.keys[\(i)].kty must be RSA") }
            guard let x5c = key["x5c"]?.arrayValue, !x5c.isEmpty else {
                throw metadataError("jwks.keys[\(i)].x5c is required")
            }
            var ders: [[UInt8]] = []
            for item in x5c {
                guard let b64 = item.stringValue, let der = Base64Text.decode(b64) else {
                    throw metadataError("jwks.keys[\(i)].x5c entries must be standard base64 of DER")
                }
                ders.append(der)
            }
            guard ders.count >= 2 else {
                throw metadataError("jwks.keys[\(i)].x5c must hold the full certificate chain")
            }
            guard let info = try? simulator.crypto.certificateInfo(der: ders[0]), info.isRSA else {
                throw metadataError("jwks.keys[\(i)].x5c[0] is not an RSA certificate")
            }
            guard info.notAfter > now else { throw metadataError("jwks.keys[\(i)].x5c[0] has expired") }
            // RFC 7518 §6.3.1: an RSA public key carries "n" and "e" (base64url, no leading zero octet), here
            // those of x5c[0].
            guard let n = key["n"]?.stringValue, let e = key["e"]?.stringValue else {
                throw metadataError("jwks.keys[\(i)] must carry the RSA members n and e (RFC 7518 §6.3.1)")
            }
            guard n == Base64Text.encodeURL(info.rsaModulus ?? []), e == Base64Text.encodeURL(info.rsaExponent ?? [])
            else {
                throw metadataError("jwks.keys[\(i)].n/e are not the key of x5c[0]")
            }
            guard info.organizationIdentifier == orgID else {
                throw metadataError("jwks.keys[\(i)] QSealC organizationIdentifier does not match the QWAC's")
            }
            guard simulator.crypto.chainsToTrustedCA(ders[0], intermediates: Array(ders.dropFirst())) else {
                throw metadataError("jwks.keys[\(i)].x5c chain does not lead to a trusted CA")
            }
            var x5u: String?
            if let u = key["x5u"], !u.isNull {
                guard let s = u.stringValue, s.hasPrefix("https://") else {
                    throw metadataError("jwks.keys[\(i)].x5u must be an https URL")
                }
                x5u = s
            }
            var kid = RandomToken.hex(32)
            if let k = key["kid"] {
                // RFC 7517 §4.5: a kid is a string; a new key has none (the bank generates it).
                guard let s = k.stringValue else {
                    throw metadataError("jwks.keys[\(i)].kid must be a string (omit it for a new key)")
                }
                guard let old = existing?.settings.keys.first(where: { $0.kid == s }) else {
                    throw metadataError(
                        "jwks.keys[\(i)].kid is not a kid generated by the bank (omit it for a new key)")
                }
                guard old.info.sha256Base64URL == info.sha256Base64URL else {
                    throw metadataError("jwks.keys[\(i)].kid \(s) belongs to another certificate")
                }
                kid = s
            }
            out.append(
                RegisteredKey(
                    kid: kid, x5u: x5u, x5c: x5c.compactMap(\.stringValue), certificateDER: ders[0], info: info))
        }
        return out
    }

    func document(_ client: SimulatedClient, _ call: Call) -> JSON {
        let s = client.settings
        let keys: [JSON] = s.keys.map { k in
            var m: [(String, JSON)] = [
                ("kty", "RSA"), ("use", "sig"), ("kid", .string(k.kid)),
                ("n", .string(Base64Text.encodeURL(k.info.rsaModulus ?? []))),
                ("e", .string(Base64Text.encodeURL(k.info.rsaExponent ?? []))), ("x5c", .array(k.x5c.map(JSON.string))),
            ]
            if let u = k.x5u { m.append(("x5u", .string(u))) }
            return .object(m)
        }
        return .object(
            [
                ("client_id", .string(client.clientID)),
                ("registration_client_uri", .string(call.origin + root + "oauth2/registrations/" + client.clientID)),
                ("client_name", .string(s.clientName)), ("redirect_uris", .array(s.redirectURIs.map(JSON.string))),
                ("token_endpoint_auth_method", "tls_client_auth"),
                ("grant_types", .array(s.grantTypes.map(JSON.string))),
                ("response_types", .array(["code"])), ("scope", .string(s.scopes.joined(separator: " "))),
                ("jwks", .object([("keys", .array(keys))])), ("tls_client_auth_subject_dn", .string(client.subjectDN)),
                ("provider_legal_id", .string(client.providerLegalID)),
            ] + s.extraFields)
    }
}

/// Absolute `https` URIs, plus `http` on loopback names for local demos.
func isAcceptableRedirectURI(_ s: String) -> Bool {
    let o = origin(of: s)
    if o.hasPrefix("https://") && o.count > 8 { return true }
    return o.hasPrefix("http://localhost") || o.hasPrefix("http://127.0.0.1")
        || (o.hasPrefix("http://") && o.hasSuffix(".localhost"))
}
