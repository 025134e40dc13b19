import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

#if canImport(Glibc)
    import Glibc
#endif

/// `passerelle sign-request`: prints the `Digest` and `Signature` headers Passerelle would send for a request,
/// to debug a bank's signature rejection by hand (see docs/crypto.md).
///
/// ```
/// passerelle sign-request --key KEY.pem --key-id ID --method POST --url 'https://host/path?query'
///     [--header 'Name: value']... [--body-file FILE] [--bank BANK_ID | --signed-headers '(request-target) …']
///     [--passphrase-file FILE] [--explain]
/// ```
enum SignRequestCommand {
    static let usage = """
        usage: passerelle sign-request --key KEY.pem --key-id ID --method METHOD --url URL
                 [--header 'Name: value']... [--body-file FILE] [--bank BANK_ID | --signed-headers 'NAMES']
                 [--passphrase-file FILE] [--explain]

          Prints the headers to add to the request, one per line as `Name: value`: Digest (with a body or when
          `digest` is signed), Signature, and any signed header it had to generate (Date, X-Request-ID,
          Content-Length). Host comes from the URL unless given with --header. The headers signed are the bank's,
          from the built-in catalog (--bank, default cmcic:cic: (request-target) host date x-request-id, plus digest
          content-type with a body; bpce:<code>: (request-target) date x-request-id digest, plus content-type with a
          body), plus every psu-* header given — exactly what the gateway signs; --signed-headers overrides them.
          --explain also prints the exact signing string.
        """

    /// Parsed command-line options.
    struct Options {
        var keyPath = ""
        var keyID = ""
        var method = ""
        var url = ""
        var headers: [(String, String)] = []
        var bodyPath: String?
        var signedHeaders: [String]?
        /// The bank whose signed-header rule applies (the catalog's profile).
        var bank = "cmcic:cic"
        var passphrasePath: String?
        var explain = false
        /// Hidden: sign in a loop for this many seconds and print the rate (bench/sign.sh).
        var benchmarkSeconds: Double?
    }

    struct Failure: Error {
        let message: String
        let code: Int32
    }

    static func run(arguments: [String]) -> Int32 {
        do {
            let options = try parse(arguments)
            try execute(options)
            return 0
        } catch let failure as Failure {
            if failure.code == 0 { return 0 }  // --help
            writeToStandardError("passerelle sign-request: \(failure.message)\n")
            if failure.code == 64 { writeToStandardError(usage + "\n") }
            return failure.code
        } catch {
            writeToStandardError("passerelle sign-request: \(error)\n")
            return 1
        }
    }

