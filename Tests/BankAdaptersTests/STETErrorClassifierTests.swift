import GatewayCore
import Testing

@testable import BankAdapters

@Suite struct STETErrorClassifierTests {
    func classify(
        _ status: Int, _ body: String, kind: STETErrorClassifier.CallKind = .resource,
        headers: [(name: String, value: String)] = [(name: "Content-Type", value: "application/json")]
    ) -> AdapterError {
        STETErrorClassifier.classify(status: status, headers: headers, body: Array(body.utf8), kind: kind)
    }

    @Test func readsSTETCodesFromTheErrorModel() {
        let naac =
            #"{"timestamp":"2024-03-20T10:15:30.000+01:00","status":403,"error":"Forbidden","message":"NAAC","path":"/stet/psd2/v1/accounts"}"#
        #expect(classify(403, naac) == .noAccounts)
        #expect(classify(404, #"{"status":"404","error":"Not Found","message":"NAAC"}"#) == .noAccounts)
        #expect(classify(400, #"{"status":400,"message":"NIMP"}"#) == .notImplemented(code: "NIMP", message: nil))
        #expect(classify(501, "") == .notImplemented(code: nil, message: nil))
        #expect(
            classify(500, #"{"status":500,"error":"Internal Server Error","message":"INTE"}"#)
                == .unavailable(status: 500, code: "INTE", message: nil))
        #expect(
            classify(400, #"{"status":400,"error":"Bad Request","message":"dateFrom is after dateTo"}"#)
                == .rejected(status: 400, code: nil, message: "dateFrom is after dateTo"))
    }

    @Test func rateLimitsCarryRetryAfter() {
        #expect(
            classify(429, "", headers: [(name: "Retry-After", value: "120")])
                == .rateLimited(retryAfter: 120, code: nil, message: nil))
        #expect(classify(403, #"{"message":"TMRQ"}"#) == .rateLimited(retryAfter: nil, code: "TMRQ", message: nil))
    }

    @Test func technicalErrorsAndHTMLPagesAreUnavailable() {
        #expect(classify(500, "ERREUR Technique") == .unavailable(status: 500, code: nil, message: "ERREUR Technique"))
        #expect(
            classify(
                200 + 302, "<html><body>Service indisponible</body></html>",
                headers: [(name: "Content-Type", value: "text/html")])
                == .unavailable(status: 502, code: nil, message: nil))
        #expect(
            classify(403, "  <!DOCTYPE html><html>blocked</html>", headers: [])
                == .unavailable(status: 403, code: nil, message: nil))
        #expect(
            classify(503, #"{"message":"Erreur technique"}"#)
                == .unavailable(status: 503, code: nil, message: "ERREUR Technique"))
    }

    @Test func expiredAccessTokensAreTokenExpiredOnResourcesOnly() {
        #expect(classify(401, #"{"error":"invalid_token"}"#) == .tokenExpired)
        #expect(classify(401, "") == .tokenExpired)
        #expect(
            classify(401, #"{"error":"invalid_client","error_description":"Unknown client"}"#, kind: .token)
                == .unauthorized(status: 401, code: "invalid_client", message: "Unknown client"))
        #expect(classify(403, "", kind: .registration) == .unauthorized(status: 403, code: nil, message: nil))
    }

    @Test func deadRefreshTokensAreRecognized() {
        #expect(
            classify(400, #"{"error":"invalid_grant","error_description":"Refresh token has expired"}"#, kind: .refresh)
                == .refreshTokenDead(code: "invalid_grant", message: "Refresh token has expired"))
        #expect(
            classify(400, "Invalid refresh token", kind: .refresh, headers: [])
                == .refreshTokenDead(code: nil, message: "Invalid refresh token"))
        // The same invalid_grant on a code exchange is a rejected request (bad or reused code), not a dead refresh.
        #expect(
            classify(400, #"{"error":"invalid_grant","error_description":"Code expired"}"#, kind: .token)
                == .rejected(status: 400, code: "invalid_grant", message: "Code expired"))
    }

    @Test func registrationErrorsKeepTheBanksCodeAndDescription() {
        let error = classify(
            400, #"{"error":"invalid_redirect_uri","error_description":"redirect_uris[0] must be https"}"#,
            kind: .registration)
        #expect(
            error == .rejected(status: 400, code: "invalid_redirect_uri", message: "redirect_uris[0] must be https"))
        #expect(error.bankHTTPStatus == 400)
        #expect(error.bankCode == "invalid_redirect_uri")
    }

    @Test func neverKeepsMoreThanAShortSanitizedMessage() {
        let long = String(repeating: "x", count: 5000)
        let error = classify(
            400, #"{"error":"invalid_request","error_description":"\#(long)\nline"}"#, kind: .registration)
        #expect((error.bankMessage?.count ?? 0) <= 300)
        #expect(classify(302, "") == .invalidResponse(reason: "unexpected HTTP status 302"))
    }
}

@Suite struct STETLinksTests {
    let root = "https://oauth2-apiii.e-i.com/sandbox/cic/stet-psd2-api/v2.0"

