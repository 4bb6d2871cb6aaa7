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
        if let result = try bytes.withContiguousStorageIfAvailable({ buffer in
            var parser = Parser(buffer: buffer, maxDepth: maxDepth)
            return try parser.parseDocument()
        }) {
            return result
        }
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in
            var parser = Parser(buffer: buffer, maxDepth: maxDepth)
            return try parser.parseDocument()
        }
    }

    /// Parses one JSON value from a string.
    ///
    /// - Throws: ``JSONReadError``.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

private struct Parser {
    let buffer: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    /// Open containers, innermost last: whether it is an object, and where its contents start on `values` /
    /// `entries`. Contents of every open container share these two stacks, so a container is built once, at its
    /// exact size, when it closes.
    var frames: [(isObject: Bool, start: Int)] = []
    var values: [JSONValue] = []
    var entries: [JSONObject.Element] = []
    /// ``keyHash(_:)`` of each key in `entries`, computed from the input bytes.
    var entryHashes: [UInt32] = []
    var pendingKeys: [(key: String, hash: UInt32)] = []
    /// Where the body of the last string read starts and ends, and whether it had escapes.
    var lastString: (start: Int, end: Int, escaped: Bool) = (0, 0, false)

    func fail(_ code: JSONReadError.Code, _ reason: String, at offset: Int? = nil) -> JSONReadError {
        let offset = min(offset ?? position, buffer.count)
        var line = 1
        var lineStart = 0
        for index in 0..<offset where buffer[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return JSONReadError(code: code, offset: offset, line: line, column: offset - lineStart + 1, reason: reason)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < buffer.count {
            switch buffer[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func parseDocument() throws -> JSONValue {
        if buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF {
            throw fail(.byteOrderMark, "unexpected UTF-8 byte order mark", at: 0)
        }
        values.reserveCapacity(64)
        entries.reserveCapacity(64)
        entryHashes.reserveCapacity(64)
        var value: JSONValue
        parsing: while true {
            // Parse one value (or open a container).
            skipWhitespace()
            guard position < buffer.count else { throw fail(.expectedValue, "expecting value") }
            let byte = buffer[position]
            switch byte {
            case UInt8(ascii: "{"):
                guard frames.count < maxDepth else { throw fail(.tooDeep, "nesting deeper than \(maxDepth)") }
                position += 1
                skipWhitespace()
                if position < buffer.count && buffer[position] == UInt8(ascii: "}") {
                    position += 1
                    value = .object(JSONObject())
                } else {
                    pendingKeys.append(try parseKeyAndColon())
                    frames.append((true, entries.count))
                    continue parsing
                }
            case UInt8(ascii: "["):
                guard frames.count < maxDepth else { throw fail(.tooDeep, "nesting deeper than \(maxDepth)") }
                position += 1
                skipWhitespace()
                if position < buffer.count && buffer[position] == UInt8(ascii: "]") {
                    position += 1
                    value = .array([])
                } else {
                    frames.append((false, values.count))
                    continue parsing
                }
            default:
                value = try parseScalar()
            }
            // Hand the finished value to the enclosing containers, closing as many as end here.
            while true {
                guard let frame = frames.last else {
                    skipWhitespace()
                    if position != buffer.count { throw fail(.extraData, "extra data after the value") }
                    return value
                }
                skipWhitespace()
                let next: UInt8? = position < buffer.count ? buffer[position] : nil
                if frame.isObject {
                    let pending = pendingKeys.removeLast()
                    entries.append((pending.key, value))
                    entryHashes.append(pending.hash)
                    if next == UInt8(ascii: ",") {
                        position += 1
                        skipWhitespace()
                        pendingKeys.append(try parseKeyAndColon())
                        continue parsing
                    } else if next == UInt8(ascii: "}") {
                        position += 1
                        frames.removeLast()
                        value = .object(
                            JSONObject(parsedEntries: entries[frame.start...], keyHashes: entryHashes[frame.start...])
                        )
                        entries.removeSubrange(frame.start...)
                        entryHashes.removeSubrange(frame.start...)
                    } else {
                        throw fail(.invalidSyntax, "expecting ',' delimiter or '}'")
                    }
                } else {
                    values.append(value)
                    if next == UInt8(ascii: ",") {
                        position += 1
                        continue parsing
                    } else if next == UInt8(ascii: "]") {
                        position += 1
                        frames.removeLast()
                        value = .array(Array(values[frame.start...]))
                        values.removeSubrange(frame.start...)
                    } else {
                        throw fail(.invalidSyntax, "expecting ',' delimiter or ']'")
                    }
                }
            }
        }
    }

    /// Parses `"key"` then `:` (whitespace allowed around the colon); returns the key and its ``keyHash(_:)``.
    mutating func parseKeyAndColon() throws -> (key: String, hash: UInt32) {
        guard position < buffer.count, buffer[position] == UInt8(ascii: "\"") else {
            throw fail(.invalidSyntax, "expecting property name enclosed in double quotes")
        }
        let start = position
        let key: String
        switch try parseString() {
        case .string(let text): key = text
        default: throw fail(.unpairedSurrogateInKey, "object key contains an unpaired surrogate escape", at: start)
        }
        skipWhitespace()
        guard position < buffer.count, buffer[position] == UInt8(ascii: ":") else {
            throw fail(.invalidSyntax, "expecting ':' delimiter")
        }
        position += 1
        if lastString.escaped { return (key, keyHash(key)) }
        return (key, keyHash(bytes: UnsafeBufferPointer(rebasing: buffer[lastString.start..<lastString.end])))
    }

    mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= buffer.count else { return false }
        let pointer = literal.utf8Start
        for index in 0..<count where buffer[position + index] != pointer[index] { return false }
        position += count
        return true
    }

    mutating func parseScalar() throws -> JSONValue {
        switch buffer[position] {
        case UInt8(ascii: "\""):
            return try parseString()
        case UInt8(ascii: "t"):
            if matchLiteral("true") { return .bool(true) }
        case UInt8(ascii: "f"):
            if matchLiteral("false") { return .bool(false) }
        case UInt8(ascii: "n"):
            if matchLiteral("null") { return .null }
        case UInt8(ascii: "N"):
            if matchLiteral("NaN") { return .float(.nan) }
        case UInt8(ascii: "I"):
            if matchLiteral("Infinity") { return .float(.infinity) }
        case UInt8(ascii: "-"):
            if matchLiteral("-Infinity") { return .float(-.infinity) }
            return try parseNumber()
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            break
        }
        throw fail(.expectedValue, "expecting value")
    }

    @inline(__always)
    func isDigit(_ index: Int) -> Bool {
        index < buffer.count && buffer[index] >= 0x30 && buffer[index] <= 0x39
    }

    /// Python's number pattern: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    mutating func parseNumber() throws -> JSONValue {
        let start = position
        var index = position
        var negative = false
        if buffer[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard isDigit(index) else { throw fail(.expectedValue, "expecting value", at: start) }
        let digitsStart = index
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        let digitsEnd = index
        var isFloat = false
        if index < buffer.count && buffer[index] == UInt8(ascii: ".") && isDigit(index + 1) {
            isFloat = true
            index += 1
            while isDigit(index) { index += 1 }
        }
        if index < buffer.count && (buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E")) {
            var exponentIndex = index + 1
            if exponentIndex < buffer.count
                && (buffer[exponentIndex] == UInt8(ascii: "+") || buffer[exponentIndex] == UInt8(ascii: "-"))
            {
                exponentIndex += 1
            }
            if isDigit(exponentIndex) {
                isFloat = true
                index = exponentIndex
                while isDigit(index) { index += 1 }
            }
        }
        position = index
        if isFloat {
            let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<index]), as: UTF8.self)
            guard let value = Double(text) else { throw fail(.invalidSyntax, "malformed number", at: start) }
            return .float(value)
        }
        let digitCount = digitsEnd - digitsStart
        if digitCount > 4300 {
            throw fail(
                .integerTooLong,
                "integer has \(digitCount) digits, more than Python's limit of 4300",
                at: start
            )
        }
        if digitCount <= 18 {
            var value = 0
            for offset in digitsStart..<digitsEnd { value = value &* 10 &+ Int(buffer[offset] &- 0x30) }
            return .integer(JSONInteger(negative ? -value : value))
        }
        let digits = Array(UnsafeBufferPointer(rebasing: buffer[digitsStart..<digitsEnd]))
        return .integer(JSONInteger(negative: negative, digits: digits[...]))
    }

