import Foundation
import GatewayCore
import HTTPServerKit
import OpenSSLKit
import Testing

@testable import BankSimulator

/// The gateway signs with OpenSSLKit's `HTTPMessageSigner` and the catalog's `headersToSign`: the simulator must accept
/// exactly what it produces, for both families, with and without a body and `PSU-*` headers.
@Suite struct GatewaySignerCompatibilityTests {
    func gatewayRequest(
        _ h: SimulatorHarness, bpce: Bool, method: HTTPMethod, target: String, host: String, token: String,
        keyId: String,
        body: [UInt8], psu: Bool
    ) throws -> HTTPRequest {
        var headers: [(String, String)] = [
            ("Host", host), ("Date", ParisCalendar.httpDate(h.now)), ("X-Request-ID", UUID().uuidString),
            ("Accept", "application/hal+json"), ("User-Agent", "Passerelle"), ("Authorization", "Bearer " + token),
        ]
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        if !body.isEmpty || bpce { headers.append(("Digest", OpenSSLKit.Digest.headerValue(for: body))) }
        if psu {
            headers += [
                ("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "Mozilla/5.0"), ("PSU-Accept-Language", "fr"),
            ]
        }
        let profile = BankCatalog.builtIn.profile(for: BankID(bpce ? "bpce:13807" : "cmcic:cic")!)!
        let names = profile.headersToSign(hasBody: !body.isEmpty, presentHeaders: headers.map(\.0))
        let key = try PrivateKey(pem: String(contentsOfFile: h.key("qseal.key"), encoding: .utf8))
        let signature = try HTTPMessageSigner(key: key, keyId: keyId).signatureHeader(
            method: method.rawValue, target: target, headers: headers, names: names)
        headers.append(("Signature", signature))
        var r = try HTTPRequest(method: method, target: target, headers: HTTPHeaders(headers), body: body)
        r.peerCertificateDER = try h.der("qwac.crt")
        return r
    }

    @Test(arguments: [false, true], CryptoBackend.allCases)
    func euroInformationAcceptsTheGatewaysSignatures(psu: Bool, crypto: CryptoBackend) async throws {
        let h = try SimulatorHarness(crypto: crypto)
        let (c, token, _) = try await h.eiConnected()
        let root = "/sandbox/cic/stet-psd2-api/v2.1"
        let get = try await h.send(
            gatewayRequest(
                h, bpce: false, method: .get, target: root + "/accounts/038-CPT30019654051/transactions?page=2",
                host: "localhost:8443", token: token, keyId: c.kid, body: [], psu: psu))
        #expect(get.status == 200, "\(get.text)")
        let put = try await h.send(
            gatewayRequest(
                h, bpce: false, method: .put, target: root + "/consents", host: "localhost:8443",
                token: token, keyId: c.kid, body: Array("{\"psuIdentity\":true}".utf8), psu: psu))
        #expect(put.status == 201, "\(put.text)")
    }

    @Test(arguments: [false, true], CryptoBackend.allCases)
    func bpceAcceptsTheGatewaysSignatures(psu: Bool, crypto: CryptoBackend) async throws {
        let h = try SimulatorHarness(crypto: crypto)
        let (id, token, _) = try await h.bpceConnected()
        let put = try await h.send(
            gatewayRequest(
                h, bpce: true, method: .put, target: "/stet/psd2/v1/consents", host: SimulatorHarness.bpceHost,
                token: token, keyId: id,
                body: Array("{\"transactions\":[{\"iban\":\"FR7613807008043001965405158\"}]}".utf8), psu: psu))
        #expect(put.status == 201, "\(put.text)")
        let get = try await h.send(
            gatewayRequest(
                h, bpce: true, method: .get, target: "/stet/psd2/v1/accounts/038-CPT30019654051/transactions?page=3",
                host: SimulatorHarness.bpceHost, token: token, keyId: id, body: [], psu: psu))
        #expect(get.status == 200, "\(get.text)")
    }
}
