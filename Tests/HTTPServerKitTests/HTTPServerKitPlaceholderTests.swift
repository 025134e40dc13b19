import Testing
@testable import HTTPServerKit

@Suite struct HTTPServerKitPlaceholderTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
