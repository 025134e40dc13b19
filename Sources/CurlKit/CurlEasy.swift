internal import CCurl
internal import CShims
import GatewayLogging
import Synchronization

/// Owns one libcurl easy handle (`CURL*`) and the error buffer libcurl writes into: one transfer's options and
/// state. Connections are not its own but its multi handle's (`CurlMulti`), which keeps idle handles per client
/// identity and uses each for one transfer at a time, on its reactor's thread.
final class CurlEasy {
    /// The `CURL*` (imported as a raw pointer).
    let handle: UnsafeMutableRawPointer
    /// `CURLOPT_ERRORBUFFER`: libcurl writes a human-readable reason here on failure.
    let errorBuffer: UnsafeMutablePointer<CChar>
    /// The client identity (`TLSClientIdentity.id`, `.some(nil)` for none) whose static options are set on the
    /// handle; `nil` when they must be set again (new handle, or a failed `setopt`).
    var configuredIdentity: String??
    /// The current transfer's `CURLOPT_HTTPHEADER` list, rebuilt in place for each transfer.
    let headerList = CurlHeaderList()

    /// - Throws: `OutboundError` (`.other`) if `curl_easy_init` fails (out of memory).
    /// - SeeAlso: `curl_easy_init`
    init() throws(OutboundError) {
        guard let handle = curl_easy_init() else {
            throw OutboundError(code: .other, bankID: "-", host: "-", message: "curl_easy_init failed")
        }
        self.handle = handle
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// The text libcurl left in the error buffer, trimmed.
    var errorText: String {
        errorBuffer[Int(CURL_ERROR_SIZE)] = 0
        return String(cString: errorBuffer).trimmingWhitespace()
    }

    // MARK: - Typed option and info wrappers (each maps to one curl_easy_setopt / curl_easy_getinfo)

    /// - SeeAlso: `curl_easy_setopt` with a `long`.
    func set(_ option: CURLoption, _ value: Int) throws(CurlSetupError) {
        try check(cshim_easy_setopt_long(handle, option, value), option)
    }

    /// - SeeAlso: `curl_easy_setopt` with a `curl_off_t`.
    func set(_ option: CURLoption, offset value: Int64) throws(CurlSetupError) {
        try check(cshim_easy_setopt_off_t(handle, option, curl_off_t(value)), option)
    }

    /// Sets a string option; libcurl copies the string. `nil` clears it.
    /// - SeeAlso: `curl_easy_setopt` with a `char *`.
    func set(_ option: CURLoption, _ value: String?) throws(CurlSetupError) {
        let code: CURLcode
        if let value {
            code = value.withCString { cshim_easy_setopt_string(handle, option, $0) }
        } else {
            code = cshim_easy_setopt_string(handle, option, nil)
        }
        try check(code, option)
    }

    /// Sets a blob option with `CURL_BLOB_COPY`, so the bytes need not outlive the call.
    /// - SeeAlso: `CURLOPT_SSLCERT_BLOB`, `CURLOPT_SSLKEY_BLOB`, `CURLOPT_CAINFO_BLOB`
    func set(_ option: CURLoption, blob bytes: [UInt8]) throws(CurlSetupError) {
        let code = bytes.withUnsafeBytes { raw -> CURLcode in
            var blob = curl_blob(
                data: UnsafeMutableRawPointer(mutating: raw.baseAddress), len: raw.count,
                flags: UInt32(CURL_BLOB_COPY))
            return cshim_easy_setopt_blob(handle, option, &blob)
        }
        try check(code, option)
    }

    /// - SeeAlso: `curl_easy_setopt` with a `void *` (callback data, error buffer, body).
    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlSetupError) {
        try check(cshim_easy_setopt_pointer(handle, option, pointer), option)
    }

    /// - SeeAlso: `curl_easy_getinfo` with a `long *`.
    func info(_ info: CURLINFO) -> Int {
        var value = 0
        _ = cshim_easy_getinfo_long(handle, info, &value)
        return value
    }

    /// - SeeAlso: `curl_easy_getinfo` with a `double *`.
    func info(double info: CURLINFO) -> Double {
        var value = 0.0
        _ = cshim_easy_getinfo_double(handle, info, &value)
        return value
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlSetupError) {
        guard code == CURLE_OK else { throw CurlSetupError(option: Int(option.rawValue), code: code) }
    }
}

/// A `curl_easy_setopt` that failed (an option this libcurl does not support, out of memory).
struct CurlSetupError: Error {
    let option: Int
    let code: CURLcode

    var message: String {
        "curl_easy_setopt(option \(option)) failed: \(String(cString: curl_easy_strerror(code)))"
    }
}
