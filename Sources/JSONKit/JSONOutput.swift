import GatewayLogging

/// A hand-driven JSON writer for the answers built on every call (account lists): the same bytes
/// `JSONNodeEncoder` writes, without `Encodable`'s containers. The caller writes object members in sorted key
/// order and leaves out absent optionals, as the encoder does; tests compare both writers' bytes.
///
/// ```swift
/// var out = JSONOutput()
/// out.beginObject()
/// out.member("id", account.id)
/// out.member("name", account.name as String?)   // nil: left out
/// out.endObject()
/// ```
public struct JSONOutput {
    /// The JSON written so far.
    public private(set) var bytes: [UInt8] = []
    /// A value was just completed: the next key or array element needs a comma first.
    private var afterValue = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() { open(UInt8(ascii: "[")) }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// An object member's key; its value follows.
    public mutating func key(_ name: String) {
        separate()
        JSONString.append(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterValue = false
    }

    /// A string value.
    public mutating func string(_ text: String) {
        separate()
        JSONString.append(text, to: &bytes)
        afterValue = true
    }

    /// A member with a string value, left out when `value` is nil.
    public mutating func member(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        afterValue = false
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        afterValue = true
    }

    private mutating func separate() {
        if afterValue { bytes.append(UInt8(ascii: ",")) }
    }
}
