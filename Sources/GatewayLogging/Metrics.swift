import Synchronization

/// A small Prometheus registry: counters and gauges with labels, histograms with fixed buckets, rendered in the
/// text exposition format 0.0.4. Thread-safe; any module can register its own series.
///
/// ```swift
/// let requests = metrics.counter("http_requests_total", help: "Requests answered.")
/// requests.increment(["method": "GET", "status": "2xx"])
/// ```
/// Registering a name twice returns the existing family. Label values must be bounded (route templates, never ids).
public final class MetricsRegistry: Sendable {
    private let families = Mutex<[(name: String, family: any MetricFamily)]>([])

    public init() {}

    /// The counter family `name`, created on first use.
    public func counter(_ name: String, help: String) -> Counter {
        family(name) { Counter(name: name, help: help) }
    }

    /// A counter without labels whose value `read` returns when `/metrics` is rendered: for a count kept elsewhere
    /// (an atomic in a component that cannot depend on the registry, such as `BufferedLogWriter.droppedLines`).
    public func counter(_ name: String, help: String, reading read: @escaping @Sendable () -> Int) {
        _ = family(name) { ObservedCounter(name: name, help: help, read: read) }
    }

    /// The gauge family `name`, created on first use.
    public func gauge(_ name: String, help: String) -> Gauge {
        family(name) { Gauge(name: name, help: help) }
    }

    /// The histogram family `name` with upper bounds `buckets` (ascending; `+Inf` is implicit).
    public func histogram(_ name: String, help: String, buckets: [Double]) -> Histogram {
        family(name) { Histogram(name: name, help: help, buckets: buckets) }
    }

    /// Every family in registration order, in Prometheus text format.
    public func render() -> String {
        let all = families.withLock { $0.map(\.family) }
        var out = ""
        for family in all { family.render(into: &out) }
        return out
    }

    private func family<F: MetricFamily>(_ name: String, make: () -> F) -> F {
        families.withLock { list in
            if let existing = list.first(where: { $0.name == name }) {
                guard let typed = existing.family as? F else {
                    preconditionFailure("metric \(name) registered twice with different types")
                }
                return typed
            }
            let created = make()
            list.append((name, created))
            return created
        }
    }
}

/// Anything the registry can render.
protocol MetricFamily: AnyObject, Sendable {
    func render(into out: inout String)
}

/// A label set rendered once, for a caller that records the same series on every request (the HTTP server's
/// per-route metrics) and keeps it instead of building and rendering a dictionary each time.
public struct LabelSet: Hashable, Sendable {
    let key: String

    public init(_ labels: [String: String]) { key = LabelKey.make(labels) }
}

/// Label sets rendered once, as `{a="1",b="2"}` (sorted by name), and used as dictionary keys.
enum LabelKey {
    static func make(_ labels: [String: String]) -> String {
        if labels.isEmpty { return "" }
        var out = "{"
        for (i, key) in labels.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            out += key
            out += "=\""
            let value = labels[key]!
            if value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) {
                for c in value.unicodeScalars {
                    switch c {
                    case "\\": out += "\\\\"
                    case "\"": out += "\\\""
                    case "\n": out += "\\n"
                    default: out.unicodeScalars.append(c)
                    }
                }
            } else {
                out += value  // the usual case: nothing to escape
            }
            out += "\""
        }
        return out + "}"
    }

    /// Inserts `extra` (e.g. `le="0.5"`) into a rendered label set.
    static func adding(_ extra: String, to key: String) -> String {
        key.isEmpty ? "{\(extra)}" : String(key.dropLast()) + ",\(extra)}"
    }
}

func formatMetric(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
}

/// The values of one counter or gauge, by rendered label set: what both keep and how both are exposed.
final class LabeledValues: Sendable {
    let name: String
    let help: String
    /// `counter` or `gauge`, as `# TYPE` names it.
    let type: String
    private let values = Mutex<[String: Double]>([:])

    init(name: String, help: String, type: String) {
        self.name = name
        self.help = help
        self.type = type
    }

    /// Changes the series with the rendered label set `key` (0 when new).
    func update(_ key: String, _ change: (inout Double) -> Void) {
        values.withLock { change(&$0[key, default: 0]) }
    }

