import Testing

@testable import CurlKit

/// Pure helpers of the transport: retry backoff, TLS alert recognition.
@Suite struct TransportHelperTests {
    @Test func backoffIsJitteredAndBounded() {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: .milliseconds(100), maxDelay: .milliseconds(300))
        for retry in 0..<6 {
            let bound: Duration = min(.milliseconds(300), .milliseconds(100) * (1 << retry))
            for _ in 0..<50 {
                let delay = policy.backoff(forRetry: retry)
                #expect(delay >= .zero && delay <= bound)
            }
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
}
