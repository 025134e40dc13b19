/// A secret sealed by ``EnvelopeCipher``: everything needed to open it except the master key and the associated data.
///
/// Binary layout (one `bytea`; ``string`` is its base64 for a `text` column), 93 bytes + plaintext length:
/// ```
/// format (1 byte, 0x01) | key version (4, big-endian)
/// | wrap nonce (12) | wrapped data key (32) | wrap tag (16)
/// | data nonce (12) | ciphertext (n) | data tag (16)
/// ```
public struct SealedSecret: Sendable, Equatable {
    static let format: UInt8 = 0x01
    static let overhead = 1 + 4 + 12 + 32 + 16 + 12 + 16

    /// The master key version that wrapped the data key.
    public var keyVersion: UInt32
    var wrapNonce: [UInt8]
    var wrappedKey: [UInt8]
    var wrapTag: [UInt8]
    var nonce: [UInt8]
    var ciphertext: [UInt8]
    var tag: [UInt8]

    /// The compact serialized form.
    public var bytes: [UInt8] {
        var out: [UInt8] = [Self.format]
        out.reserveCapacity(Self.overhead + ciphertext.count)
        out += header.dropFirst()
        out += wrapNonce + wrappedKey + wrapTag + nonce + ciphertext + tag
        return out
    }

    /// Base64 of ``bytes``.
    public var string: String { Base64.encode(bytes) }

    /// Format byte and version: authenticated as associated data of the key wrap.
    var header: [UInt8] {
        [
            Self.format, UInt8(keyVersion >> 24), UInt8(keyVersion >> 16 & 0xff), UInt8(keyVersion >> 8 & 0xff),
            UInt8(keyVersion & 0xff),
        ]
    }

    init(
        keyVersion: UInt32, wrapNonce: [UInt8], wrappedKey: [UInt8], wrapTag: [UInt8], nonce: [UInt8],
        ciphertext: [UInt8], tag: [UInt8]
    ) {
        self.keyVersion = keyVersion
        self.wrapNonce = wrapNonce
        self.wrappedKey = wrappedKey
        self.wrapTag = wrapTag
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.tag = tag
    }

    /// Parses the serialized form.
    /// - Throws: `EnvelopeError.malformed` when too short or of an unknown format.
    public init(bytes: [UInt8]) throws(EnvelopeError) {
        guard bytes.count >= Self.overhead, bytes[0] == Self.format else { throw .malformed }
        var i = 1
        func take(_ n: Int) -> [UInt8] {
            defer { i += n }
            return Array(bytes[i..<i + n])
        }
        let v = take(4)
        keyVersion = UInt32(v[0]) << 24 | UInt32(v[1]) << 16 | UInt32(v[2]) << 8 | UInt32(v[3])
        wrapNonce = take(12)
        wrappedKey = take(32)
        wrapTag = take(16)
        nonce = take(12)
        ciphertext = take(bytes.count - Self.overhead)
        tag = take(16)
    }

    /// Parses the base64 form.
    /// - Throws: `EnvelopeError.malformed`.
    public init(string: String) throws(EnvelopeError) {
        guard let bytes = Base64.decode(string) else { throw .malformed }
        try self.init(bytes: bytes)
    }
}
