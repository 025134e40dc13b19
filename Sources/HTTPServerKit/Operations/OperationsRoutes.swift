import GatewayLogging

/// The outcome of a readiness check.
public enum Readiness: Sendable, Equatable {
    case ready
    /// Not ready, with short human-readable reasons (`database unreachable`, `migrations pending`).
    case notReady([String])
}

/// `GET /health`, `GET /ready` and `GET /metrics`.
public enum OperationsRoutes {
    /// Adds the three routes to `builder`.
    /// - Parameters:
    ///   - lifecycle: The server's; `/ready` answers 503 while it drains.
    ///   - metrics: Rendered by `/metrics` (Prometheus text format 0.0.4).
    ///   - readiness: Checked on every `/ready` (database reachable, migrations applied, …).
    public static func add(
        to builder: inout Router.Builder, lifecycle: ServerLifecycle, metrics: MetricsRegistry,
        readiness: @escaping @Sendable () async -> Readiness = { .ready }
    ) {
        let health = Array("{\"status\":\"ok\"}".utf8)
        builder.add(.get, "/health") { _, _ in .json(200, health, contentType: "application/json") }
        builder.add(.get, "/ready") { request, context in
            var reasons: [String] = []
            if lifecycle.isDraining {
                reasons.append("draining")
            } else if case .notReady(let r) = await readiness() {
                reasons = r.isEmpty ? ["not ready"] : r
            }
            if reasons.isEmpty {
                return .json(200, Array("{\"status\":\"ready\"}".utf8), contentType: "application/json")
            }
            var reasonsJSON = "["
            for (i, reason) in reasons.enumerated() {
                if i > 0 { reasonsJSON += "," }
                JSONString.append(reason, to: &reasonsJSON)
            }
            reasonsJSON += "]"
            return ServerProblem.notReady.problem(
                detail: reasons.joined(separator: "; "), instance: request.path, requestID: context.requestID, extensions: ["reasons": reasonsJSON],
                headers: ["Retry-After": "5"]
            ).response
        }
        builder.add(.get, "/metrics") { _, _ in
            .text(200, metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }
}
