import FoundationEssentials
import GatewayCore
import GatewayLogging

/// The URLs of the STET PSD2 resources (docs/adapters.md) against a bank's API root. Headers, digest and
/// signature are added by the one request builder, `BankCallBuilder`.
enum STETResourceURLs {
    /// `…/accounts/{accountResourceId}/transactions` for the first page (`dateFrom` inclusive, `dateTo` exclusive,
    /// as plain dates), or the bank's `next` URL, re-checked against the API host (`STETLinks.resolve`).
    static func transactions(apiRoot: String, accountID: String, page: TransactionPageRequest) throws -> String {
        switch page {
        case .first(let from, let to):
            var query: [(String, String)] = []
            if let from { query.append(("dateFrom", from.description)) }
            if let to { query.append(("dateTo", to.description)) }
            let url = apiRoot + "/accounts/" + encodePathSegment(accountID) + "/transactions"
            return query.isEmpty ? url : url + "?" + PercentEncoding.formEncode(query)
        case .next(let url):
            return try STETLinks.resolve(url, apiRoot: apiRoot)
        }
    }

    /// Percent-encodes one path segment (RFC 3986 §3.3): STET resource ids may contain spaces, `/`, `?`, `(`, `'`.
    static func encodePathSegment(_ segment: String) -> String {
        PercentEncoding.encode(segment)
    }
}
