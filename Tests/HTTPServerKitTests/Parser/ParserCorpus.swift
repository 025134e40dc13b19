@testable import HTTPServerKit

/// Raw requests the server must refuse, with the reason. Shared by the parser tests (whole and byte by byte) and
/// the raw-socket framing tests (status + closed connection).
enum ParserCorpus {
    static let rejections: [(name: String, raw: String, reason: HTTPParseError.Reason)] = [
        (
            "content-length with transfer-encoding",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        (
            "transfer-encoding with content-length",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        (
            "two content-lengths",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            .multipleContentLengths
        ),
        (
            "differing content-lengths",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            .multipleContentLengths
        ),
        (
            "content-length list", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
            .invalidContentLength
        ),
        (
            "non-digit content-length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\nabc",
            .invalidContentLength
        ),
        (
            "signed content-length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
            .invalidContentLength
        ),
        (
            "negative content-length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            .invalidContentLength
        ),
        ("empty content-length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", .invalidContentLength),
        (
            "overflowing content-length",
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", .invalidContentLength
        ),
        (
            "chunk size overflow",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabc\r\n",
            .chunkSizeOverflow
        ),
        (
            "chunk size not hex", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
            .invalidChunk
        ),
        (
            "chunk size negative", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n",
            .invalidChunk
        ),
        (
            "chunk data without CRLF",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", .invalidChunk
        ),
        (
            "chunk line with bare LF",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", .bareLineFeed
        ),
        (
            "chunk extension with CTL",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\u{1}\r\nabc\r\n0\r\n\r\n",
            .invalidChunk
        ),
        (
            "obs-fold trailer",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n",
            .obsoleteLineFolding
        ),
        ("obs-fold", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", .obsoleteLineFolding),
        ("obs-fold with tab", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", .obsoleteLineFolding),
        ("bare LF in headers", "GET /hello HTTP/1.1\nHost: a\n\n", .bareLineFeed),
        ("bare LF after a header", "GET /hello HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", .bareLineFeed),
        ("bare LF ending the head", "GET /hello HTTP/1.1\r\nHost: a\r\n\n", .bareLineFeed),
        ("NUL in value", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n", .invalidHeaderField),
        ("CR in value", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", .invalidHeaderField),
        ("DEL in value", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\u{7F}c\r\n\r\n", .invalidHeaderField),
        ("CTL in name", "GET /hello HTTP/1.1\r\nHost: a\r\nX\u{1}A: b\r\n\r\n", .invalidHeaderField),
        ("space before colon", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", .invalidHeaderField),
        ("tab before colon", "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length\t: 0\r\n\r\n", .invalidHeaderField),
        ("empty name", "GET /hello HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", .invalidHeaderField),
        ("no colon", "GET /hello HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", .invalidHeaderField),
        ("missing host", "GET /hello HTTP/1.1\r\nX-A: b\r\n\r\n", .missingHost),
        ("two hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .multipleHosts),
        ("two hosts in 1.0", "GET /hello HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", .multipleHosts),
        ("missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("double space", "GET  /hello HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("trailing space", "GET /hello HTTP/1.1 \r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("lower-case version", "GET /hello http/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("garbage", "\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\r\n\r\n", .invalidRequestLine),
        ("space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("relative target", "GET hello HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", .invalidRequestLine),
        ("absolute-form", "GET http://a/hello HTTP/1.1\r\nHost: a\r\n\r\n", .absoluteFormUnsupported),
        ("HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", .unsupportedVersion),
        ("HTTP/1.2", "GET /hello HTTP/1.2\r\nHost: a\r\n\r\n", .unsupportedVersion),
        ("unknown method", "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", .methodNotImplemented),
        ("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", .methodNotImplemented),
        (
            "gzip transfer coding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
            .unsupportedTransferEncoding
        ),
        (
            "gzip then chunked",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding
        ),
        (
            "chunked twice",
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "empty transfer-encoding", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "transfer-encoding in 1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            .invalidTransferEncoding
        ),
        (
            "unknown expectation", "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na",
            .unsupportedExpectation
        ),
        (
            "too many leading empty lines", "\r\n\r\n\r\n\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
            .invalidRequestLine
        ),
    ]
}
