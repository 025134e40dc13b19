import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Turns POSIX signals into an awaitable event, for graceful shutdown on SIGTERM/SIGINT.
///
/// Uses `DispatchSource` signal sources: the default disposition is set to ignore so the process is not killed,
/// and libdispatch delivers the signal on its own thread (no async-signal-safety concerns in Swift code).
public enum SignalHandling {
    /// Waits for the first of `signals`; nil when the waiting task is cancelled first.
    public static func wait(for signals: [Int32]) async -> Int32? {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "passerelle.signals")
        let sources = signals.map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        for await number in stream { return number }
        return nil
    }
}
