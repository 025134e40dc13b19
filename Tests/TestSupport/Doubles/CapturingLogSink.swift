import GatewayLogging
import Synchronization

/// Keeps every line in memory; tests assert on what was logged (for example that no secret leaked).
public final class CapturingLogSink: LogSink {
    private let lines = Mutex<[String]>([])
    public init() {}

    public func write(_ line: [UInt8]) {
        let text = String(decoding: line, as: UTF8.self)
        lines.withLock { $0.append(text) }
    }

    /// Every line written so far.
    public var captured: [String] { lines.withLock { $0 } }

    /// All lines joined by newlines, for substring searches.
    public var text: String { captured.joined(separator: "\n") }
}
