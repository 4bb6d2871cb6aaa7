import CairnManifest
import Foundation

/// How `--json` results are printed: one value per line on stdout, keys sorted.
///
/// Two encodings remain, because each is what its verbs have always printed: store and verify results go through
/// `JSONEncoder` (strings as given, Swift's shortest float text), ledger results through the ledger's canonical JSON
/// (spec/canonical-json.md: NFC strings, genblaze's float text), the format of the entries they come from.
enum JSONOutput {
    /// Prints `value` as `JSONEncoder` text with sorted keys and unescaped slashes.
    static func print(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Terminal.print(String(decoding: data, as: UTF8.self))
    }

    /// Prints `value`'s encoding as canonical JSON (sorted keys, compact).
    static func printCanonical(_ value: some Encodable) throws {
        try printCanonical(try jsonValue(value))
    }

    /// Prints `value` as canonical JSON (sorted keys, compact).
    static func printCanonical(_ value: JSONValue) throws {
        Terminal.print(try CanonicalJSON.string(value))
    }

    /// `value`'s encoding as a JSON value (exact for strings and integers, which is all ledger results hold).
    static func jsonValue(_ value: some Encodable) throws -> JSONValue {
        try JSONReader.parse(Array(try JSONEncoder().encode(value)))
    }
}
