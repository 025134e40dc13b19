import HTTPServerKit

/// Token issuance, refresh and bearer validation shared by both families (RFC 6749, RFC 7636).
extension BankSimulator {
    /// How a family answers at its token endpoint.
    struct TokenStyle: Sendable {
        var tokenType: String
        /// Appended to the granted scope in token responses (`offline_access` at BPCE).
        var extraScope: String?
    }

    func tokenResponse(access: String, refresh: String?, scopes: Set<String>, style: TokenStyle, expiresIn: Int64)
        -> HTTPResponse
    {
        var scope = scopes.sorted().joined(separator: " ")
        if let extra = style.extraScope, refresh != nil { scope += " " + extra }
        var members: [(String, JSON)] = [
            ("access_token", .string(access)), ("token_type", .string(style.tokenType)),
            ("expires_in", .number(Double(expiresIn))), ("scope", .string(scope)),
        ]
        if let refresh { members.append(("refresh_token", .string(refresh))) }
        var response = HTTPResponse.json(200, JSON.object(members).bytes)
        response.headers.set("Cache-Control", "no-store")
        return response
    }

    /// Token requests are `application/x-www-form-urlencoded` (RFC 6749 §4.1.3).
    func requireFormBody(_ call: Call) throws(SimulatorRejection) {
        let type = call.request.headers["Content-Type"]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw .oauth(
                400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded",
                reason: "token request with Content-Type '\(type)'")
        }
    }

    /// Stores a new authorization code.
    func issueCode(_ code: AuthorizationCode) -> String {
        let value = RandomToken.make(30)
        store.state.withLock { $0.codes[value] = code }
        return value
    }

    /// `grant_type=authorization_code`.
    /// - Throws: `SimulatorRejection` with an OAuth error for an unknown, expired or reused code, another client or
    ///   redirect URI, or a PKCE mismatch.
    func exchangeCode(_ call: Call, clientID: String, style: TokenStyle, requireVerifier: Bool)
        throws(SimulatorRejection) -> HTTPResponse
    {
        guard let code = call.formValue("code"), !code.isEmpty else {
            throw .oauth(400, "invalid_request", "code is required")
        }
        guard let redirectURI = call.formValue("redirect_uri") else {
            throw .oauth(400, "invalid_request", "redirect_uri is required")
        }
        let verifier = call.formValue("code_verifier")
        if requireVerifier && verifier == nil {
            throw .oauth(400, "invalid_request", "code_verifier is required (PKCE)")
        }
        let now = call.now
        let cfg = configuration
        let challengeOf: (String) -> String = { Base64Text.encodeURL(self.crypto.sha256(Array($0.utf8))) }
        let (access, refresh, scopes) = try store.withState { s throws(SimulatorRejection) in
            guard let stored = s.codes.removeValue(forKey: code) else {
                throw .oauth(
                    400, "invalid_grant", "Invalid authorization code",
                    reason: "authorization code unknown or already used")
            }
            guard stored.expiresAt > now else {
                throw .oauth(
                    400, "invalid_grant", "Authorization code has expired", reason: "authorization code expired")
            }
            guard stored.bank == call.bank, stored.clientID == clientID else {
                throw .oauth(
                    400, "invalid_grant", "Invalid authorization code",
                    reason: "authorization code issued to another client or bank")
            }
            guard stored.redirectURI == redirectURI else {
                throw .oauth(
                    400, "invalid_grant", "redirect_uri does not match the authorization request",
                    reason: "redirect_uri differs from the authorize call")
            }
            if let challenge = stored.codeChallenge {
                guard let verifier else { throw .oauth(400, "invalid_request", "code_verifier is required (PKCE)") }
                guard verifier.count >= 43, verifier.count <= 128, challengeOf(verifier) == challenge else {
                    throw .oauth(
                        400, "invalid_grant", "PKCE verification failed",
                        reason: "PKCE code_verifier does not match code_challenge")
                }
            }
            let access = RandomToken.make(54)
            let refresh = RandomToken.make(54)
            let familyID = RandomToken.hex(16)
            var family = TokenFamily(
                id: familyID, bank: stored.bank, clientID: clientID, persona: stored.persona, scopes: stored.scopes,
                paymentID: stored.paymentID, refreshExpiresAt: now + cfg.refreshTokenLifetime,
                currentRefreshToken: refresh)
            s.refreshIndex[refresh] = familyID
            s.issueAccessToken(access, of: &family, expiresAt: now + cfg.accessTokenLifetime)
            return (access, refresh, stored.scopes)
        }
        return tokenResponse(
            access: access, refresh: refresh, scopes: scopes, style: style, expiresIn: cfg.accessTokenLifetime)
    }

    /// `grant_type=refresh_token`: same refresh token back unless one-time refresh tokens are on; the refresh
    /// lifetime runs from the authorization and is never extended.
    func refresh(_ call: Call, clientID: String, style: TokenStyle) throws(SimulatorRejection) -> HTTPResponse {
        guard let token = call.formValue("refresh_token"), !token.isEmpty else {
            throw .oauth(400, "invalid_request", "refresh_token is required")
        }
        let now = call.now
        let cfg = configuration
        let forcedExpiry = call.faults.contains(.expiredRefreshToken)
        let (access, refresh, scopes) = try store.withState { s throws(SimulatorRejection) in
            guard let familyID = s.refreshIndex[token], var family = s.families[familyID] else {
                throw .oauth(400, "invalid_grant", "Invalid refresh token", reason: "refresh token unknown")
            }
            guard family.bank == call.bank, family.clientID == clientID else {
                throw .oauth(
                    400, "invalid_grant", "Invalid refresh token",
                    reason: "refresh token issued to another client or bank")
            }
            if family.oldRefreshTokens.contains(token) {
                family.revoked = true
                for a in family.accessTokens { s.accessTokens[a] = nil }
                s.families[familyID] = family
                s.counters.refreshReuseAttempts += 1
                throw .oauth(
                    400, "invalid_grant", "Invalid refresh token",
                    reason: "reuse of a one-time refresh token: token family revoked")
            }
            guard !family.revoked else {
                throw .oauth(400, "invalid_grant", "Invalid refresh token", reason: "refresh token family revoked")
            }
            guard family.refreshExpiresAt > now, !forcedExpiry else {
                throw .oauth(400, "invalid_grant", "Refresh token has expired", reason: "refresh token expired")
            }
            s.counters.refreshesByGeneration[family.generation, default: 0] += 1
            s.counters.refreshesByClient[clientID, default: 0] += 1
            let access = RandomToken.make(54)
            if cfg.oneTimeRefreshTokens {
                family.oldRefreshTokens.insert(family.currentRefreshToken)
                family.currentRefreshToken = RandomToken.make(54)
                family.generation += 1
                s.refreshIndex[family.currentRefreshToken] = familyID
            }
            s.issueAccessToken(access, of: &family, expiresAt: now + cfg.accessTokenLifetime)
            return (access, family.currentRefreshToken, family.scopes)
        }
        return tokenResponse(
            access: access, refresh: refresh, scopes: scopes, style: style, expiresIn: cfg.accessTokenLifetime)
    }

    /// `grant_type=client_credentials` of a PISP or CBPII client: `scopes` (as the bank reads them from the form)
    /// must be among `pisp` and `cbpii` and registered for `client`; the token has no refresh token.
    func paymentClientCredentials(
        _ call: Call, client: SimulatedClient, scopes: Set<String>, style: TokenStyle
    ) throws(SimulatorRejection) -> HTTPResponse {
        guard !scopes.isEmpty, scopes.isSubset(of: ["pisp", "cbpii"]) else {
            throw .oauth(400, "invalid_scope", "client_credentials requires scope pisp or cbpii")
        }
        guard scopes.isSubset(of: Set(client.settings.scopes)) else {
            throw .oauth(400, "invalid_scope", "scope not registered for this client")
        }
        let grant = AccessGrant(
            kind: .clientCredentials, bank: call.bank, clientID: client.clientID, scopes: scopes, persona: nil,
            familyID: nil, paymentID: nil, expiresAt: call.now + configuration.accessTokenLifetime)
        return clientCredentials(call, grant: grant, style: style)
    }

    /// Issues a client-credentials (or registration) access token without refresh token.
    func clientCredentials(_ call: Call, grant: AccessGrant, style: TokenStyle) -> HTTPResponse {
        let access = RandomToken.make(54)
        store.state.withLock {
            $0.accessTokens[access] = grant
            $0.counters.tokenIssuancesByClient[grant.clientID, default: 0] += 1
        }
        return tokenResponse(
            access: access, refresh: nil, scopes: grant.scopes, style: style, expiresIn: grant.expiresAt - call.now)
    }

    /// Validates `Authorization: Bearer …` for `bank` and `clientID`, requiring one of `scopes`.
    /// - Throws: 401 for a missing, unknown, expired or foreign token; 403 for a missing scope.
    func bearer(_ call: Call, bank: String, clientID: String?, anyOf scopes: Set<String>, kinds: Set<AccessGrant.Kind>)
        throws(SimulatorRejection) -> AccessGrant
    {
        func unauthorized(_ reason: String) -> SimulatorRejection {
            var r = call.stet(401, "Unauthorized", reason)
            r.response.headers.set("WWW-Authenticate", "Bearer error=\"invalid_token\"")
            return r
        }
        guard let header = call.request.headers["Authorization"] else {
            throw unauthorized("authorization header missing")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw unauthorized("authorization is not a Bearer token")
        }
        let token = String(parts[1]).trimmingSpaces
        let now = call.now
        guard
            let grant = store.state.withLock({ s -> AccessGrant? in
                guard let g = s.accessTokens[token] else { return nil }
                if let f = g.familyID, s.families[f]?.revoked == true { return nil }
                return g
            })
        else { throw unauthorized("access token unknown or revoked") }
        guard grant.expiresAt > now else { throw unauthorized("access token expired") }
        guard grant.bank == bank else { throw unauthorized("access token issued for \(grant.bank), not \(bank)") }
        if let clientID, grant.clientID != clientID {
            throw unauthorized("access token issued to another client than the signer's")
        }
        guard kinds.contains(grant.kind) else {
            throw call.stet(403, "Forbidden", "access token of type \(grant.kind.rawValue) not accepted here")
        }
        guard !grant.scopes.isDisjoint(with: scopes) else {
            throw call.stet(403, "Forbidden", "access token lacks scope \(scopes.sorted().joined(separator: " or "))")
        }
        return grant
    }
}
