import Testing

@testable import GatewayLogging

@Suite struct ASCIITests {
    @Test func comparesLettersWithoutCaseAndNothingElse() {
        #expect(ASCII.equalsIgnoringCase("PSU-IP-Address", "psu-ip-address"))
        #expect(ASCII.equalsIgnoringCase("", ""))
        #expect(!ASCII.equalsIgnoringCase("psu-ip", "psu-ip-address"))
        #expect(!ASCII.equalsIgnoringCase("a[", "A{"))  // '[' and '{' differ by 0x20 but are not letters
        #expect(!ASCII.equalsIgnoringCase("é", "É"))  // ASCII only
        #expect(ASCII.hasPrefixIgnoringCase("PSU-Date", "psu-"))
        #expect(!ASCII.hasPrefixIgnoringCase("PS", "psu-"))
        #expect(!ASCII.hasPrefixIgnoringCase("XSU-Date", "psu-"))
    }

    @Test func lowersOnlyASCIIUpperCaseLetters() {
        #expect(ASCII.lowercased("X-Request-ID") == "x-request-id")
        #expect(ASCII.lowercased("already lower [ok]") == "already lower [ok]")
        #expect(ASCII.lowercased("ÉTÉ-A") == "ÉtÉ-a")
        var out: [UInt8] = []
        ASCII.appendLowercased("GET /A?B=C", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "get /a?b=c")
    }
}

@Suite struct LabelSetTests {
    @Test func aLabelSetCountsTheSameSeriesAsItsDictionary() {
        let registry = MetricsRegistry()
        let counter = registry.counter("t_total", help: "t")
        let histogram = registry.histogram("t_seconds", help: "t", buckets: [0.1, 1])
        let labels = ["route": "/v1/x", "method": "GET"]
        counter.increment(labels)
        counter.increment(LabelSet(labels), by: 2)
        #expect(counter.value(labels) == 3)
        histogram.observe(0.05, labels)
        histogram.observe(0.5, LabelSet(labels))
        let text = registry.render()
        #expect(text.contains(#"t_seconds_count{method="GET",route="/v1/x"} 2"#))
        #expect(text.contains(#"t_seconds_bucket{method="GET",route="/v1/x",le="0.1"} 1"#))
    }
}
