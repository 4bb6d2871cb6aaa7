import Testing

@testable import CairnManifest

struct JSONReaderTests {
    func parse(_ text: String) throws -> JSONValue { try JSONReader.parse(Array(text.utf8)) }

    func readError(_ bytes: [UInt8], maxDepth: Int = JSONReader.defaultMaxDepth) -> JSONReadError? {
        #expect(throws: JSONReadError.self) { try JSONReader.parse(bytes, maxDepth: maxDepth) }
    }

    @Test("Integer vs float by lexeme")
    func numberKinds() throws {
        #expect(try parse("7") == .integer(JSONInteger(7)))
        #expect(try parse("7.0") == .float(7))
        #expect(try parse("1E2") == .float(100))
        #expect(try parse("-0") == .integer(JSONInteger(0)))
        #expect(try parse("-0.0") == .float(-0.0))
        #expect(try parse("1e400") == .float(.infinity))
        #expect(try parse("-1e-400") == .float(-0.0))
        #expect(try parse("NaN") == .float(.nan))
        #expect(try parse("-Infinity") == .float(-.infinity))
    }

    @Test("Integers of any size stay exact; more than 4300 digits is an error")
    func bigIntegers() throws {
        let big = "-" + String(repeating: "9", count: 4300)
        #expect(try parse(big).integerValue?.decimalText == big)
        #expect(try parse("9223372036854775807").integerValue?.int == Int.max)
        #expect(try parse("-9223372036854775808").integerValue?.int == Int.min)
        #expect(try parse("9223372036854775808").integerValue?.int == nil)
        #expect(readError(Array(String(repeating: "1", count: 4301).utf8))?.code == .integerTooLong)
    }

    @Test("Last duplicate key wins; NFC/NFD twins are two keys")
    func duplicates() throws {
        let object = try #require(try parse(#"{"a":1,"e\u0301":2,"\u00e9":3,"a":4}"#).objectValue)
        #expect(object.count == 3)
        #expect(object["a"] == 4)
        #expect(object.keys.first == "a")
        #expect(object["e\u{301}"] == 2)
        #expect(object["\u{E9}"] == 3)
    }

    @Test("Large objects keep last-wins with the index")
    func largeObject() throws {
        var text = "{"
        for index in 0..<100 { text += "\"k\(index)\":\(index)," }
        text += "\"k5\":\"last\"}"
        let object = try #require(try parse(text).objectValue)
        #expect(object.count == 100)
        #expect(object["k5"] == "last")
    }

    @Test("Surrogate pairs join; unpaired ones are kept")
    func surrogates() throws {
        #expect(try parse(#""\ud83d\ude00""#) == .string("\u{1F600}"))
        #expect(try parse(#""\udc00\ud800""#) == .unpairedSurrogateString([0xDC00, 0xD800]))
        #expect(readError(Array(#"{"\ud800":1}"#.utf8))?.code == .unpairedSurrogateInKey)
    }

    @Test("Hostile and malformed input gives typed errors")
    func malformed() {
        #expect(readError([0xEF, 0xBB, 0xBF] + Array("{}".utf8))?.code == .byteOrderMark)
        #expect(readError(Array("\"\u{1}\"".utf8))?.code == .controlCharacterInString)
        #expect(readError([0x22, 0xFF, 0x22])?.code == .invalidUTF8)
        #expect(readError([0x22, 0xED, 0xA0, 0x80, 0x22])?.code == .invalidUTF8)
        #expect(readError([])?.code == .expectedValue)
        #expect(readError(Array("{} x".utf8))?.code == .extraData)
        #expect(readError(Array("[1,]".utf8))?.code == .expectedValue)
        #expect(readError(Array("{\"a\" 1}".utf8))?.code == .invalidSyntax)
        #expect(readError(Array("01".utf8))?.code == .extraData)
        #expect(readError(Array("1.".utf8))?.code == .extraData)
        #expect(readError(Array("\"abc".utf8))?.code == .unterminatedString)
        #expect(readError(Array("\"\\x\"".utf8))?.code == .invalidEscape)
        #expect(readError(Array("\"\\u12g4\"".utf8))?.code == .invalidEscape)
        #expect(readError(Array("{\"a\":1".utf8))?.code == .invalidSyntax)
        #expect(readError(Array("tru".utf8))?.code == .expectedValue)
    }

    @Test("Deep nesting is a typed error, never a stack overflow")
    func deepNesting() throws {
        let deep = Array(String(repeating: "[", count: 1_000_000).utf8)
        #expect(readError(deep)?.code == .tooDeep)
        let objects = Array(String(repeating: "{\"a\":", count: 200_000).utf8)
        #expect(readError(objects)?.code == .tooDeep)
        let fine = String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        _ = try parse(fine)
        #expect(readError(Array(fine.utf8), maxDepth: 49)?.code == .tooDeep)
    }

    @Test("Errors name line and column")
    func errorPosition() {
        let error = readError(Array("{\n  \"a\": x\n}".utf8))
        #expect(error?.line == 2)
        #expect(error?.column == 8)
    }
}
