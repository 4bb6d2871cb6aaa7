import Testing
import _CairnTestSupport

@testable import CairnManifest

@Suite(.timeLimit(.minutes(15)))
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

    @Test("Float text converts to the same Double as the full conversion, on and off the fast path")
    func floatConversion() throws {
        var rng = SeededGenerator(seed: 0xF10A7)
        func digits(_ count: Int) -> String {
            String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
        }
        var samples = [
            "0.0", "-0.0", "1e22", "1e23", "1e-22", "1e-23", "123456789012345.0", "1234567890123456.0",
            "0.000000000000000000001", "9007199254740993.0", "4.35", "2.5e-10", "1.7976931348623157e308", "5e-324",
        ]
        for _ in 0..<(slowTestsEnabled ? 200_000 : 4_000) {
            var text = Bool.random(using: &rng) ? "-" : ""
            let whole = Int.random(in: 0...3, using: &rng) == 0 ? "0" : String(Int.random(in: 1...9, using: &rng))
            text += whole + (whole == "0" ? "" : digits(Int.random(in: 0...12, using: &rng)))
            if Bool.random(using: &rng) || !text.contains(".") {
                text += "." + digits(Int.random(in: 1...12, using: &rng))
            }
            if Int.random(in: 0...2, using: &rng) == 0 {
                text += ["e", "E"].randomElement(using: &rng)! + ["", "+", "-"].randomElement(using: &rng)!
                text += String(Int.random(in: 0...40, using: &rng))
            }
            samples.append(text)
        }
        var mismatches: [String] = []
        for text in samples {
            guard case .float(let value) = try parse(text), value.bitPattern == Double(text)?.bitPattern else {
                mismatches.append(text)
                continue
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
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
        // Around the depth the reader first tries on the stack (40), and far past it, values come out whole.
        for depth in [39, 40, 41, 42, 999, 1000] {
            let text =
                String(repeating: "[{\"k\":", count: depth / 2) + (depth % 2 == 0 ? "7" : "[7,8]")
                + String(repeating: "}]", count: depth / 2)
            var value = try parse(text)
            for _ in 0..<(depth / 2) {
                guard case .array(let elements) = value, elements.count == 1, case .object(let object) = elements[0],
                    let inner = object["k"]
                else {
                    Issue.record("depth \(depth): \(value)")
                    break
                }
                value = inner
            }
            #expect(value == (depth % 2 == 0 ? .integer(JSONInteger(7)) : [7, 8]), "depth \(depth)")
        }
        #expect(
            readError(Array((String(repeating: "[", count: 1001) + String(repeating: "]", count: 1001)).utf8))?.code
                == .tooDeep
        )
    }

    @Test("Errors name line and column")
    func errorPosition() {
        let error = readError(Array("{\n  \"a\": x\n}".utf8))
        #expect(error?.line == 2)
        #expect(error?.column == 8)
    }

    @Test("Strings: every special byte at every offset around the eight-byte scan")
    func stringScanAtEveryOffset() throws {
        let specials: [(raw: String, decoded: String)] = [
            (#"\""#, "\""), (#"\\"#, "\\"), (#"\n"#, "\n"), (#"\/"#, "/"), (#"\u00e9"#, "\u{E9}"),
            (#"\ud83d\ude00"#, "\u{1F600}"), ("\u{E9}", "\u{E9}"), ("\u{1F600}", "\u{1F600}"),
            ("\u{2028}", "\u{2028}"), ("\u{7F}", "\u{7F}"),
        ]
        let refused: [(raw: [UInt8], code: JSONReadError.Code)] = [
            ([0x01], .controlCharacterInString), ([0x1F], .controlCharacterInString), ([0xFF], .invalidUTF8),
            ([0xC3, 0x28], .invalidUTF8), ([0xED, 0xA0, 0x80], .invalidUTF8), ([0xF4, 0x90, 0x80, 0x80], .invalidUTF8),
            ([0xE0, 0x80, 0x80], .invalidUTF8), (Array(#"\x"#.utf8), .invalidEscape),
            (Array(#"\u12g"#.utf8), .invalidEscape),
        ]
        for prefix in 0..<20 {
            for suffix in [0, 1, 7, 8, 9, 17] {
                let before = String(repeating: "a", count: prefix)
                let after = String(repeating: "b", count: suffix)
                for special in specials {
                    let text = "\"" + before + special.raw + after + "\""
                    #expect(try parse(text) == .string(before + special.decoded + after), "\(text)")
                }
                for bad in refused {
                    let bytes = [0x22] + Array(before.utf8) + bad.raw + Array(after.utf8) + [0x22]
                    #expect(readError(bytes)?.code == bad.code, "\(bytes)")
                }
                #expect(readError([0x22] + Array((before + after).utf8))?.code == .unterminatedString)
            }
        }
    }

    @Test("A string with several faults is refused for the first in text order")
    func firstFaultWins() {
        let escape = Array(#"\x"#.utf8)
        #expect(readError([0x22] + escape + [0x01, 0x22])?.code == .invalidEscape)
        #expect(readError([0x22, 0x01] + escape + [0x22])?.code == .controlCharacterInString)
        #expect(readError([0x22, 0xFF] + escape + [0x22])?.code == .invalidUTF8)
        #expect(readError([0x22] + escape + [0xFF, 0x22])?.code == .invalidEscape)
        // A backslash as the last byte leaves the string open.
        #expect(readError(Array(#""abc\"#.utf8))?.code == .unterminatedString)
        #expect(readError(Array(#""abc\u00"#.utf8))?.code == .invalidEscape)
    }

    @Test("jsonText reads back to an equal value")
    func jsonTextRoundTrip() throws {
        func hasNaNPayload(_ value: JSONValue) -> Bool {
            switch value {
            case .float(let number): number.isNaN && number.bitPattern != Double.nan.bitPattern
            case .array(let elements): elements.contains(where: hasNaNPayload)
            case .object(let object): object.contains { hasNaNPayload($0.value) }
            default: false
            }
        }
        var generator = RandomManifests(seed: 7)
        var checked = 0
        for _ in 0..<3000 {
            let value = generator.any(depth: 0)
            // A NaN's payload has no JSON spelling; `NaN` reads back as the default NaN.
            guard !hasNaNPayload(value) else { continue }
            #expect(try JSONReader.parse(value.jsonText()) == value)
            checked += 1
        }
        #expect(checked > 2500)
        let edges: [JSONValue] = [
            .unpairedSurrogateString([0xD800, 0x41, 0xDBFF, 0xDFFF]), .float(-0.0), .float(.nan), .float(-.infinity),
            .float(.leastNonzeroMagnitude), .float(1e16),
            .integer(JSONInteger(decimalText: "-123456789012345678901234567890")!),
            ["\u{0}\"\\": [[], [:]]],
        ]
        for value in edges { #expect(try JSONReader.parse(value.jsonText()) == value, "\(value)") }
        var deep: JSONValue = .null
        for _ in 0..<(JSONReader.defaultMaxDepth + 1) { deep = .array([deep]) }
        #expect(throws: JSONReadError.self) { try deep.jsonText() }
    }
}
