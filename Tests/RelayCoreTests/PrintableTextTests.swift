import RelayCore
import Testing

/// What a store and a log line get of bytes from outside (issue 23).
struct PrintableTextTests {
    @Test func validTextIsKeptAndEverythingElseIsEscaped() {
        #expect(PrintableText.escaping(Array("plain {\"json\"}\n".utf8)) == "plain {\"json\"}\n")
        #expect(PrintableText.escaping(Array("héllo 😀".utf8)) == "héllo 😀")
        #expect(PrintableText.escaping([0x62, 0x00, 0x7F, 0x1B]) == #"b\x00\x7f\x1b"#)
        // Invalid UTF-8: a lone continuation byte, an overlong encoding, a surrogate, a sequence cut short.
        #expect(PrintableText.escaping([0x80, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xE2, 0x82]) == #"\x80\xc0\xaf\xed\xa0\x80\xe2\x82"#)
        #expect(PrintableText.escaping([0x1F, 0x8B, 0x08, 0x00]) == #"\x1f\x8b\x08\x00"#)
    }

    @Test func longTextIsCutAtACharacterAndMarked() {
        let cut = PrintableText.cut(String(repeating: "😀", count: 100), maxBytes: 64)
        #expect(cut.utf8.count <= 64)
        #expect(cut.hasSuffix("…(400 bytes)"))
        #expect(cut.hasPrefix("😀😀"))
        #expect(PrintableText.cut("short", maxBytes: 64) == "short")
    }

    @Test func providerValuesAreBoundedAndPrintable() {
        #expect(ProviderValue.problem(String(repeating: "a", count: 256)) == nil)
        #expect(ProviderValue.problem(String(repeating: "a", count: 257)) == "is longer than 256 bytes (257)")
        #expect(ProviderValue.problem("a\u{0}b") != nil)
        #expect(ProviderValue.problem("tab\there") != nil)
        #expect(ProviderValue.problem("100%:a😀") == nil)
        #expect(throws: PayloadError.self) { try ProviderValue.checked("x\u{7F}", field: "payload.umid") }
    }
}
