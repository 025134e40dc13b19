import Foundation
import Glibc
import TestSupport
import Testing
@testable import GatewayLogging

@Suite struct LoggerTests {
    @Test func writesOneJSONObjectPerLineWithMetadata() throws {
        let sink = CapturingLogSink()
        var logger = Logger(label: "t", level: .info, sink: sink)
        logger[metadataKey: "request.id"] = "abc"
        logger.info("hello \"world\"\n", metadata: ["http.status": "200"])
        logger.debug("dropped")
        #expect(sink.captured.count == 1)
        let line = try #require(sink.captured.first)
        #expect(line.hasPrefix("{\"time\":\""))
        #expect(line.contains("\"level\":\"info\""))
        #expect(line.contains("\"message\":\"hello \\\"world\\\"\\n\""))
        #expect(line.contains("\"request.id\":\"abc\""))
        #expect(line.contains("\"http.status\":\"200\""))
        #expect(!line.contains("\n"))
    }

    @Test func redactsSecretLookingMetadataKeys() {
        let sink = CapturingLogSink()
        let logger = Logger(label: "t", sink: sink)
        logger.info("x", metadata: ["access_token": "tok-123", "authorization": "Bearer abc", "debtor.iban": "FR76"])
        #expect(!sink.text.contains("tok-123"))
        #expect(!sink.text.contains("Bearer abc"))
        #expect(!sink.text.contains("FR76"))
        #expect(sink.text.contains("<redacted>"))
    }

    @Test func secretNeverPrints() {
        let s = Secret("hunter2")
        #expect("\(s)" == "<redacted>")
        #expect(String(describing: s) == "<redacted>")
        #expect(String(reflecting: s) == "<redacted>")
        #expect(s.reveal == "hunter2")
    }

    @Test func parsesLevels() {
        #expect(Logger.Level(name: "WARN") == .warning)
        #expect(Logger.Level(name: "debug") == .debug)
        #expect(Logger.Level(name: "loud") == nil)
    }
}

/// The redaction verdicts and the byte renderer, held to the definitions they replaced.
@Suite struct LogLineTests {
    /// The first implementation: Unicode lower-casing, then a substring search per needle.
    static func referenceIsSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return SecretKeys.needles.contains { k.contains($0) }
    }

    @Test func redactionVerdictsMatchTheSubstringDefinition() {
        var keys = [
            "request.id", "http.method", "http.route", "http.status", "duration.ms", "http.response.bytes",
            "auth.principal", "bank", "registration.id", "connection.id", "error", "error.type", "http.path", "sql",
            "outbound.host", "x", "", "toke", "ibn", "pe", "api-key", "api.key", "code-verifier", "tokens", "t0ken",
            "access_token", "Authorization", "debtor.IBAN", "X-Api-Key", "apiKey", "client_secret", "PEM", "qseal.pem",
            "Cookie", "set-cookie", "signatureHeader", "private_key", "PassPhrase", "passwd", "password",
            "code_verifier", "Code_Verifier", "refresh.TOKEN.hash", "tokeN", "ibaN", "xpem", "pemx", "xpemx",
            "To\u{212A}en",  // KELVIN SIGN lowers to an ASCII k: "token"
            "éiban", "ïd", "naïve.token", "ümlaut",
        ]
        for needle in SecretKeys.needles {
            keys += [needle, needle.uppercased(), "a." + needle, needle + ".b", "x" + needle.dropLast(), String(needle.dropFirst())]
        }
        for key in keys {
            #expect(SecretKeys.isSecret(key) == Self.referenceIsSecret(key), "\(key)")
            #expect(Logger.isSecretKey(key) == Self.referenceIsSecret(key), "\(key)")
        }
        #expect(SecretKeys.isSecret("To\u{212A}en"))
        #expect(!SecretKeys.isSecret("http.response.bytes"))
    }

    @Test func rendersSortedMembersWithTheCallsValuesWinning() throws {
        let sink = CapturingLogSink()
        var logger = Logger(label: "l\"x", sink: sink)
        logger[metadataKey: "request.id"] = "r1"
        logger[metadataKey: "b"] = "from logger"
        logger.warning("m\u{1}\t", metadata: ["b": "from call", "a": "1", "access_token": "tok", "z": "é\"\\"])
        let line = try #require(sink.captured.first)
        let rest = try #require(line.split(separator: ",\"level\"", maxSplits: 1).last)
        #expect(
            rest
                == #":"warning","logger":"l\"x","message":"m\u0001\t","a":"1","access_token":"<redacted>","b":"from call","request.id":"r1","z":"é\"\\"}"#
        )
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["b"] == "from call")
        #expect(object.count == 9)
    }

    @Test func timestampsMatchGmtime() {
        var samples = [0, 59, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_164_800, 1_795_000_000, 4_102_444_799]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 { samples.append(Int.random(in: 0...4_102_444_799, using: &generator)) }
        for seconds in samples {
            var t = time_t(seconds)
            var tm = tm()
            gmtime_r(&t, &tm)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, seconds % 1000)
            let written = UTCTimestamp.withMilliseconds(millisecondsSinceEpoch: seconds * 1000 + seconds % 1000)
            #expect(written == expected, "\(seconds)")
            #expect(UTCTimestamp.seconds(seconds) == String(expected.dropLast(5)) + "Z", "\(seconds)")
        }
    }
}
