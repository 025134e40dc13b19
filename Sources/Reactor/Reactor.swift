import BlockingIO
internal import CShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Something a `Reactor` calls when one of the descriptors it registered is ready (on the reactor's thread).
public protocol ReactorIOHandler: AnyObject {
    /// `events` is epoll's mask (`Reactor.readable`, `Reactor.writable`, `Reactor.errorOrHangUp`).
    func reactorEvent(fd: Int32, events: UInt32)
}

/// Something with deadlines: the reactor sleeps no longer than `nextDeadline` and calls `tick` once per
/// iteration (on its thread). Timers of the HTTP connections and libcurl's transfer timer are tickers.
public protocol ReactorTicker: AnyObject {
    /// Monotonic nanoseconds (`Reactor.now()`) of the next deadline; `UInt64.max` for none.
    var nextDeadline: UInt64 { get }
    /// Called after every batch of events and jobs; act on what is due at `now`.
    func tick(now: UInt64)
}

/// One thread running epoll over descriptors registered by its users, a queue of jobs, and tickers — and the
/// `TaskExecutor` of the tasks that live on it.
///
/// Why: a request's work used to cross threads three times (HTTP event loop → handler thread blocked in
/// `curl_easy_perform` → event loop). A reactor serves the HTTP connections, runs their handler tasks, and drives
/// the libcurl multi handle of their bank calls on one thread, so a proxied call under load causes no thread
/// wake-up at all and a bank call in flight holds no thread (the nginx / SwiftNIO shape). Work must not block
/// here: blocking C calls (libpq) go to a `BlockingExecutor`.
///
/// Everything but the job queue is touched only by the reactor's thread (`@unchecked Sendable`); methods marked
/// "on the reactor's thread" must be called there (`isCurrent`).
public final class Reactor: TaskExecutor, @unchecked Sendable {
    public static let readable = UInt32(EPOLLIN.rawValue)
    public static let writable = UInt32(EPOLLOUT.rawValue)
    public static let errorOrHangUp = UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)

    private enum Work: Sendable {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    private struct Queue {
        var work: [Work] = []
        /// The thread is in (or about to enter) `epoll_wait` and needs an eventfd write to see new work.
        var sleeping = false
        var stopping = false
    }

    /// The thread's name.
    public let name: String
    private let queue = Mutex<Queue>(Queue())
    private let epollFD: Int32
    private let wakeFD: Int32
    private var handlers: [(any ReactorIOHandler)?] = []
    private var tickers: [any ReactorTicker] = []
    private let finished = Latch()

    /// Creates the epoll instance and starts the thread.
    public init(name: String) {
        self.name = name
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll_create1/eventfd failed: \(errno)")
        var ev = epoll_event(events: Self.readable, data: epoll_data_t(fd: wakeFD))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &ev)
        // The thread holds the reactor until it stops (`shutdown`).
        let retained = Unmanaged.passRetained(self)
        startDetachedThread(name: name) {
            let reactor = retained.takeRetainedValue()
            pthread_setspecific(currentReactorKey, Unmanaged.passUnretained(reactor).toOpaque())
            reactor.loop()
            pthread_setspecific(currentReactorKey, nil)
        }
    }

    deinit {
        close(wakeFD)
        close(epollFD)
    }

    /// The reactor whose thread is calling, if any.
    public static var current: Reactor? {
        guard let pointer = pthread_getspecific(currentReactorKey) else { return nil }
        return Unmanaged<Reactor>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// True on this reactor's thread.
    public var isCurrent: Bool { pthread_getspecific(currentReactorKey) == Unmanaged.passUnretained(self).toOpaque() }

    /// Stops a debug build when called off this reactor's thread (NIO's `assertInEventLoop`): the entry points of
    /// state that only the reactor's thread may touch call it, so a broken threading rule fails in tests instead of
    /// corrupting state. After `shutdown`, work runs on the calling thread (`execute`), which is allowed. Free in
    /// release builds.
    @inline(__always)
    public func assertCurrent(_ what: @autoclosure () -> String = "", file: StaticString = #fileID, line: UInt = #line) {
        assert(isCurrent || isStopping, "off the reactor's thread: \(what())", file: file, line: line)
    }

    /// True once `shutdown` was called.
    var isStopping: Bool { queue.withLock { $0.stopping } }

    // MARK: - From any thread

    /// Runs `body` on the reactor's thread (soon, in order with other work). After `shutdown`, runs it on the
    /// calling thread rather than lose it.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        if !push(.closure(body)) { body() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !push(.job(job)) { job.runSynchronously(on: asUnownedTaskExecutor()) }
    }

    /// Stops the thread once the queued work has run. Descriptors still registered are left to their owners.
    public func shutdown() {
        let wake = queue.withLock { q -> Bool in
            q.stopping = true
            return true
        }
        if wake { signalWake() }
    }

    /// Returns once the thread has stopped.
    public func waitUntilStopped() async { await finished.wait() }

    private func push(_ work: Work) -> Bool {
        // From the reactor's own thread no wake-up is needed: it looks at the queue before it sleeps.
        let fromOwnThread = isCurrent
        let (accepted, wake) = queue.withLock { q -> (Bool, Bool) in
            if q.stopping { return (false, false) }
            q.work.append(work)
            if fromOwnThread { return (true, false) }
            let wake = q.sleeping
            q.sleeping = false
            return (true, wake)
        }
        if wake { signalWake() }
        return accepted
    }

    private func signalWake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: - On the reactor's thread

    /// Watches `fd` for `events` (replacing any earlier interest); `handler` is called when it is ready.
    /// On the reactor's thread.
    public func watch(_ fd: Int32, events: UInt32, handler: any ReactorIOHandler) {
        assertCurrent("Reactor.watch")
        let index = Int(fd)
        if index >= handlers.count { handlers += Array(repeating: nil, count: index + 1 - handlers.count + 64) }
        var ev = epoll_event(events: events, data: epoll_data_t(fd: fd))
        if handlers[index] == nil {
            if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST {
                _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &ev)
            }
        } else if epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT {
            // The descriptor was closed and its number reused without an `unwatch` (libcurl may do that).
            _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev)
        }
        handlers[index] = handler
    }

    /// Stops watching `fd` (before closing it, or when its owner is done with it). On the reactor's thread.
    public func unwatch(_ fd: Int32) {
        assertCurrent("Reactor.unwatch")
        let index = Int(fd)
        guard index >= 0, index < handlers.count, handlers[index] != nil else { return }
        handlers[index] = nil
        var ev = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &ev)
    }

    /// Adds a ticker (kept until `removeTicker`). On the reactor's thread.
    public func addTicker(_ ticker: any ReactorTicker) {
        assertCurrent("Reactor.addTicker")
        tickers.append(ticker)
    }

    /// On the reactor's thread.
    public func removeTicker(_ ticker: any ReactorTicker) {
        assertCurrent("Reactor.removeTicker")
        tickers.removeAll { $0 === ticker }
    }

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var batch: [Work] = []
        while true {
            // 1. Jobs and closures queued so far (task continuations, hand-overs from other threads).
            var rounds = 0
            while rounds < 4 {
                rounds += 1
                queue.withLock { q in
                    swap(&q.work, &batch)
                    q.sleeping = false
                }
                if batch.isEmpty { break }
                let executor = asUnownedTaskExecutor()
                for work in batch {
                    switch work {
                    case .job(let job): job.runSynchronously(on: executor)
                    case .closure(let body): body()
                    }
                }
                batch.removeAll(keepingCapacity: true)
            }
            // 2. Deadlines.
            var now = Self.now()
            var deadline = UInt64.max
            for ticker in tickers {
                ticker.tick(now: now)
                deadline = min(deadline, ticker.nextDeadline)
            }
            // 3. Wait for I/O, unless there is work already (or we are stopping and idle).
            let (hasWork, stopping) = queue.withLock { q -> (Bool, Bool) in
                if q.work.isEmpty && !q.stopping { q.sleeping = true }
                return (!q.work.isEmpty, q.stopping)
            }
            if stopping && !hasWork { break }
            var timeout: Int32 = 0
            if !hasWork {
                now = Self.now()
                timeout = deadline == .max ? 1000 : Int32(min(1000, (deadline &- min(deadline, now) + 999_999) / 1_000_000))
            }
            let n = events.withUnsafeMutableBufferPointer {
                epoll_wait(epollFD, $0.baseAddress, Int32($0.count), timeout)
            }
            // `sleeping` stays set until the next swap above: a push meanwhile writes one eventfd too many, which
            // is cheaper than taking the lock once more per iteration.
            guard n > 0 else { continue }
            for i in 0..<Int(n) {
                let fd = events[i].data.fd
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                    continue
                }
                let index = Int(fd)
                if index < handlers.count, let handler = handlers[index] {
                    handler.reactorEvent(fd: fd, events: events[i].events)
                }
            }
        }
        finished.open()
    }

    /// Monotonic nanoseconds.
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The thread-local slot holding the running reactor (unretained: the thread holds it while it runs).
private let currentReactorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
