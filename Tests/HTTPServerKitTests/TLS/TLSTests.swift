import COpenSSL
import Foundation
import GatewayLogging
import Glibc
import TestSupport
import Testing

@testable import HTTPServerKit

/// A blocking OpenSSL client: trusts `ca`, optionally presents a certificate, sends one request, reads the reply.
/// Returns the response text, or nil when the handshake or the exchange was refused.
func tlsExchange(port: Int, ca: String, certificate: String? = nil, key: String? = nil, request: String) -> String? {
    guard let ctx = SSL_CTX_new(TLS_client_method()) else { return nil }
    defer { SSL_CTX_free(ctx) }
    guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else { return nil }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
    if let certificate, let key {
        guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1,
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1
        else { return nil }
    }
    guard let client = try? RawClient(port: port) else { return nil }
    guard let ssl = SSL_new(ctx) else { return nil }
    defer { SSL_free(ssl) }
    SSL_set_fd(ssl, client.fd)
    guard SSL_connect(ssl) == 1 else { return nil }
    let bytes = Array(request.utf8)
    guard SSL_write(ssl, bytes, Int32(bytes.count)) == Int32(bytes.count) else { return nil }
    var received: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = SSL_read(ssl, &buf, Int32(buf.count))
        if n <= 0 { break }
        received += buf[0..<Int(n)]
        if let (response, _) = ParsedResponse.parse(received, isHead: false) {
            return "\(response.status) \(response.text)"
        }
    }
    return nil
}

@Suite struct TLSTests {
    static let request = "GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

    func tlsConfiguration(_ verification: (TLSConfiguration.PEMSource) -> TLSConfiguration.ClientVerification)
        throws -> TLSConfiguration
    {
        TLSConfiguration(
            certificateChain: .file(try TestEnvironment.pki("server-chain.pem")),
            privateKey: .file(try TestEnvironment.pki("server.key")),
            clientVerification: verification(.file(try TestEnvironment.pki("ca.crt"))))
    }

    @Test func servesOverTLSWithoutClientCertificate() async throws {
        let tls = try tlsConfiguration { _ in .none }
        let ca = try TestEnvironment.pki("ca.crt")
        try await withTestServer(configuration: .with { $0.tls = tls }) { server in
            let port = server.boundPort
            let reply = try await offPool { tlsExchange(port: port, ca: ca, request: Self.request) }
            #expect(reply == "200 no cert")
        }
    }

    @Test func loadsCertificateAndKeyFromMemory() async throws {
        let tls = TLSConfiguration(
            certificateChain: .pem(try TestEnvironment.pkiContents("server-chain.pem")),
            privateKey: .pem(Secret(try TestEnvironment.pkiContents("server.key"))),
            clientVerification: .required(trustRoots: .pem(try TestEnvironment.pkiContents("ca.crt"))))
        let ca = try TestEnvironment.pki("ca.crt")
        let (cert, key) = (try TestEnvironment.pki("qwac.crt"), try TestEnvironment.pki("qwac.key"))
        try await withTestServer(configuration: .with { $0.tls = tls }) { server in
            let port = server.boundPort
            let reply = try await offPool {
                tlsExchange(port: port, ca: ca, certificate: cert, key: key, request: Self.request)
            }
            #expect(reply?.hasPrefix("200 cert ") == true)
        }
    }

    @Test func requiredClientVerification() async throws {
        let tls = try tlsConfiguration { .required(trustRoots: $0) }
        let ca = try TestEnvironment.pki("ca.crt")
        let qwac = (try TestEnvironment.pki("qwac.crt"), try TestEnvironment.pki("qwac.key"))
        let rogue = (try TestEnvironment.pki("rogue-client.crt"), try TestEnvironment.pki("rogue-client.key"))
        let expectedDER = try derOfPEMFile(qwac.0)
        try await withTestServer(configuration: .with { $0.tls = tls }) { server in
            let port = server.boundPort
            let none = try await offPool { tlsExchange(port: port, ca: ca, request: Self.request) }
            #expect(none == nil, "no client certificate is refused")
            let untrusted = try await offPool {
                tlsExchange(port: port, ca: ca, certificate: rogue.0, key: rogue.1, request: Self.request)
            }
            #expect(untrusted == nil, "an untrusted client certificate is refused")
            let trusted = try await offPool {
                tlsExchange(port: port, ca: ca, certificate: qwac.0, key: qwac.1, request: Self.request)
            }
            #expect(
                trusted == "200 cert \(expectedDER.count) chain 2",
                "the handler sees the verified certificate and chain")
        }
    }

    @Test func optionalClientVerification() async throws {
        let tls = try tlsConfiguration { .optional(trustRoots: $0) }
        let ca = try TestEnvironment.pki("ca.crt")
        let qwac = (try TestEnvironment.pki("qwac.crt"), try TestEnvironment.pki("qwac.key"))
        let rogue = (try TestEnvironment.pki("rogue-client.crt"), try TestEnvironment.pki("rogue-client.key"))
        try await withTestServer(configuration: .with { $0.tls = tls }) { server in
            let port = server.boundPort
            let none = try await offPool { tlsExchange(port: port, ca: ca, request: Self.request) }
            #expect(none == "200 no cert")
            let trusted = try await offPool {
                tlsExchange(port: port, ca: ca, certificate: qwac.0, key: qwac.1, request: Self.request)
            }
            #expect(trusted?.hasPrefix("200 cert ") == true)
            let untrusted = try await offPool {
                tlsExchange(port: port, ca: ca, certificate: rogue.0, key: rogue.1, request: Self.request)
            }
            #expect(untrusted == nil)
        }
    }

    @Test func plainHTTPOnATLSListenerIsDropped() async throws {
        let tls = try tlsConfiguration { _ in .none }
        try await withTestServer(configuration: .with { $0.tls = tls }) { server in
            let port = server.boundPort
            let (closed, bytes) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                return (client.readUntilClosed(), client.received.count)
            }
            #expect(closed)
            #expect(bytes < 64, "at most a TLS alert, never an HTTP response")
        }
    }

    @Test func unusableKeyMaterialFailsAtStartWithoutLeakingIt() throws {
        let tls = TLSConfiguration(
            certificateChain: .file(try TestEnvironment.pki("server.crt")),
            privateKey: .pem(
                Secret("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n")))
        do {
            _ = try HTTPServer(
                configuration: .init(host: "127.0.0.1", port: 0, tls: tls), handler: Router.Builder().build(),
                logger: Logger(label: "t", sink: CapturingLogSink()))
            Issue.record("expected a TLSError")
        } catch let error as TLSError {
            #expect(error.operation == "PEM_read_bio_PrivateKey")
            #expect(!error.description.contains("c2VjcmV0"))
        }
    }
}

/// The DER of the first certificate in a PEM file.
func derOfPEMFile(_ path: String) throws -> [UInt8] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let base64 = text.components(separatedBy: "-----")[2].replacingOccurrences(of: "\n", with: "")
    return Array(Data(base64Encoded: base64) ?? Data())
}
