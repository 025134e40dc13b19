/// An incremental HTTP/1.1 request parser (RFC 9112). A pure value type: it does no I/O, is fed bytes with
/// `append(_:)` and returns one event per `next()` call. Feeding the same bytes in any split (one byte at a time
/// included) yields the same events and the same error.
///
/// It is strict where leniency enables request smuggling: CRLF only, no obs-fold, no whitespace before the
/// colon, no CTLs, exactly one valid `Content-Length`, never together with `Transfer-Encoding`, `chunked` as the
/// only transfer coding, one `Host` in HTTP/1.1. After an error it stays failed: the caller answers and closes.
public struct RequestParser: Sendable {
    /// What `next()` found.
    public enum Event: Sendable, Equatable {
        /// The buffered bytes do not complete the next element.
        case needMoreData
        /// A request line and header section. The body follows with `.complete`.
        case head(RequestHead)
        /// The body of the request whose head came last (empty when it has none). The parser is then ready
        /// for the next pipelined request.
        case complete(body: [UInt8])
    }

    enum State: Sendable {
        case requestLine
        case headers(PartialHead)
        case headComplete(RequestHead)
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int, count: Int)
        case failed(HTTPParseError)
    }

    /// What is known while the header section is being read.
    struct PartialHead: Sendable {
        var method: HTTPMethod
        var target: String
        var minorVersion: Int
        var headers = HTTPHeaders()
        var headerBytes = 0
        var hostCount = 0
        var contentLengths: [Substring] = []
        var transferEncodings: [String] = []
        var connectionTokens: [String] = []
        var expect: String?
    }

    /// The size limits this parser enforces.
    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    /// Start of the unconsumed bytes.
    private var index = 0
    /// Where the search for the next LF resumes (so byte-at-a-time feeding stays linear).
    private var scan = 0
    private var state: State = .requestLine
    private var body: [UInt8] = []
    private var leadingEmptyLines = 0

    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// Bytes buffered and not yet consumed by an event.
    public var bufferedByteCount: Int { buffer.count - index }

    /// True when no byte of a next request has been received (the connection is idle).
    public var isIdle: Bool {
        if case .requestLine = state { return buffer.count == index }
        return false
    }

    /// True once the head of the current request has been returned and its body is being read.
    public var isReadingBody: Bool {
        switch state {
        case .headComplete, .body, .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        default: false
        }
    }

    /// Appends received bytes.
    public mutating func append<C: Collection<UInt8>>(_ bytes: C) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes from raw memory.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if index == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65536)
            scan -= index
            index = 0
        } else if index > 4096 && index * 2 > buffer.count {
            buffer.removeFirst(index)
            scan -= index
            index = 0
        }
    }

    /// Parses as far as the buffered bytes allow.
    /// - Throws: `HTTPParseError`; every later call throws it again.
    public mutating func next() throws(HTTPParseError) -> Event {
        do {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> Event {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .requestLine:
                guard let line = try nextLine(limit: limits.maxRequestLineBytes, tooLong: .requestLineTooLong)
                else { return .needMoreData }
                if line.isEmpty {
                    // RFC 9112 §2.2: ignore at least one empty line before the request line (a few, not a flood).
                    leadingEmptyLines += 1
                    if leadingEmptyLines > 4 { throw HTTPParseError(.invalidRequestLine) }
                    continue
                }
                state = .headers(try parseRequestLine(line))
            case .headers(var partial):
                // `partial` must be the only reference to its arrays, or each header line would copy them all.
                state = .requestLine
                guard let line = try nextHeaderLine(used: partial.headerBytes) else {
                    state = .headers(partial)
                    return .needMoreData
                }
                if line.isEmpty {
                    let head = try finishHead(partial)
                    state = .headComplete(head)
                    return .head(head)
                }
                partial.headerBytes += line.count + 2
                if partial.headers.count + 1 > limits.maxHeaderCount { throw HTTPParseError(.tooManyHeaderFields) }
                try addField(line, to: &partial)
                state = .headers(partial)
            case .headComplete(let head):
                leadingEmptyLines = 0
                body = []
                switch head.framing {
                case .none: return finishMessage()
                case .length(let n): state = .body(remaining: n)
                case .chunked: state = .chunkSize
                }
            case .body(let remaining):
                let available = buffer.count - index
                if available < remaining { return .needMoreData }
                body = Array(buffer[index..<index + remaining])
                index += remaining
                scan = index
                return finishMessage()
            case .chunkSize:
                guard let line = try nextLine(limit: limits.maxChunkLineBytes, tooLong: .invalidChunk) else {
                    return .needMoreData
                }
                let size = try parseChunkSize(line)
                if size == 0 {
                    state = .trailers(bytes: 0, count: 0)
                } else {
                    if body.count + size > limits.maxBodyBytes { throw HTTPParseError(.bodyTooLarge) }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let available = buffer.count - index
                if available == 0 { return .needMoreData }
                let n = min(available, remaining)
                body.append(contentsOf: buffer[index..<index + n])
                index += n
                scan = index
                state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                if buffer.count - index < 1 { return .needMoreData }
                if buffer[index] != 13 { throw HTTPParseError(.invalidChunk) }
                if buffer.count - index < 2 { return .needMoreData }
                if buffer[index + 1] != 10 { throw HTTPParseError(.invalidChunk) }
                index += 2
                scan = index
                state = .chunkSize
            case .trailers(let bytes, let count):
                // RFC 9112 §7.1.2: trailer fields are validated like header fields, then discarded (never merged
                // into the headers, so they cannot smuggle framing or authentication fields).
                guard let line = try nextHeaderLine(used: bytes) else { return .needMoreData }
                if line.isEmpty { return finishMessage() }
                if count + 1 > limits.maxHeaderCount { throw HTTPParseError(.tooManyHeaderFields) }
                _ = try Self.parseField(line)
                state = .trailers(bytes: bytes + line.count + 2, count: count + 1)
            }
        }
    }

    private mutating func finishMessage() -> Event {
        state = .requestLine
        let result = body
        body = []
        return .complete(body: result)
    }

    // MARK: - Lines

    /// The next CRLF-terminated line without its CRLF, or nil when incomplete. Lines longer than `limit` throw
    /// `tooLong` as soon as that is certain, so a split input fails the same way as the whole.
    private mutating func nextLine(limit: Int, tooLong: HTTPParseError.Reason) throws(HTTPParseError)
        -> ArraySlice<UInt8>?
    {
        guard let lf = findLF() else {
            // Partial bytes may end with the CR of a valid line, hence `limit + 1`.
            if buffer.count - index > limit + 1 { throw HTTPParseError(tooLong) }
            return nil
        }
        let (line, hadCR) = takeLine(lf)
        if line.count > limit { throw HTTPParseError(tooLong) }
        if !hadCR { throw HTTPParseError(.bareLineFeed) }
        return line
    }

    /// Like `nextLine` for field lines, held to the header-section budget (`used` bytes already spent).
    private mutating func nextHeaderLine(used: Int) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        guard let lf = findLF() else {
            let partial = buffer.count - index
            // A complete line costs at least partial + 1 bytes; a lone CR may still be the final empty line.
            if partial >= 2 && used + partial + 1 > limits.maxHeaderBytes {
                throw HTTPParseError(.headerSectionTooLarge)
            }
            return nil
        }
        let (line, hadCR) = takeLine(lf)
        if !line.isEmpty && used + line.count + 2 > limits.maxHeaderBytes {
            throw HTTPParseError(.headerSectionTooLarge)
        }
        if !hadCR { throw HTTPParseError(.bareLineFeed) }
        return line
    }

    private mutating func findLF() -> Int? {
        var i = Swift.max(scan, index)
        let end = buffer.count
        while i < end {
            if buffer[i] == 10 { return i }
            i += 1
        }
        scan = end
        return nil
    }

    private mutating func takeLine(_ lf: Int) -> (ArraySlice<UInt8>, Bool) {
        let hadCR = lf > index && buffer[lf - 1] == 13
        let line = buffer[index..<(hadCR ? lf - 1 : lf)]
        index = lf + 1
        scan = index
        return (line, hadCR)
    }
}
