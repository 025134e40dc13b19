import HTTPServerKit
import Testing

@testable import BankSimulator

@Suite struct FaultTests {
    func accountsRequest(_ h: SimulatorHarness, fault: String?) async throws -> HTTPRequest {
        let (c, token, _) = try await h.eiConnected()
        return try h.signed(
            .ei, .get, "/sandbox/cic/stet-psd2-api/v2.1/accounts", token: token, keyId: c.kid,
            extra: fault.map { [(SimulatorFault.headerName, $0)] } ?? [])
    }

    @Test func latencyStillAnswers() async throws {
        let h = try SimulatorHarness()
        let r = try await h.send(accountsRequest(h, fault: "latency=20"))
        #expect(r.status == 200)
    }

    @Test func internalError500() async throws {
        let h = try SimulatorHarness()
        let r = try await h.send(accountsRequest(h, fault: "500"))
        #expect(r.status == 500)
        #expect(r.json?["message"]?.stringValue == "INTE")
    }

    @Test func unavailable503WithPlainBody() async throws {
        let h = try SimulatorHarness()
        let r = try await h.send(accountsRequest(h, fault: "503"))
        #expect(r.status == 503)
        #expect(r.text == "ERREUR Technique")
    }

    @Test func htmlErrorPage() async throws {
        let h = try SimulatorHarness()
        let r = try await h.send(accountsRequest(h, fault: "html"))
        #expect(r.status == 500)
        #expect(r.headers["Content-Type"]?.hasPrefix("text/html") == true)
    }

    @Test func dropThrowsTheDedicatedError() async throws {
        let h = try SimulatorHarness()
        let request = try await accountsRequest(h, fault: "drop")
        await #expect(throws: SimulatorDropConnection.self) { _ = try await h.send(request) }
    }

    @Test func tokenFailureAndExpiredRefresh() async throws {
        let h = try SimulatorHarness()
        let (c, _, refresh) = try await h.eiConnected()
        let failing = try await h.send(
            h.request(
                .post, "/sandbox/cic/oauth2/token", headers: [(SimulatorFault.headerName, "token-failure")],
                body: h.form([("client_id", c.clientID), ("grant_type", "refresh_token"), ("refresh_token", refresh)])))
        #expect(failing.status == 500)
        #expect(failing.json?["error"]?.stringValue == "server_error")
        let expired = try await h.send(
            h.request(
                .post, "/sandbox/cic/oauth2/token", headers: [(SimulatorFault.headerName, "expired-refresh")],
                body: h.form([("client_id", c.clientID), ("grant_type", "refresh_token"), ("refresh_token", refresh)])))
        #expect(expired.status == 400)
        #expect(expired.json?["error_description"]?.stringValue == "Refresh token has expired")
        // Faults only apply to the request that asked for them.
        let fine = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
        #expect(fine.status == 200)
    }

    @Test func faultsConfiguredPerBank() async throws {
        let h = try SimulatorHarness { $0.faults = ["bpce:17515": [.unavailable]] }
        let down = try await h.send(h.request(.get, "/stet/psd2/v1/accounts", host: "bpce-17515.localhost"))
        #expect(down.status == 503)
        let up = try await h.send(h.request(.get, "/stet/psd2/v1/accounts", host: "bpce-13807.localhost"))
        #expect(up.status == 400)  // reached the bank: no X-Request-ID
        let unknown = try await h.send(
            h.request(.get, "/sandbox/cic/oauth2/token", headers: [(SimulatorFault.headerName, "explode")]))
        #expect(unknown.status == 400)
    }
}

