/// A small structured logger in the shape of swift-log: a label, a level and metadata, writing one JSON object
/// per line to a `LogSink` (stdout through `BufferedLogWriter` in production, a capturing sink in tests).
///
/// Libraries accept a `Logger` and never create one; the executable builds the root logger from configuration.
/// Metadata keys are dotted (`request.id`, `bank`, `http.status`). Values under keys that name a secret
/// (see `Logger.isSecretKey`) are replaced by `<redacted>` as a second line of defence.
public struct Logger: Sendable {
    /// Severity, ordered from most to least verbose.
    public enum Level: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
        case trace, debug, info, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }

        /// Parses `debug`, `info`, `warning` (or `warn`), `error`, `trace`, case-insensitively.
        public init?(name: String) {
            switch name.lowercased() {
            case "trace": self = .trace
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }
    }

    /// What the logger is attached to, e.g. `passerelle.http`.
    public var label: String
    /// Messages below this level are dropped without evaluating them.
    public var logLevel: Level
    /// Metadata added to every line written through this logger.
    public var metadata: [String: String]
    private let sink: any LogSink

    /// - Parameters:
    ///   - label: Written as `logger` in every line.
    ///   - level: The minimum level written.
    ///   - sink: Where lines go; stdout (buffered, written by its own thread) by default.
    public init(label: String, level: Level = .info, sink: any LogSink = BufferedLogWriter.standardOutput) {
        self.label = label
        self.logLevel = level
        self.metadata = [:]
        self.sink = sink
    }

    /// Reads or sets one metadata value.
    public subscript(metadataKey key: String) -> String? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Returns a copy with extra metadata, for handing down to a sub-component.
    public func with(_ extra: [String: String]) -> Logger {
        var copy = self
        if copy.metadata.isEmpty {
            copy.metadata = extra  // the server's per-request logger: no new dictionary
        } else {
            copy.metadata.merge(extra) { _, new in new }
        }
        return copy
    }

    /// Returns a copy with another label.
    public func labeled(_ label: String) -> Logger {
        var copy = self
        copy.label = label
        return copy
    }

    /// Writes one line if `level` is enabled. The message and metadata are evaluated only then (a debug line on a
    /// hot path costs nothing at the default level).
    public func log(
        _ level: Level, _ message: @autoclosure () -> String, metadata extra: @autoclosure () -> [String: String]? = nil
    ) {
        guard level >= logLevel else { return }
        sink.write(LogLine.render(level: level, label: label, message: message(), metadata: metadata, extra: extra()))
    }

    public func trace(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: String]? = nil) {
        log(.trace, message(), metadata: metadata())
    }
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: String]? = nil) {
        log(.debug, message(), metadata: metadata())
    }
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: String]? = nil) {
        log(.info, message(), metadata: metadata())
    }
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: String]? = nil) {
        log(.warning, message(), metadata: metadata())
    }
    public func error(_ message: @autoclosure () -> String, metadata: @autoclosure () -> [String: String]? = nil) {
        log(.error, message(), metadata: metadata())
    }

    /// Metadata keys whose values are never written (defence in depth: callers should not pass them at all): those
    /// containing, in any case, one of `SecretKeys.needles` (`token`, `iban`, `authorization`, …).
    public static func isSecretKey(_ key: String) -> Bool { SecretKeys.isSecret(key) }
}

/// A destination for rendered log lines. Implementations must be thread-safe.
public protocol LogSink: Sendable {
    /// Writes one complete line: UTF-8, one JSON object, without the trailing newline.
    func write(_ line: [UInt8])
}
