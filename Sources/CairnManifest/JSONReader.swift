/// Why a JSON text could not be read, and where.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The text starts with a UTF-8 byte order mark (Python's `json.loads` refuses it).
        public static let byteOrderMark = Code("byte_order_mark")
        /// The bytes are not strict UTF-8.
        public static let invalidUTF8 = Code("invalid_utf8")
        /// A value was expected here (also: empty input).
        public static let expectedValue = Code("expected_value")
        /// The text does not follow JSON syntax here.
        public static let invalidSyntax = Code("invalid_syntax")
        /// A string was not closed before the end of the input.
        public static let unterminatedString = Code("unterminated_string")
        /// A raw control character (U+0000 to U+001F) appears inside a string.
        public static let controlCharacterInString = Code("control_character_in_string")
        /// A backslash escape is not one of JSON's.
        public static let invalidEscape = Code("invalid_escape")
        /// An integer has more than 4300 digits (Python's limit for converting text to `int`).
        public static let integerTooLong = Code("integer_too_long")
        /// Objects and arrays nest deeper than the reader's limit.
        public static let tooDeep = Code("too_deep")
        /// An object key contains an unpaired surrogate escape (Cairn cannot keep such a key).
        public static let unpairedSurrogateInKey = Code("unpaired_surrogate_in_key")
        /// Data follows the first complete value.
        public static let extraData = Code("extra_data")

        /// The code's name.
        public var description: String { rawValue }
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
