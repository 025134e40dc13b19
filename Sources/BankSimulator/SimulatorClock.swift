import Synchronization

/// The simulator's notion of "now", in whole seconds since the Unix epoch. Tests inject a fixed start and advance
/// it; `passerelle simulator` uses the system clock plus an offset that `/__simulator/clock/advance` can move, so
/// a gateway test in another process can make tokens expire without waiting.
public final class SimulatorClock: Sendable {
    private let base: @Sendable () -> Int64
    private let offset = Mutex<Int64>(0)

    /// - Parameter base: The underlying time source (seconds since the epoch); the system clock by default.
    public init(base: @escaping @Sendable () -> Int64 = SimulatorClock.systemSeconds) {
        self.base = base
    }

    /// A clock frozen at `seconds` since the epoch until `advance(by:)` moves it.
    public static func fixed(at seconds: Int64) -> SimulatorClock { SimulatorClock(base: { seconds }) }

    /// The current time in seconds since the epoch.
    public func now() -> Int64 { base() + offset.withLock { $0 } }

    /// Moves the clock forward (or backward with a negative value).
    public func advance(by seconds: Int64) { offset.withLock { $0 += seconds } }

    /// Reading of the real time.
    @Sendable public static func systemSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
