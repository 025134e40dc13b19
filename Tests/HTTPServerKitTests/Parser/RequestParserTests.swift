import Testing

@testable import HTTPServerKit

/// Everything the parser produced for an input: the events in order and the error that stopped it, if any.
struct ParseOutcome: Equatable, CustomStringConvertible {
    var events: [RequestParser.Event] = []
    var error: HTTPParseError?

    var description: String { "events: \(events.count), error: \(error.map { "\($0.reason)" } ?? "none")" }

    var heads: [RequestHead] {
        events.compactMap { if case .head(let h) = $0 { h } else { nil } }
    }
    var bodies: [[UInt8]] {
        events.compactMap { if case .complete(let b) = $0 { b } else { nil } }
    }
}

/// Feeds `bytes` in pieces of `step` bytes (0: all at once) and drains events after each piece.
func parse(_ bytes: [UInt8], step: Int = 0, limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
    var parser = RequestParser(limits: limits)
    var outcome = ParseOutcome()
    let size = step == 0 ? max(bytes.count, 1) : step
    var offset = 0
    repeat {
        let end = min(offset + size, bytes.count)
        parser.append(bytes[offset..<end])
        offset = end
        do {
            while true {
                let event = try parser.next()
                if event == .needMoreData { break }
                outcome.events.append(event)
            }
        } catch {
            outcome.error = error
            return outcome
        }
    } while offset < bytes.count
    return outcome
}

func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
    parse(Array(text.utf8), limits: limits)
}

/// Asserts the byte-at-a-time and 7-byte splits give exactly the whole-input outcome, and returns it.
@discardableResult
func parseEverySplit(
    _ text: String, limits: HTTPLimits = HTTPLimits(), sourceLocation: SourceLocation = #_sourceLocation
)
    -> ParseOutcome
{
    let bytes = Array(text.utf8)
    let whole = parse(bytes, limits: limits)
    #expect(parse(bytes, step: 1, limits: limits) == whole, "byte by byte", sourceLocation: sourceLocation)
    #expect(parse(bytes, step: 7, limits: limits) == whole, "7-byte pieces", sourceLocation: sourceLocation)
    return whole
}

@Suite struct RequestParserTests {
    @Test(arguments: ParserCorpus.rejections.map { $0.name })
    func rejectsCorpusCase(_ name: String) {
        let entry = ParserCorpus.rejections.first { $0.name == name }!
        let outcome = parseEverySplit(entry.raw)
        #expect(outcome.error == HTTPParseError(entry.reason), "\(name): \(outcome)")
        #expect(outcome.bodies.isEmpty)
    }

    @Test func parsesSimpleGet() {
        let outcome = parseEverySplit("GET /items/a%2Fb?q=1+2 HTTP/1.1\r\nHost: x\r\nX-Y:  spaced value \t\r\n\r\n")
        #expect(outcome.error == nil)
        let head = outcome.heads[0]
        #expect(head.method == .get)
        #expect(head.target == "/items/a%2Fb?q=1+2")
        #expect(head.minorVersion == 1)
        #expect(head.keepAlive)
        #expect(head.framing == .none)
        #expect(head.headers["x-y"] == "spaced value")
        #expect(outcome.bodies == [[]])
    }

