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

    init(_ registry: MetricsRegistry) {
        requests = registry.counter(
            "http_requests_total", help: "HTTP requests answered, by route template, method and status class.")
        duration = registry.histogram(
            "http_request_duration_seconds", help: "Time from a complete request to its response, by route template.",
            buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        openConnections = registry.gauge("http_open_connections", help: "Open client connections.")
        inFlight = registry.gauge("http_inflight_requests", help: "Requests being handled.")
        openConnections.add(0)
        inFlight.add(0)
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

    /// A random UUID v4 in lower case (RFC 9562 §5.4). Request ids are correlation handles, not secrets: they
    /// come from a xoshiro256** generator seeded once from the system generator, so that generating one costs no
    /// syscall (16 `getrandom` calls per request showed up as 9 % of the server's CPU time).
    public static func generate() -> String {
        let (a, b) = generator.withLock { ($0.next(), $0.next()) }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: a >> (8 * UInt64(i)))
            bytes[8 + i] = UInt8(truncatingIfNeeded: b >> (8 * UInt64(i)))
        }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(0x2D) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let generator = Mutex(Xoshiro256StarStar())
}

/// xoshiro256** (Blackman & Vigna), seeded from `SystemRandomNumberGenerator`.
struct Xoshiro256StarStar: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        s = (system.next(), system.next(), system.next(), system.next())
        if s.0 | s.1 | s.2 | s.3 == 0 { s.0 = 1 }
    }

    mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
