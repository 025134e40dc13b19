import GatewayLogging
import HTTPServerKit
import Testing

@testable import BankSimulator

@Suite struct EuroInformationFlowTests {
    @Test func registrationReturnsClientIdKidAndRegistrationURI() async throws {
        let h = try SimulatorHarness()
        let r = try await h.send(
            h.request(
                .post, "/sandbox/cic/oauth2/registrations", host: "localhost:8443",
                body: h.eiRegistrationBody().bytes))
        #expect(r.status == 201)
        let doc = try #require(r.json)
        let id = try #require(doc["client_id"]?.stringValue)
        #expect(id.count == 40)
        #expect(
            doc["registration_client_uri"]?.stringValue == "https://localhost:8443/sandbox/cic/oauth2/registrations/"
                + id)
        #expect(doc["jwks"]?["keys"]?.arrayValue?.first?["kid"]?.stringValue?.count == 32)
        #expect(doc["provider_legal_id"]?.stringValue == "PSDFR-ACPR-12345")
    }

    @Test func readUpdateWithRotationAndDeleteRegistration() async throws {
        let h = try SimulatorHarness()
        let c = try await h.registerEI()
        let path = "/sandbox/cic/oauth2/registrations/" + c.clientID
        let get = try await h.send(h.request(.get, path))
        #expect(get.status == 200)
        // Rotation: keep the old key with its kid, add the new one without kid.
        let oldKey = try h.eiKey(kid: c.kid)
        let newKey = try h.eiKey(chain: ["qseal2.crt", "ca.crt"])
        let body = try h.eiRegistrationBody().setting("jwks", .object([("keys", .array([oldKey, newKey]))]))
        let put = try await h.send(h.request(.put, path, body: body.bytes))
        #expect(put.status == 200)
        let kids = put.json?["jwks"]?["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? []
        #expect(kids.count == 2 && kids[0] == c.kid && kids[1] != c.kid)
        // Unknown kid is refused.
        let bad = try h.eiRegistrationBody().setting(
            "jwks", .object([("keys", .array([oldKey.setting("kid", "0000")]))]))
        #expect(try await h.send(h.request(.put, path, body: bad.bytes)).status == 400)
        // Another organisation's certificate cannot read it.
        #expect(try await h.send(h.request(.get, path, cert: "rogue-client.crt")).status == 401)
        #expect(try await h.send(h.request(.delete, path)).status == 204)
        #expect(try await h.send(h.request(.get, path)).status == 401)
        let counters = try await h.send(h.request(.get, "/__simulator/counters")).json
        #expect(counters?["registrationsByClient"]?[c.clientID]?["updated"] != nil)
    }

    @Test func accountsBalancesAndIdentityWithAValidRequest() async throws {
        let h = try SimulatorHarness()
        let (c, token, _) = try await h.eiConnected()
        let root = "/sandbox/cic/stet-psd2-api/v2.1"
        let r = try await h.send(h.signed(.ei, .get, root + "/accounts", token: token, keyId: c.kid))
        #expect(r.status == 200, "\(r.text)")
        let accounts = try #require(r.json?["accounts"]?.arrayValue)
        #expect(accounts.count == 3)
        #expect(accounts[0]["accountId"]?["iban"]?.stringValue == "FR7613807008043001965405158")
        #expect(r.json?["connectedPsu"]?.stringValue == "MALLOW MARC")
        let b = try await h.send(
            h.signed(.ei, .get, root + "/accounts/038-CPT30019654051/balances", token: token, keyId: c.kid))
        #expect(b.status == 200)
        #expect(b.json?["balances"]?.arrayValue?.first?["balanceAmount"]?["amount"]?.stringValue == "4179.95")
        let i = try await h.send(h.signed(.ei, .get, root + "/end-user-identity", token: token, keyId: c.kid))
        #expect(i.json?["connectedPsu"]?.stringValue == "MALLOW MARC")
        // Signed with psu-* headers and a body (PUT /consents is accepted at Euro-Information).
        let consent = try await h.send(
            h.signed(
                .ei, .put, root + "/consents", token: token, keyId: c.kid,
                body: Array("{\"balances\":[{\"iban\":\"FR7613807008043001965405158\"}]}".utf8),
                extra: [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "Mozilla/5.0")]))
        #expect(consent.status == 201, "\(consent.text)")
        #expect(!h.logText.contains(token))
    }

    @Test func transactionsPageThroughNextLinks() async throws {
        let h = try SimulatorHarness()
        let (c, token, _) = try await h.eiConnected()
        var href: String? = "/sandbox/cic/stet-psd2-api/v2.1/accounts/038-CPT30019654051/transactions"
        var seen: [String] = []
        var pages = 0
        while let next = href {
            let r = try await h.send(h.signed(.ei, .get, next, token: token, keyId: c.kid))
            #expect(r.status == 200, "\(r.text)")
            let items = try #require(r.json?["transactions"]?.arrayValue)
            seen += items.compactMap { $0["entryReference"]?.stringValue }
            #expect(
                items.allSatisfy {
                    $0["creditDebitIndicator"]?.stringValue != nil
                        && !($0["transactionAmount"]?["amount"]?.stringValue ?? "-").hasPrefix("-")
                })
            href = r.json?["_links"]?["next"]?["href"]?.stringValue
            pages += 1
        }
        #expect(pages == 3)
        #expect(seen.count == 120 && Set(seen).count == 120)
        // dateFrom (inclusive) / dateTo (exclusive) narrow the list.
        let today = ParisCalendar.parisLocal(h.now).date
        let from = ParisCalendar.addDays(today, -10).isoString
        let r = try await h.send(
            h.signed(
                .ei, .get,
                "/sandbox/cic/stet-psd2-api/v2.1/accounts/038-CPT30019654051/transactions?dateFrom=\(from)&dateTo=\(today.isoString)",
                token: token, keyId: c.kid))
        let dates = r.json?["transactions"]?.arrayValue?.compactMap { $0["bookingDate"]?.stringValue } ?? []
        #expect(!dates.isEmpty && dates.allSatisfy { $0 >= from && $0 < today.isoString })
        #expect(r.json?["_links"]?["next"] == nil)
        let bad = try await h.send(
            h.signed(
                .ei, .get, "/sandbox/cic/stet-psd2-api/v2.1/accounts/038-CPT30019654051/transactions?page=9",
                token: token, keyId: c.kid))
        #expect(bad.status == 400)
    }

    @Test func pkceVerifierMismatchIsRefused() async throws {
        let h = try SimulatorHarness()
        let c = try await h.registerEI()
        let code = try await h.eiAuthorize(c)
        let r = try await h.eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", "https://tpp.example/callback"), ("code_verifier", SimulatorHarness.verifier + "x"),
            ])
        #expect(r.status == 400)
        #expect(r.json?["error"]?.stringValue == "invalid_grant")
        #expect(h.logText.contains("PKCE code_verifier does not match code_challenge"))
        // The code is single-use even after a failure.
        let again = try await h.eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", "https://tpp.example/callback"), ("code_verifier", SimulatorHarness.verifier),
            ])
        #expect(again.status == 400)
    }

    @Test func authorizeRequiresPKCEAndARegisteredRedirectURI() async throws {
        let h = try SimulatorHarness()
        let c = try await h.registerEI()
        let base = "/cic/oauth2/fr/sandbox/signin.html?"
        let noPKCE = try await h.send(
            h.request(
                .get,
                base
                    + PercentEncoding.formEncode([
                        ("response_type", "code"), ("client_id", c.clientID),
                        ("redirect_uri", "https://tpp.example/callback"), ("scope", "aisp"), ("state", "x"),
                        ("persona", "marc"),
                    ]), cert: nil))
        #expect(noPKCE.status == 302)
        #expect(SimulatorHarness.queryItem(noPKCE.headers["Location"] ?? "", "error") == "invalid_request")
        let badRedirect = try await h.send(
            h.request(
                .get,
                base
                    + PercentEncoding.formEncode([
                        ("response_type", "code"), ("client_id", c.clientID),
                        ("redirect_uri", "https://evil.example/cb"), ("scope", "aisp"), ("state", "x"),
                        ("code_challenge", String(repeating: "a", count: 43)),
                        ("code_challenge_method", "S256"),
                    ]), cert: nil))
        #expect(badRedirect.status == 400)
        #expect(badRedirect.headers["Location"] == nil)
        // Without persona: the picker page.
        let picker = try await h.send(
            h.request(
                .get,
                base
                    + PercentEncoding.formEncode([
                        ("response_type", "code"), ("client_id", c.clientID),
                        ("redirect_uri", "https://tpp.example/callback"), ("scope", "aisp"), ("state", "x"),
                        ("code_challenge", String(repeating: "a", count: 43)),
                        ("code_challenge_method", "S256"),
                    ]), cert: nil))
        #expect(picker.status == 200)
        #expect(picker.text.contains("MALLOW MARC") && picker.text.contains("persona=tech-n-co"))
    }

    @Test func refreshKeepsTheRefreshTokenAndExpiresWithTheAuthorization() async throws {
        let h = try SimulatorHarness { $0.refreshTokenLifetime = 7200 }
        let (c, _, refresh) = try await h.eiConnected()
        let r = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
        #expect(r.status == 200)
        #expect(r.json?["refresh_token"]?.stringValue == refresh)
        let access = try #require(r.json?["access_token"]?.stringValue)
        #expect(!h.logText.contains(refresh) && !h.logText.contains(access))
        h.simulator.clock.advance(by: 7200)
        let dead = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
        #expect(dead.status == 400)
        #expect(dead.json?["error_description"]?.stringValue == "Refresh token has expired")
    }

    @Test func oneTimeRefreshTokensRevokeTheFamilyOnReuse() async throws {
        let h = try SimulatorHarness { $0.oneTimeRefreshTokens = true }
        let (c, _, first) = try await h.eiConnected()
        let r1 = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", first)])
        let second = try #require(r1.json?["refresh_token"]?.stringValue)
        #expect(second != first)
        let reuse = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", first)])
        #expect(reuse.status == 400)
        let afterRevocation = try await h.eiToken(c, [("grant_type", "refresh_token"), ("refresh_token", second)])
        #expect(afterRevocation.status == 400)
        let counters = try await h.send(h.request(.get, "/__simulator/counters")).json
        #expect(counters?["refreshReuseAttempts"]?.decimalText == "1.0")
        #expect(counters?["refreshesByGeneration"]?["1"]?.decimalText == "1.0")
    }

    @Test func paymentRequestIsCreatedApprovedAndConfirmed() async throws {
        let h = try SimulatorHarness()
        let c = try await h.registerEI()
        let (pispToken, created) = try await Self.createPayment(h, c, id: "1")
        let root = "/sandbox/cic/stet-psd2-api/v2.1"
        #expect(created.status == 201, "\(created.text)")
        let location = try #require(created.headers["Location"])
        let id = String(location.split(separator: "/").last!)
        let approval = try #require(created.json?["_links"]?["consentApproval"]?["href"]?.stringValue)
        #expect(approval.contains("paymentRequestResourceId=" + id))
        #expect(approval.hasPrefix("https://localhost/"), "the origin the call came to: \(approval)")
        let code = try await h.eiAuthorize(c, scope: "pisp", extra: [("paymentRequestResourceId", id)])
        let t = try await h.eiToken(
            c,
            [
                ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", "https://tpp.example/callback"), ("code_verifier", SimulatorHarness.verifier),
            ])
        let psuToken = try #require(t.json?["access_token"]?.stringValue)
        let confirm = try await h.send(
            h.signed(
                .ei, .post, root + "/payment-requests/\(id)/o-confirmation", token: psuToken, keyId: c.kid,
                body: Array("{}".utf8)))
        #expect(confirm.status == 200, "\(confirm.text)")
        // Pending validation by the bank at Euro-Information (docs/protocol.md §4.7); executed on the next read.
        #expect(confirm.json?["paymentRequest"]?["paymentInformationStatus"]?.stringValue == "PDNG")
        let get = try await h.send(
            h.signed(.ei, .get, root + "/payment-requests/" + id, token: pispToken, keyId: c.kid))
        #expect(get.json?["paymentRequest"]?["paymentInformationStatus"]?.stringValue == "ACSC")
    }

    @Test func paymentApprovalLinksUseTheConfiguredPublicOrigin() async throws {
        var problems: [String] = []
        for bad in ["http://localhost:8443", "https://", "https://localhost/x"] {
            do {
                _ = try SimulatorConfiguration(environment: ["PASSERELLE_SIMULATOR_PUBLIC_ORIGIN": bad])
                problems.append(bad)
            } catch {}
        }
        #expect(problems.isEmpty, "accepted: \(problems)")
        let parsed = try SimulatorConfiguration(environment: ["PASSERELLE_SIMULATOR_PUBLIC_ORIGIN": "https://localhost:9443/"])
        #expect(parsed.publicOrigin == "https://localhost:9443")
        let h = try SimulatorHarness { $0.publicOrigin = "https://localhost:9443" }
        let c = try await h.registerEI()
        let (_, created) = try await Self.createPayment(h, c, id: "2")
        #expect(created.status == 201, "\(created.text)")
        let approval = try #require(created.json?["_links"]?["consentApproval"]?["href"]?.stringValue)
        #expect(approval.hasPrefix("https://localhost:9443/sandbox/cic/oauth2/fr/sandbox/signin.html?"), "\(approval)")
    }

    /// A client-credentials token and `POST /payment-requests` of a 1-transaction SEPA instant payment
    /// (`paymentInformationId` `pi-<id>`).
    static func createPayment(_ h: SimulatorHarness, _ c: SimulatorHarness.EIClient, id: String) async throws
        -> (token: String, created: HTTPResponse)
    {
        let cc = try await h.eiToken(c, [("grant_type", "client_credentials"), ("scope", "pisp")])
        let token = try #require(cc.json?["access_token"]?.stringValue)
        let body = Array(
            """
            {"paymentInformationId":"pi-\(id)","creationDateTime":"2026-11-18T09:00:00.000+01:00","numberOfTransactions":1,
             "initiatingParty":{"name":"Passerelle"},"paymentTypeInformation":{"serviceLevel":"SEPA","localInstrument":"INST","categoryPurpose":"DVPM"},
             "beneficiary":{"creditor":{"name":"Merchant"},"creditorAccount":{"iban":"FR7630004000031234567890143"}},"chargeBearer":"SLEV",
             "creditTransferTransaction":[{"paymentId":{"endToEndId":"e2e-\(id)"},"instructedAmount":{"currency":"EUR","amount":"12.34"}}],
             "supplementaryData":{"successfulReportUrl":"https://tpp.example/callback?ok"}}
            """.utf8)
        let created = try await h.send(
            h.signed(.ei, .post, "/sandbox/cic/stet-psd2-api/v2.1/payment-requests", token: token, keyId: c.kid, body: body)
        )
        return (token, created)
    }
}
