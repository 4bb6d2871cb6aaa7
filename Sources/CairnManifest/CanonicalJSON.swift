internal import Crypto
import Foundation

/// Why a value has no canonical text.
public struct CanonicalJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// A value sits deeper than ``CanonicalJSON/maxDepth`` (genblaze's ManifestError).
        public static let tooDeep = Code("too_deep")
        /// A string holds an unpaired surrogate and cannot be encoded as UTF-8 (genblaze's UnicodeEncodeError).
        public static let unencodableString = Code("unencodable_string")

        /// The code's name.
        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What was wrong, in words.
    public var reason: String

    /// The reason.
    public var description: String { reason }
}

/// genblaze's canonical JSON text (`genblaze_core.canonical.json.canonical_json`), byte for byte.
///
/// - Objects: entries sorted by key in Unicode code point order; keys are not normalized.
/// - Separators `,` and `:`, no whitespace, no trailing newline, raw UTF-8 (only `"`, `\` and U+0000 to U+001F are
///   escaped, as Python's `json.dumps(ensure_ascii=False)` does).
/// - String values are NFC-normalized.
/// - Integers are exact decimal. Floats are rounded to 10 decimal places (half to even on the exact binary value)
///   and printed as Python's `repr`; NaN and ±infinity become `null`.
/// - A value deeper than ``maxDepth`` (the root is depth 0) is an error.
public enum CanonicalJSON {
    /// The deepest level a value may sit at (genblaze's `_MAX_NORMALIZE_DEPTH`).
    public static let maxDepth = 100

    /// The canonical text of `value` as UTF-8 bytes.
    ///
    /// - Throws: ``CanonicalJSONError`` for nesting deeper than ``maxDepth`` or an unpaired surrogate.
    public static func encode(_ value: JSONValue) throws -> [UInt8] {
        var writer = CanonicalWriter(capacity: 256)
        try writer.write(value, depth: 0)
        return writer.bytes
    }

    /// The canonical text of `value` as a string.
    ///
    /// - Throws: ``CanonicalJSONError``.
    public static func string(_ value: JSONValue) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// Lowercase hex SHA-256 of the canonical text of `value` (genblaze's `canonical_hash`).
    ///
    /// - Throws: ``CanonicalJSONError``.
    package static func sha256Hex(_ value: JSONValue) throws -> String {
        var writer = CanonicalWriter(capacity: 256)
        try writer.write(value, depth: 0)
        return writer.withBytes(sha256Hex(ofBuffer:))
    }

    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(ofBytes bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes(sha256Hex(ofBuffer:))
    }

    /// Lowercase hex SHA-256 of the bytes in `buffer`.
    static func sha256Hex(ofBuffer buffer: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: buffer)
        let digest = hasher.finalize()
        return String(unsafeUninitializedCapacity: 64) { hex in
            digest.withUnsafeBytes { bytes in
                for (index, byte) in bytes.enumerated() {
                    hex[2 * index] = TextScan.hexDigit(byte >> 4)
                    hex[2 * index + 1] = TextScan.hexDigit(byte & 0x0F)
                }
            }
            return 64
        }
    }

    /// Python's `round(value, 10)`: half to even at the 10th decimal on the exact binary value, sign kept.
    package static func roundToTenDecimals(_ value: Double) -> Double {
        FloatFormatting.roundToTenDecimals(value)
    }

    /// Python's `repr` of a finite double (`0.1`, `7.0`, `1e-05`, `1e+16`, `-0.0`).
    package static func pythonRepr(_ value: Double) -> String {
        FloatFormatting.pythonRepr(value)
    }

    /// The canonical text of a float: `null` for NaN and ±infinity, else Python's `repr` of `round(value, 10)`.
    package static func floatText(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return FloatFormatting.pythonRepr(FloatFormatting.roundToTenDecimals(value))
    }

    /// NFC of `text` (Unicode canonical composition), skipping the work when every scalar is below U+0300.
    package static func nfc(_ text: String) -> String {
        var needsWork = false
        for byte in text.utf8 where byte >= 0xCC {
            needsWork = true
            break
        }
        guard needsWork else { return text }
        return text.precomposedStringWithCanonicalMapping
    }
}