    // MARK: - Arguments

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var index = 0
        func value(_ flag: String) throws -> String {
            index += 1
            guard index < arguments.count else { throw Failure(message: "\(flag) needs a value", code: 64) }
            return arguments[index]
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--key": options.keyPath = try value(flag)
            case "--key-id": options.keyID = try value(flag)
            case "--method": options.method = try value(flag)
            case "--url": options.url = try value(flag)
            case "--header":
                let raw = try value(flag)
                guard let colon = raw.firstIndex(of: ":"), colon != raw.startIndex else {
                    throw Failure(message: "--header expects 'Name: value', got '\(raw)'", code: 64)
                }
                let name = raw[..<colon].trimmingWhitespace()
                let headerValue = raw[raw.index(after: colon)...].trimmingWhitespace()
                options.headers.append((name, headerValue))
            case "--body-file": options.bodyPath = try value(flag)
            case "--signed-headers":
                options.signedHeaders = try value(flag).split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
            case "--bank": options.bank = try value(flag)
            case "--passphrase-file": options.passphrasePath = try value(flag)
            case "--explain": options.explain = true
            case "--benchmark-seconds":
                guard let seconds = Double(try value(flag)), seconds > 0 else {
                    throw Failure(message: "--benchmark-seconds expects a positive number", code: 64)
                }
                options.benchmarkSeconds = seconds
            case "--help", "-h":
                print(usage)
                throw Failure(message: "help requested", code: 0)
            default:
                throw Failure(message: "unknown option '\(flag)'", code: 64)
            }
            index += 1
        }
        for (flag, given) in [
            ("--key", options.keyPath), ("--key-id", options.keyID), ("--method", options.method),
            ("--url", options.url),
        ] where given.isEmpty {
            throw Failure(message: "\(flag) is required", code: 64)
        }
        if options.signedHeaders?.isEmpty == true { throw Failure(message: "--signed-headers is empty", code: 64) }
        guard let bank = BankID(options.bank), BankCatalog.builtIn.profile(for: bank) != nil else {
            throw Failure(message: "--bank: no bank '\(options.bank)' in the built-in catalog (GET /v1/banks lists them)", code: 64)
        }
        return options
    }

    /// Splits an absolute http(s) URL into the Host header value and the request-target exactly as written.
    static func split(url: String) throws -> (host: String, target: String) {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") {
            scheme = "https"
        } else if lower.hasPrefix("http://") {
            scheme = "http"
        } else {
            throw Failure(message: "--url must start with https:// or http://", code: 64)
        }
        var rest = Substring(url).dropFirst(scheme.count + 3)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty else { throw Failure(message: "--url has no host", code: 64) }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        if authority.hasSuffix(defaultPort) { authority = authority.dropLast(defaultPort.count) }
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        return (String(authority), target)
    }

    // MARK: - Signing

    static func execute(_ options: Options) throws {
        let key = try loadKey(options)
        if key.bits < 2048 {
            writeToStandardError(
                "passerelle sign-request: warning: the key has \(key.bits) bits; banks require at least 2048\n")
        }
        let (host, target) = try split(url: options.url)
        var headers = options.headers
        func has(_ name: String) -> Bool { headers.contains { $0.0.lowercased() == name } }
        if !has("host") { headers.insert(("Host", host), at: 0) }

        var body: [UInt8]?
        if let path = options.bodyPath {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Failure(message: "cannot read --body-file \(path)", code: 66)
            }
            body = [UInt8](data)
        }
        // The catalog's rule for the bank: one truth with what the adapters sign (BankProfile.headersToSign).
        let profile = BankID(options.bank).flatMap { BankCatalog.builtIn.profile(for: $0) }
        let names =
            options.signedHeaders
            ?? profile?.headersToSign(hasBody: body != nil, presentHeaders: headers.map(\.0))
            ?? []

        var printed: [(String, String)] = []
        if names.contains("date") && !has("date") {
            let value = HTTPDate.now()
            headers.append(("Date", value))
            printed.append(("Date", value))
        }
        if names.contains("x-request-id") && !has("x-request-id") {
            let value = UUID().uuidString.lowercased()
            headers.append(("X-Request-ID", value))
            printed.append(("X-Request-ID", value))
        }
        if names.contains("content-length") && !has("content-length") {
            let value = String(body?.count ?? 0)
            headers.append(("Content-Length", value))
            printed.append(("Content-Length", value))
        }
        if body != nil || names.contains("digest") {
            let digest = Digest.headerValue(for: body ?? [])
            if let given = headers.first(where: { $0.0.lowercased() == "digest" }), given.1 != digest {
                writeToStandardError(
                    "passerelle sign-request: warning: the given Digest does not match the body; using \(digest)\n")
            }
            headers.removeAll { $0.0.lowercased() == "digest" }
            headers.append(("Digest", digest))
            printed.append(("Digest", digest))
        }

        let signer = HTTPMessageSigner(key: key, keyId: options.keyID)
        let result: (signature: HTTPSignature, signingString: String)
        do {
            result = try signer.sign(method: options.method, target: target, headers: headers, names: names)
        } catch {
            throw Failure(message: error.description, code: 65)
        }
        if let seconds = options.benchmarkSeconds {
            try benchmark(
                signer: signer, method: options.method, target: target, headers: headers, names: names,
                seconds: seconds)
            return
        }
        printed.append(("Signature", result.signature.headerValue))
        for (name, value) in printed { print("\(name): \(value)") }
        if options.explain {
            print("\n# signing string (UTF-8, lines joined by \\n, no trailing newline), between the markers:")
            print("-----BEGIN SIGNING STRING-----")
            print(result.signingString)
            print("-----END SIGNING STRING-----")
        }
    }

    static func loadKey(_ options: Options) throws -> PrivateKey {
        guard let pem = try? String(contentsOfFile: options.keyPath, encoding: .utf8) else {
            throw Failure(message: "cannot read --key \(options.keyPath)", code: 66)
        }
        var passphrase: String?
        if let path = options.passphrasePath {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Failure(message: "cannot read --passphrase-file \(path)", code: 66)
            }
            passphrase = String(text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
        }
        do {
            return try PrivateKey(pem: pem, passphrase: passphrase)
        } catch .passphraseRequired {
            throw Failure(message: "the key is encrypted: pass --passphrase-file", code: 65)
        } catch {
            throw Failure(message: "\(options.keyPath): \(error.description)", code: 65)
        }
    }

    /// Signs the same request in a loop on one thread (the key parsed once) for `seconds` of wall-clock time and
    /// prints `signatures/s: N`, N being divided by the process's user CPU time — the divisor `openssl speed` uses
    /// unless given `-elapsed`, so that both rates are comparable on a busy machine. The wall-clock rate is
    /// printed too.
    static func benchmark(
        signer: HTTPMessageSigner, method: String, target: String, headers: [(String, String)], names: [String],
        seconds: Double
    ) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let cpuStart = userCPUSeconds()
        var count = 0
        var sink = 0
        while clock.now < end {
            for _ in 0..<16 {
                let header = try signer.signatureHeader(method: method, target: target, headers: headers, names: names)
                sink &+= header.utf8.count
            }
            count += 16
        }
        let cpu = userCPUSeconds() - cpuStart
        let wall = start.duration(to: clock.now)
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        if sink == Int.min { print("") }  // keeps the work observable to the optimiser
        print(
            "signatures: \(count) in \(Decimals.fixed(wallSeconds, digits: 2)) s wall, \(Decimals.fixed(cpu, digits: 2)) s user CPU"
        )
        print("signatures/s (wall clock): \(Decimals.fixed(Double(count) / wallSeconds, digits: 1))")
        print("signatures/s: \(Decimals.fixed(Double(count) / cpu, digits: 1))")
    }

    /// User CPU time of this process (`getrusage(RUSAGE_SELF)`).
    static func userCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    }
}
