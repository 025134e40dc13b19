// libFuzzer entry point: every input must parse identically whole, byte by byte and in 3-byte pieces, and never
// crash. A mismatch traps, so libFuzzer saves the input as a crash regression (copy it to Regressions/).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits so that the limit paths are reachable by short inputs too.
    let small = HTTPLimits(
        maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4, maxBodyBytes: 64,
        maxChunkLineBytes: 16)
    precondition(RequestParser.splitsAgree(bytes), "split feeding disagrees")
    precondition(RequestParser.splitsAgree(bytes, limits: small), "split feeding disagrees (small limits)")
    return 0
}
