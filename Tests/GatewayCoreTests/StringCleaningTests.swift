import GatewayCore
import Testing

@Suite struct StringCleaningTests {
    @Test(arguments: [
        ("FR76", "FR76"), (" FR76 ", "FR76"), ("\tid\r\n", "id"), ("\u{00A0}x y\u{2009}", "x y"), ("   ", ""), ("", ""),
        ("é", "é"), (" é ", "é"), ("a\u{00A0}", "a"),
    ])
    func trimsSpacesAtBothEndsOnly(input: String, expected: String) {
        #expect(input.trimmingSpaces() == expected)
    }

    @Test func removesEverySpace() {
        #expect("FR76 3000 6000 0112".removingSpaces() == "FR7630006000 0112".removingSpaces())
        #expect("FR76 3000 6000 0112".removingSpaces() == "FR76300060000112")
        #expect("NOSPACE".removingSpaces() == "NOSPACE")
        #expect(" ".removingSpaces() == "")
    }
}