@Suite struct IntrospectionTests {
    @Test func countersResetClockAndRefreshExpiry() async throws {
        let h = try SimulatorHarness()
        let (c, _, refresh) = try await h.eiConnected()
        let counters = try #require(try await h.send(h.request(.get, "/__simulator/counters")).json)
        #expect(counters["tokenIssuancesByClient"]?[c.clientID]?.decimalText == "1.0")
        #expect(counters["registrationsByClient"]?[c.clientID]?["created"]?.decimalText == "1.0")
        #expect((Double(counters["requests"]?.decimalText ?? "0") ?? 0) >= 3)

        let expire = try await h.send(
            h.request(.post, "/__simulator/refresh-tokens/expire?client_id=\(c.clientID)&persona=marc"))
        #expect(expire.json?["expired"]?.decimalText == "1.0")
        let dead = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
        #expect(dead.status == 400)

        let before = h.now
        let adv = try await h.send(h.request(.post, "/__simulator/clock/advance?seconds=3600"))
        #expect(adv.status == 200)
        #expect(h.now == before + 3600)

        #expect(try await h.send(h.request(.post, "/__simulator/reset")).status == 204)
        let after = try #require(try await h.send(h.request(.get, "/__simulator/counters")).json)
        #expect(after["requests"]?.decimalText == "0.0")
        #expect(try await h.send(h.request(.get, "/sandbox/cic/oauth2/registrations/" + c.clientID)).status == 401)
    }

    @Test func activatesAPendingBPCERegistration() async throws {
        let h = try SimulatorHarness { $0.activationMode = .strict }
        let id = try await h.bpceClient()
        let early = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")])))
        #expect(early.status == 401)
        #expect(try await h.send(h.request(.post, "/__simulator/registrations/activate?client_id=" + id)).status == 204)
        let now = try await h.send(
            h.request(
                .post, "/stet/psd2/oauth/token", host: SimulatorHarness.bpceHost,
                body: h.form([("client_id", id), ("grant_type", "client_credentials"), ("scope", "pisp")])))
        #expect(now.status == 200)
    }

    @Test func faultsSetAtRuntimeForTheNextRequests() async throws {
        let h = try SimulatorHarness()
        #expect(
            try await h.send(h.request(.post, "/__simulator/faults?bank=bpce:13807&fault=503&count=2")).status == 204)
        let path = "/stet/psd2/v1/accounts"
        #expect(try await h.send(h.request(.get, path, host: SimulatorHarness.bpceHost)).status == 503)
        #expect(try await h.send(h.request(.get, "/cic/oauth2/token")).status == 405)  // other bank unaffected
        #expect(try await h.send(h.request(.get, path, host: SimulatorHarness.bpceHost)).status == 503)
        #expect(try await h.send(h.request(.get, path, host: SimulatorHarness.bpceHost)).status == 400)  // used up
        #expect(try await h.send(h.request(.post, "/__simulator/faults?bank=*&fault=token-failure")).status == 204)
        #expect(
            try await h.send(h.request(.post, "/cic/oauth2/token", body: h.form([("client_id", "x")]))).status == 500)
        #expect(try await h.send(h.request(.delete, "/__simulator/faults")).status == 204)
        #expect(
            try await h.send(h.request(.post, "/cic/oauth2/token", body: h.form([("client_id", "x")]))).status == 401)
        #expect(try await h.send(h.request(.post, "/__simulator/faults?bank=bpce&fault=boom")).status == 400)
    }

    @Test func unknownHostOrPathIs404() async throws {
        let h = try SimulatorHarness()
        #expect(try await h.send(h.request(.get, "/nowhere/accounts")).status == 404)
        #expect(try await h.send(h.request(.get, "/__simulator/nothing")).status == 404)
    }
}

