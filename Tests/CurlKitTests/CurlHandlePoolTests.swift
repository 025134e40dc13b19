import Testing

@testable import CurlKit

/// The handle pool's bookkeeping, with injected instants (no sleeping).
@Suite struct CurlHandlePoolTests {
    let key = CurlHandlePool.Key(host: "bank.example:443", identityID: "qwac")

    init() throws { try CurlGlobal.initialize() }

    @Test func reusesTheIdleHandleOfTheSameKeyOnly() throws {
        let pool = CurlHandlePool(maxIdlePerKey: 4, maxIdleTotal: 8, idleTimeout: .seconds(50))
        let now = ContinuousClock.now
        let handle = try pool.checkOut(key, now: now)
        let address = ObjectIdentifier(handle)
        pool.checkIn(handle, key: key, now: now)
        let other = try pool.checkOut(CurlHandlePool.Key(host: "bank.example:443", identityID: "qwac2"), now: now)
        #expect(ObjectIdentifier(other) != address)  // another identity never gets this connection
        let again = try pool.checkOut(key, now: now + .seconds(1))
        #expect(ObjectIdentifier(again) == address)
        #expect(pool.createdCount == 2)
    }

    @Test func idleHandlesExpire() throws {
        let pool = CurlHandlePool(maxIdlePerKey: 4, maxIdleTotal: 8, idleTimeout: .seconds(50))
        let now = ContinuousClock.now
        pool.checkIn(try pool.checkOut(key, now: now), key: key, now: now)
        #expect(pool.idleCount == 1)
        _ = try pool.checkOut(key, now: now + .seconds(51))
        #expect(pool.createdCount == 2)  // the expired one was closed, a new one made
        #expect(pool.idleCount == 0)
        // Returning any handle also closes those of other hosts that idled too long.
        let quietKey = CurlHandlePool.Key(host: "quiet.example:443", identityID: nil)
        pool.checkIn(try pool.checkOut(quietKey, now: now), key: quietKey, now: now)
        pool.checkIn(try pool.checkOut(key, now: now + .seconds(60)), key: key, now: now + .seconds(60))
        #expect(pool.idleCount == 1)
    }

    @Test func poolIsBoundedPerKeyAndInTotal() throws {
        let pool = CurlHandlePool(maxIdlePerKey: 2, maxIdleTotal: 3, idleTimeout: .seconds(50))
        let now = ContinuousClock.now
        let handles = try (0..<3).map { _ in try pool.checkOut(key, now: now) }
        for handle in handles { pool.checkIn(handle, key: key, now: now) }
        #expect(pool.idleCount == 2)
        let otherKey = CurlHandlePool.Key(host: "other.example:443", identityID: nil)
        let others = try (0..<2).map { _ in try pool.checkOut(otherKey, now: now) }
        for handle in others { pool.checkIn(handle, key: otherKey, now: now) }
        #expect(pool.idleCount == 3)  // the least recently used handle was closed
    }

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
