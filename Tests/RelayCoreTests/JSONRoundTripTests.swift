import RelayCore
import Testing

/// The strict parser and compact writer: what a provider sent survives, and bad input is refused.
@Suite("JSON parser and writer")
struct JSONRoundTripTests {
    static func roundTrip(_ text: String) throws -> String {
        String(decoding: JSONWriter.serialize(try JSONParser.parse(text)), as: UTF8.self)
    }

    @Test func memberOrderAndNumberLiteralsSurvive() throws {
        let text = #"{"z":1,"a":[0.0446592,1650590038721,1e-7,-0,2E+10,-12.50,0],"m":{"y":true,"b":false,"n":null}}"#
        #expect(try Self.roundTrip(text) == text)
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.members.map(\.key) == ["z", "a", "m"])
        #expect(value["m"]?.objectValue?.members.map(\.key) == ["y", "b", "n"])
        #expect(value["a"]?.arrayValue?[0] == .number("0.0446592"))
        #expect(value["a"]?.arrayValue?[1].int64Value == 1_650_590_038_721)
        #expect(value["a"]?.arrayValue?[2] == .number("1e-7"))
        #expect(value["a"]?.arrayValue?[5] == .number("-12.50"))
    }

    @Test func whitespaceIsDroppedButNothingElse() throws {
        let text = " {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\":\"x y\" } \n"
        #expect(try Self.roundTrip(text) == #"{"a":[1,2],"b":"x y"}"#)
    }

    @Test func unicodeAndEscapes() throws {
        let text = #"{"e":"caf\u00e9","emoji":"\ud83d\ude00","nl":"a\nb","q":"say \"hi\"","bs":"C:\\x","sl":"a\/b","ctl":"\u0001\t\r\b\f","raw":"é😀"}"#
        let value = try JSONParser.parse(text)
        #expect(value["e"] == .string("café"))
        #expect(value["emoji"] == .string("😀"))
        #expect(value["nl"] == .string("a\nb"))
        #expect(value["q"] == .string("say \"hi\""))
        #expect(value["bs"] == .string("C:\\x"))
        #expect(value["sl"] == .string("a/b"))
        #expect(value["ctl"] == .string("\u{01}\t\r\u{08}\u{0C}"))
        #expect(value["raw"] == .string("é😀"))
        let written = String(decoding: JSONWriter.serialize(value), as: UTF8.self)
        // Escapes that JSON requires are written; everything else is literal UTF-8.
        #expect(written.contains(#""nl":"a\nb""#))
        #expect(written.contains(#""q":"say \"hi\"""#))
        #expect(written.contains(#""bs":"C:\\x""#))
        #expect(written.contains(#""e":"café""#))
        #expect(written.contains(#""emoji":"😀""#))
        #expect(written.contains(#"\u0001"#))
        // Whatever the writer produces, the parser reads back to the same value.
        #expect(try JSONParser.parse(JSONWriter.serialize(value)) == value)
    }

    @Test(arguments: [
        "{} x", "{\"a\":1}}", "[1,2]]", "1 2", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}", "'x'", "", "   ",
        "01", "1.", ".5", "-", "1e", "+1", "0x10", "NaN", "Infinity", "tru", "nul", "[", "{\"a\":", "\"abc",
        "\"bad \\x escape\"", "\"\\u12G4\"", "\"\\u12\"",
    ])
    func rejectsInvalidText(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func trailingGarbageOffsetIsReported() throws {
        let error = try #require(throws: JSONParseError.self) { try JSONParser.parse("{}  x") }
        #expect(error.offset == 4)
        #expect(error.description.contains("byte 4"))
    }

    @Test(arguments: [[0x22, 0x01, 0x22], [0x22, 0x0A, 0x22], [0x22, 0x09, 0x22], [0x22, 0x61, 0x5C, 0x6E, 0x1F, 0x22]] as [[UInt8]])
    func rejectsRawControlCharactersInStrings(bytes: [UInt8]) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
    }

    @Test(arguments: [
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
        [0x22, 0x5C, 0x6E, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22],  // invalid after an escape (slow path)
    ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
    }

    @Test(arguments: [#""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud83d x""#, #""\ude00\ud83d""#])
    func rejectsLoneSurrogates(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func nestingIsBounded() throws {
        let depth = JSONParser.maxDepth
        let ok = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try JSONParser.parse(ok) != .null)
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        let error = try #require(throws: JSONParseError.self) { try JSONParser.parse(tooDeep) }
        #expect(error.reason.contains("deep"))
        let objects = String(repeating: "{\"a\":", count: depth + 1) + "1" + String(repeating: "}", count: depth + 1)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(objects) }
        // A hostile body far deeper than the limit fails cleanly instead of exhausting the stack.
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 200_000)) }
    }

    @Test func accessors() throws {
        let value = try JSONParser.parse(#"{"s":"x","n":42,"big":12345678901234567890,"f":1.5,"b":true,"a":[],"o":{}}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["n"]?.int64Value == 42)
        #expect(value["n"]?.scalarText == "42")
        #expect(value["big"]?.int64Value == nil)
        #expect(value["f"]?.int64Value == nil)
        #expect(value["b"]?.boolValue == true)
        #expect(value["a"]?.arrayValue == [])
        #expect(value["o"]?.objectValue?.isEmpty == true)
        #expect(value["missing"] == nil)
        #expect(value["s"]?["x"] == nil)
    }
}
