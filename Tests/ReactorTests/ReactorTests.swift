import Reactor
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ReactorTests {
    /// Tasks preferring a reactor run on its thread, and so do their continuations after a suspension.
    @Test func tasksRunOnTheReactorThread() async throws {
        let group = ReactorGroup(name: "test-reactor", count: 2)
        defer { group.shutdown() }
        let reactor = group.reactors[1]
        let observed = await Task(executorPreference: reactor) { () -> [Bool] in
            var seen = [reactor.isCurrent, Reactor.current === reactor]
            try? await Task.sleep(for: .milliseconds(5))
            seen.append(reactor.isCurrent)
            await Task.yield()
            seen.append(group.next() === reactor)  // on a member thread, `next` is that reactor
            return seen
        }.value
        #expect(observed == [true, true, true, true])
        #expect(Reactor.current == nil)
    }

    /// Closures from other threads run in order, on the reactor's thread, waking it from `epoll_wait`.
    @Test func executeRunsInOrderOnTheThread() async throws {
        let reactor = Reactor(name: "test-exec")
        defer { reactor.shutdown() }
        let log = Mutex<[Int]>([])
        let onThread = Atomic<Int>(0)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for i in 0..<100 {
                reactor.execute {
                    log.withLock { $0.append(i) }
                    if reactor.isCurrent { onThread.add(1, ordering: .relaxed) }
                    if i == 99 { done.resume() }
                }
            }
        }
        #expect(log.withLock { $0 } == Array(0..<100))
        #expect(onThread.load(ordering: .relaxed) == 100)
    }

    /// A watched descriptor's handler is called when it becomes readable; tickers fire at their deadline.
    @Test func watchedDescriptorsAndTickers() async throws {
        let reactor = Reactor(name: "test-io")
        defer { reactor.shutdown() }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        final class Probe: ReactorIOHandler, ReactorTicker, @unchecked Sendable {
            let reactor: Reactor
            var continuation: CheckedContinuation<(UInt8, Bool), Never>?
            var byte: UInt8 = 0
            var deadline = UInt64.max
            init(_ reactor: Reactor) { self.reactor = reactor }
            func reactorEvent(fd: Int32, events: UInt32) {
                var value: UInt8 = 0
                _ = read(fd, &value, 1)
                byte = value
                reactor.unwatch(fd)
                deadline = Reactor.now() + 20_000_000  // 20 ms from now
            }
            var nextDeadline: UInt64 { deadline }
            func tick(now: UInt64) {
                guard now >= deadline else { return }
                deadline = .max
                reactor.removeTicker(self)
                continuation?.resume(returning: (byte, reactor.isCurrent))
            }
        }
        let probe = Probe(reactor)
        let readFD = fds[0]
        let (byte, onThread) = await withCheckedContinuation { (continuation: CheckedContinuation<(UInt8, Bool), Never>) in
            reactor.execute {
                probe.continuation = continuation
                reactor.watch(readFD, events: Reactor.readable, handler: probe)
                reactor.addTicker(probe)
            }
            var value: UInt8 = 42
            _ = write(fds[1], &value, 1)
        }
        #expect(byte == 42)
        #expect(onThread)
    }

    /// After shutdown the thread stops; work given later runs on the caller instead of being lost.
    @Test func workAfterShutdownIsNotLost() async {
        let reactor = Reactor(name: "test-stop")
        reactor.shutdown()
        await reactor.waitUntilStopped()
        let ran = Atomic<Bool>(false)
        reactor.execute { ran.store(true, ordering: .relaxed) }
        let didRun = ran.load(ordering: .relaxed)
        #expect(didRun)
        let value = await Task(executorPreference: reactor) { 7 }.value
        #expect(value == 7)
    }
}
