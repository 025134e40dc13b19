extension RequestParser {
    /// Everything a parser produces for `bytes` fed in pieces of `step` bytes (0: all at once): the events in
    /// order and the error that stopped it. Used by the fuzz target and the corpus replay test.
    package static func replay(_ bytes: [UInt8], step: Int = 0, limits: HTTPLimits = HTTPLimits())
        -> (events: [Event], error: HTTPParseError?)
    {
        var parser = RequestParser(limits: limits)
        var events: [Event] = []
        let size = step == 0 ? max(bytes.count, 1) : step
        var offset = 0
        repeat {
            let end = min(offset + size, bytes.count)
            parser.append(bytes[offset..<end])
            offset = end
            do {
                while true {
                    let event = try parser.next()
                    if event == .needMoreData { break }
                    events.append(event)
                }
            } catch {
                return (events, error)
            }
        } while offset < bytes.count
        return (events, nil)
    }

    /// The limits the fuzz property also runs under: small enough that short inputs reach every limit path.
    public static let fuzzLimits = HTTPLimits(
        maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4, maxBodyBytes: 64, maxChunkLineBytes: 16)

    /// The property the fuzzer (Fuzz/) checks on every input and the corpus replay test on every committed one:
    /// the parser never crashes, and gives identical results fed whole, byte by byte and in 3-byte pieces, under
    /// the default limits and under `fuzzLimits`. Nil when it holds, else which limits broke it.
    public static func fuzzPropertyViolation(_ bytes: [UInt8]) -> String? {
        if !splitsAgree(bytes) { return "split feeding disagrees" }
        if !splitsAgree(bytes, limits: fuzzLimits) { return "split feeding disagrees (small limits)" }
        return nil
    }

    /// True when feeding `bytes` whole, one byte at a time and in 3-byte pieces gives identical results.
    package static func splitsAgree(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> Bool {
        let whole = replay(bytes, limits: limits)
        for step in [1, 3] {
            let split = replay(bytes, step: step, limits: limits)
            if split.events != whole.events || split.error != whole.error { return false }
        }
        return true
    }
}
