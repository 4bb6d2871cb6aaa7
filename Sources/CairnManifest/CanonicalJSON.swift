internal import Crypto
import Foundation

/// Why a value has no canonical text.
public struct CanonicalJSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// A value sits deeper than ``CanonicalJSON/maxDepth`` (genblaze's ManifestError).
        case tooDeep
        /// A string holds an unpaired surrogate and cannot be encoded as UTF-8 (genblaze's UnicodeEncodeError).
        case unencodableString
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
        var writer = CanonicalWriter()
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
    public static func sha256Hex(_ value: JSONValue) throws -> String {
        sha256Hex(ofBytes: try encode(value))
    }

    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(ofBytes bytes: [UInt8]) -> String {
        let digest = SHA256.hash(data: bytes)
        let table: [UInt8] = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(table[Int(byte >> 4)])
            hex.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// Python's `round(value, 10)`: half to even at the 10th decimal on the exact binary value, sign kept.
    public static func roundToTenDecimals(_ value: Double) -> Double {
        FloatFormatting.roundToTenDecimals(value)
    }

    /// Python's `repr` of a finite double (`0.1`, `7.0`, `1e-05`, `1e+16`, `-0.0`).
    public static func pythonRepr(_ value: Double) -> String {
        FloatFormatting.pythonRepr(value)
    }

    /// The canonical text of a float: `null` for NaN and ±infinity, else Python's `repr` of `round(value, 10)`.
    public static func floatText(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return FloatFormatting.pythonRepr(FloatFormatting.roundToTenDecimals(value))
    }

    /// NFC of `text` (Unicode canonical composition), skipping the work when every scalar is below U+0300.
    public static func nfc(_ text: String) -> String {
        var needsWork = false
        for byte in text.utf8 where byte >= 0xCC {
            needsWork = true
            break
        }
        guard needsWork else { return text }
        return text.precomposedStringWithCanonicalMapping
    }
}

struct CanonicalWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    static let tooDeep = CanonicalJSONError(
        code: .tooDeep,
        reason: "canonical normalization exceeded max depth (\(CanonicalJSON.maxDepth)); "
            + "value is nested too deeply to hash safely"
    )

    mutating func write(_ value: JSONValue, depth: Int) throws {
        if depth > CanonicalJSON.maxDepth { throw Self.tooDeep }
        switch value {
        case .null:
            appendASCII("null")
        case .bool(let flag):
            appendASCII(flag ? "true" : "false")
        case .integer(let integer):
            switch integer.storage {
            case .small(let number): appendDecimal(number)
            case .big(let text): appendASCII(text)
            }
        case .float(let number):
            appendASCII(CanonicalJSON.floatText(number))
        case .string(let text):
            writeString(CanonicalJSON.nfc(text))
        case .unpairedSurrogateString:
            throw CanonicalJSONError(
                code: .unencodableString,
                reason: "'utf-8' codec can't encode a string: surrogates not allowed"
            )
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                try write(element, depth: depth + 1)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (key, element) in object.isSortedByCodePoint ? object.entries : object.entriesSortedByCodePoint {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
                try write(element, depth: depth + 1)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `number` in decimal without building a string.
    mutating func appendDecimal(_ number: Int) {
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            repeat {
                digits[19 - count] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[(20 - count)...]))
        }
    }

    mutating func appendASCII(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Writes a quoted string with Python `json.dumps(ensure_ascii=False)` escaping.
    mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case 0x22: appendASCII("\\\"")
                case 0x5C: appendASCII("\\\\")
                case 0x08: appendASCII("\\b")
                case 0x0C: appendASCII("\\f")
                case 0x0A: appendASCII("\\n")
                case 0x0D: appendASCII("\\r")
                case 0x09: appendASCII("\\t")
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: Array("\\u00".utf8))
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// Python float rounding and printing.
enum FloatFormatting {
    /// Python's `round(value, 10)` for finite values (non-finite values are returned unchanged).
    static func roundToTenDecimals(_ value: Double) -> Double {
        guard value.isFinite, value != 0 else { return value }
        let magnitude = value.magnitude
        // value = significand * 2^exponent with an integer significand.
        let exponent = Int(magnitude.exponent) - Double.significandBitCount
        var significand = magnitude.significandBitPattern
        if magnitude.isNormal {
            significand |= 1 << UInt64(Double.significandBitCount)
        }
        let normalizedExponent = magnitude.isNormal ? exponent : Int(Double.leastNormalMagnitude.exponent) - 52
        // An integer value is already exact at 10 decimals.
        if normalizedExponent >= 0 { return value }
        let shift = -normalizedExponent
        // scaled = significand * 10^10 / 2^shift, rounded half to even.
        let product = UInt128(significand) * 10_000_000_000
        let rounded: UInt128
        if shift >= 128 {
            rounded = 0
        } else {
            let quotient = product >> UInt128(shift)
            let remainder = product & ((1 << UInt128(shift)) - 1)
            let half = UInt128(1) << UInt128(shift - 1)
            if remainder > half || (remainder == half && quotient & 1 == 1) {
                rounded = quotient + 1
            } else {
                rounded = quotient
            }
        }
        let result: Double
        if rounded == 0 {
            result = 0
        } else if rounded < (1 << 53) {
            // Both operands are exact, so one IEEE division rounds correctly.
            result = Double(rounded) / 10_000_000_000
        } else {
            result = Double("\(rounded)e-10") ?? Double(rounded) / 10_000_000_000
        }
        return value.sign == .minus ? -result : result
    }

    /// Python's `repr` of a finite double: shortest round-trip digits, fixed notation for exponents -4 to 15.
    static func pythonRepr(_ value: Double) -> String {
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description gives the shortest round-trip digits; reformat them Python's way.
        let text = value.magnitude.description
        var digits: [UInt8] = []
        var pointPosition: Int? = nil
        var exponent = 0
        var utf8 = Array(text.utf8)[...]
        if let eIndex = utf8.firstIndex(of: UInt8(ascii: "e")) {
            exponent = Int(String(decoding: utf8[(eIndex + 1)...], as: UTF8.self)) ?? 0
            utf8 = utf8[..<eIndex]
        }
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else {
                digits.append(byte)
            }
        }
        // Decimal point after `pointPosition` digits, times 10^exponent.
        var decimalPoint = (pointPosition ?? digits.count) + exponent
        // Strip leading zeros.
        while digits.count > 1 && digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            decimalPoint -= 1
        }
        // Strip trailing zeros.
        while digits.count > 1 && digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let scientificExponent = decimalPoint - 1
        var out = value.sign == .minus ? "-" : ""
        if scientificExponent >= -4 && scientificExponent < 16 {
            if decimalPoint <= 0 {
                out += "0." + String(repeating: "0", count: -decimalPoint) + String(decoding: digits, as: UTF8.self)
            } else if decimalPoint >= digits.count {
                out += String(decoding: digits, as: UTF8.self)
                out += String(repeating: "0", count: decimalPoint - digits.count) + ".0"
            } else {
                out += String(decoding: digits[..<decimalPoint], as: UTF8.self) + "."
                out += String(decoding: digits[decimalPoint...], as: UTF8.self)
            }
        } else {
            out += String(UnicodeScalar(digits[0]))
            if digits.count > 1 { out += "." + String(decoding: digits[1...], as: UTF8.self) }
            out += scientificExponent < 0 ? "e-" : "e+"
            let magnitude = abs(scientificExponent)
            out += magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
        }
        return out
    }
}
