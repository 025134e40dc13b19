internal import CShims

#if canImport(Glibc)
    import Glibc
#endif

/// Owns an epoll instance and an eventfd used to wake `wait` from other threads. Level-triggered: the
/// connection state machine decides interest (read, write or nothing) after every step, so an event that is not
/// consumed simply fires again, and a connection busy in a handler asks for nothing at all.
final class Poller {
    static let readable = UInt32(EPOLLIN.rawValue)
    static let writable = UInt32(EPOLLOUT.rawValue)

    let epollFD: Int32
    let wakeFD: Int32

    init() throws(SocketError) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SocketError(call: "epoll_create1", errno: errno) }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        // No close of epollFD here: every stored property is set, so a throw runs `deinit`, which closes both.
        guard wakeFD >= 0 else { throw SocketError(call: "eventfd", errno: errno) }
        add(wakeFD, events: Self.readable)
    }

    deinit {
        close(wakeFD)
        close(epollFD)
    }

    func add(_ fd: Int32, events: UInt32) {
        var ev = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev)
    }

    func modify(_ fd: Int32, events: UInt32) {
        var ev = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &ev)
    }

    func remove(_ fd: Int32) {
        var ev = epoll_event()
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &ev)
    }

    /// Waits up to `timeoutMS` and calls `body` with each ready fd and its events.
    func wait(timeoutMS: Int32, into events: inout [epoll_event], _ body: (Int32, UInt32) -> Void) {
        let n = events.withUnsafeMutableBufferPointer {
            epoll_wait(epollFD, $0.baseAddress, Int32($0.count), timeoutMS)
        }
        guard n > 0 else { return }
        for i in 0..<Int(n) { body(events[i].data.fd, events[i].events) }
    }

    /// Makes a concurrent or future `wait` return (callable from any thread).
    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    /// Consumes pending wake-ups.
    func drainWake() {
        var value: UInt64 = 0
        _ = Glibc.read(wakeFD, &value, 8)
    }
}
