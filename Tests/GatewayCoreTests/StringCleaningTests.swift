import GatewayCore
import Testing

@Suite struct StringCleaningTests {
    @Test(arguments: [
        ("FR76", "FR76"), (" FR76 ", "FR76"), ("\tid\r\n", "id"), ("\u{00A0}x y\u{2009}", "x y"), ("   ", ""), ("", ""),
        ("é", "é"), (" é ", "é"), ("a\u{00A0}", "a"), ("\u{000B}pk_1\u{000C}\n", "pk_1"), ("in ner", "in ner"),
    ])
    func trimsWhitespaceAtBothEndsOnly(input: String, expected: String) {
        #expect(input.trimmingWhitespace() == expected)
    }

    @Test func removesEverySpace() {
        #expect("FR76 3000 6000 0112".removingSpaces() == "FR7630006000 0112".removingSpaces())
        #expect("FR76 3000 6000 0112".removingSpaces() == "FR76300060000112")
        #expect("NOSPACE".removingSpaces() == "NOSPACE")
        #expect(" ".removingSpaces() == "")
    }
}
