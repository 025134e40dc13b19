internal import COpenSSL
internal import CShims

// MARK: - Memory BIO helpers (swift-crypto's `withReadOnlyMemoryBIO(wrapping:_:)` pattern)

/// Runs `body` with a read-only memory BIO over `bytes`; the BIO never outlives the call. Also HTTPServerKit's TLS
/// set-up reads its PEM texts through it.
package func withReadOnlyMemoryBIO<R>(wrapping bytes: [UInt8], _ body: (OpaquePointer) -> R) throws(OpenSSLError)
    -> R
{
    let outcome = bytes.withUnsafeBytes { raw -> Result<R, OpenSSLError> in
        // BIO_new_mem_buf does not copy: the buffer must stay valid while the BIO is used, which the closure ensures.
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            return .failure(.drain("BIO_new_mem_buf"))
        }
        defer { BIO_free(bio) }
        return .success(body(bio))
    }
    return try outcome.get()
}

/// Runs `body` with a fresh writable memory BIO and returns what it wrote.
func collectingMemoryBIO(_ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
    guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.drain("BIO_new") }
    defer { BIO_free(bio) }
    try body(bio)
    var pointer: UnsafeMutablePointer<CChar>? = nil
    let length = cshim_BIO_get_mem_data(bio, &pointer)
    guard let pointer, length > 0 else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
        Array(UnsafeBufferPointer(start: $0, count: Int(length)))
    }
}

/// Parses DER bytes with a `d2i_*` function (`d2i_X509`, `d2i_PUBKEY`, named by `function`): the object it allocates,
/// for the caller to own.
/// - Throws: `OpenSSLError` when the bytes are not one such object.
func decodingDER(
    _ der: [UInt8], _ function: String, _ d2i: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> OpaquePointer?
) throws -> OpaquePointer {
    OpenSSLError.clearQueue()
    let object = der.withUnsafeBufferPointer { buffer in
        var p: UnsafePointer<UInt8>? = buffer.baseAddress
        return d2i(&p, buffer.count)
    }
    guard let object else { throw OpenSSLError.drain(function) }
    return object
}
