import HTTPServerKit

// libFuzzer entry point. The property (no crash; identical results fed whole, byte by byte and in 3-byte pieces,
// under default and tiny limits) lives in HTTPServerKit, next to the parser, so that the corpus replay test checks
// the very same one. A violation traps, so libFuzzer saves the input as a crash regression (copy it to
// Regressions/).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let violation = RequestParser.fuzzPropertyViolation(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(violation)
    }
    return 0
}
