import BlockingIO
import GatewayLogging
import Synchronization

extension PostgresClient {
    /// Waits until the server accepts a connection and answers `SELECT 1`, retrying with a growing pause
    /// (0.25 s doubling up to 5 s) and logging each failed attempt at info level, e.g. for `serve` starting next
    /// to a database that is still booting.
    /// - Parameters:
    ///   - timeout: The longest total wait; nil waits as long as it takes (until the task is cancelled).
    ///   - logger: Receives one line per failed attempt (the error's safe description, never the URL).
    /// - Throws: `DatabaseError` `.connectionFailed` with the last error's message once `timeout` has passed;
    ///   `.invalidURL` or `.poolClosed` at once (waiting does not help); `CancellationError` when the task is
    ///   cancelled while waiting.
    public func waitUntilAvailable(timeout: Duration?, logger: Logger) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var pause = Duration.milliseconds(250)
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await query("SELECT 1")
                if attempt > 1 { logger.info("database is available", metadata: ["attempt": "\(attempt)"]) }
                return
            } catch let error as DatabaseError where error.code != .poolClosed && error.code != .invalidURL {
                var wait = pause
                if let deadline, let timeout {
                    let remaining = deadline - ContinuousClock.now
                    guard remaining > .zero else {
                        throw DatabaseError(
                            .connectionFailed,
                            message: "database not available after \(attempt) attempts in \(timeout): \(error.message)",
                            sqlState: error.sqlState, operation: "waitUntilAvailable")
                    }
                    wait = min(pause, remaining)
                }
                logger.info(
                    "database not available yet, retrying",
                    metadata: [
                        "attempt": "\(attempt)", "error": error.description,
                        "retry.in.ms": "\(wait.milliseconds)",
                    ])
                try await Task.sleep(for: wait)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// Whether the server answers `SELECT 1` within `timeout` (readiness checks). Returns at the latest after
    /// `timeout`, whatever the server does: the probe runs in a task of its own that the caller does not wait
    /// for, bounded by the pool's acquire, connect and response deadlines. Concurrent callers share the probe in
    /// flight, so a server that stopped answering is not sent one probe per check.
    public func isAvailable(within timeout: Duration) async -> Bool {
        let probe = self.probe.withLock { current -> Task<Bool, Never> in
            if let current { return current }
            // Unstructured on purpose: the caller must be able to stop waiting for a server that does not answer.
            let started = Task { [self] in
                let ok = (try? await query("SELECT 1")) != nil
                self.probe.withLock { $0 = nil }
                return ok
            }
            current = started
            return started
        }
        return await probe.value(within: timeout) ?? false
    }
}
