/// Wraps a secret value (a password, a key, a token) so that it never prints: `description`,
/// `debugDescription` and string interpolation all give `<redacted>`. Read the value explicitly with `reveal`.
public struct Secret<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let value: Value

    public init(_ value: Value) { self.value = value }

    /// The wrapped value. Name the call site so that a reviewer sees where secrets are used.
    public var reveal: Value { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

extension Secret: Equatable where Value: Equatable {}
