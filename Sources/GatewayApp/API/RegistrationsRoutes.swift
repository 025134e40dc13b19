import FoundationEssentials
import GatewayCore
import HTTPServerKit

/// `POST/GET /v1/registrations`, `GET/PATCH/DELETE /v1/registrations/{registrationId}`.
enum RegistrationsRoutes {
    struct RegistrationList: Encodable { var registrations: [RegistrationDTO] }

    static func add(to routes: inout Router.Builder, service: RegistrationService, deadline: Duration) {
        @Sendable func context(_ request: HTTPRequest, _ ctx: RequestContext) -> AdapterContext {
            AdapterContext(requestID: ctx.requestID, deadline: .now + deadline, logger: ctx.logger)
        }
        routes.add(.post, "/v1/registrations") { request, ctx in
            let body = try JSONCoding.decode(RegistrationCreate.self, from: request)
            let record = try await service.create(body, context: context(request, ctx))
            ctx.logger.info(
                "registered", metadata: ["registration.id": record.id.uuidString.lowercased(), "bank": record.bankID.description])
            var response = JSONCoding.response(
                201, RegistrationDTO(record: record, now: service.now(), includeExchange: true))
            response.headers.set("Location", "/v1/registrations/\(record.id.uuidString.lowercased())")
            return response
        }
        routes.add(.get, "/v1/registrations") { request, _ in
            var rules = FieldRules()
            let query = try request.queryParameters(allowed: ["bank", "environment"], into: &rules)
            rules.matches(query["bank"], "bank", .registrationBank)
            rules.oneOf(query["environment"], "environment", ["sandbox", "production"])
            guard rules.issues.isEmpty else { throw GatewayError.validation(rules.issues) }
            let now = service.now()
            let views = try await service.list(bank: query["bank"], environment: query["environment"])
                .map { RegistrationDTO(record: $0, now: now, includeExchange: false) }
            return JSONCoding.response(200, RegistrationList(registrations: views))
        }
        routes.add(.get, "/v1/registrations/{registrationId}") { request, _ in
            let record = try await service.get(try pathUUID(request, "registrationId", resource: "registration"))
            return JSONCoding.response(200, RegistrationDTO(record: record, now: service.now(), includeExchange: true))
        }
        routes.add(.patch, "/v1/registrations/{registrationId}") { request, ctx in
            let id = try pathUUID(request, "registrationId", resource: "registration")
            let patch = try JSONCoding.decode(RegistrationPatch.self, from: request)
            let record = try await service.update(id, patch: patch, context: context(request, ctx))
            return JSONCoding.response(200, RegistrationDTO(record: record, now: service.now(), includeExchange: true))
        }
        routes.add(.delete, "/v1/registrations/{registrationId}") { request, ctx in
            try await service.delete(try pathUUID(request, "registrationId", resource: "registration"), context: context(request, ctx))
            return HTTPResponse(status: 204)
        }
    }
}
