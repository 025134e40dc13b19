import Reactor

extension HTTPServer {
    /// Listener, limits and timeouts. Defaults: the project's limits in docs/http.md (nginx's where it set none).
    public struct Configuration: Sendable {
        /// Numeric address to bind (`0.0.0.0`, `127.0.0.1`, `::`).
        public var host = "0.0.0.0"
        /// Port to bind; 0 picks a free one (see `HTTPServer.boundPort`).
        public var port = 8080
        /// `listen(2)` backlog: where connections wait while `maxConnections` are open (accept back-pressure).
        public var backlog: Int32 = 1024
        /// Parser limits: request line 8 KiB, header section 32 KiB / 100 fields, body 1 MiB.
        public var limits = HTTPLimits()
        /// Connections served at once. At the limit, the oldest idle keep-alive connections are closed to make
        /// room ("reclaimed"); when none is idle, the listener stops accepting until one closes.
        public var maxConnections = 1024
        /// Connections one peer address may hold at once (0: no limit). A connection beyond it gets a 503
        /// `/problems/too-many-connections` (plain HTTP; TLS listeners just close) and is closed at once, so one
        /// client cannot take the capacity every other client needs.
        public var maxConnectionsPerPeer = 256
        /// Time to receive a request's header section, from its first byte (or from accept for the first
        /// request, TLS handshake included). 408 and close beyond it.
        public var headerTimeout: Duration = .seconds(10)
        /// Time a keep-alive connection may stay idle between requests.
        public var idleTimeout: Duration = .seconds(60)
        /// Time to receive a request body once its head is in.
        public var bodyTimeout: Duration = .seconds(30)
        /// Slowest average rate a request body may arrive at, in bytes per second since its head, checked once
        /// `bodyRateGracePeriod` has passed (0: no minimum). Below it: 408 and close (a slow body holds a
        /// connection for `bodyTimeout` at most, and at this rate not even that).
        public var minBodyBytesPerSecond = 1024
        /// How long a body may arrive at any rate before `minBodyBytesPerSecond` applies.
        public var bodyRateGracePeriod: Duration = .seconds(5)
        /// Time a client gets to read a response before the connection is dropped.
        public var writeTimeout: Duration = .seconds(30)
        /// Longest a handler may take: beyond it the client gets a 503 problem (`/problems/handler-timeout`) and
        /// the connection closes; the handler's late result is discarded. A safety net: outbound calls carry
        /// their own, shorter deadlines.
        public var handlerTimeout: Duration = .seconds(120)
        /// TLS for the listener; plain HTTP when nil.
        public var tls: TLSConfiguration?
        /// The reactors serving connections, one event loop each (the first also accepts). Nil: the server
        /// starts one reactor of its own. Give the group the outbound transport uses, so that a handler placed
        /// on the event loop drives its bank call on the same thread.
        public var reactors: ReactorGroup?
        /// Where the handler task of a request runs, chosen from its head; `.pool` when nil.
        public var handlerPlacement: (@Sendable (RequestHead) -> HandlerPlacement)?

        /// The defaults; set the fields that differ.
        public init() {}

        /// A listener on `host`:`port`, TLS when given, with the default limits and timeouts.
        public init(host: String, port: Int, tls: TLSConfiguration? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }
    }
}

/// Where a request's handler task runs.
public enum HandlerPlacement: Sendable {
    /// Swift's global concurrent executor (the cooperative pool).
    case pool
    /// The reactor of the connection's event loop: no thread hand-over between reading the request, the handler
    /// and writing the answer. The handler must not block (libpq through its `BlockingExecutor` is fine).
    case eventLoop
    /// A given executor (a `BlockingExecutor` for handlers that block).
    case executor(any TaskExecutor)
}

extension Duration {
    /// Whole nanoseconds (saturating), for the event loop's monotonic deadlines.
    var nanoseconds: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(a / 1_000_000_000)
    }
}
