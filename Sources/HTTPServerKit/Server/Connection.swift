import Reactor
/// One accepted connection's state. Owned and touched only by the event-loop thread.
///
/// ```
/// handshake (TLS) → reading ⇄ (head, body) → awaitingHandler → writing → reading (keep-alive)
///                                                                  ↘ lingering → closed (close requested)
/// ```
final class Connection {
    enum Phase {
        case handshake
        case reading
        case awaitingHandler
        case writing
        /// Our side is shut down; unread input is drained briefly so that the final response is not lost to a
        /// TCP reset (what nginx calls lingering close).
        case lingering
    }

    let id: UInt64
    let fd: Int32
    let remoteAddress: String
    let tls: TLSSession?
    var parser: RequestParser
    var phase: Phase
    /// The head of the request whose body is being read.
    var head: RequestHead?
    /// Bytes of the request in progress have arrived (the header timer runs).
    var requestStarted = false
    /// Pending output and how much of it was sent.
    var output: [UInt8] = []
    var outputOffset = 0
    var closeAfterWrite = false
    /// The client shut down its sending side: no request will follow the buffered ones.
    var inputClosed = false
    /// Monotonic nanoseconds; 0 means none.
    var deadline: UInt64 = 0
    /// Current epoll interest.
    var interest: UInt32 = 0
    /// A TLS operation needs the socket to become writable (or readable) before it can continue.
    var tlsWantsWrite = false
    var peerCertificate: [UInt8]?
    var peerCertificateChain: [[UInt8]] = []
    var requestsServed = 0
    /// Bytes received so far (decrypted, for TLS).
    var bytesReceived = 0
    /// When the body of the current request started (monotonic ns; 0: no body being read) and `bytesReceived`
    /// at that moment, minus what was already buffered: the minimum body rate is measured from there.
    var bodyStartedAt: UInt64 = 0
    var bodyBaseline = 0
    /// When the connection last became idle (accepted, or its last answer written): reclaiming under pressure
    /// closes the oldest idle connections first.
    var idleSince: UInt64 = 0

    init(id: UInt64, fd: Int32, remoteAddress: String, tls: TLSSession?, limits: HTTPLimits) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.tls = tls
        self.parser = RequestParser(limits: limits)
        self.phase = tls == nil ? .reading : .handshake
    }

    /// True when closing it loses nothing: no byte of a next request received, no answer pending (or a TLS
    /// handshake not finished yet). Such connections are reclaimed, oldest first, when the server is full.
    var isReclaimable: Bool {
        switch phase {
        case .handshake: return true
        case .reading: return !requestStarted && parser.isIdle && outputOffset >= output.count
        default: return false
        }
    }

    /// The epoll events this state needs.
    var wantedInterest: UInt32 {
        if tlsWantsWrite { return Reactor.writable }
        let pendingOutput = outputOffset < output.count
        switch phase {
        case .handshake, .lingering: return Reactor.readable
        case .reading: return Reactor.readable | (pendingOutput ? Reactor.writable : 0)
        case .awaitingHandler: return pendingOutput ? Reactor.writable : 0
        case .writing: return Reactor.writable
        }
    }

    /// Reads into `buffer` through TLS when present.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> SocketIO.IOResult {
        guard let tls else { return SocketIO.read(fd, into: buffer) }
        tlsWantsWrite = false
        switch tls.read(into: buffer) {
        case .done(let n): return .bytes(n)
        case .wantRead: return .wouldBlock
        case .wantWrite:
            tlsWantsWrite = true
            return .wouldBlock
        case .closed: return .closed
        case .failed: return .failed(0)
        }
    }

    /// Sends pending bytes through TLS when present.
    func write(_ bytes: UnsafeRawBufferPointer) -> SocketIO.IOResult {
        guard let tls else { return SocketIO.send(fd, bytes) }
        tlsWantsWrite = false
        switch tls.write(bytes) {
        case .done(let n): return .bytes(n)
        case .wantWrite, .wantRead: return .wouldBlock
        case .closed: return .closed
        case .failed: return .failed(0)
        }
    }
}
