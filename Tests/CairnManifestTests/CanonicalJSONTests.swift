import Foundation
import Testing

@testable import CairnManifest

@Suite(.timeLimit(.minutes(15)))
struct CanonicalJSONTests {
    @Test("Float rounding and printing match genblaze on 3,000+ doubles")
    func floatsMatchGenblazeVectors() throws {
        let text = String(decoding: try readBytes(specVectorsRoot + "/canonical-json-floats.tsv"), as: UTF8.self)
        var checked = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "\t")
            try #require(parts.count == 2)
            let value = try #require(Double(String(parts[0])))
            #expect(CanonicalJSON.floatText(value) == String(parts[1]), "input \(parts[0])")
            checked += 1
        }
        #expect(checked > 3000)
    }

    @Test("Reader + encoder match genblaze on unicode, escapes, numbers and duplicates")
    func valuesMatchGenblazeVectors() throws {
        let text = String(decoding: try readBytes(specVectorsRoot + "/canonical-json-values.jsonl"), as: UTF8.self)
        for line in text.split(separator: "\n") {
            let record = try JSONReader.parse(Array(line.utf8)).objectValue
            let input = try #require(record?["input"]?.stringValue)
            let expected = try #require(record?["canonical"]?.stringValue)
            let value = try JSONReader.parse(Array(input.utf8))
            let encoded = try CanonicalJSON.encode(value)
            #expect(encoded == Array(expected.utf8), "input \(input)")
        }
    }

    @Test("Every genblaze pre-image is a fixed point of parse + encode")
    func payloadsAreFixedPoints() throws {
        let folder = genblazeVectorsRoot + "/payloads"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".txt") }
        #expect(names.count >= 15)
        for name in names {
            let bytes = try readBytes(folder + "/" + name)
            let encoded = try CanonicalJSON.encode(try JSONReader.parse(bytes))
            #expect(encoded == bytes, "\(name)")
        }
    }

    @Test("Depth: a value at depth 100 is fine, at 101 it is a typed error")
    func depthLimit() throws {
        var ok: JSONValue = 1
        for _ in 0..<100 { ok = .array([ok]) }
        // The innermost scalar sits at depth 100.
        _ = try CanonicalJSON.encode(ok)
        let tooDeep: JSONValue = .array([ok])
        let error = #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.encode(tooDeep) }
        #expect(error?.code == .tooDeep)
        var emptyAt100: JSONValue = []
        for _ in 0..<100 { emptyAt100 = .array([emptyAt100]) }
        // An empty container at depth 100 has no value below it.
        #expect(try CanonicalJSON.encode(emptyAt100).count == 202)
    }

    @Test("An unpaired surrogate fails at encoding, not at reading")
    func unpairedSurrogate() throws {
        let value = try JSONReader.parse(Array(#"{"p":"a\ud800b"}"#.utf8))
        #expect(value.objectValue?["p"] == .unpairedSurrogateString([0x61, 0xD800, 0x62]))
        let error = #expect(throws: CanonicalJSONError.self) { try CanonicalJSON.encode(value) }
        #expect(error?.code == .unencodableString)
    }

    @Test("NFC applies to values, never to keys; keys sort by code point")
    func keysAndValues() throws {
        let object: JSONValue = ["e\u{301}": "e\u{301}", "\u{E9}": "x", "\u{FF01}": 1, "\u{1F600}": 2]
        let text = try CanonicalJSON.string(object)
        #expect(
            Array(text.utf8) == Array("{\"e\u{301}\":\"\u{E9}\",\"\u{E9}\":\"x\",\"\u{FF01}\":1,\"\u{1F600}\":2}".utf8)
        )
    }

    @Test("SHA-256 of the d_basic pre-image")
    func basicHash() throws {
        let bytes = try readBytes(genblazeVectorsRoot + "/payloads/d_basic.txt")
        let hex = try CanonicalJSON.sha256Hex(try JSONReader.parse(bytes))
        #expect(hex == "5b89723fcbd438cfaff6ba458d297272cde18cdb7c038a4d668df532778a70f6")
    }
}
