import GatewayCore
import HTTPServerKit

/// `GET /v1/banks` and `GET /v1/banks/{bankId}`: the catalog after `PASSERELLE_BANKS_FILE` overrides.
enum BanksRoutes {
    struct BankList: Encodable { var banks: [BankSummary] }

    static func add(to routes: inout Router.Builder, catalog: BankCatalog) {
        let list = JSONCoding.bytes(BankList(banks: catalog.summaries))
        routes.add(.get, "/v1/banks") { _, _ in .json(200, list) }
        routes.add(.get, "/v1/banks/{bankId}") { request, _ in
            let raw = request.pathParameters["bankId"] ?? ""
            guard let id = BankID(raw), let profile = catalog.profile(for: id) else {
                throw GatewayError.notFound(resource: "bank", id: raw)
            }
            return JSONCoding.response(200, profile.summary)
        }
    }
}
