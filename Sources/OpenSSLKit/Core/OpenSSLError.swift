internal import COpenSSL

/// A failed OpenSSL call: the C function that failed and OpenSSL's error queue at that moment.
///
/// The description names the function and the queued reasons (`error:1E08010C:DECODER routines::unsupported`);
/// it never contains key material, passphrases or plaintext, so it is safe to log.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The OpenSSL function that reported the failure, e.g. `EVP_DigestSignInit`.
    public let operation: String
    /// The drained OpenSSL error queue, oldest first, as `ERR_error_string_n` renders each entry.
    public let stack: [String]

    /// Creates an error for `operation` with an explicit error stack (mostly for tests).
    public init(operation: String, stack: [String]) {
        self.operation = operation
        self.stack = stack
    }

    public var description: String {
        stack.isEmpty ? "\(operation) failed" : "\(operation) failed: \(stack.joined(separator: "; "))"
    }

    /// Drains OpenSSL's thread-local error queue into a new error (as swift-nio-ssl's `buildErrorStack()`); also
    /// for HTTPServerKit's TLS set-up.
    package static func drain(_ operation: String) -> OpenSSLError {
        var stack: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            stack.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(operation: operation, stack: stack)
    }

    /// Clears the thread's error queue before an operation, so a later drain only reports this operation.
    static func clearQueue() { ERR_clear_error() }
}
