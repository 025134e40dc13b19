import FoundationEssentials
import GatewayCore
import HTTPServerKit

/// `GET /openapi.yaml`: the API's OpenAPI 3.1 document (a bundled copy of `openapi/passerelle.yaml`).
enum OpenAPIRoute {
    /// The document's bytes, or nil when the resource is missing from the build.
    static let document: [UInt8]? = AppResources.openAPIDocument
        .flatMap { FileManager.default.contents(atPath: $0.path) }.map { Array($0) }

    static func add(to routes: inout Router.Builder) {
        routes.add(.get, "/openapi.yaml") { _, _ in
            guard let document else { throw GatewayError.notFound(resource: "document", id: "openapi.yaml") }
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/yaml; charset=utf-8"], body: document)
        }
    }

}