    @Test func resolvesRelativeLinksAgainstTheHostNotTheRoot() throws {
        #expect(
            try STETLinks.resolve("/sandbox/cic/stet-psd2-api/v2.0/accounts?page=2", apiRoot: root)
                == "https://oauth2-apiii.e-i.com/sandbox/cic/stet-psd2-api/v2.0/accounts?page=2")
        #expect(
            try STETLinks.resolve("accounts/1/transactions?page=3", apiRoot: root)
                == root + "/accounts/1/transactions?page=3")
        #expect(
            try STETLinks.resolve("https://OAUTH2-APIII.e-i.com:443/x?page=2", apiRoot: root)
                == "https://oauth2-apiii.e-i.com/x?page=2")
        #expect(try STETLinks.resolve("//oauth2-apiii.e-i.com/y", apiRoot: root) == "https://oauth2-apiii.e-i.com/y")
        #expect(try STETLinks.resolve("/a?back=https://x.example/", apiRoot: root) == "https://oauth2-apiii.e-i.com/a?back=https://x.example/")
        #expect(
            try STETLinks.resolve("/a", apiRoot: "https://localhost:9443/sandbox/cic/stet-psd2-api/v2.0")
                == "https://localhost:9443/a")
    }

    @Test(arguments: [
        "https://evil.example/x", "http://oauth2-apiii.e-i.com/x", "https://oauth2-apiii.e-i.com:8443/x", "",
        "ftp://x/y", "//evil.example/x", "javascript:alert(1)", "mailto:a@b",
    ])
    func refusesLinksThatLeaveTheAPIHost(_ href: String) {
        #expect(throws: AdapterError.self) { try STETLinks.resolve(href, apiRoot: root) }
    }
}

@Suite struct STETOAuthTests {
    let cic = BankCatalog.builtIn.profile(for: BankID("cmcic:cic")!)!
    let bpce = BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!

    @Test func buildsTheEuroInformationAuthorizeURLWithPKCEAndLanguage() throws {
        let request = AuthorizationRequest(
            clientID: "abc123", redirectURI: "https://tpp.example/cb?x=1", state: "s t", roles: [.aisp],
            extendedTransactionHistory: true, codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            language: "en")
        let url = try STETOAuth.authorizationURL(request, bank: cic, environment: .production)
        #expect(
            url == "https://www.cic.fr/oauth2/en/banque/oauth2_authorization.aspx?response_type=code&client_id=abc123"
                + "&redirect_uri=https%3A%2F%2Ftpp.example%2Fcb%3Fx%3D1&scope=aisp%20extended_transaction_history&state=s%20t"
                + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
        var other = request
        other.language = "xx"
        #expect(
            try STETOAuth.authorizationURL(other, bank: cic, environment: .sandbox).hasPrefix(
                "https://www.cic.fr/oauth2/fr/sandbox/signin.html?"))
    }

    @Test func buildsTheBPCEAuthorizeURLWithoutPKCEOrExtendedHistory() throws {
        let request = AuthorizationRequest(
            clientID: "cid", redirectURI: "https://myAPP.fr/Home/OAuth2Callback", state: "st", roles: [.aisp],
            extendedTransactionHistory: true, codeChallenge: "ch")
        let url = try STETOAuth.authorizationURL(request, bank: bpce, environment: .sandbox)
        #expect(
            url == "https://www.13807.sandbox.api.89c3.com/stet/psd2/oauth/authorize?response_type=code&client_id=cid"
                + "&redirect_uri=https%3A%2F%2FmyAPP.fr%2FHome%2FOAuth2Callback&scope=aisp&state=st")
    }

    @Test func usesEachBanksRegistrationScopeSyntax() {
        #expect(
            STETOAuth.registrationScope(for: [.pisp, .aisp], extendedHistory: true, bank: cic)
                == "aisp extended_transaction_history pisp")
        #expect(STETOAuth.registrationScope(for: [.pisp, .aisp], extendedHistory: true, bank: bpce) == "aisp, pisp")
    }

    @Test func tokenFormsFollowEachBanksRules() {
        let exchange = CodeExchange(
            code: .init("c0de"), redirectURI: "https://tpp.example/cb", codeVerifier: .init("v3rifier"))
        #expect(
            STETOAuth.codeExchangeForm(exchange, clientID: "cid", bank: cic).reveal
                == "grant_type=authorization_code&client_id=cid&code=c0de&redirect_uri=https%3A%2F%2Ftpp.example%2Fcb&code_verifier=v3rifier"
        )
        let bpceForm = STETOAuth.codeExchangeForm(exchange, clientID: "cid", bank: bpce).reveal
        #expect(!bpceForm.contains("scope") && !bpceForm.contains("code_verifier"))
        #expect(
            STETOAuth.refreshForm(.init("r"), clientID: "cid").reveal
                == "grant_type=refresh_token&refresh_token=r&client_id=cid")
        #expect(
            STETOAuth.clientCredentialsForm(clientID: "PSD2_TPPRegister", scope: "manageRegistration")
                == "grant_type=client_credentials&client_id=PSD2_TPPRegister&scope=manageRegistration")
        #expect("\(STETOAuth.refreshForm(.init("r"), clientID: "cid"))" == "<redacted>")
    }
}
