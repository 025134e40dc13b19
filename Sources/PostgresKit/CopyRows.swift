/// Rows in the text format of `COPY … FROM STDIN` (PostgreSQL documentation, "COPY", "Text Format"): fields
/// separated by tabs, rows ended by a newline, `\N` for NULL, and backslash, tab, newline and carriage return in a
/// value written as `\\`, `\t`, `\n`, `\r`. Each value is the text its type's input function reads (the same text a
/// bound parameter carries), so `PostgresEncodable` values are written as they would be bound.
public struct CopyRows: Sendable {
    /// The encoded rows.
    public private(set) var bytes: [UInt8] = []
    /// Rows ended so far.
    public private(set) var count = 0
    private var rowStarted = false

    public init(reservingBytes capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Appends the next field of the current row (NULL when `value` is nil).
    public mutating func field<T: PostgresEncodable>(_ value: T?) {
        if rowStarted { bytes.append(UInt8(ascii: "\t")) }
        rowStarted = true
        guard let value else {
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "N"))
            return
        }
        for byte in value.postgresText.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            default: bytes.append(byte)
            }
        }
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        rowStarted = false
        count += 1
    }
}
