import GatewayCore
import HTTPServerKit

/// `GET /v1/banks` and `GET /v1/banks/{bankId}`: the catalog after `PASSERELLE_BANKS_FILE` overrides.
enum BanksRoutes {
    struct BankList: Encodable { var banks: [BankSummary] }

    static func add(to routes: inout Router.Builder, catalog: BankCatalog) {
        let list = JSONCoding.bytes(BankList(banks: catalog.summaries))
        var byProvider: [String: [UInt8]] = [:]
        for provider in Provider.allCases {
            byProvider[provider.rawValue] = JSONCoding.bytes(
                BankList(banks: catalog.summaries.filter { $0.provider == provider }))
        }
        routes.add(.get, "/v1/banks") { [byProvider] request, _ in
            var rules = FieldRules()
            let provider = try request.queryParameters(allowed: ["provider"], into: &rules)["provider"]
            rules.oneOf(provider, "provider", Provider.allCases.map(\.rawValue))
            guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
            return .json(200, provider.flatMap { byProvider[$0] } ?? list)
        }
        routes.add(.get, "/v1/banks/{bankId}") { request, _ in
            let raw = request.pathParameters["bankId"] ?? ""
            guard let id = BankID(raw), let profile = catalog.profile(for: id) else {
                throw GatewayError.notFound(resource: "bank", id: raw)
            }
            return JSONCoding.response(200, profile.summary)
        }
    }
}
