import BlockingIO
internal import CLibPQ
import FoundationEssentials
import GatewayLogging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One PostgreSQL session: the single owner of a libpq `PGconn` (closed with `PQfinish` in `deinit`).
///
/// Connections come from `PostgresClient.withConnection` / `withTransaction` and are used by one task at a time.
/// Every blocking libpq call runs on the client's `BlockingExecutor`, never on Swift's cooperative pool.
///
/// `@unchecked Sendable` because the handle is reached only through `perform`, which holds a lock-guarded `busy`
/// flag for the whole call: a second concurrent use throws instead of racing on the `PGconn`.
public final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    /// `PQgetCancel`: lets another thread ask the server to cancel the running statement (`PQcancel`).
    private let cancelHandle: OpaquePointer?
    private let executor: BlockingExecutor
    let logger: Logger
    private let state = Mutex(State())
    /// Pool-local number, for logs.
    let id: Int

    private struct State {
        /// How long a statement waits for the server's answer (nil: as long as it takes; see `responseTimeout`).
        var responseTimeout: Duration?
        var busy = false
        var broken = false
        /// Set by `close()`, after which `PQfinish` has run.
        var closed = false
        /// A `PQcancel` was sent; the session must not serve another lease.
        var cancelRequested = false
    }

    /// The configured answer deadline, restored by `restoreResponseTimeout()`.
    private let defaultResponseTimeout: Duration?

    private init(
        handle: OpaquePointer, executor: BlockingExecutor, logger: Logger, id: Int, responseTimeout: Duration?
    ) {
        self.handle = handle
        self.defaultResponseTimeout = responseTimeout
        self.state.withLock { $0.responseTimeout = responseTimeout }
        self.cancelHandle = PQgetCancel(handle)
        self.executor = executor
        self.logger = logger
        self.id = id
        // Drop NOTICE messages ("relation already exists, skipping") instead of libpq's default print to stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        if !state.withLock({ $0.closed }) { PQfinish(handle) }
    }

    /// Ends the session with `PQfinish` on the executor (it sends a Terminate message). Later calls throw.
    func close() async {
        let wasOpen = state.withLock { state in
            // A busy connection (never the case for the pool) is left to `deinit`.
            guard !state.closed, !state.busy else { return false }
            state.closed = true
            state.broken = true
            return true
        }
        guard wasOpen else { return }
        let handle = SendableHandle(pointer: self.handle)
        do {
            try await executor.run { PQfinish(handle.pointer) }
        } catch {
            PQfinish(handle.pointer)  // the executor was shut down: finish here
        }
    }

    // MARK: - Opening

    /// Opens a session with `PQconnectdbParams` on `executor` and checks `PQstatus`.
    /// - Throws: `DatabaseError` `.connectionFailed` with libpq's message (which never contains the password).
    static func connect(
        configuration: PostgresConfiguration, executor: BlockingExecutor, logger: Logger, id: Int
    ) async throws -> PostgresConnection {
        let url = configuration.url
        let parameters = configuration.connectionParameters
        let password = configuration.password
        let handle = try await executor.run { () throws -> SendableHandle in
            // libpq's parse errors quote the offending part of the URL, which may be the password: check the
            // syntax first and report it without libpq's text. Not retried by `waitUntilAvailable`.
            guard PostgresConfiguration.isWellFormed(url: url) else {
                throw DatabaseError(
                    .invalidURL, message: "the database URL is not a valid libpq URL or connection string",
                    operation: "PQconninfoParse")
            }
            // The URL goes first as `dbname` with expand_dbname = 1; the later pairs override what it says.
            var pairs = [("dbname", url.reveal)] + parameters
            if let password { pairs.append(("password", password.reveal)) }
            let keys = pairs.map { strdup($0.0) }
            let values = pairs.map { strdup($0.1) }
            defer {
                for key in keys { free(key) }
                for value in values { free(value) }
            }
            let conn: OpaquePointer? = (keys.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { k in
                (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { v in
                    PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
                }
            }
            guard let conn else {
                throw DatabaseError(.connectionFailed, message: "out of memory", operation: "PQconnectdbParams")
            }
            guard PQstatus(conn) == CONNECTION_OK else {
                let message = Self.firstLine(PQerrorMessage(conn))
                PQfinish(conn)
                throw DatabaseError(.connectionFailed, message: message, operation: "PQconnectdbParams")
            }
            return SendableHandle(pointer: conn)
        }
        return PostgresConnection(
            handle: handle.pointer, executor: executor, logger: logger, id: id,
            responseTimeout: configuration.responseTimeout)
    }

    /// Lifts the answer deadline for this session's statements (the migrator, which waits for an advisory lock
    /// and runs DDL with `statement_timeout = 0`) until `restoreResponseTimeout()`.
    func removeResponseTimeout() { state.withLock { $0.responseTimeout = nil } }

    /// Puts back the configured answer deadline.
    func restoreResponseTimeout() { state.withLock { $0.responseTimeout = defaultResponseTimeout } }

    // MARK: - Running statements

    /// Runs one parameterized statement (`PQsendQueryParams`, text format, the answer awaited up to the response
    /// deadline) and copies the result out.
    /// - Throws: `DatabaseError` mapped from the SQLSTATE; `.connectionFailed` when the session broke.
    @discardableResult
    public func query(_ query: Query) async throws -> [Row] {
        try await run(query).rows
    }

    /// Runs one statement and returns the number of rows it affected (`PQcmdTuples`; 0 when not applicable).
    @discardableResult
    public func execute(_ query: Query) async throws -> Int {
        try await run(query).affectedRows
    }

    /// Runs `query` and returns the whole copied result.
    func run(_ query: Query) async throws -> QueryResult {
        let start = ContinuousClock.now
        do {
            let result = try await perform { handle, deadline in
                try Self.execParams(handle, query, deadline: deadline)
            }
            logger.debug(
                "sql",
                metadata: [
                    "db.statement": query.sql, "db.rows": String(result.rows.count),
                    "db.connection": String(id), "duration.ms": Self.millis(since: start),
                ])
            return result
        } catch let error as DatabaseError {
            // The SQL text (placeholders only) is fine to log; the bind values never are.
            logger.debug(
                "sql failed",
                metadata: [
                    "db.statement": query.sql, "db.connection": String(id), "error": error.description,
                    "duration.ms": Self.millis(since: start),
                ])
            throw error
        }
    }

    /// Loads `rows` with `statement`, a `COPY table (columns) FROM STDIN` (text format; never built from input):
    /// one statement however many rows, and nothing to bind or plan per row, so a bulk write costs the server much
    /// less than a multi-row `INSERT` (the outbound audit log writes a row per bank call). One statement: all the
    /// rows or none.
    /// - Returns: the number of rows the server copied.
    /// - Throws: `DatabaseError` as `execute` does (a malformed value fails the whole statement).
    public func copyIn(_ statement: String, rows: CopyRows) async throws -> Int {
        let start = ContinuousClock.now
        let copied = try await perform { handle, deadline in
            guard PQsendQuery(handle, statement) == 1 else {
                try Self.check(nil, handle, operation: "COPY")
                return 0
            }
            // The server first answers COPY_IN (or an error), then reads the data.
            guard case .result(let first) = try Self.awaitNext(handle, deadline: deadline) else {
                try Self.check(nil, handle, operation: "COPY")
                return 0
            }
            guard PQresultStatus(first) == PGRES_COPY_IN else {
                defer { PQclear(first) }
                PQclear(try Self.awaitResult(handle, deadline: deadline))
                try Self.check(first, handle, operation: "COPY")
                throw DatabaseError(.other, message: "not a COPY … FROM STDIN statement", operation: "COPY")
            }
            PQclear(first)
            let sent = rows.bytes.withUnsafeBytes { data in
                data.isEmpty
                    ? 1 : PQputCopyData(handle, data.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(data.count))
            }
            guard sent == 1, PQputCopyEnd(handle, nil) == 1 else {
                throw DatabaseError(.connectionFailed, message: Self.firstLine(PQerrorMessage(handle)), operation: "COPY")
            }
            let result = try Self.awaitResult(handle, deadline: deadline)
            defer { PQclear(result) }
            try Self.check(result, handle, operation: "COPY")
            return Int(String(cString: PQcmdTuples(result))) ?? 0
        }
        logger.debug(
            "sql",
            metadata: [
                "db.statement": statement, "db.rows": String(copied), "db.connection": String(id),
                "duration.ms": Self.millis(since: start),
            ])
        return copied
    }

    /// Runs a script of one or more statements with `PQexec` (simple-query protocol, no parameters). Used for
    /// migrations and fixed statements such as `BEGIN`; never build `sql` from input.
    func executeScript(_ sql: String, cancellable: Bool = true) async throws -> String {
        try await perform(cancellable: cancellable) { handle, deadline in
            let result =
                PQsendQuery(handle, sql) == 1 ? try Self.awaitResult(handle, deadline: deadline) : nil
            defer { PQclear(result) }
            try Self.check(result, handle, operation: "PQexec")
            return String(cString: PQcmdStatus(result))
        }
    }

    /// Runs `body` with the raw handle on the executor, one call at a time; marks the connection broken when
    /// libpq reports that the session is gone. Task cancellation sends `PQcancel` to the server.
    /// The deadline passed to `body` is when the server's answer must have arrived (nil: no deadline).
    private func perform<T: Sendable>(
        cancellable: Bool = true,
        _ body: @escaping @Sendable (OpaquePointer, ContinuousClock.Instant?) throws -> T
    ) async throws -> T {
        let responseTimeout = try state.withLock { state in
            if state.busy {
                throw DatabaseError(.other, message: "connection used by two tasks at once", operation: "perform")
            }
            if state.broken || state.closed {
                throw DatabaseError(.connectionFailed, message: "connection is broken", operation: "perform")
            }
            state.busy = true
            return state.responseTimeout
        }
        defer { state.withLock { $0.busy = false } }
        let deadline = responseTimeout.map { ContinuousClock.now + $0 }
        let handle = SendableHandle(pointer: self.handle)
        let cancel = cancellable ? cancelHandle.map { SendableHandle(pointer: $0) } : nil
        do {
            return try await withTaskCancellationHandler {
                try await executor.run { try body(handle.pointer, deadline) }
            } onCancel: {
                guard cancel != nil else { return }
                self.requestCancel()
            }
        } catch let error as DatabaseError {
            if error.operation == ConnectionOperation.awaitingAnswer {
                // The statement may still be running (or the server is frozen): the session cannot be reused.
                state.withLock { $0.broken = true }
                throw error
            }
            if error.code == .connectionFailed || PQstatus(self.handle) != CONNECTION_OK {
                state.withLock { $0.broken = true }
                var broken = error
                broken.code = .connectionFailed
                throw broken
            }
            // The statement died of our own PQcancel: report the cancellation, not a statement timeout.
            if error.sqlState == "57014", state.withLock({ $0.cancelRequested }) { throw CancellationError() }
            throw error
        }
    }

    /// Asks the server to cancel the running statement. `PQcancel` opens a connection of its own and blocks, so it
    /// runs on a short-lived thread (never on the cooperative pool, and not behind queued executor jobs). A cancel
    /// request may land after the statement ended, so the session is not reused afterwards: the pool replaces it.
    private func requestCancel() {
        let first = state.withLock { state in
            defer { state.cancelRequested = true }
            return !state.cancelRequested
        }
        guard first, let cancelHandle else { return }
        let cancel = SendableHandle(pointer: cancelHandle)
        // The thread holds `self`, so `deinit` (which frees the PGcancel) cannot run before it is done.
        startDetachedThread(name: "pg-cancel") { [self] in
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancel.pointer, &buffer, 256)
            _ = self.id
        }
    }

    /// `ROLLBACK`, ignoring failures (a failed rollback leaves the connection marked broken or in a transaction,
    /// and the pool then closes it). Not cancellable, so it also runs in a cancelled task.
    func rollback() async {
        _ = try? await executeScript("ROLLBACK", cancellable: false)
    }

    // MARK: - Health

    /// Whether the session can be handed out: not known broken, `PQstatus` OK, idle (no open transaction), and the
    /// socket not closed by the server. `PQconsumeInput` does not block (libpq keeps its socket non-blocking); it is
    /// called twice because the first call may only drain a pending `57P01` message before seeing end-of-file.
    func isUsable() -> Bool {
        state.withLock { state in
            if state.broken || state.busy || state.cancelRequested { return false }
            if PQstatus(handle) != CONNECTION_OK || PQtransactionStatus(handle) != PQTRANS_IDLE {
                state.broken = true
                return false
            }
            for _ in 0..<2 where PQconsumeInput(handle) == 0 {
                state.broken = true
                return false
            }
            if PQstatus(handle) != CONNECTION_OK {
                state.broken = true
                return false
            }
            return true
        }
    }

    /// True once libpq reported that the session is gone; the pool then closes it instead of reusing it.
    var isBroken: Bool {
        state.withLock { $0.broken || $0.cancelRequested } || PQstatus(handle) != CONNECTION_OK
    }

    /// True while a transaction block is open (or failed) on the session (`PQtransactionStatus`).
    var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    // MARK: - libpq helpers (executor threads only)

    private static func execParams(
        _ handle: OpaquePointer, _ query: Query, deadline: ContinuousClock.Instant?
    ) throws -> QueryResult {
        let binds = query.binds
        let values: [UnsafeMutablePointer<CChar>?] = binds.map { bind in bind.text.flatMap { strdup($0) } }
        defer { for value in values { free(value) } }
        let types = binds.map(\.type)
        let constValues: [UnsafePointer<CChar>?] = values.map { $0.map { UnsafePointer($0) } }
        let sent = constValues.withUnsafeBufferPointer { v in
            types.withUnsafeBufferPointer { t in
                PQsendQueryParams(
                    handle, query.sql, Int32(binds.count), binds.isEmpty ? nil : t.baseAddress,
                    binds.isEmpty ? nil : v.baseAddress, nil, nil, 0)
            }
        }
        let result = sent == 1 ? try awaitResult(handle, deadline: deadline) : nil
        defer { PQclear(result) }
        try check(result, handle, operation: "PQexecParams")
        return copy(result!)
    }

    /// Waits for the answer to the query just sent (`PQsendQuery*`) and returns its last result, as `PQexec` would
    /// (a failed statement stops a script, so its error is the last result), or nil when the session broke.
    ///
    /// Unlike `PQexec`, the wait has a deadline: the socket is polled and `PQconsumeInput` reads what arrived, so a
    /// server that stopped answering (frozen, or a dead peer behind a live TCP connection) costs at most `deadline`
    /// instead of blocking this thread for ever. `statement_timeout` cannot do this: the server enforces it.
    /// - Throws: `DatabaseError` `.timeout` (operation `ConnectionOperation.awaitingAnswer`) past the deadline.
    private static func awaitResult(
        _ handle: OpaquePointer, deadline: ContinuousClock.Instant?
    ) throws -> OpaquePointer? {
        var last: OpaquePointer?
        while true {
            let next: Next
            do {
                next = try awaitNext(handle, deadline: deadline)
            } catch {
                PQclear(last)
                throw error
            }
            switch next {
            case .result(let result):
                PQclear(last)
                last = result
            case .done:
                return last
            case .broken:
                PQclear(last)
                return nil
            }
        }
    }

    /// What `awaitNext` found.
    private enum Next {
        case result(OpaquePointer)
        /// No more results for the query.
        case done
        /// The session broke while waiting (`PQerrorMessage` says why).
        case broken
    }

    /// Waits (up to `deadline`) until libpq has the next result of the query just sent.
    /// - Throws: `DatabaseError` `.timeout` (operation `ConnectionOperation.awaitingAnswer`) past the deadline.
    private static func awaitNext(_ handle: OpaquePointer, deadline: ContinuousClock.Instant?) throws -> Next {
        while PQisBusy(handle) != 0 {
            var wait: Int32 = -1
            if let deadline {
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else {
                    throw DatabaseError(
                        .timeout, message: "the server did not answer in time",
                        operation: ConnectionOperation.awaitingAnswer)
                }
                wait = Int32(clamping: remaining.milliseconds)
            }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, wait)
            if ready < 0, errno == EINTR { continue }
            if ready == 0 { continue }
            // Readable, or poll failed (then PQconsumeInput reports the socket's state).
            if PQconsumeInput(handle) == 0 { return .broken }
        }
        return PQgetResult(handle).map { .result($0) } ?? .done
    }

    /// Throws the `DatabaseError` a failed result describes.
    private static func check(_ result: OpaquePointer?, _ handle: OpaquePointer, operation: String) throws {
        guard let result else {
            let code: DatabaseError.Code = PQstatus(handle) == CONNECTION_OK ? .other : .connectionFailed
            throw DatabaseError(code, message: firstLine(PQerrorMessage(handle)), operation: operation)
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY { return }
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let sqlState = field("C")
        var code = sqlState.map(DatabaseError.code(forSQLState:)) ?? .other
        if PQstatus(handle) != CONNECTION_OK { code = .connectionFailed }
        let primary = field("M") ?? firstLine(PQresultErrorMessage(result))
        throw DatabaseError(
            code, message: DatabaseError.redactedMessage(primary, sqlState: sqlState), sqlState: sqlState,
            constraint: field("n"), table: field("t"), operation: operation)
    }

    private static func copy(_ result: OpaquePointer) -> QueryResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names: [String] = []
        names.reserveCapacity(columnCount)
        for c in 0..<columnCount { names.append(String(cString: PQfname(result, Int32(c)))) }
        let columns = RowColumns(names: names)
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(Row(columns: columns, values: values))
        }
        let tuples = String(cString: PQcmdTuples(result))
        return QueryResult(
            rows: rows, commandTag: String(cString: PQcmdStatus(result)), affectedRows: Int(tuples) ?? 0)
    }

    static func firstLine(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        let text = String(cString: message).trimmingWhitespace()
        return text.isEmpty ? "unknown libpq error" : text.replacing("\n", with: " ")
    }

    private static func millis(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        return Decimals.fixed(elapsed.seconds * 1000, digits: 2)
    }
}

/// Carries a libpq pointer across the executor boundary. Safe because `PostgresConnection.perform` guarantees that
/// only one thread uses the pointer at a time.
struct SendableHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A statement's copied result: rows, command tag (`INSERT 0 1`) and affected row count.
struct QueryResult: Sendable {
    var rows: [Row]
    var commandTag: String
    var affectedRows: Int
}
