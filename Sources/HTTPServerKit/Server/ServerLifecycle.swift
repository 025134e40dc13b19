import GatewayLogging
import Synchronization

/// Shared between a server and its operations routes: whether the server is draining. Create it first and pass
/// it to both `HTTPServer` and `OperationsRoutes`, so `/ready` can answer 503 while draining.
public final class ServerLifecycle: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    /// True from the moment shutdown starts.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    func startDraining() { draining.store(true, ordering: .releasing) }
}

/// The HTTP series the server maintains in a `MetricsRegistry`.
struct HTTPMetrics: Sendable {
    /// `http_requests_total{method,route,status}` with `status` as a class (`2xx`, …).
    let requests: Counter
    /// `http_request_duration_seconds{method,route}`.
    let duration: Histogram
    /// `http_open_connections`.
    let openConnections: Gauge
    /// `http_inflight_requests`.
    let inFlight: Gauge
    /// `http_connections_refused_total`: connections turned away for their peer's limit.
    let refusedConnections: Counter
    /// `http_connections_reclaimed_total`: idle connections closed to make room for waiting ones.
    let reclaimedConnections: Counter
    /// The two label sets of each (method, route, status class) seen, rendered once.
    private let series = RouteSeries()

    init(_ registry: MetricsRegistry) {
        requests = registry.counter(
            "http_requests_total", help: "HTTP requests answered, by route template, method and status class.")
        duration = registry.histogram(
            "http_request_duration_seconds", help: "Time from a complete request to its response, by route template.",
            buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        openConnections = registry.gauge("http_open_connections", help: "Open client connections.")
        inFlight = registry.gauge("http_inflight_requests", help: "Requests being handled.")
        refusedConnections = registry.counter(
            "http_connections_refused_total", help: "Connections refused because their peer held too many.")
        reclaimedConnections = registry.counter(
            "http_connections_reclaimed_total", help: "Idle connections closed to make room while the server was full.")
        openConnections.add(0)
        inFlight.add(0)
        refusedConnections.increment(by: 0)
        reclaimedConnections.increment(by: 0)
    }

    /// Counts one answered request and its duration.
    func record(method: String, route: String, status: Int, seconds: Double) {
        let labels = series.labels(method: method, route: route, statusClass: status / 100)
        requests.increment(labels.requests)
        duration.observe(seconds, labels.duration)
    }
}

/// Label sets per (method, route, status class), rendered on first use: building two label dictionaries and
/// rendering them on every request showed up in profiles. Bounded like the series themselves (route templates),
/// with a cap against odd methods.
private final class RouteSeries: Sendable {
    private struct Key: Hashable {
        var method: String
        var route: String
        var statusClass: Int
    }

    private let cache = Mutex<[Key: (requests: LabelSet, duration: LabelSet)]>([:])

    func labels(method: String, route: String, statusClass: Int) -> (requests: LabelSet, duration: LabelSet) {
        let key = Key(method: method, route: route, statusClass: statusClass)
        if let found = cache.withLock({ $0[key] }) { return found }
        let made = (
            requests: LabelSet(["method": method, "route": route, "status": "\(statusClass)xx"]),
            duration: LabelSet(["method": method, "route": route])
        )
        cache.withLock { if $0.count < 1024 { $0[key] = made } }
        return made
    }
}

/// Request ids: `X-Request-Id` accepted when sane, else a fresh UUID v4.
public enum RequestID {
    /// A caller's id is kept when it has 1…200 characters of `[A-Za-z0-9._:-]`.
    public static func isAcceptable(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard !utf8.isEmpty && utf8.count <= 200 else { return false }
        return utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
                || b == 0x3A || b == 0x2D
        }
    }

    /// A random UUID v4 in lower case (RFC 9562 §5.4), without a syscall (`CorrelationID`).
    public static func generate() -> String { CorrelationID.generate() }
}