@Suite struct ConfigurationTests {
    @Test func readsEveryVariable() throws {
        let c = try SimulatorConfiguration(environment: [
            "PASSERELLE_SIMULATOR_PORT": "9443", "PASSERELLE_SIMULATOR_TLS_CERT": "/x/server.crt",
            "PASSERELLE_SIMULATOR_CLIENT_CA": "/x/ca.crt", "PASSERELLE_SIMULATOR_ACTIVATION": "immediate",
            "PASSERELLE_SIMULATOR_ACCESS_TOKEN_SECONDS": "60", "PASSERELLE_SIMULATOR_DATE_SKEW_SECONDS": "30",
            "PASSERELLE_SIMULATOR_RATE_LIMIT_STATUS": "403", "PASSERELLE_SIMULATOR_TRUSTED_BENEFICIARIES": "501",
            "PASSERELLE_SIMULATOR_ONE_TIME_REFRESH_TOKENS": "true", "PASSERELLE_SIMULATOR_EI_API_VERSION": "v2.0",
            "PASSERELLE_SIMULATOR_ACTIVATION_CUTOFF": "10:00", "PASSERELLE_SIMULATOR_EXTRA_HOLIDAYS": "2027-05-05,2027-12-24",
            "PASSERELLE_SIMULATOR_FAULTS": "bpce:13807=503;cmcic:cic=latency=200,html",
        ])
        #expect(c.port == 9443 && c.tlsCertificateFile == "/x/server.crt" && c.clientCAFile == "/x/ca.crt")
        #expect(c.activationMode == .immediate && c.accessTokenLifetime == 60 && c.dateSkew == 30)
        #expect(c.rateLimitAnswer == .forbiddenTMRQ && c.trustedBeneficiariesMode == .notImplemented)
        #expect(c.oneTimeRefreshTokens && c.euroInformationAPIVersions == ["v2.0"])
        #expect(c.activationCutoff == 36000)
        #expect(
            c.extraHolidays
                == [.init(year: 2027, month: 5, day: 5), .init(year: 2027, month: 12, day: 24)])
        #expect(c.faults["bpce:13807"] == [.unavailable])
        #expect(c.faults["cmcic:cic"] == [.latency(milliseconds: 200), .htmlErrorPage])
    }

    @Test func reportsEveryInvalidValueTogether() {
        #expect {
            _ = try SimulatorConfiguration(environment: [
                "PASSERELLE_SIMULATOR_PORT": "x", "PASSERELLE_SIMULATOR_ACTIVATION": "someday",
                "PASSERELLE_SIMULATOR_FAULTS": "cic", "PASSERELLE_SIMULATOR_EXTRA_HOLIDAYS": "5 May",
            ])
        } throws: { error in
            (error as? SimulatorConfiguration.Error)?.problems.count == 5
        }
    }
}

@Suite struct CryptoSeamTests {
    @Test func openSSLKitAgreesWithTheOpenSSLCommandLine() throws {
        let h = try SimulatorHarness()
        let cli = OpenSSLCLICrypto(caFile: h.pki + "/ca.crt")
        for name in ["qwac.crt", "qseal.crt", "pss.crt", "noorgid.crt"] {
            let der = try h.der(name)
            let a = try h.crypto.certificateInfo(der: der)
            let b = try cli.certificateInfo(der: der)
            #expect(a.sha256Base64URL == b.sha256Base64URL, "\(name)")
            #expect(a.organizationIdentifier == b.organizationIdentifier, "\(name)")
            #expect(a.isSignedWithRSASSAPSS == b.isSignedWithRSASSAPSS, "\(name)")
            #expect(abs(a.notAfter - b.notAfter) <= 1, "\(name)")
        }
        #expect(h.crypto.sha256(Array("abc".utf8)) == cli.sha256(Array("abc".utf8)))
        let message = Array("(request-target): get /x".utf8)
        let signature = OpenSSLCLICrypto.sign(message, keyFile: h.key("qseal.key"))
        #expect(
            h.crypto.verifyRSASHA256(message: message, signature: signature, certificateDER: try h.der("qseal.crt")))
        #expect(
            !h.crypto.verifyRSASHA256(message: message, signature: signature, certificateDER: try h.der("qseal2.crt")))
        #expect(h.crypto.chainsToTrustedCA(try h.der("qseal.crt"), intermediates: []))
        #expect(!h.crypto.chainsToTrustedCA(try h.der("rogue-client.crt"), intermediates: [try h.der("rogue-ca.crt")]))
    }
}
