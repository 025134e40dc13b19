import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Reads typed values from an environment dictionary and collects every problem instead of stopping at the
/// first, so that start-up reports all missing or invalid variables in one message.
public struct EnvironmentReader {
    public let environment: [String: String]
    public private(set) var problems: [String] = []

    public init(_ environment: [String: String]) { self.environment = environment }

    /// The trimmed value, or nil when unset or empty.
    public func raw(_ name: String) -> String? {
        guard let v = environment[name]?.trimmingWhitespace(), !v.isEmpty else { return nil }
        return v
    }

    public mutating func string(_ name: String, default value: String) -> String { raw(name) ?? value }

    public mutating func optionalString(_ name: String) -> String? { raw(name) }

    public mutating func secret(_ name: String) -> Secret<String>? { raw(name).map(Secret.init) }

    /// A secret given either inline in `name` or in the file named by `name_FILE` (Docker and Kubernetes secrets;
    /// the file's content, trimmed). Reports a problem when both are set, or the file cannot be read or is empty.
    public mutating func secret(_ name: String, orFile readFile: (String) -> String?) -> Secret<String>? {
        let fileVariable = name + "_FILE"
        switch (raw(name), raw(fileVariable)) {
        case (let value?, nil): return Secret(value)
        case (nil, let path?):
            guard let text = readFile(path) else {
                problems.append("\(fileVariable): cannot read \(path)")
                return nil
            }
            let value = text.trimmingWhitespace()
            guard !value.isEmpty else {
                problems.append("\(fileVariable): \(path) is empty")
                return nil
            }
            return Secret(value)
        case (_?, _?):
            problems.append("\(name) and \(fileVariable): set only one")
            return nil
        case (nil, nil): return nil
        }
    }

    /// An integer in `range`; reports a problem and returns the default otherwise.
    public mutating func int(_ name: String, default value: Int, in range: ClosedRange<Int>) -> Int {
        number(name, default: value, in: range, expected: "an integer")
    }

    /// A duration in seconds (decimals allowed) in `range`.
    public mutating func seconds(_ name: String, default value: Double, in range: ClosedRange<Double>) -> Double {
        number(name, default: value, in: range, expected: "seconds")
    }

    private mutating func number<N: LosslessStringConvertible & Comparable>(
        _ name: String, default value: N, in range: ClosedRange<N>, expected: String
    ) -> N {
        guard let s = raw(name) else { return value }
        guard let v = N(s), range.contains(v) else {
            problems.append("\(name): expected \(expected) in \(range.lowerBound)...\(range.upperBound), got \"\(s)\"")
            return value
        }
        return v
    }

    public mutating func bool(_ name: String, default value: Bool) -> Bool {
        guard let s = raw(name) else { return value }
        switch s.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            problems.append("\(name): expected true or false, got \"\(s)\"")
            return value
        }
    }

    /// One of `allowed` (case-insensitive).
    public mutating func choice(_ name: String, default value: String, allowed: [String]) -> String {
        guard let s = raw(name) else { return value }
        guard let match = allowed.first(where: { $0.lowercased() == s.lowercased() }) else {
            problems.append("\(name): expected one of \(allowed.joined(separator: ", ")), got \"\(s)\"")
            return value
        }
        return match
    }

    /// Records a problem found by a caller's own validation.
    public mutating func report(_ problem: String) { problems.append(problem) }

    /// A comma-separated list of whole days (each 1…3650), e.g. `30,7,1`.
    public mutating func days(_ name: String, default value: [Int]) -> [Int] {
        guard let text = raw(name) else { return value }
        let days = text.split(separator: ",").map { Int($0.trimmingWhitespace()) }
        guard !days.isEmpty, days.allSatisfy({ $0.map { (1...3650).contains($0) } ?? false }) else {
            report("\(name): expected comma-separated whole days between 1 and 3650, got \"\(text)\"")
            return value
        }
        return days.compactMap { $0 }
    }
}
