/// Why a string is not a valid digest.
///
/// The error names the problem (`code`) and carries the rejected input. Its `description` shows the input
/// with control characters escaped, so a hostile string cannot corrupt a terminal or a log line.
public struct DigestError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The kind of problem found in a digest string.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short, stable identifier in snake_case, such as `unknown_algorithm`.
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The string was empty.
        public static let empty = Code("empty")
        /// The string has no `:` between algorithm and hex.
        public static let missingSeparator = Code("missing_separator")
        /// The algorithm is not `sha256` or `blake2b-256`.
        public static let unknownAlgorithm = Code("unknown_algorithm")
        /// The hex part does not have exactly 64 characters.
        public static let wrongLength = Code("wrong_length")
        /// The hex part has uppercase letters (only lowercase hex is valid).
        public static let uppercase = Code("uppercase")
        /// The string contains a space, tab, newline or other whitespace.
        public static let whitespace = Code("whitespace")
        /// The string contains a path separator (`/` or `\`).
        public static let pathSeparator = Code("path_separator")
        /// The string contains `..`.
        public static let dotDot = Code("dot_dot")
        /// The string contains a NUL byte.
        public static let nul = Code("nul")
        /// The string contains another control character or non-ASCII character.
        public static let invalidCharacter = Code("invalid_character")
        /// The hex part contains a character outside `0-9a-f`.
        public static let notHex = Code("not_hex")

        /// The identifier.
        public var description: String { rawValue }
    }

    /// What is wrong with the input.
    public var code: Code
    /// The rejected input, as given.
    public var input: String

    /// Creates an error for `input` with `code`.
    package init(code: Code, input: String) {
        self.code = code
        self.input = input
    }

    /// A one-line explanation naming the problem and the (escaped) input.
    public var description: String {
        let shown = Self.escape(input)
        switch code {
        case .empty: return "invalid digest: empty string"
        case .missingSeparator: return "invalid digest \"\(shown)\": expected ALGORITHM:HEX (missing ':')"
        case .unknownAlgorithm:
            return "invalid digest \"\(shown)\": unknown algorithm (expected sha256 or blake2b-256)"
        case .wrongLength: return "invalid digest \"\(shown)\": the hex part must have exactly 64 characters"
        case .uppercase: return "invalid digest \"\(shown)\": hex must be lowercase"
        case .whitespace: return "invalid digest \"\(shown)\": contains whitespace"
        case .pathSeparator: return "invalid digest \"\(shown)\": contains a path separator"
        case .dotDot: return "invalid digest \"\(shown)\": contains '..'"
        case .nul: return "invalid digest \"\(shown)\": contains a NUL byte"
        case .invalidCharacter: return "invalid digest \"\(shown)\": contains a control or non-ASCII character"
        case .notHex: return "invalid digest \"\(shown)\": the hex part has a character outside 0-9a-f"
        default: return "invalid digest \"\(shown)\": \(code.rawValue)"
        }
    }

    /// `text` with control and non-ASCII scalars written as `\u{…}`, cut to 100 characters.
    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(100) {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value > 0x7E {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        if text.unicodeScalars.count > 100 { result += "…" }
        return result
    }
}
