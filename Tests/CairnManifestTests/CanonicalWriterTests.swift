import Foundation
import Testing

@testable import CairnManifest

/// The byte-level fast paths of the canonical writer, each checked against a plain reference.
@Suite(.timeLimit(.minutes(15)))
struct CanonicalWriterTests {
    /// Python `json.dumps(ensure_ascii=False)` escaping of `text`, quoted, one scalar at a time.
    private func referenceQuoted(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in text.utf8 {
            switch byte {
            case 0x22: out += Array(#"\""#.utf8)
            case 0x5C: out += Array(#"\\"#.utf8)
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(0x22)
        return out
    }

    @Test("Strings: every escaped byte and every non-ASCII scalar at every offset around the eight-byte scan")
    func stringOffsets() throws {
        let specials: [String] =
            (0..<0x20).map { String(UnicodeScalar(UInt8($0))) } + [
                "\"", "\\", "\u{7F}", "\u{E9}", "e\u{301}", "\u{2028}", "\u{1F989}", "\u{5317}",
            ]
        for special in specials {
            for length in 0..<20 {
                for offset in 0...length {
                    let text =
                        String(repeating: "a", count: offset) + special
                        + String(repeating: "b", count: length - offset)
                    let expected = referenceQuoted(text.precomposedStringWithCanonicalMapping)
                    #expect(try CanonicalJSON.encode(.string(text)) == expected, "\(Array(text.utf8))")
                    let key = try CanonicalJSON.encode(.object([text: 1]))
                    #expect(key == [0x7B] + referenceQuoted(text) + Array(":1}".utf8), "key \(Array(text.utf8))")
                }
            }
        }
    }

    @Test("Every scalar of the NFC-inert ranges is one NFC leaves alone, in any context")
    func nfcInertRangesAreInert() {
        // Scalars that follow the first one in some canonical decomposition can compose with what precedes them.
        var combining = Set<UInt32>()
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let decomposed = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars
            for part in decomposed.dropFirst() { combining.insert(part.value) }
        }
        var previous: UInt32? = nil
        var checked = 0
        for range in TextScan.nfcInertRanges {
            if let previous { #expect(previous < range.lowerBound, "ranges sorted and disjoint") }
            previous = range.upperBound
            #expect(range.lowerBound >= 0x300)
            for value in range {
                guard let scalar = Unicode.Scalar(value) else {
                    Issue.record("U+\(String(value, radix: 16)) is not a scalar")
                    continue
                }
                let properties = scalar.properties
                let inert =
                    properties.generalCategory != .unassigned && properties.canonicalCombiningClass.rawValue == 0
                    && !combining.contains(value)
                    && String(scalar).precomposedStringWithCanonicalMapping.unicodeScalars.elementsEqual([scalar])
                if !inert { Issue.record("U+\(String(value, radix: 16)) is not NFC-inert") }
                checked += 1
            }
        }
        #expect(checked > 90_000)
    }

    @Test("Random text: the writer's NFC equals Foundation's on every string")
    func nfcMatchesFoundation() throws {
        let pieces: [String] = [
            "a", "Z", " ", "\"", "\n", "\u{E9}", "e", "\u{301}", "\u{308}", "\u{327}", "\u{1100}", "\u{1161}",
            "\u{11A8}", "\u{AC00}", "\u{304B}", "\u{3099}", "\u{309A}", "\u{5317}", "\u{4EAC}", "\u{1F989}",
            "\u{1F3FB}", "\u{200D}", "\u{FE0F}", "\u{2028}", "\u{2000}", "\u{2126}", "\u{212B}", "\u{F900}",
            "\u{0958}", "\u{0915}", "\u{093C}", "\u{0410}", "\u{0306}", "\u{1E9B}", "\u{0323}", "\u{0387}",
            "\u{1F1EF}", "\u{1F1F5}", "\u{FF21}", "\u{0627}", "\u{0653}", "\u{05D0}", "\u{05B8}", "\u{0E01}",
        ]
        var generator = SeededGenerator(seed: 0x5EED)
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<Int(generator.next() % 9) { text += pieces[Int(generator.next() % UInt64(pieces.count))] }
            let expected = referenceQuoted(text.precomposedStringWithCanonicalMapping)
            #expect(try CanonicalJSON.encode(.string(text)) == expected, "\(text.unicodeScalars.map(\.value))")
        }
    }

    @Test("Floats: the writer's direct digits equal repr of the rounded value found through shortest digits")
    func floatsMatchReprPath() throws {
        var generator = SeededGenerator(seed: 0xF10A7)
        var values: [Double] = [0, -0.0, 1e-10, 5e-11, -5e-11, 4.9999999999e-11, 99_999.99999999995, 1e5, 1e15, 0.1]
        for _ in 0..<40_000 {
            let random = generator.next()
            values.append(Double(bitPattern: random))
            values.append(Double(Int64(bitPattern: random) % 1_000_000_000_000_000) / 10_000_000_000)
            values.append(Double(random % 1_000_000_000_000) / 1e6 * (random & 1 == 0 ? 1 : -1))
            values.append(99_990 + Double(random % 200_000_000_000) / 1e10)
        }
        for value in values {
            let expected = Array(CanonicalJSON.floatText(value).utf8)
            #expect(try CanonicalJSON.encode(.float(value)) == expected, "\(value.bitPattern)")
        }
    }

    @Test("Integers print exactly at every width, with the sign")
    func integers() throws {
        var values: [Int] = [0, 1, -1, Int.max, Int.min, Int.max - 1, Int.min + 1]
        var power = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -(power - 1), -power, -(power + 1)]
        }
        for value in values {
            #expect(try CanonicalJSON.encode(.integer(JSONInteger(value))) == Array(String(value).utf8), "\(value)")
        }
    }

    @Test("Objects: sorted, unsorted, prefix keys and escaped keys come out in code point order")
    func objectOrder() throws {
        let cases: [(JSONObject, String)] = [
            (["a": 1, "b": 2, "c": 3], #"{"a":1,"b":2,"c":3}"#),
            (["b": 1, "a": 2], #"{"a":2,"b":1}"#),
            (["a": 1, "c": 2, "b": 3], #"{"a":1,"b":3,"c":2}"#),
            (["ab": 1, "a": 2], #"{"a":2,"ab":1}"#),
            (["a": 1, "ab": 2], #"{"a":1,"ab":2}"#),
            (["a\"": 1, "a": 2, "a!": 3], #"{"a":2,"a!":3,"a\"":1}"#),
            (["\u{FF01}": 1, "\u{1F600}": 2, "z": 3], "{\"z\":3,\"\u{FF01}\":1,\"\u{1F600}\":2}"),
            (["": 1, "\u{0}": 2], #"{"":1,"\u0000":2}"#),
            ([:], "{}"),
        ]
        for (object, expected) in cases {
            #expect(try CanonicalJSON.encode(.object(object)) == Array(expected.utf8), "\(expected)")
        }
    }

    @Test("A pre-image several times the writer's initial buffer grows intact", arguments: [1, 12, 60])
    func largePreimage(steps: Int) throws {
        var builder = RunBuilder(name: "large \u{5317}\u{4EAC}").status(.completed)
        for index in 0..<steps {
            builder = builder.addStep(
                StepBuilder(provider: "p", model: "m")
                    .prompt("step \(index): caf\u{E9} cafe\u{301} \"quoted\"\n")
                    .params([
                        "index": .integer(JSONInteger(index)), "scale": .float(0.1 * Double(index)),
                        "tags": ["a", "b"],
                    ])
                    .asset(url: "https://example.test/\(index).png", mediaType: "image/png")
                    .build()
            )
        }
        let manifest = try Manifest.from(run: builder.build())
        let preimage = try manifest.hashPreimage()
        #expect(preimage == (try CanonicalJSON.encode(manifest.hashPayload())))
        #expect(try manifest.computeCanonicalHash() == CanonicalJSON.sha256Hex(ofBytes: preimage))
        if steps == 60 { #expect(preimage.count > 4096) }
    }

    @Test("Media types: the ASCII byte matcher agrees with the Unicode scalar matcher")
    func mediaTypeShapes() {
        let pieces = ["a", "Z", "0", "/", "+", ".", "-", "_", "\n", " ", "*", "\u{E9}", "\u{663}"]
        var generator = SeededGenerator(seed: 0x313E)
        var matched = 0
        for _ in 0..<50_000 {
            var text = ""
            for _ in 0..<Int(generator.next() % 9) { text += pieces[Int(generator.next() % UInt64(pieces.count))] }
            let expected = isMediaTypeShapedByScalars(text)
            #expect(isMediaTypeShaped(text) == expected, "\(Array(text.utf8))")
            if expected { matched += 1 }
        }
        for text in ["image/png", "image/png\n", "video/mp4+x", "a/b", "/png", "image/", "image+x/png", "a/b/c", ""] {
            #expect(isMediaTypeShaped(text) == isMediaTypeShapedByScalars(text), "\(text)")
        }
        #expect(matched > 100)
    }

    @Test("The schema version is matched on its bytes exactly as by raw value")
    func schemaVersionBytes() throws {
        let texts = ["1.0", "1.3", "1.5", "1.6", "1.7", "1.", "1.55", "2.5", " 1.5", "1.5 ", "", "1,5", "\u{661}.5"]
        for text in texts {
            var manifest = try Manifest.from(run: Run(name: "v", status: .completed))
            manifest.schemaVersion = text
            #expect(manifest.schemaVersionValue == SchemaVersion(rawValue: text), "\(text)")
        }
    }

    @Test("A sha256 is valid only as 64 lowercase hex digits, whatever byte is wrong and where")
    func sha256Validity() {
        let valid = Array("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".utf8)
        #expect(isValidSHA256(String(decoding: valid, as: UTF8.self)))
        var wrong: [String] = []
        for index in valid.indices {
            for byte in UInt8.min...UInt8.max {
                var bytes = valid
                bytes[index] = byte
                let expected = (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
                if bytes.withUnsafeBufferPointer({ isValidSHA256(utf8: $0) }) != expected {
                    wrong.append("\(index):\(byte)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(20))")
        #expect(!isValidSHA256(String(decoding: valid.dropLast(), as: UTF8.self)))
        #expect(!isValidSHA256(String(decoding: valid + [0x30], as: UTF8.self)))
        #expect(!isValidSHA256(nil))
    }
    @Test("Objects: written sorted whether their entries come in order, out of order or repeated")
    func objectOrders() throws {
        let keys = ["a", "b", "ba", "\u{E9}", "\u{1F989}", "z", "_", "A"]
        let sorted = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let expected = "{" + sorted.map { "\"\($0)\":\"\($0)\"" }.joined(separator: ",") + "}"
        var generator = SystemRandomNumberGenerator()
        for round in 0..<50 {
            let order = round == 0 ? sorted : keys.shuffled(using: &generator)
            let pairs = order.map { ($0, JSONValue.string($0)) }
            for object in [JSONObject(pairs), JSONObject(codePointOrdered: pairs)] {
                #expect(try CanonicalJSON.string(.object(object)) == expected, "\(order)")
            }
        }
        // A repeated key keeps its last value at its first position, through either initializer.
        let repeated: [(String, JSONValue)] = [("b", 1), ("a", 2), ("b", 3)]
        #expect(JSONObject(codePointOrdered: repeated) == JSONObject(repeated))
        #expect(try CanonicalJSON.string(.object(JSONObject(codePointOrdered: repeated))) == #"{"a":2,"b":3}"#)
    }

    @Test("Millisecond timestamps match Foundation's ISO 8601 formatter, truncating microseconds")
    func millisecondTimestamps() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        #expect(Timestamp.millisecondText(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(
            Timestamp.millisecondText(Date(timeIntervalSince1970: 1_000_000_000.9996)) == "2001-09-09T01:46:40.999Z"
        )
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            // From 1970 to 2100, 0.4 ms past a whole millisecond: truncating and rounding agree there.
            let milliseconds = Double(UInt64.random(in: 0...4_102_444_800_000, using: &generator))
            let date = Date(timeIntervalSince1970: (milliseconds + 0.4) / 1_000)
            #expect(Timestamp.millisecondText(date) == formatter.string(from: date), "\(milliseconds)")
        }
    }
}