    /// The current value of one series.
    func value(_ labels: [String: String]) -> Double {
        let key = LabelKey.make(labels)
        return values.withLock { $0[key] ?? 0 }
    }

    /// The exposition text: `# HELP`, `# TYPE` and one line per series, sorted by label set.
    func render(into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (key, value) in values.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            out += "\(name)\(key) \(formatMetric(value))\n"
        }
    }
}

/// A monotonically increasing value per label set.
public final class Counter: MetricFamily {
    private let values: LabeledValues

    init(name: String, help: String) { values = LabeledValues(name: name, help: help, type: "counter") }

    /// Adds `amount` (≥ 0) to the series with `labels`.
    public func increment(_ labels: [String: String] = [:], by amount: Double = 1) {
        increment(LabelSet(labels), by: amount)
    }

    /// Adds `amount` (≥ 0) to the series `labels`.
    public func increment(_ labels: LabelSet, by amount: Double = 1) {
        values.update(labels.key) { $0 += amount }
    }

    /// The current value of one series (for tests).
    public func value(_ labels: [String: String] = [:]) -> Double { values.value(labels) }

    func render(into out: inout String) { values.render(into: &out) }
}

/// A counter read from its owner at render time.
final class ObservedCounter: MetricFamily {
    let name: String
    let help: String
    let read: @Sendable () -> Int

    init(name: String, help: String, read: @escaping @Sendable () -> Int) {
        self.name = name
        self.help = help
        self.read = read
    }

    func render(into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(read())\n"
    }
}

/// A value that goes up and down per label set.
public final class Gauge: MetricFamily {
    private let values: LabeledValues

    init(name: String, help: String) { values = LabeledValues(name: name, help: help, type: "gauge") }

    /// Sets the series with `labels` to `value`.
    public func set(_ value: Double, _ labels: [String: String] = [:]) {
        values.update(LabelKey.make(labels)) { $0 = value }
    }

    /// Adds `amount` (may be negative) to the series with `labels`.
    public func add(_ amount: Double, _ labels: [String: String] = [:]) {
        values.update(LabelKey.make(labels)) { $0 += amount }
    }

    /// The current value of one series (for tests).
    public func value(_ labels: [String: String] = [:]) -> Double { values.value(labels) }

    func render(into out: inout String) { values.render(into: &out) }
}

/// Observations counted into fixed buckets per label set, with their sum and count.
public final class Histogram: MetricFamily {
    struct Series {
        var buckets: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0

        mutating func record(_ value: Double, in slot: Int) {
            buckets[slot] += 1
            sum += value
            count += 1
        }
    }

    let name: String
    let help: String
    /// Upper bounds, ascending.
    public let buckets: [Double]
    private let series = Mutex<[String: Series]>([:])

    init(name: String, help: String, buckets: [Double]) {
        self.name = name
        self.help = help
        self.buckets = buckets.sorted()
    }

    /// Records one observation.
    public func observe(_ value: Double, _ labels: [String: String] = [:]) {
        observe(value, LabelSet(labels))
    }

    /// Records one observation in the series `labels`.
    public func observe(_ value: Double, _ labels: LabelSet) {
        let key = labels.key
        let slot = buckets.firstIndex { value <= $0 } ?? buckets.count
        let slots = buckets.count + 1
        series.withLock { all in
            // Modified in place: a copy out of the dictionary and back would copy the bucket array every time.
            all[key, default: Series(buckets: Array(repeating: 0, count: slots))].record(value, in: slot)
        }
    }

    /// Observations recorded for one label set (for tests).
    public func count(_ labels: [String: String] = [:]) -> UInt64 {
        let key = LabelKey.make(labels)
        return series.withLock { $0[key]?.count ?? 0 }
    }

    func render(into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (key, s) in series.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            var cumulative: UInt64 = 0
            for (i, bound) in buckets.enumerated() {
                cumulative += s.buckets[i]
                out += "\(name)_bucket\(LabelKey.adding("le=\"\(bound)\"", to: key)) \(cumulative)\n"
            }
            out += "\(name)_bucket\(LabelKey.adding("le=\"+Inf\"", to: key)) \(s.count)\n"
            out += "\(name)_sum\(key) \(s.sum)\n"
            out += "\(name)_count\(key) \(s.count)\n"
        }
    }
}
