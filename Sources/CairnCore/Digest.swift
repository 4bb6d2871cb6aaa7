/// The identity of a run of bytes: an algorithm and its 32-byte hash, written `ALGO:HEX`.
///
/// The text form is `sha256:<64 lowercase hex>` or `blake2b-256:<64 lowercase hex>` (see `spec/digests.md`).
/// Parsing is strict, so a valid digest's hex can be used as a file name: it never contains `/`, `..`,
/// whitespace or NUL. `Codable` uses the text form as a single string.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The hash algorithm.
    public let algorithm: DigestAlgorithm
    /// The hash as 64 lowercase hexadecimal characters.
    public let hex: String

    /// Parses the text form `ALGO:HEX`, strictly.
    ///
    /// - Parameter text: For example `sha256:ba7816bf…`.
    /// - Throws: `DigestError` naming the problem: empty, NUL, whitespace, path separator, `..`,
    ///   other control or non-ASCII character, missing `:`, unknown algorithm, wrong length, uppercase, not hex.
    public init(parsing text: String) throws {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty else { throw DigestError(code: .empty, input: text) }
        // Hostile characters first, so the error names the most dangerous problem (NUL, whitespace,
        // path separator, `..`, other control or non-ASCII), whatever its position.
        var found: UInt8 = 0  // bit i set: order[i] was found
        var previousDot = false
        var nonASCII = false
        for byte in utf8 {
            switch byte {
            case 0: found |= 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C:
                found |= 2
            case UInt8(ascii: "/"), UInt8(ascii: "\\"): found |= 4
            case UInt8(ascii: "."): if previousDot { found |= 8 }
            case 0x01..<0x20, 0x7F: found |= 16
            case 0x80...: nonASCII = true
            default: break
            }
            previousDot = byte == UInt8(ascii: ".")
        }
        if nonASCII {
            // U+0085, U+00A0 and friends are whitespace too; name them as such. One pass over the scalars, after the
            // bytes: checking them again at every non-ASCII byte made a long non-ASCII argument quadratic.
            let isSpace = text.unicodeScalars.contains { $0.value > 0x7F && $0.properties.isWhitespace }
            found |= isSpace ? 2 : 16
        }
        if found != 0 {
            let order: [DigestError.Code] = [.nul, .whitespace, .pathSeparator, .dotDot, .invalidCharacter]
            for (bit, code) in order.enumerated() where found & (1 << bit) != 0 {
                throw DigestError(code: code, input: text)
            }
        }
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else {
            throw DigestError(code: .missingSeparator, input: text)
        }
        let name = String(decoding: utf8[..<colon], as: UTF8.self)
        guard let algorithm = DigestAlgorithm(rawValue: name) else {
            throw DigestError(code: .unknownAlgorithm, input: text)
        }
        let hexBytes = utf8[(colon + 1)...]
        guard hexBytes.count == algorithm.hexCount else { throw DigestError(code: .wrongLength, input: text) }
        var sawUppercase = false
        for byte in hexBytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): break
            case UInt8(ascii: "A")...UInt8(ascii: "F"): sawUppercase = true
            default: throw DigestError(code: .notHex, input: text)
            }
        }
        if sawUppercase { throw DigestError(code: .uppercase, input: text) }
        self.algorithm = algorithm
        self.hex = String(decoding: hexBytes, as: UTF8.self)
    }

    /// Creates a digest from its raw hash bytes.
    ///
    /// - Parameters:
    ///   - algorithm: The algorithm that produced the bytes.
    ///   - bytes: Exactly `algorithm.byteCount` (32) bytes; anything else is a programming error (precondition).
    public init(algorithm: DigestAlgorithm, bytes: some Collection<UInt8>) {
        precondition(bytes.count == algorithm.byteCount, "a \(algorithm.rawValue) digest has 32 bytes")
        self.algorithm = algorithm
        self.hex = Hex.encode(bytes)
    }

    /// Parses `ALGO:HEX`, returning `nil` instead of throwing.
    public init?(_ text: String) {
        guard let parsed = try? Digest(parsing: text) else { return nil }
        self = parsed
    }

    /// The text form, `ALGO:HEX`.
    public var description: String { algorithm.rawValue + ":" + hex }

    /// The 32 raw hash bytes.
    public var bytes: [UInt8] {
        // `hex` was validated at construction, so decoding cannot fail.
        Hex.decode(hex) ?? []
    }

    /// Orders by algorithm name, then by hex (which is the order of the raw bytes).
    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        if lhs.algorithm != rhs.algorithm { return lhs.algorithm.rawValue < rhs.algorithm.rawValue }
        return lhs.hex < rhs.hex
    }

    /// Decodes the text form from a single string value, strictly.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try Digest(parsing: text)
        } catch let error as DigestError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the text form as a single string value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
