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
