internal import CCurl
import Testing

@testable import CurlKit

@Suite struct CurlHeaderListTests {
    /// The lines of a list, followed through `next` as libcurl does.
    static func lines(_ list: UnsafeMutablePointer<curl_slist>?) -> [String] {
        var out: [String] = []
        var node = list
        while let current = node {
            out.append(String(cString: current.pointee.data))
            node = current.pointee.next
        }
        return out
    }

    @Test func buildsOneLinePerHeaderThenTheFixedLines() {
        let list = CurlHeaderList()
        let built = list.build([("Host", "bank.example"), ("X-Empty", ""), ("Date", "Sat, 21 Nov 2026 10:00:00 GMT")], extra: ["Expect:"])
        #expect(Self.lines(built) == ["Host: bank.example", "X-Empty;", "Date: Sat, 21 Nov 2026 10:00:00 GMT", "Expect:"])
        #expect(list.build([], extra: []) == nil)
    }

    @Test func growsForManyAndLongHeadersAndIsReusable() {
        let list = CurlHeaderList()
        let many = (0..<40).map { (name: "X-Header-\($0)", value: String(repeating: "v", count: 100 + $0)) }
        #expect(Self.lines(list.build(many, extra: [])) == many.map { "\($0.name): \($0.value)" })
        // A shorter list afterwards reuses the same memory and ends where it should.
        #expect(Self.lines(list.build([("A", "1")], extra: ["Expect:"])) == ["A: 1", "Expect:"])
    }
}
