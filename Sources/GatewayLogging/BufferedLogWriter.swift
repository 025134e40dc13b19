import BlockingIO
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A log sink that appends each line to a buffer in memory and leaves the `write(2)` calls to a thread of its
/// own, as nginx's `access_log … buffer= flush=` does: a request never waits for stdout.
///
/// - **Batching**: the writer thread writes whatever is buffered in one `write(2)`, then lets lines gather for
///   `flushInterval` (or until `bufferBytes` are waiting) before the next one; when the buffer is empty it sleeps
///   until a line comes. So an idle gateway's line is written at once, and a busy one pays one system call per
///   batch, not per line. A line waits at most `flushInterval` plus the time of the write before it.
/// - **Bounded**: at most `capacityBytes` (4 MiB) wait in memory. When stdout is slower than the lines (a stuck pipe, a
///   full disk), further lines are dropped and counted (`droppedLines`, exported by `passerelle serve` as
///   `passerelle_log_lines_dropped_total`) rather than stalling the event loops.
/// - **Flushed on shutdown**: `flush()` writes everything buffered before it returns; `passerelle serve` calls it
///   when it stops, and `standardOutput` registers it with `atexit`, so `exit()` from anywhere flushes too.
///
/// Lines keep their order, and each is written whole with its newline (never split across two batches).
public final class BufferedLogWriter: LogSink, @unchecked Sendable {
    // @unchecked: every mutable field below is read and written with `lock` held.
    /// Standard output, the gateway's log destination; flushed by `atexit`.
    public static let standardOutput: BufferedLogWriter = {
        let writer = BufferedLogWriter(fd: 1)
        atexit { BufferedLogWriter.standardOutput.flush() }
        return writer
    }()

    /// Lines dropped because `capacityBytes` were already waiting.
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    private let fd: Int32
    private let bufferBytes: Int
    private let capacityBytes: Int
    private let flushInterval: Duration
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled for the writer thread: a line came while it slept, or `bufferBytes` are waiting.
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Broadcast when a write ends, for `flush()`.
    private let written = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let dropped = Atomic<Int>(0)
    private var pending: [UInt8] = []
    /// The writer thread waits for a line with nothing buffered (a producer must signal `wake`).
    private var idle = false
    /// Someone (the writer thread or `flush()`) is writing a batch: the other waits, so batches keep their order.
    private var writing = false
    /// `close()` was called: the writer thread ends once nothing is buffered.
    private var closing = false

    /// - Parameters:
    ///   - fd: Where lines go (not closed by the writer).
    ///   - bufferBytes: Buffered bytes that start a write before `flushInterval` is over (64 KiB).
    ///   - flushInterval: Longest time a line waits while earlier ones are written (20 ms).
    ///   - capacityBytes: Buffered bytes beyond which lines are dropped (4 MiB: about half a second of lines at
    ///     30,000 requests per second, for a writer thread that a busy machine keeps waiting).
    public init(
        fd: Int32, bufferBytes: Int = 64 << 10, flushInterval: Duration = .milliseconds(20),
        capacityBytes: Int = 4 << 20
    ) {
        self.fd = fd
        self.bufferBytes = bufferBytes
        self.capacityBytes = max(capacityBytes, bufferBytes)
        self.flushInterval = flushInterval
        pthread_mutex_init(lock, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(wake, &attributes)
        pthread_cond_init(written, &attributes)
        pthread_condattr_destroy(&attributes)
        pending.reserveCapacity(bufferBytes)
        Self.startThread(Unmanaged.passRetained(self))
    }

    /// Buffers one line (a newline is added); drops it if `capacityBytes` are already waiting.
    public func write(_ line: [UInt8]) {
        pthread_mutex_lock(lock)
        let before = pending.count
        guard before + line.count + 1 <= capacityBytes else {
            pthread_mutex_unlock(lock)
            dropped.add(1, ordering: .relaxed)
            return
        }
        pending.append(contentsOf: line)
        pending.append(0x0A)
        let signal = idle || (before < bufferBytes && pending.count >= bufferBytes)
        idle = idle && !signal
        pthread_mutex_unlock(lock)
        if signal { pthread_cond_signal(wake) }
    }

    /// Writes everything buffered so far (after any batch being written) before returning.
    public func flush() {
        pthread_mutex_lock(lock)
        while writing { pthread_cond_wait(written, lock) }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        writing = true
        pthread_mutex_unlock(lock)
        Self.writeAll(batch, to: fd)
        pthread_mutex_lock(lock)
        writing = false
        pthread_cond_broadcast(written)
        pthread_mutex_unlock(lock)
    }

    /// Flushes, then ends the writer thread (the writer is released once it has). Lines written afterwards wait
    /// in the buffer for the next `flush()`. `standardOutput` is never closed.
    public func close() {
        pthread_mutex_lock(lock)
        closing = true
        pthread_mutex_unlock(lock)
        pthread_cond_signal(wake)
        flush()
    }

    deinit {
        pthread_cond_destroy(written)
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(lock)
        written.deallocate()
        wake.deallocate()
        lock.deallocate()
    }

    // MARK: - The writer thread

    private static func startThread(_ writer: Unmanaged<BufferedLogWriter>) {
        startDetachedThread(name: "log-writer") { writer.takeRetainedValue().run() }
    }

    /// Runs until `close()` (the thread holds the writer until then).
    private func run() {
        var batch: [UInt8] = []
        batch.reserveCapacity(bufferBytes)
        pthread_mutex_lock(lock)
        while true {
            while (pending.isEmpty && !closing) || writing {
                idle = !writing
                pthread_cond_wait(writing ? written : wake, lock)
            }
            idle = false
            if pending.isEmpty { break }  // closing, and everything is written
            swap(&batch, &pending)
            writing = true
            pthread_mutex_unlock(lock)
            Self.writeAll(batch, to: fd)
            // A burst may have grown the batch far beyond the buffer size: give that memory back.
            if batch.capacity > 4 * bufferBytes { batch = [] } else { batch.removeAll(keepingCapacity: true) }
            pthread_mutex_lock(lock)
            writing = false
            pthread_cond_broadcast(written)
            // Let lines gather for the flush interval, unless the buffer fills first (a producer signals).
            var deadline = Self.monotonicNow(plus: flushInterval)
            while pending.count < bufferBytes && !closing {
                if pthread_cond_timedwait(wake, lock, &deadline) == ETIMEDOUT { break }
            }
        }
        pthread_mutex_unlock(lock)
    }

    private static func monotonicNow(plus interval: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = interval.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var wholeSeconds = Int(now.tv_sec) + Int(seconds)
        if nanoseconds >= 1_000_000_000 {
            nanoseconds -= 1_000_000_000
            wholeSeconds += 1
        }
        return timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds)
    }

    /// `write(2)` until every byte is out (or the descriptor fails: then the batch is lost, as a line was before).
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
