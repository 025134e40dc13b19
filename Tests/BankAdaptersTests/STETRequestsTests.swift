import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import Testing

@testable import BankAdapters

@Suite struct STETRequestsTests {
    let root = "https://www.13807.sandbox.api.89c3.com/stet/psd2/v1"
    let common = STETRequests.Common(
        requestID: "9b2c0f4e-1d2a-4c5b-8e7f-000000000001", date: Date(timeIntervalSince1970: 1_654_635_095),
        accessToken: Secret("tok"),
        psu: PSUContext(headers: [(name: "PSU-IP-Address", value: "192.168.0.1"), (name: "PSU-IP-Port", value: "443")]),
        userAgent: "Passerelle/1.0")

    @Test func formatsTheDateHeaderLikeTheSeed() {
        // The seed's example: Tue, 07 Jun 2022 20:51:35 GMT.
        #expect(STETRequests.imfFixdate(Date(timeIntervalSince1970: 1_654_635_095)) == "Tue, 07 Jun 2022 20:51:35 GMT")
        #expect(STETRequests.imfFixdate(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test func buildsAccountsWithHeadersInOrder() throws {
        let request = try STETRequests.make("GET", root + "/accounts", common)
        #expect(request.url == root + "/accounts")
        #expect(request.target == "/stet/psd2/v1/accounts")
        #expect(request.host == "www.13807.sandbox.api.89c3.com")
        #expect(
            request.headerNames == [
                "Host", "Date", "X-Request-ID", "Authorization", "Accept", "User-Agent", "PSU-IP-Address",
                "PSU-IP-Port",
            ])
        #expect(request.body == nil)
    }

    @Test func encodesResourceIDsAndDatesAndFollowsNextLinks() throws {
        let first = try STETRequests.transactions(
            apiRoot: root, accountID: "038 CPT/30019?(a)",
            page: .first(from: CalendarDate("2024-01-01"), to: CalendarDate("2024-03-01")), common)
        #expect(
            first.target
                == "/stet/psd2/v1/accounts/038%20CPT%2F30019%3F%28a%29/transactions?dateFrom=2024-01-01&dateTo=2024-03-01"
        )
        let next = try STETRequests.transactions(
            apiRoot: root, accountID: "x", page: .next(url: root + "/accounts/x/transactions?page=2"), common)
        #expect(next.target == "/stet/psd2/v1/accounts/x/transactions?page=2")
        #expect(throws: AdapterError.self) {
            try STETRequests.transactions(
                apiRoot: root, accountID: "x", page: .next(url: "https://evil.example/x"), common)
        }
    }

    @Test func putConsentsCarriesBodyDigestAndContentType() throws {
        let body = STETMapping.consentsBody(
            ConsentRequest(balances: ["FR76"], transactions: [], trustedBeneficiaries: false, identity: true))
        let digest = "SHA-256=" + Base64.encode(Digest.sha256(body))
        let request = try STETRequests.putConsents(apiRoot: root, body: body, digest: digest, common)
        #expect(request.method == "PUT")
        #expect(request.headers.first { $0.name == "Digest" }?.value == digest)
        #expect(request.headers.first { $0.name == "Content-Type" }?.value == "application/json")
    }

    @Test func theEmptyBodyDigestIsTheSHA256OfNothing() throws {
        #expect(STETRequests.emptyBodyDigest == "SHA-256=" + Base64.encode(Digest.sha256([UInt8]())))
        let request = try STETRequests.make(
            "GET", root + "/accounts", common, emptyBodyDigest: STETRequests.emptyBodyDigest)
        #expect(request.headerNames.contains("Digest"))
    }

    @Test func aBPCERequestSignsWithTheCatalogHeaderList() throws {
        let bpce = BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!
        let request = try STETRequests.make(
            "GET", root + "/accounts", common, emptyBodyDigest: STETRequests.emptyBodyDigest)
        let names = bpce.headersToSign(hasBody: false, presentHeaders: request.headerNames)
        #expect(names == ["(request-target)", "date", "x-request-id", "digest", "psu-ip-address", "psu-ip-port"])
        #expect(
            names.allSatisfy { $0 == "(request-target)" || request.headerNames.map { $0.lowercased() }.contains($0) })
    }
}
