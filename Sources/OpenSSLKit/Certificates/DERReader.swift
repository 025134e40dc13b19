/// A minimal DER reader (X.690) for the few extensions OpenSSL has no typed API for (QCStatements, EKU list).
/// It reads definite-length TLVs only, which is all DER allows.
struct DERReader {
    struct Element {
        let tag: UInt8
        let content: ArraySlice<UInt8>
        var reader: DERReader { DERReader(content) }
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var isAtEnd: Bool { bytes.isEmpty }

    /// Reads the next TLV.
    mutating func next() throws(DERError) -> Element {
        guard let tag = bytes.popFirst() else { throw .truncated }
        guard tag & 0x1f != 0x1f else { throw .unsupported }  // high-tag-number form: never used here
        guard let first = bytes.popFirst() else { throw .truncated }
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7f)
            guard count > 0, count <= 4, bytes.count >= count else { throw .truncated }
            for _ in 0..<count { length = length << 8 | Int(bytes.removeFirst()) }
        }
        guard bytes.count >= length else { throw .truncated }
        let content = bytes.prefix(length)
        bytes = bytes.dropFirst(length)
        return Element(tag: tag, content: content)
    }

    /// Reads the next TLV and checks its tag.
    mutating func next(tag: UInt8) throws(DERError) -> Element {
        let element = try next()
        guard element.tag == tag else { throw .unexpectedTag(element.tag) }
        return element
    }

    static let sequence: UInt8 = 0x30
    static let objectIdentifier: UInt8 = 0x06

    /// Dotted form of an OBJECT IDENTIFIER's content octets.
    static func objectIdentifier(_ content: ArraySlice<UInt8>) throws(DERError) -> String {
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for byte in content {
            value = value << 7 | UInt64(byte & 0x7f)
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
            }
        }
        guard let first = arcs.first, content.last.map({ $0 & 0x80 == 0 }) == true else { throw .truncated }
        let head: [UInt64] = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
        return (head + arcs.dropFirst()).map(String.init).joined(separator: ".")
    }

    /// The text of a character-string element (UTF8String, PrintableString, IA5String, …).
    static func string(_ element: Element) -> String? {
        switch element.tag {
        case 0x0c, 0x13, 0x16, 0x14, 0x1a: String(decoding: element.content, as: UTF8.self)
        default: nil
        }
    }
}

enum DERError: Error {
    case truncated
    case unsupported
    case unexpectedTag(UInt8)
}