    mutating func parseString() throws -> JSONValue {
        let quote = position
        position += 1
        let contentStart = position
        var hasEscape = false
        var hasNonASCII = false
        while true {
            guard position < buffer.count else { throw fail(.unterminatedString, "unterminated string", at: quote) }
            let byte = buffer[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscape = true
                position += 2
                continue
            }
            if byte < 0x20 { throw fail(.controlCharacterInString, "invalid control character in string") }
            if byte >= 0x80 { hasNonASCII = true }
            position += 1
        }
        let contentEnd = position
        position += 1
        lastString = (contentStart, contentEnd, hasEscape)
        let raw = UnsafeBufferPointer(rebasing: buffer[contentStart..<contentEnd])
        if hasNonASCII {
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw fail(.invalidUTF8, "string is not valid UTF-8", at: contentStart)
            }
            if !hasEscape { return .string(text) }
        } else if !hasEscape {
            return .string(String(decoding: raw, as: UTF8.self))
        }
        return try decodeEscapes(raw, offset: contentStart)
    }

    /// Decodes a validated string body that contains escapes.
    func decodeEscapes(_ raw: UnsafeBufferPointer<UInt8>, offset: Int) throws -> JSONValue {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var unpaired = false
        var index = 0
        func hex4(_ at: Int) -> UInt16? {
            guard at + 4 <= raw.count else { return nil }
            var value: UInt16 = 0
            for step in 0..<4 {
                let byte = raw[at + step]
                let digit: UInt16
                switch byte {
                case 0x30...0x39: digit = UInt16(byte - 0x30)
                case 0x41...0x46: digit = UInt16(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt16(byte - 0x61 + 10)
                default: return nil
                }
                value = value << 4 | digit
            }
            return value
        }
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < raw.count else {
                throw fail(.invalidEscape, "invalid \\escape", at: offset + index)
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex4(index) else {
                    throw fail(.invalidEscape, "invalid \\uXXXX escape", at: offset + index - 2)
                }
                index += 4
                var scalar = UInt32(unit)
                if unit >= 0xD800 && unit <= 0xDBFF && index + 6 <= raw.count && raw[index] == UInt8(ascii: "\\")
                    && raw[index + 1] == UInt8(ascii: "u"), let low = hex4(index + 2), low >= 0xDC00, low <= 0xDFFF
                {
                    scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    index += 6
                } else if unit >= 0xD800 && unit <= 0xDFFF {
                    unpaired = true
                }
                appendWTF8(scalar, to: &out)
            default:
                throw fail(.invalidEscape, "invalid \\escape", at: offset + index - 2)
            }
        }
        if !unpaired {
            return .string(String(decoding: out, as: UTF8.self))
        }
        return .unpairedSurrogateString(utf16FromWTF8(out))
    }
}

