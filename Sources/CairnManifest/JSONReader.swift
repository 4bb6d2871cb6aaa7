/// Why a JSON text could not be read, and where.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// The text starts with a UTF-8 byte order mark (Python's `json.loads` refuses it).
        case byteOrderMark
        /// The bytes are not strict UTF-8.
        case invalidUTF8
        /// A value was expected here (also: empty input).
        case expectedValue
        /// The text does not follow JSON syntax here.
        case invalidSyntax
        /// A string was not closed before the end of the input.
        case unterminatedString
        /// A raw control character (U+0000 to U+001F) appears inside a string.
        case controlCharacterInString
        /// A backslash escape is not one of JSON's.
        case invalidEscape
        /// An integer has more than 4300 digits (Python's limit for converting text to `int`).
        case integerTooLong
        /// Objects and arrays nest deeper than the reader's limit.
        case tooDeep
        /// An object key contains an unpaired surrogate escape (Cairn cannot keep such a key).
        case unpairedSurrogateInKey
        /// Data follows the first complete value.
        case extraData
    }

    /// The kind of failure.
    public var code: Code
    /// Byte offset of the failure in the input.
    public var offset: Int
    /// 1-based line of the failure.
    public var line: Int
    /// 1-based column (in bytes) of the failure.
    public var column: Int
    /// What was wrong, in words.
    public var reason: String

    /// "invalid JSON at line L, column C (byte O): reason".
    public var description: String {
        "invalid JSON at line \(line), column \(column) (byte \(offset)): \(reason)"
    }
}

/// A strict JSON reader with Python `json.loads` semantics, as genblaze reads manifests.
///
/// - Numbers keep their kind by lexeme (``JSONValue/integer(_:)`` vs ``JSONValue/float(_:)``); integers are exact at
///   any size up to 4300 digits; floats overflow to ±infinity and underflow to ±0.0.
/// - The last occurrence of a repeated key wins; keys are compared by Unicode scalars.
/// - `NaN`, `Infinity` and `-Infinity` are accepted.
/// - `\u` escapes are decoded; a surrogate pair becomes one scalar, and a string with an unpaired surrogate becomes
///   ``JSONValue/unpairedSurrogateString(_:)``.
/// - Input must be strict UTF-8 with no byte order mark; raw control characters in strings are errors.
/// - Nesting is limited (``defaultMaxDepth``) and checked without recursion, so hostile input never overflows the
///   stack.
public enum JSONReader {
    /// The default nesting limit, about where Python's own recursion limit stops `json.loads`.
    public static let defaultMaxDepth = 1000

    /// Parses one JSON value from `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: UTF-8 JSON text.
    ///   - maxDepth: The deepest nesting of objects and arrays accepted.
    /// - Returns: The value.
    /// - Throws: ``JSONReadError`` naming the position and reason.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        try JSONTape.parse(bytes, maxDepth: maxDepth) { tape in tape.value(0) }
    }

    /// Parses one JSON value from a string.
    ///
    /// - Throws: ``JSONReadError``.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}
