import FoundationEssentials
import GatewayCore
import HTTPServerKit

/// `POST/GET /v1/certificates`, `GET/DELETE /v1/certificates/{certificateId}`, and the public `GET /certificates/{file}.pem`
/// that serves QSealC certificates for banks that take a certificate URL as `keyId` or `x5u`.
enum CertificatesRoutes {
    struct CertificateList: Encodable { var certificates: [CertificateDTO] }

    static func add(to routes: inout Router.Builder, service: CertificateService) {
        routes.add(.post, "/v1/certificates") { request, _ in
            let stored = try await service.upload(try JSONCoding.decode(CertificateUpload.self, from: request))
            var response = JSONCoding.response(201, CertificateDTO(stored: stored, usedBy: [], now: service.now()))
            response.headers.set("Location", "/v1/certificates/\(stored.id.uuidString.lowercased())")
            return response
        }
        routes.add(.get, "/v1/certificates") { request, _ in
            // `expiringBefore`: the expiry forecast (docs/events.md), certificates whose notAfter comes before it.
            var rules = FieldRules()
            let query = try request.queryParameters(allowed: ["expiringBefore"], into: &rules)
            let before = query["expiringBefore"].map(RFC3339.date)
            if case .some(nil) = before { rules.fail("expiringBefore", "expected an RFC 3339 timestamp") }
            guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
            let listed = try await service.list(expiringBefore: before.flatMap { $0 })
            return JSONCoding.response(200, CertificateList(certificates: listed))
        }
        routes.add(.get, "/v1/certificates/{certificateId}") { request, _ in
            let id = try pathUUID(request, "certificateId", resource: "certificate")
            return JSONCoding.response(200, try await service.view(id))
        }
        routes.add(.delete, "/v1/certificates/{certificateId}") { request, _ in
            try await service.delete(try pathUUID(request, "certificateId", resource: "certificate"))
            return HTTPResponse(status: 204)
        }
    }

    /// The public `GET /certificates/{file}` (no API key: banks fetch it).
    static func addPublic(to routes: inout Router.Builder, service: CertificateService) {
        routes.add(.get, "/certificates/{file}") { request, _ in
            let file = request.pathParameters["file"] ?? ""
            let fingerprint = file.hasSuffix(".pem") ? String(file.dropLast(4)).lowercased() : ""
            guard fingerprint.count == 64, fingerprint.allSatisfy(\.isHexDigit),
                let c = try await service.publishedQSeal(fingerprint: fingerprint)
            else {
                throw GatewayError.notFound(resource: "certificate", id: file)
            }
            return .text(200, c.certificatePEM, contentType: "application/x-pem-file")
        }
    }
}

/// The path parameter `name` as a UUID, or a 404 naming the resource.
func pathUUID(_ request: HTTPRequest, _ name: String, resource: String) throws -> UUID {
    let raw = request.pathParameters[name] ?? ""
    guard let id = UUID(uuidString: raw) else { throw GatewayError.notFound(resource: resource, id: raw) }
    return id
}
