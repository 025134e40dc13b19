import Foundation
import GatewayLogging
import PostgresKit
import Synchronization
import TestSupport

/// Clients on the throwaway cluster of scripts/test, with unique names so suites can run in parallel.
enum TestDatabase {
    /// A unique lowercase identifier such as `t_3f9a1c2b7d`.
    static func uniqueName(_ prefix: String = "t") -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    /// A configuration for the test cluster (or `url`).
    static func configuration(
        url: String? = nil, poolSize: Int = 4, timeout: Duration = .seconds(5), applicationName: String? = nil
    ) throws -> PostgresConfiguration {
        PostgresConfiguration(
            url: Secret(try url ?? TestEnvironment.databaseURL()), poolSize: poolSize, timeout: timeout,
            applicationName: applicationName ?? uniqueName("app"))
    }

    /// Runs `body` with a fresh client and shuts the client down afterwards, whatever happens.
    static func withClient<T>(
        _ configuration: PostgresConfiguration? = nil, logger: Logger = Logger(label: "test", level: .error),
        _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: try configuration ?? self.configuration(), logger: logger)
        do {
            let value = try await body(client)
            await client.shutdown()
            return value
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Polls `condition` every 20 ms for at most `limit`; returns whether it became true.
    static func eventually(
        within limit: Duration = .seconds(10), _ condition: () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}

/// A thread-safe list that tasks of a test append to.
final class Recorder<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
}
