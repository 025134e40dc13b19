import Foundation
import GatewayCore
import Testing

@testable import BankAdapters

/// Resource URLs and the one URL type of outbound calls; the headers of resource calls are checked per adapter
/// (`BPCEAdapterTests`, `EuroInformationAdapterTests`), since one builder makes them for every call.
@Suite struct STETResourceURLsTests {
    let root = "https://www.13807.sandbox.api.89c3.com/stet/psd2/v1"

    @Test func encodesResourceIDsAndDatesAndFollowsNextLinksOnTheAPIHostOnly() throws {
        let first = try STETResourceURLs.transactions(
            apiRoot: root, accountID: "038 CPT/30019?(a)",
            page: .first(from: CalendarDate("2024-01-01"), to: CalendarDate("2024-03-01")))
        #expect(
            BankURL(first)?.target
                == "/stet/psd2/v1/accounts/038%20CPT%2F30019%3F%28a%29/transactions?dateFrom=2024-01-01&dateTo=2024-03-01")
        let next = try STETResourceURLs.transactions(
            apiRoot: root, accountID: "x", page: .next(url: root + "/accounts/x/transactions?page=2"))
        #expect(BankURL(next)?.target == "/stet/psd2/v1/accounts/x/transactions?page=2")
        #expect(throws: AdapterError.self) {
            try STETResourceURLs.transactions(apiRoot: root, accountID: "x", page: .next(url: "https://evil.example/x"))
        }
    }

    @Test func aFragmentInANextLinkIsNeitherSentNorSigned() throws {
        for link in ["/stet/psd2/v1/accounts/x/transactions?page=2#top", root + "/accounts/x/transactions?page=2#top"] {
            let url = try STETLinks.resolve(link, apiRoot: root)
            #expect(url == root + "/accounts/x/transactions?page=2", "\(link)")
            #expect(BankURL(url)?.target == "/stet/psd2/v1/accounts/x/transactions?page=2")
        }
    }

    @Test func splitsHostAndTargetOnce() throws {
        let a = try #require(BankURL("https://a.test:443/x/y?page=2#f"))
        #expect(a.host == "a.test")
        #expect(a.authority == "a.test:443")
        #expect(a.target == "/x/y?page=2")
        #expect(a.absolute == "https://a.test:443/x/y?page=2")
        let b = try #require(BankURL("https://BPCE-13807.localhost:8443?x=1"))
        #expect(b.host == "BPCE-13807.localhost:8443")
        #expect(b.originKey == "bpce-13807.localhost:8443")
        #expect(b.target == "/?x=1")
        #expect(BankURL("https://a.test")?.target == "/")
        for bad in ["http://a.test/x", "https://", "https://user@a.test/x", "ftp://a/b", "a.test/x"] {
            #expect(BankURL(bad) == nil, "\(bad)")
        }
    }
}
