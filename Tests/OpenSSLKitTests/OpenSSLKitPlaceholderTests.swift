import Testing
@testable import OpenSSLKit

@Suite struct OpenSSLKitPlaceholderTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
