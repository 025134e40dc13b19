import Testing
@testable import CurlKit

@Suite struct CurlKitPlaceholderTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
