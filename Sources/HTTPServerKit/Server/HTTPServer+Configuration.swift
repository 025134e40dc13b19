extension HTTPServer {
    /// Listener, limits and timeouts. Defaults follow issue 3 (and nginx where the issue is silent).
    public struct Configuration: Sendable {
        /// Numeric address to bind (`0.0.0.0`, `127.0.0.1`, `::`).
        public var host: String
        /// Port to bind; 0 picks a free one (see `HTTPServer.boundPort`).
        public var port: Int
        /// `listen(2)` backlog: where connections wait while `maxConnections` are open (accept back-pressure).
        public var backlog: Int32
        /// Parser limits: request line 8 KiB, header section 32 KiB / 100 fields, body 1 MiB.
        public var limits: HTTPLimits
        /// Connections served at once; beyond it the listener stops accepting until one closes.
        public var maxConnections: Int
        /// Time to receive a request's header section, from its first byte (or from accept for the first
        /// request, TLS handshake included). 408 and close beyond it.
        public var headerTimeout: Duration
        /// Time a keep-alive connection may stay idle between requests.
        public var idleTimeout: Duration
        /// Time to receive a request body once its head is in.
        public var bodyTimeout: Duration
        /// Time a client gets to read a response before the connection is dropped.
        public var writeTimeout: Duration
        /// Longest a handler may take: beyond it the client gets a 503 problem (`/problems/handler-timeout`) and
        /// the connection closes; the handler's late result is discarded. A safety net: outbound calls carry
        /// their own, shorter deadlines.
        public var handlerTimeout: Duration
        /// TLS for the listener; plain HTTP when nil.
        public var tls: TLSConfiguration?
        /// Where the handler task of a request runs, chosen from its head; the global concurrent executor when
        /// this (or its answer) is nil. A pool of threads made for blocking calls (a `BlockingExecutor`) lets
        /// handlers call libpq and libcurl inline instead of hopping threads; keep cheap routes (health, metrics)
        /// off it so that they answer while its threads wait on banks.
        public var handlerExecutor: (@Sendable (RequestHead) -> (any TaskExecutor)?)?

        public init(
            host: String = "0.0.0.0", port: Int = 8080, backlog: Int32 = 1024, limits: HTTPLimits = HTTPLimits(),
            maxConnections: Int = 1024, headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60),
            bodyTimeout: Duration = .seconds(30), writeTimeout: Duration = .seconds(30),
            handlerTimeout: Duration = .seconds(120), tls: TLSConfiguration? = nil
        ) {
            self.host = host
            self.port = port
            self.backlog = backlog
            self.limits = limits
            self.maxConnections = maxConnections
            self.headerTimeout = headerTimeout
            self.idleTimeout = idleTimeout
            self.bodyTimeout = bodyTimeout
            self.writeTimeout = writeTimeout
            self.handlerTimeout = handlerTimeout
            self.tls = tls
        }
    }
}

extension Duration {
    /// Whole nanoseconds (saturating), for the event loop's monotonic deadlines.
    var nanoseconds: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(a / 1_000_000_000)
    }
}