    @Test func parsesContentLengthBody() {
        let outcome = parseEverySplit("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        #expect(outcome.heads[0].framing == .length(5))
        #expect(outcome.bodies == [Array("hello".utf8)])
    }

    @Test func parsesChunkedBodyWithExtensionsAndTrailers() {
        let raw =
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "5;name=value;x=\"q\"\r\nhello\r\n1 ;ext\r\n!\r\n0\r\nX-Trailer: t\r\nContent-Length: 99\r\n\r\n"
        let outcome = parseEverySplit(raw)
        #expect(outcome.error == nil)
        #expect(outcome.bodies == [Array("hello!".utf8)])
        #expect(outcome.heads[0].headers["Content-Length"] == nil, "trailers are never merged into headers")
    }

    @Test func parsesPipelinedRequestsInOrder() {
        let outcome = parseEverySplit(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /c HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        #expect(outcome.heads.map(\.target) == ["/a", "/b", "/c"])
        #expect(outcome.bodies == [[], Array("ok".utf8), []])
    }

    @Test func appliesConnectionSemantics() {
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").heads[0].keepAlive == false)
        #expect(parse("GET / HTTP/1.0\r\n\r\n").heads[0].keepAlive == false)
        #expect(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").heads[0].keepAlive == true)
        #expect(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade, close\r\n\r\n").heads[0].keepAlive == false)
    }

    @Test func acceptsOptionsAsteriskAndLeadingEmptyLine() {
        #expect(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").heads[0].target == "*")
        #expect(parse("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").heads[0].target == "/")
    }

    @Test func flagsExpectContinue() {
        let head = parse("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").heads[0]
        #expect(head.expectsContinue)
    }

    @Test func staysFailedAfterAnError() {
        var parser = RequestParser()
        parser.append(Array("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError(.multipleHosts)) { try parser.next() }
        #expect(throws: HTTPParseError(.multipleHosts)) { try parser.next() }
    }

    // MARK: - Limits at N and N + 1

    @Test func requestLineLimit() {
        let limits = HTTPLimits(maxRequestLineBytes: 64)
        func line(_ length: Int) -> String {
            let fixed = "GET / HTTP/1.1".utf8.count
            return "GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1"
        }
        #expect(line(64).utf8.count == 64)
        #expect(parseEverySplit(line(64) + "\r\nHost: x\r\n\r\n", limits: limits).error == nil)
        #expect(
            parseEverySplit(line(65) + "\r\nHost: x\r\n\r\n", limits: limits).error
                == HTTPParseError(.requestLineTooLong))
        #expect(parseEverySplit(line(65), limits: limits).error == nil, "undecided without more bytes")
        #expect(parseEverySplit(line(64) + "\r", limits: limits).error == nil, "the CR ends a valid line")
        #expect(parseEverySplit(line(65) + "\r", limits: limits).error == HTTPParseError(.requestLineTooLong))
        #expect(
            parse(line(64) + "xx", limits: limits).error == HTTPParseError(.requestLineTooLong), "refused before the LF"
        )
    }

    @Test func headerSectionLimit() {
        // Header bytes = field lines with their CRLFs: "Host: x\r\n" (9) + "X: …\r\n".
        let limits = HTTPLimits(maxHeaderBytes: 100)
        func request(_ total: Int) -> String {
            let filler = String(repeating: "v", count: total - 9 - 5)
            return "GET / HTTP/1.1\r\nHost: x\r\nX: \(filler)\r\n\r\n"
        }
        #expect(parseEverySplit(request(100), limits: limits).error == nil)
        #expect(parseEverySplit(request(101), limits: limits).error == HTTPParseError(.headerSectionTooLarge))
    }

    @Test func headerCountLimit() {
        let limits = HTTPLimits(maxHeaderCount: 5)
        func request(_ count: Int) -> String {
            "GET / HTTP/1.1\r\nHost: x\r\n" + (1..<count).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        }
        #expect(parseEverySplit(request(5), limits: limits).error == nil)
        #expect(parseEverySplit(request(6), limits: limits).error == HTTPParseError(.tooManyHeaderFields))
    }

    @Test func bodyLimitForContentLengthIsCheckedBeforeTheBody() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        #expect(
            parseEverySplit("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).error
                == nil)
        let refused = parseEverySplit("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: limits)
        #expect(refused.error == HTTPParseError(.bodyTooLarge))
        #expect(refused.heads.isEmpty)
    }

    @Test func bodyLimitForChunkedBodies() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        let ok =
            "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"
        #expect(parseEverySplit(ok, limits: limits).bodies == [Array("0123456789".utf8)])
        let tooBig = "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n"
        #expect(parseEverySplit(tooBig, limits: limits).error == HTTPParseError(.bodyTooLarge))
    }

    @Test func everyPrefixOfAValidRequestNeedsMoreData() {
        let raw = Array(
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        for n in 0..<raw.count {
            let outcome = parse(Array(raw[0..<n]))
            #expect(outcome.error == nil)
            #expect(outcome.bodies.isEmpty)
        }
    }
}