/// Appends `scalar` (which may be a lone surrogate) as UTF-8 / WTF-8.
private func appendWTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (scalar >> 18)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}

/// Converts WTF-8 (UTF-8 that may hold surrogates) to UTF-16 code units.
private func utf16FromWTF8(_ bytes: [UInt8]) -> [UInt16] {
    var units: [UInt16] = []
    units.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
        let lead = bytes[index]
        var scalar: UInt32
        var length: Int
        switch lead {
        case 0..<0x80:
            scalar = UInt32(lead)
            length = 1
        case 0xC0..<0xE0:
            scalar = UInt32(lead & 0x1F)
            length = 2
        case 0xE0..<0xF0:
            scalar = UInt32(lead & 0x0F)
            length = 3
        default:
            scalar = UInt32(lead & 0x07)
            length = 4
        }
        for step in 1..<max(length, 1) where index + step < bytes.count {
            scalar = scalar << 6 | UInt32(bytes[index + step] & 0x3F)
        }
        index += length
        if scalar >= 0x10000 {
            let value = scalar - 0x10000
            units.append(UInt16(0xD800 + (value >> 10)))
            units.append(UInt16(0xDC00 + (value & 0x3FF)))
        } else {
            units.append(UInt16(scalar))
        }
    }
    return units
}
