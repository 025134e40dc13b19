import Foundation
import Testing
import TestSupport

/// The set-up steps many API tests share, over HTTP like a client: register at a bank with the test certificates,
/// then open a connection there.
extension AppHarness {
    /// A connection just created, waiting for the customer at the bank.
    struct PendingConnection {
        var response: TestResponse
        var id: String
        var state: String
        var authorizationURL: String

        var idAndState: (id: String, state: String) { (id, state) }
    }

    /// Uploads the test QWAC and QSealC and registers at `bank` (`RegistrationsAPITests.body`, changed by `adjust`);
    /// records an issue unless the answer is 201.
    @discardableResult
    func register(
        bank: String, name: String = "Passerelle Test TPP", adjust: (inout [String: Any]) -> Void = { _ in }
    ) async throws -> TestResponse {
        let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(self)
        var body = RegistrationsAPITests.body(bank: bank, qwac: qwac, qseal: qseal, name: name)
        adjust(&body)
        let registered = try await request("POST", "/v1/registrations", json: body)
        #expect(registered.status == 201, "\(registered.text)")
        return registered
    }

    /// `POST /v1/connections` for `psuReference` at `bank`, redirecting to the test callback; requires a 201.
    func createConnection(bank: String, psuReference: String) async throws -> PendingConnection {
        let created = try await request(
            "POST", "/v1/connections",
            json: ["bank": bank, "psuReference": psuReference, "redirectUri": "https://tpp.example/callback"])
        #expect(created.status == 201, "\(created.text)")
        return PendingConnection(
            response: created, id: try #require(created.json["id"] as? String),
            state: try #require(created.json["state"] as? String),
            authorizationURL: try #require(created.json["authorizationUrl"] as? String))
    }
}
