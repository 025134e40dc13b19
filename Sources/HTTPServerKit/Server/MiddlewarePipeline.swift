import GatewayLogging

#if canImport(Glibc)
    import Glibc
#endif

/// The built-in middleware around the application handler, in order: request id → metrics/in-flight →
/// error mapping (problem+json) → access log. Each request's pipeline runs as one task where the server's
/// `handlerPlacement` puts it (an event loop or the shared pool).
struct MiddlewarePipeline: Sendable {
    let handler: any HTTPHandler
    let logger: Logger
    let metrics: HTTPMetrics
    let lifecycle: ServerLifecycle

    func respond(to job: RequestJob) async -> ResponseCompletion {
        let start = EventLoop.now()
        let head = job.head
        let requestID =
            head.headers["X-Request-Id"].flatMap { RequestID.isAcceptable($0) ? $0 : nil } ?? RequestID.generate()
        let requestLogger = logger.with(["request.id": requestID])
        let recorder = RouteRecorder()
        metrics.inFlight.add(1)
        guard
            var response = await respond(
                head: head, job: job, requestID: requestID, logger: requestLogger, recorder: recorder)
        else {
            // The handler asked to drop the connection without answering (the bank simulator's fault injection).
            metrics.inFlight.add(-1)
            requestLogger.info("connection dropped without a response", metadata: ["http.route": recorder.route ?? "unmatched"])
            return ResponseCompletion(connectionID: job.connectionID, fd: job.fd, bytes: [], close: true)
        }
        metrics.inFlight.add(-1)
        response.headers.set("X-Request-Id", requestID)
        let keepAlive = head.keepAlive && !lifecycle.isDraining
        let bytes = ResponseEncoder.encode(
            response, isHead: head.method == .head, keepAlive: keepAlive, minorVersion: head.minorVersion)

        let seconds = Double(EventLoop.now() - start) / 1e9
        let route = recorder.route ?? "unmatched"
        let method = head.method.rawValue
        metrics.record(method: method, route: route, status: response.status, seconds: seconds)
        var access: [String: String] = [
            "http.method": method, "http.route": route, "http.status": "\(response.status)",
            "duration.ms": Decimals.fixed(seconds * 1000, digits: 3), "http.response.bytes": "\(response.body.count)",
        ]
        if let principal = recorder.principal { access["auth.principal"] = principal }
        requestLogger.info("request", metadata: access)
        return ResponseCompletion(connectionID: job.connectionID, fd: job.fd, bytes: bytes, close: !keepAlive)
    }

    private func respond(
        head: RequestHead, job: RequestJob, requestID: String, logger: Logger, recorder: RouteRecorder
    ) async -> HTTPResponse? {
        if head.target == "*" {
            // OPTIONS * (RFC 9110 §9.3.7): the server's capabilities, nothing to route.
            return HTTPResponse(status: 200, headers: ["Allow": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"])
        }
        var request: HTTPRequest
        do {
            request = try HTTPRequest(
                method: head.method, target: head.target, headers: head.headers, body: job.body,
                version: (1, head.minorVersion))
        } catch {
            // The one path rule (RequestTarget): a non-canonical target reaches no handler, under any spelling.
            return ServerProblem.badRequest.problem(
                detail: "Request target refused: \(error.description).", requestID: requestID
            ).response
        }
        request.peerCertificateDER = job.peerCertificate
        request.peerCertificateChainDER = job.peerCertificateChain
        request.remoteAddress = job.remoteAddress
        let context = RequestContext(requestID: requestID, logger: logger, routeRecorder: recorder)
        return await handler.respond(to: request, context: context)
    }
}

extension HTTPHandler {
    /// The handler's response with the server's error mapping: a `ProblemConvertible` error becomes its problem, any
    /// other error a logged 500 problem; nil when the handler asks to drop the connection (`ConnectionAbortingError`).
    /// The server answers every request through it; tests of a router's HTTP contract call it in process.
    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse? {
        let path = request.path
        do {
            return try await handle(request, context: context)
        } catch is any ConnectionAbortingError {
            return nil
        } catch let error as any ProblemConvertible {
            return error.problem(instance: path, requestID: context.requestID).response
        } catch {
            context.logger.error(
                "unhandled error",
                metadata: ["error.type": "\(type(of: error))", "error": "\(error)", "http.path": path])
            return ServerProblem.internal.problem(
                detail: "An unexpected error occurred; quote the request id when reporting it.", instance: path,
                requestID: context.requestID
            ).response
        }
    }
}

/// An error a handler throws to close the connection without sending any response (the bank simulator's
/// "dropped connection" fault). Real handlers never need it.
public protocol ConnectionAbortingError: Error {}

