internal import CCurl
import Synchronization

/// libcurl's process-wide initialisation, called by `CurlTransport.init` (a no-op after the first time). libcurl
/// documents calling it before other threads start; calling it later is safe here because Debian's libcurl 7.88
/// reports `CURL_VERSION_THREADSAFE` (thread-safe `curl_global_init` since 7.84) and the Mutex serialises our
/// own calls.
public enum CurlGlobal {
    private static let state = Mutex<Int32?>(nil)

    /// Calls `curl_global_init(CURL_GLOBAL_DEFAULT)` the first time; later calls return the first result.
    /// - Throws: `OutboundError` (code `.other`) if libcurl could not initialise.
    /// - SeeAlso: `curl_global_init`
    public static func initialize() throws {
        let code = state.withLock { code -> Int32 in
            if let code { return code }
            let result = Int32(curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue)
            code = result
            return result
        }
        guard code == 0 else {
            throw OutboundError(
                code: .other, bankID: "-", host: "-", curlCode: Int(code), message: "curl_global_init failed")
        }
    }

    /// libcurl's version string, e.g. `libcurl/7.88.1 OpenSSL/3.0.x …`.
    public static var version: String { String(cString: curl_version()) }
}
