import BlockingIO
import GatewayLogging
import Synchronization

/// The application's handle on PostgreSQL: a bounded pool of `PostgresConnection`s with scoped leases.
///
/// ```swift
/// let db = PostgresClient(configuration: config, logger: logger)
/// try await db.waitUntilAvailable(timeout: .seconds(60), logger: logger)
/// let rows = try await db.query("SELECT id FROM banks WHERE provider = \(provider)")
/// try await db.withTransaction { tx in
///     try await tx.execute("UPDATE registrations SET status = \(status) WHERE id = \(id)")
/// }
/// await db.shutdown()
/// ```
///
/// - More concurrent callers than connections wait in FIFO order up to `acquireTimeout`, then get
///   `DatabaseError` `.timeout`.
/// - Connections are opened lazily and checked before each lease; broken ones (server restarted, backend killed)
///   are closed and replaced, so the client recovers by itself once the server is back.
/// - While the server is down, calls fail with `.connectionFailed` within the connect timeout.
/// - Every blocking libpq call runs on a `BlockingExecutor`.
public final class PostgresClient: Sendable {
    /// The settings this client was made with.
    public let configuration: PostgresConfiguration
    private let pool: ConnectionPool
    private let executor: BlockingExecutor
    private let ownsExecutor: Bool
    /// The logger the client was given (its stores log the database failures they translate with it).
    public let logger: Logger
    private let nextConnectionID = Mutex(0)
    /// The availability probe in flight, shared by concurrent `isAvailable(within:)` calls.
    let probe = Mutex<Task<Bool, Never>?>(nil)

    /// Makes a client; no connection is opened until the first lease.
    /// - Parameters:
    ///   - configuration: URL, pool size and timeouts.
    ///   - logger: Receives debug lines (SQL text with placeholders, never values) and connection events.
    ///   - executor: Threads for the blocking libpq calls; by default the client starts one thread per pooled
    ///     connection and stops them in `shutdown()`.
    public init(configuration: PostgresConfiguration, logger: Logger, executor: BlockingExecutor? = nil) {
        self.configuration = configuration
        self.pool = ConnectionPool(capacity: configuration.poolSize)
        self.logger = logger
        if let executor {
            self.executor = executor
            self.ownsExecutor = false
        } else {
            self.executor = BlockingExecutor(name: "postgres", threads: configuration.poolSize)
            self.ownsExecutor = true
        }
    }

    // MARK: - Scoped leases

    /// Lends a connection to `body` and always takes it back, also when `body` throws or the task is cancelled.
    /// A connection left inside a transaction is rolled back; a broken one is closed.
    /// - Throws: `DatabaseError` (`.timeout` when no connection is free in time, `.connectionFailed` when the
    ///   server is unreachable, `.poolClosed`), or whatever `body` throws.
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await lease()
        let value: T
        do {
            value = try await body(connection)
        } catch {
            await giveBack(connection)
            throw error
        }
        await giveBack(connection)
        return value
    }

    /// Runs `body` inside `BEGIN … COMMIT` on one connection. A thrown error or task cancellation rolls back;
    /// the connection always returns to the pool.
    /// - Throws: `body`'s error, `CancellationError`, or `DatabaseError` from `BEGIN`/`COMMIT` (a failed statement
    ///   that `body` swallowed makes `COMMIT` roll back, reported as `.other`).
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection(isolation: isolation) { connection in
            _ = try await connection.executeScript("BEGIN", cancellable: false)
            let value: T
            do {
                value = try await body(connection)
                try Task.checkCancellation()
            } catch {
                await connection.rollback()
                throw error
            }
            let tag = try await connection.executeScript("COMMIT", cancellable: false)
            if tag == "ROLLBACK" {
                throw DatabaseError(
                    .other, message: "transaction rolled back at COMMIT: a statement inside it had failed",
                    operation: "COMMIT")
            }
            return value
        }
    }

    // MARK: - Conveniences

    /// Runs one statement on a pooled connection and returns its rows. Outside a transaction, a statement that
    /// fails because its connection broke is retried once on another connection.
    @discardableResult
    public func query(_ query: Query) async throws -> [Row] {
        try await retryingOnce { try await $0.query(query) }
    }

    /// Runs one statement and returns the number of affected rows (retried once like `query`).
    @discardableResult
    public func execute(_ query: Query) async throws -> Int {
        try await retryingOnce { try await $0.execute(query) }
    }

    /// Closes idle connections, fails waiting callers with `.poolClosed` and refuses new leases. Leased connections
    /// are closed when returned. Stops the executor if the client started it.
    public func shutdown() async {
        for connection in pool.close() { await connection.close() }
        if ownsExecutor { executor.shutdown() }
    }

    /// Open (or opening) and idle connection counts, and the number of waiting callers.
    public var poolCounts: (open: Int, idle: Int, waiting: Int) { pool.counts }

    // MARK: - Leasing

    private func retryingOnce<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await withConnection(body)
        } catch let error as DatabaseError
            where error.code == .connectionFailed && error.operation == ConnectionOperation.statement
        {
            logger.debug("database connection broke during a statement; retrying once", metadata: ["error": "\(error)"])
            return try await withConnection(body)
        }
    }

    /// A usable connection within `acquireTimeout`: an idle one that passes `isUsable()`, or a new one.
    private func lease() async throws -> PostgresConnection {
        let deadline = ContinuousClock.now + configuration.acquireTimeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw DatabaseError(.timeout, message: "no usable database connection in time", operation: "acquire")
            }
            switch try await pool.acquire(timeout: remaining) {
            case .connection(let connection):
                if connection.isUsable() { return connection }
                logger.debug("closing a broken database connection", metadata: ["db.connection": "\(connection.id)"])
                await connection.close()
                pool.slotFreed()
            case .create:
                let id = nextConnectionID.withLock { value in
                    value += 1
                    return value
                }
                do {
                    let connection = try await PostgresConnection.connect(
                        configuration: configuration, executor: executor, logger: logger, id: id)
                    logger.debug("opened a database connection", metadata: ["db.connection": "\(id)"])
                    return connection
                } catch {
                    pool.slotFreed()
                    throw error
                }
            }
        }
    }

    /// Returns a lease: rolls back a transaction left open, closes a broken connection.
    private func giveBack(_ connection: PostgresConnection) async {
        if !connection.isBroken, connection.isInTransaction { await connection.rollback() }
        if connection.isBroken || connection.isInTransaction {
            await connection.close()
            pool.slotFreed()
        } else if let closing = pool.release(connection) {
            await closing.close()
        }
    }
}

/// Operation names used in `DatabaseError.operation`.
enum ConnectionOperation {
    /// A statement sent on an open session: the only failure worth retrying on another connection.
    static let statement = "PQexecParams"
    /// The answer to a statement did not arrive before the response deadline.
    static let awaitingAnswer = "awaitingAnswer"
}
