import Testing
@testable import BankSimulator

@Suite struct BankSimulatorPlaceholderTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
