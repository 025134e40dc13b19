import Testing

@testable import CurlKit

/// Pure helpers of the transport: retry backoff, TLS alert recognition, the URL scheme and host check.
@Suite struct TransportHelperTests {
    @Test func backoffIsJitteredAndBounded() {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: .milliseconds(100), maxDelay: .milliseconds(300))
        for retry in 0..<6 {
            let bound: Duration = min(.milliseconds(300), .milliseconds(100) * (1 << retry))
            let delays = (0..<50).map { _ in policy.backoff(forRetry: retry) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= bound })
            // Jittered: spread over the whole range, not a fixed delay (a constant backoff fails here; the chance
            // that 50 uniform draws all fall in one half is 2 × 2⁻⁵⁰).
            #expect(delays.contains { $0 < bound / 2 } && delays.contains { $0 > bound / 2 }, "retry \(retry): \(delays)")
        }
        #expect(RetryPolicy.isIdempotent("GET"))
        #expect(!RetryPolicy.isIdempotent("POST"))
        #expect(!RetryPolicy.isRetryable(.tlsServerUntrusted))
        #expect(RetryPolicy.isRetryable(.connectionDropped))
    }

    @Test func clientCertificateAlertsAreRecognised() {
        #expect(CurlEasy.isClientCertificateAlert("OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required"))
        #expect(CurlEasy.isClientCertificateAlert("error:0A000418:SSL routines::tlsv1 alert unknown ca"))
        #expect(!CurlEasy.isClientCertificateAlert("Connection reset by peer"))
    }

    // Accepting plain http for any host, or without the transport's permission, fails here.
    @Test func plainHTTPGoesOnlyToLoopbackHostsAndOnlyWhenAllowed() {
        func code(_ url: String, _ allowed: Bool) -> OutboundError.Code? {
            if case .failure(let error) = CurlTransport.host(of: url, allowingLoopbackHTTP: allowed) { return error.code }
            return nil
        }
        for url in ["http://127.0.0.1:8080/hook", "http://LOCALHOST/x", "http://[::1]:9/h", "http://127.255.0.3/", "http://u@localhost/"] {
            #expect(code(url, true) == nil, "\(url)")
            #expect(code(url, false) == .notHTTPS, "\(url)")
        }
        for url in [
            "http://example.com/", "http://10.0.0.1/", "http://127.0.0.1.example.com/", "http://[::2]/", "http://localhost.example/",
            "http://127.0.0.1@example.com/", "http://127.0.0.256/", "http://127.0.0.1:80:80/", "ftp://localhost/",
        ] {
            #expect(code(url, true) == .notHTTPS, "\(url)")
        }
        #expect(code("https://example.com/", false) == nil)
        #expect(CurlTransport.host(of: "http://LocalHost:8088/h", allowingLoopbackHTTP: true) == .success("localhost:8088"))
    }
}
