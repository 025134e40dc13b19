

#if canImport(Glibc)
    import Glibc
#endif

/// Marks the threads of every `BlockingExecutor` (non-nil on them): blocking there stalls nobody else.
private let blockingThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// A small pool of dedicated threads for blocking C calls (`PQconnectdbParams`, `PQexecParams`, `PQfinish`).
///
/// Swift's cooperative pool has one thread per core (two here): a blocking call parked on it stalls every task
/// of the process. Work submitted with `run(_:)` executes on these threads instead, and the awaiting task is
/// resumed through a continuation when it finishes (the same design as swift-nio's `NIOThreadPool`).
public final class BlockingExecutor: Sendable {
    private let queue: JobQueue
    /// The number of worker threads.
    public let threadCount: Int

    /// Starts `threads` worker threads named `name-N`. They stop after `shutdown()` or when the executor is freed.
    public init(name: String, threads: Int) {
        precondition(threads > 0, "BlockingExecutor needs at least one thread")
        self.threadCount = threads
        let queue = JobQueue()
        self.queue = queue
        for index in 0..<threads {
            // Threads hold the queue, not the executor, so freeing the executor stops them cleanly.
            startDetachedThread(name: "\(name)-\(index)", stackSize: 1 << 20) {
                pthread_setspecific(blockingThreadKey, UnsafeRawPointer(bitPattern: 1))
                queue.workerLoop()
            }
        }
    }

    deinit { queue.stop() }

    /// Runs `body` on a worker thread and returns its result. The calling task suspends meanwhile.
    /// - Throws: whatever `body` throws, or `CancellationError` if the executor was shut down.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // Already on a thread made for blocking (a task running on a `BlockingExecutor` as its task executor):
        // run here, saving two thread crossings.
        if Self.onBlockingThread { return try body() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = queue.enqueue { continuation.resume(with: Result { try body() }) }
            if !accepted { continuation.resume(throwing: CancellationError()) }
        }
    }

    /// Lets queued jobs finish, then stops the threads. Later `run` calls throw `CancellationError`.
    public func shutdown() { queue.stop() }

    /// True on the threads of any `BlockingExecutor`.
    public static var onBlockingThread: Bool { pthread_getspecific(blockingThreadKey) != nil }

    /// Jobs queued and not yet started (for metrics).
    public var queueDepth: Int { queue.depth }
}

/// Tasks can run on these threads too (`addTask(executorPreference:)`): their blocking calls through `run` then
/// execute inline, without hopping to another thread and back.
extension BlockingExecutor: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // After shutdown, run it here rather than lose a task.
        if !queue.enqueue({ job.runSynchronously(on: executor) }) { job.runSynchronously(on: executor) }
    }
}

/// The shared job queue; all mutable state is guarded by `condition`.
private final class JobQueue: @unchecked Sendable {
    private let condition = ConditionLock()
    /// Queued jobs from `head` on; slots before it were taken (nil: a finished job must not keep what its closure
    /// captured — a statement's parameters, a continuation — alive until the next compaction).
    private var jobs: [(() -> Void)?] = []
    private var head = 0
    private var stopping = false

    func enqueue(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if stopping { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    func workerLoop() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count {  // stopping and drained
                condition.unlock()
                return
            }
            let job = jobs[head]!
            jobs[head] = nil
            head += 1
            if head == jobs.count {  // drained: the usual case
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > jobs.count {  // compact a queue that never drains now and then
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
