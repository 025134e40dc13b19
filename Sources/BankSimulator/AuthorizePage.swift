import GatewayLogging
import HTTPServerKit

/// The browser-facing authorize endpoint of both families: validates the request, then shows a persona picker
/// or, with `persona=<name>` in the query, redirects at once to `redirect_uri?code=…&state=…`.
extension BankSimulator {
    struct AuthorizeRules: Sendable {
        /// Euro-Information requires PKCE S256 and a `state`.
        var requirePKCE: Bool
        var requireState: Bool
        /// BPCE accepts a registered scheme + authority as a prefix of the redirect URI.
        var redirectPrefixMatch: Bool
    }

    func authorize(_ call: Call, client: SimulatedClient?, rules: AuthorizeRules) throws(SimulatorRejection)
        -> HTTPResponse
    {
        let q = call.request
        func page(_ status: Int, _ message: String) -> SimulatorRejection {
            SimulatorRejection(
                response: .text(
                    status, htmlPage(title: "Erreur", body: "<p>\(html(message))</p>"),
                    contentType: "text/html; charset=utf-8"), reason: message)
        }
        guard let clientID = q.queryValue("client_id"), !clientID.isEmpty else {
            throw page(400, "client_id is required")
        }
        guard let client else { throw page(400, "client_id \(clientID) is unknown at \(call.bank)") }
        guard client.activeAt <= call.now else {
            throw page(400, "client_id \(clientID) is not active before \(ParisCalendar.timestamp(client.activeAt))")
        }
        guard let redirectURI = q.queryValue("redirect_uri") else { throw page(400, "redirect_uri is required") }
        let registered =
            client.settings.redirectURIs.contains(redirectURI)
            || (rules.redirectPrefixMatch
                && client.settings.redirectURIs.contains {
                    origin(of: $0) == $0.trimmingCharacters(inSet: "/") && origin(of: redirectURI) == origin(of: $0)
                })
        guard registered else { throw page(400, "redirect_uri \(redirectURI) is not registered for this client") }

        let state = q.queryValue("state")
        func redirectError(_ error: String, _ reason: String) -> SimulatorRejection {
            var params = [("error", error), ("error_description", reason)]
            if let state { params.append(("state", state)) }
            return SimulatorRejection(response: redirect(redirectURI, params), reason: reason)
        }
        guard q.queryValue("response_type") == "code" else {
            throw redirectError("unsupported_response_type", "response_type must be code")
        }
        if rules.requireState && (state ?? "").isEmpty { throw redirectError("invalid_request", "state is required") }
        let requested = Set(
            (q.queryValue("scope") ?? "").split { $0 == " " || $0 == "," || $0 == "+" }.map { $0.lowercased() })
        guard !requested.isEmpty else { throw redirectError("invalid_scope", "scope is required") }
        let allowed = Set(client.settings.scopes)
        for s in requested where !allowed.contains(s) {
            throw redirectError("invalid_scope", "scope \(s) is not registered for this client")
        }
        let challenge = q.queryValue("code_challenge")
        let method = q.queryValue("code_challenge_method")
        if rules.requirePKCE && (challenge == nil || method == nil) {
            throw redirectError("invalid_request", "PKCE code_challenge with code_challenge_method=S256 is required")
        }
        if challenge != nil {
            guard method == "S256" else { throw redirectError("invalid_request", "code_challenge_method must be S256") }
            guard let c = challenge, c.count == 43,
                c.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else {
                throw redirectError("invalid_request", "code_challenge is not a base64url SHA-256")
            }
        }
        let paymentID = q.queryValue("paymentRequestResourceId")
        if let paymentID {
            let payment = store.state.withLock { $0.payments[paymentID] }
            guard let payment, payment.bank == call.bank, payment.clientID == client.clientID else {
                throw redirectError("invalid_request", "paymentRequestResourceId \(paymentID) unknown for this client")
            }
            // Single-use approval: a payment is approved once, while it awaits its customer.
            guard payment.status == "ACTC", !payment.confirmed else {
                throw redirectError("invalid_request", "payment \(paymentID) is \(payment.status), not awaiting approval")
            }
        }
        guard let personaName = q.queryValue("persona") else {
            return .text(200, pickerPage(call), contentType: "text/html; charset=utf-8")
        }
        if personaName == "refuse" {
            if let paymentID {
                // The customer refused the payment: the bank rejects it (reason CUST, requested by the customer).
                store.state.withLock {
                    $0.payments[paymentID]?.status = "RJCT"
                    $0.payments[paymentID]?.statusReason = "CUST"
                }
            }
            throw redirectError("access_denied", "the PSU refused the authorization")
        }
        guard let persona = Persona.named(personaName) else { throw page(400, "unknown persona \(personaName)") }
        let code = issueCode(
            AuthorizationCode(
                bank: call.bank, clientID: client.clientID, redirectURI: redirectURI, persona: persona.id,
                scopes: requested,
                codeChallenge: challenge, paymentID: paymentID,
                expiresAt: call.now + configuration.authorizationCodeLifetime))
        var params = [("code", code)]
        if let state { params.append(("state", state)) }
        return redirect(redirectURI, params)
    }

    func redirect(_ uri: String, _ params: [(String, String)]) -> HTTPResponse {
        let location = uri + (uri.contains("?") ? "&" : "?") + PercentEncoding.formEncode(params)
        return HTTPResponse(status: 302, headers: ["Location": location, "Cache-Control": "no-store"])
    }

    func pickerPage(_ call: Call) -> String {
        let query = call.request.query.filter { $0.name != "persona" }.map { ($0.name, $0.value) }
        var body = "<p>Choisissez un client de démonstration :</p><ul>"
        for p in Persona.all {
            let href = call.request.path + "?" + PercentEncoding.formEncode(query + [("persona", p.id)])
            body += "<li><a href=\"\(html(href))\">\(html(p.displayName)) (\(html(p.login)))</a></li>"
        }
        let refuse = call.request.path + "?" + PercentEncoding.formEncode(query + [("persona", "refuse")])
        body += "</ul><p><a href=\"\(html(refuse))\">Refuser</a></p>"
        return htmlPage(title: "Authentification — \(call.bank) (simulateur)", body: body)
    }

    func htmlPage(title: String, body: String) -> String {
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>\(html(title))</title></head><body><h1>\(html(title))</h1>\(body)</body></html>"
    }

    func html(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;").replacing(
            "\"", with: "&quot;")
    }
}

/// `scheme://authority` of a URI, lowercased; the URI itself if it has no `//`.
func origin(of uri: String) -> String {
    guard let range = uri.firstRange(of: "://") else { return uri.lowercased() }
    let afterScheme = uri[range.upperBound...]
    let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    return (uri[..<range.upperBound] + authority).lowercased()
}
