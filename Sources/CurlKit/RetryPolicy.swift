/// When and how often an outbound call is tried again: only idempotent requests (`GET`, `HEAD`), only after a
/// connection failure (refused, dropped, connect timeout) or a `503`, at most `maxRetries` times, after a
/// "full jitter" backoff (a random delay between 0 and `baseDelay × 2^n`, capped at `maxDelay`), and never
/// past the request's deadline. `POST`, `PUT`, `DELETE` and `PATCH` are never retried: a bank may have acted on them.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt (0 disables retries).
    public var maxRetries: Int
    /// Upper bound of the first backoff.
    public var baseDelay: Duration
    /// Upper bound of any backoff.
    public var maxDelay: Duration

    /// - Parameters:
    ///   - maxRetries: Retries after the first attempt.
    ///   - baseDelay: First backoff bound.
    ///   - maxDelay: Largest backoff bound.
    public init(maxRetries: Int = 2, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxRetries: 0)

    /// Whether a request with this method may ever be retried.
    public static func isIdempotent(_ method: String) -> Bool { method == "GET" || method == "HEAD" }

    /// Whether this failure is worth another attempt: the request surely did not reach the bank's
    /// application (refused, connect timeout) or the connection broke (dropped).
    static func isRetryable(_ code: OutboundError.Code) -> Bool {
        switch code {
        case .connectionRefused, .connectionDropped, .timeout(.connect): true
        default: false
        }
    }

    /// The jittered delay before retry number `retry` (0-based).
    func backoff(forRetry retry: Int) -> Duration {
        let exponent = min(retry, 20)
        let bound = min(maxDelay, baseDelay * (1 << exponent))
        let boundNanos = max(0, bound.milliseconds) * 1_000_000
        guard boundNanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...boundNanos))
    }
}
