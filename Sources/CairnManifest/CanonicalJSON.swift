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

/// A growable byte buffer that writes canonical JSON: raw memory, so that appending a byte is a bounds check and a
/// store (no array uniqueness checks, no retain/release), released when the writer goes away.
struct CanonicalWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 2048) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    static let tooDeep = CanonicalJSONError(
        code: .tooDeep,
        reason: "canonical normalization exceeded max depth (\(CanonicalJSON.maxDepth)); "
            + "value is nested too deeply to hash safely"
    )

    /// The bytes written so far, copied into an array.
    var bytes: [UInt8] { [UInt8](UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with the bytes written so far, without copying them.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    // MARK: Raw appends

    /// Makes room for `extra` more bytes.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(toHold: count + extra) }
    }

    @inline(never)
    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ first: UInt8, _ second: UInt8) {
        reserve(2)
        base[count] = first
        base[count + 1] = second
        count += 2
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafePointer<UInt8>, count length: Int) {
        reserve(length)
        (base + count).update(from: bytes, count: length)
        count += length
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress else { return }
        append(start, count: bytes.count)
    }

    /// Appends the bytes of a literal (ASCII text such as `null`).
    @inline(__always)
    mutating func append(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        reserve(length)
        Self.copyShort(from: text.utf8Start, to: base + count, count: length)
        count += length
    }

    /// Copies `length` bytes with a few (overlapping) word moves instead of a `memmove` call, which costs more than
    /// the copy itself for the short keys and literals of a manifest.
    @inline(__always)
    private static func copyShort(
        from source: UnsafePointer<UInt8>,
        to target: UnsafeMutablePointer<UInt8>,
        count length: Int
    ) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(target)
        if length >= 8 {
            var offset = 0
            while offset + 8 <= length {
                to.storeBytes(
                    of: from.loadUnaligned(fromByteOffset: offset, as: UInt64.self),
                    toByteOffset: offset,
                    as: UInt64.self
                )
                offset += 8
            }
            if offset < length {
                let last = length - 8
                to.storeBytes(
                    of: from.loadUnaligned(fromByteOffset: last, as: UInt64.self),
                    toByteOffset: last,
                    as: UInt64.self
                )
            }
        } else if length >= 4 {
            let last = length - 4
            let head = from.loadUnaligned(as: UInt32.self)
            let tail = from.loadUnaligned(fromByteOffset: last, as: UInt32.self)
            to.storeBytes(of: head, as: UInt32.self)
            to.storeBytes(of: tail, toByteOffset: last, as: UInt32.self)
        } else {
            for offset in 0..<length { target[offset] = source[offset] }
        }
    }

    /// Appends `"key":` for a key written in the source; such keys are plain ASCII and need no escaping.
    @inline(__always)
    mutating func appendKey(_ key: StaticString) {
        let length = key.utf8CodeUnitCount
        assert(
            UnsafeBufferPointer(start: key.utf8Start, count: length).allSatisfy {
                $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C
            },
            "model keys are printable ASCII without quotes or backslashes"
        )
        reserve(length + 3)
        base[count] = UInt8(ascii: "\"")
        Self.copyShort(from: key.utf8Start, to: base + count + 1, count: length)
        base[count + length + 1] = UInt8(ascii: "\"")
        base[count + length + 2] = UInt8(ascii: ":")
        count += length + 3
    }

    /// Appends `number` in decimal, straight into the buffer.
    mutating func appendDecimal(_ number: Int) {
        reserve(20)
        if number < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        var magnitude = number.magnitude
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        var position = count + digits
        repeat {
            position -= 1
            base[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        count += digits
    }

    // MARK: Values

    mutating func write(_ value: JSONValue, depth: Int) throws {
        if depth > CanonicalJSON.maxDepth { throw Self.tooDeep }
        switch value {
        case .null:
            append("null")
        case .bool(let flag):
            if flag { append("true") } else { append("false") }
        case .integer(let integer):
            write(integer)
        case .float(let number):
            write(number)
        case .string(let text):
            writeValue(text)
        case .unpairedSurrogateString:
            throw CanonicalJSONError(
                code: .unencodableString,
                reason: "'utf-8' codec can't encode a string: surrogates not allowed"
            )
        case .array(let elements):
            append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { append(UInt8(ascii: ",")) }
                first = false
                try write(element, depth: depth + 1)
            }
            append(UInt8(ascii: "]"))
        case .object(let object):
            try write(object, depth: depth)
        }
    }

    /// Writes `object`, which sits at `depth` (already checked), with its entries in code point order of keys.
    ///
    /// Entries are written in their stored order while each key is checked, on the bytes just written, to follow
    /// the previous one; an out-of-order key (or one that needed escaping) rewinds and writes the sorted entries.
    mutating func write(_ object: JSONObject, depth: Int) throws {
        if object.isEmpty {
            append(UInt8(ascii: "{"), UInt8(ascii: "}"))
            return
        }
        let start = count
        append(UInt8(ascii: "{"))
        var inOrder = true
        var previousKey = -1
        var previousLength = 0
        try object.forEachEntry { key, element in
            guard inOrder else { return }
            if previousKey >= 0 { append(UInt8(ascii: ",")) }
            let keyStart = count + 1
            let length = writeKey(key)
            if length < 0 {
                inOrder = false
                return
            }
            if previousKey >= 0 {
                let shared = min(length, previousLength)
                let order = shared == 0 ? 0 : memcmp(base + previousKey, base + keyStart, shared)
                if order > 0 || (order == 0 && previousLength >= length) {
                    inOrder = false
                    return
                }
            }
            previousKey = keyStart
            previousLength = length
            try write(element, depth: depth + 1)
        }
        if !inOrder {
            count = start
            try writeSorted(object, depth: depth)
            return
        }
        append(UInt8(ascii: "}"))
    }

    /// Writes the value at `node` of `tape` exactly as ``write(_:depth:)`` writes the ``JSONValue`` the tape
    /// reads to (``JSONTape/value(_:)``), without building it.
    mutating func write(_ tape: JSONTape, _ node: Int, depth: Int) throws {
        if depth > CanonicalJSON.maxDepth { throw Self.tooDeep }
        switch tape.kind(node) {
        case .null: append("null")
        case .isTrue: append("true")
        case .isFalse: append("false")
        case .integer: write(tape.integer(node))
        case .float, .nan, .infinity, .negativeInfinity: write(tape.double(node))
        case .string:
            if tape.nodes[node].escaped {
                try write(tape.stringValue(node), depth: depth)
            } else {
                writeValue(utf8: tape.body(node))
            }
        case .array:
            append(UInt8(ascii: "["))
            var child = node + 1
            for index in 0..<tape.count(node) {
                if index > 0 { append(UInt8(ascii: ",")) }
                try write(tape, child, depth: depth + 1)
                child = tape.next(after: child)
            }
            append(UInt8(ascii: "]"))
        case .object:
            try writeObject(tape, node, depth: depth)
        }
    }

    /// Writes the object at `node` of `tape`, which sits at `depth` (already checked), as
    /// ``write(_:depth:)-(JSONObject,_)`` writes it.
    ///
    /// Entries whose keys need no unescaping and already increase in code point order (so none repeats) are
    /// written as they stand; any other object is read into a ``JSONObject`` (last duplicate wins) and sorted.
    mutating func writeObject(_ tape: JSONTape, _ node: Int, depth: Int) throws {
        let entries = tape.count(node)
        if entries == 0 {
            append(UInt8(ascii: "{"), UInt8(ascii: "}"))
            return
        }
        let start = count
        append(UInt8(ascii: "{"))
        var previous: UnsafeBufferPointer<UInt8>? = nil
        var key = node + 1
        for index in 0..<entries {
            guard !tape.nodes[key].escaped else { return try rewrite(tape, node, from: start, depth: depth) }
            let bytes = tape.body(key)
            if let previous {
                let shared = min(previous.count, bytes.count)
                let order = shared == 0 ? 0 : memcmp(previous.baseAddress!, bytes.baseAddress!, shared)
                if order > 0 || (order == 0 && previous.count >= bytes.count) {
                    return try rewrite(tape, node, from: start, depth: depth)
                }
            }
            previous = bytes
            if index > 0 { append(UInt8(ascii: ",")) }
            // Unescaped key text holds no quote, backslash or control character: it is written as it stands.
            append(UInt8(ascii: "\""))
            append(bytes)
            append(UInt8(ascii: "\""), UInt8(ascii: ":"))
            try write(tape, key + 1, depth: depth + 1)
            key = tape.next(after: key + 1)
        }
        append(UInt8(ascii: "}"))
    }

    /// Drops what was written from `start` on and writes the object at `node` through a ``JSONObject``.
    @inline(never)
    private mutating func rewrite(_ tape: JSONTape, _ node: Int, from start: Int, depth: Int) throws {
        count = start
        try write(tape.object(node), depth: depth)
    }

    @inline(never)
    private mutating func writeSorted(_ object: JSONObject, depth: Int) throws {
        append(UInt8(ascii: "{"))
        var first = true
        for (key, element) in object.entriesSortedByCodePoint {
            if !first { append(UInt8(ascii: ",")) }
            first = false
            writeKey(key)
            try write(element, depth: depth + 1)
        }
        append(UInt8(ascii: "}"))
    }

    /// Writes an integer in exact decimal.
    @inline(__always)
    mutating func write(_ integer: JSONInteger) {
        switch integer.storage {
        case .small(let number): appendDecimal(number)
        case .big(let text): writeRaw(text)
        }
    }

    /// Writes a float: `null` for NaN and ±infinity, else Python's `repr` of `round(value, 10)`.
    @inline(__always)
    mutating func write(_ number: Double) {
        guard number.isFinite else {
            append("null")
            return
        }
        reserve(FloatFormatting.maxCanonicalLength)
        count += FloatFormatting.writeCanonical(number, to: base + count)
    }

    /// Writes the UTF-8 bytes of `text` unquoted and unescaped (ASCII such as a big integer's digits).
    private mutating func writeRaw(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            var text = text
            text.withUTF8 { append($0) }
        }
    }

    /// Writes an object key and its colon: quoted and escaped, never normalized.
    ///
    /// - Returns: the number of key bytes written between the quotes when the key needed no escaping (they are the
    ///   key's UTF-8 bytes), else -1.
    @discardableResult
    mutating func writeKey(_ text: String) -> Int {
        let length =
            text.utf8.withContiguousStorageIfAvailable { writeQuoted($0) }
            ?? {
                var text = text
                return text.withUTF8 { writeQuoted($0) }
            }()
        append(UInt8(ascii: ":"))
        return length
    }

    /// Writes a string value: NFC-normalized, quoted and escaped. Normalization runs only when the text holds a
    /// scalar from U+0300 on outside ``TextScan/nfcInertRanges`` (text NFC provably leaves alone).
    mutating func writeValue(_ text: String) {
        let written =
            text.utf8.withContiguousStorageIfAvailable { writeValueBytes($0) }
            ?? {
                var text = text
                return text.withUTF8 { writeValueBytes($0) }
            }()
        if !written { writeNormalized(text) }
    }

    /// ``writeValue(_:)`` for a string given as its UTF-8 bytes.
    mutating func writeValue(utf8: UnsafeBufferPointer<UInt8>) {
        if !writeValueBytes(utf8) { writeNormalized(String(decoding: utf8, as: UTF8.self)) }
    }

    /// Writes the string value in `utf8` when NFC cannot change it; returns false (writing nothing) otherwise.
    @inline(__always)
    private mutating func writeValueBytes(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let found = stageQuoted(utf8)
        if found & TextScan.foundNFCCandidate != 0 && !TextScan.isNFCInert(utf8) { return false }
        if found & TextScan.foundEscape != 0 {
            writeEscaped(utf8)
        } else {
            commitQuoted(utf8.count)
        }
        return true
    }

    @inline(never)
    private mutating func writeNormalized(_ text: String) {
        var normalized = text.precomposedStringWithCanonicalMapping
        _ = normalized.withUTF8 { writeQuoted($0) }
    }

    /// Writes `utf8` quoted, with Python `json.dumps(ensure_ascii=False)` escaping.
    ///
    /// - Returns: `utf8.count` when nothing needed escaping, else -1.
    @discardableResult
    private mutating func writeQuoted(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        if stageQuoted(utf8) & TextScan.foundEscape != 0 {
            writeEscaped(utf8)
            return -1
        }
        commitQuoted(utf8.count)
        return utf8.count
    }

    /// Copies `"` and the bytes of `utf8` past the end of the written bytes, eight at a time, testing them as they
    /// pass; ``commitQuoted(_:)`` then keeps the copy, or another write simply overwrites it.
    ///
    /// - Returns: ``TextScan/foundEscape`` and ``TextScan/foundNFCCandidate`` bits for what the bytes hold.
    @inline(__always)
    private mutating func stageQuoted(_ utf8: UnsafeBufferPointer<UInt8>) -> UInt8 {
        let length = utf8.count
        reserve(length + 2)
        base[count] = UInt8(ascii: "\"")
        guard let start = utf8.baseAddress, length > 0 else { return 0 }
        let target = base + count + 1
        if length < 8 {
            var found: UInt8 = 0
            for index in 0..<length {
                let byte = start[index]
                found |= TextScan.classify(byte)
                target[index] = byte
            }
            return found
        }
        let source = UnsafeRawPointer(start)
        let destination = UnsafeMutableRawPointer(target)
        var escape: UInt64 = 0
        var candidate: UInt64 = 0
        var index = 0
        while index + 8 <= length {
            let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            escape |= TextScan.escapeLanes(word)
            candidate |= TextScan.nfcCandidateLanes(word)
            destination.storeBytes(of: word, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        if index < length {
            // The last eight bytes, overlapping bytes already copied.
            let word = source.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
            escape |= TextScan.escapeLanes(word)
            candidate |= TextScan.nfcCandidateLanes(word)
            destination.storeBytes(of: word, toByteOffset: length - 8, as: UInt64.self)
        }
        return (escape != 0 ? TextScan.foundEscape : 0) | (candidate != 0 ? TextScan.foundNFCCandidate : 0)
    }

    /// Keeps a string of `length` bytes that ``stageQuoted(_:)`` copied, and closes its quotes.
    @inline(__always)
    private mutating func commitQuoted(_ length: Int) {
        base[count + length + 1] = UInt8(ascii: "\"")
        count += length + 2
    }

    @inline(never)
    private mutating func writeEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        append(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            if runStart < index { append(UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            runStart = index + 1
            switch byte {
            case 0x22: append(UInt8(ascii: "\\"), UInt8(ascii: "\""))
            case 0x5C: append(UInt8(ascii: "\\"), UInt8(ascii: "\\"))
            case 0x08: append(UInt8(ascii: "\\"), UInt8(ascii: "b"))
            case 0x0C: append(UInt8(ascii: "\\"), UInt8(ascii: "f"))
            case 0x0A: append(UInt8(ascii: "\\"), UInt8(ascii: "n"))
            case 0x0D: append(UInt8(ascii: "\\"), UInt8(ascii: "r"))
            case 0x09: append(UInt8(ascii: "\\"), UInt8(ascii: "t"))
            default:
                append("\\u00")
                append(TextScan.hexDigit(byte >> 4), TextScan.hexDigit(byte & 0x0F))
            }
        }
        if runStart < utf8.count { append(UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        append(UInt8(ascii: "\""))
    }
}

/// Byte scans over UTF-8 text, eight bytes at a time.
enum TextScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// A byte that JSON text must escape (`"`, `\` or below 0x20) was found.
    static let foundEscape: UInt8 = 1
    /// A byte at or above 0xCC was found: the text holds a scalar from U+0300 on, which NFC may change.
    static let foundNFCCandidate: UInt8 = 2

    /// ``foundEscape`` and ``foundNFCCandidate`` bits for one byte.
    @inline(__always)
    static func classify(_ byte: UInt8) -> UInt8 {
        (byte < 0x20 || byte == 0x22 || byte == 0x5C ? foundEscape : 0) | (byte >= 0xCC ? foundNFCCandidate : 0)
    }

    /// High bit set in every byte lane of `word` that may be zero: exact for the lowest such lane, while a lane
    /// above a zero lane may be flagged too (a borrow), so the result is nonzero exactly when some lane is zero.
    @inline(__always)
    private static func zeroLanes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highs
    }

    /// Nonzero exactly when a byte lane of `word` is `"`, `\` or below 0x20; the lowest flagged lane is always a real
    /// one (only lanes above it may be flagged by a borrow).
    @inline(__always)
    static func escapeLanes(_ word: UInt64) -> UInt64 {
        // Lanes below 0x20: subtracting 0x20 borrows (a borrow only starts at a lane below 0x20); lanes that are `"`
        // or `\`: the XOR makes them zero. Lanes with the high bit set are masked out by ~word.
        let below = (word &- 0x2020_2020_2020_2020) & ~word & highs
        return below | zeroLanes(word ^ 0x2222_2222_2222_2222) | zeroLanes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
    }

    /// Where a JSON string reader must stop and look: ``escapeLanes(_:)`` plus every non-ASCII lane. The lowest
    /// flagged lane is always a real one.
    @inline(__always)
    static func readerStopLanes(_ word: UInt64) -> UInt64 {
        escapeLanes(word) | (word & highs)
    }

    /// High bit set in exactly the byte lanes of `word` at or above 0xCC (no carries cross lanes).
    @inline(__always)
    static func nfcCandidateLanes(_ word: UInt64) -> UInt64 {
        ((word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x3434_3434_3434_3434) & word & highs
    }

    /// Scalar ranges (from U+0300 on) that NFC never changes: each scalar is assigned, has canonical combining
    /// class 0, is its own NFC, and is never a non-first scalar of a canonical decomposition, so it cannot combine
    /// with what precedes it (NFC quick check Yes). Text made only of these and of scalars below U+0300 is NFC.
    /// Covers common scripts, symbols, CJK, kana, Hangul syllables and emoji; `CanonicalWriterTests` checks each
    /// scalar against Foundation. Sorted and disjoint.
    static let nfcInertRanges: [ClosedRange<UInt32>] = [
        0x03A3...0x0482, 0x0488...0x052F, 0x0531...0x0556, 0x0559...0x058A, 0x05D0...0x05EA, 0x061B...0x064A,
        0x0660...0x066F, 0x0671...0x06D5, 0x0900...0x093B, 0x0E01...0x0E37, 0x10D0...0x10FF, 0x1E00...0x1F15,
        0x2002...0x2064, 0x20A0...0x20C1, 0x2190...0x2328, 0x232B...0x2429, 0x2460...0x2ADB, 0x2FF0...0x3029,
        0x3030...0x303F, 0x3041...0x3096, 0x309B...0x30FF, 0x3220...0xA48C, 0xAC00...0xD7A3, 0xE000...0xF8FF,
        0xFDF0...0xFE19, 0xFF01...0xFFBE, 0x1F1E6...0x1F202, 0x1F300...0x1F6D8, 0x1F900...0x1FA57,
        0x20000...0x2A6DF,
    ]

    /// True when NFC cannot change the text in `utf8` (valid UTF-8): every scalar is below U+0300 or in
    /// ``nfcInertRanges``. False means normalization must run (it may still change nothing).
    static func isNFCInert(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = utf8.count
        while index < count {
            let lead = utf8[index]
            if lead < 0xC0 {
                index += 1
                continue
            }
            let scalar: UInt32
            if lead < 0xE0 {
                scalar = UInt32(lead & 0x1F) << 6 | UInt32(utf8[index + 1] & 0x3F)
                index += 2
            } else if lead < 0xF0 {
                scalar =
                    UInt32(lead & 0x0F) << 12 | UInt32(utf8[index + 1] & 0x3F) << 6 | UInt32(utf8[index + 2] & 0x3F)
                index += 3
            } else {
                scalar =
                    UInt32(lead & 0x07) << 18 | UInt32(utf8[index + 1] & 0x3F) << 12
                    | UInt32(utf8[index + 2] & 0x3F) << 6 | UInt32(utf8[index + 3] & 0x3F)
                index += 4
            }
            if scalar >= 0x300 && !isInert(scalar) { return false }
        }
        return true
    }

    private static func isInert(_ scalar: UInt32) -> Bool {
        let ranges = nfcInertRanges
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < scalar {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].contains(scalar)
    }

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}

/// Python float rounding and printing.
enum FloatFormatting {
    /// Python's `round(value, 10)` for finite values (non-finite values are returned unchanged).
    static func roundToTenDecimals(_ value: Double) -> Double {
        // An integer value (or zero, or a non-finite one) is already exact at 10 decimals.
        guard let (significand, shift) = fractionalParts(value) else { return value }
        if let rounded = roundedScaledFast(significand: significand, shift: shift) {
            // Both operands are exact, so one IEEE division rounds correctly.
            let result = rounded == 0 ? 0 : Double(rounded) / 10_000_000_000
            return value.sign == .minus ? -result : result
        }
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

    /// `|value| = significand / 2^shift` with an integer significand and `shift > 0`, for a finite value with a
    /// fractional part; nil for zero, integers and non-finite values.
    @inline(__always)
    private static func fractionalParts(_ value: Double) -> (significand: UInt64, shift: Int)? {
        guard value.isFinite, value != 0 else { return nil }
        let magnitude = value.magnitude
        var significand = magnitude.significandBitPattern
        let exponent: Int
        if magnitude.isNormal {
            significand |= 1 << UInt64(Double.significandBitCount)
            exponent = Int(magnitude.exponent) - Double.significandBitCount
        } else {
            exponent = Int(Double.leastNormalMagnitude.exponent) - Double.significandBitCount
        }
        return exponent >= 0 ? nil : (significand, -exponent)
    }

    /// `round(value, 10) * 10^10` when it is an integer below 10^15 (at most 15 digits) and `value` has a
    /// fractional part; nil otherwise.
    @inline(__always)
    private static func scaledTenDecimals(_ value: Double) -> UInt64? {
        guard let (significand, shift) = fractionalParts(value),
            let rounded = roundedScaledFast(significand: significand, shift: shift), rounded < 1_000_000_000_000_000
        else { return nil }
        return rounded
    }

    /// The longest text ``writeCanonical(_:to:)`` writes.
    static let maxCanonicalLength = maxReprLength

    /// Writes the canonical text of the finite `value`, Python's `repr` of `round(value, 10)`, at `out` (room for
    /// ``maxCanonicalLength`` bytes) and returns the number of bytes written.
    ///
    /// `round(value, 10)` is the double nearest to `rounded / 10^10` for an integer `rounded`. When that decimal
    /// has at most 15 significant digits it is also the shortest text that reads back as that double (two
    /// decimals of at most 15 digits never read as the same double), so its digits are `repr`'s digits and are
    /// printed directly; other values go through ``writePythonRepr(_:to:)``.
    static func writeCanonical(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let rounded = scaledTenDecimals(value) else {
            return writePythonRepr(roundToTenDecimals(value), to: out)
        }
        let cursor = writeSign(of: value, to: out)
        if rounded == 0 { return writeZero(at: cursor) - out }
        var digits: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &digits) { digitBytes in
            let digit = digitBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var digitCount = 1
            var rest = rounded
            while rest >= 10 {
                rest /= 10
                digitCount += 1
            }
            rest = rounded
            var position = digitCount
            while position > 0 {
                position -= 1
                digit[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            // rounded / 10^10: the point sits 10 digits from the right.
            let decimalPoint = digitCount - 10
            while digitCount > 1 && digit[digitCount - 1] == UInt8(ascii: "0") { digitCount -= 1 }
            return cursor - out
                + formatRepr(
                    digits: UnsafeBufferPointer(start: digit, count: digitCount),
                    decimalPoint: decimalPoint,
                    to: cursor
                )
        }
    }

    /// Writes Python's `repr` layout of the nonzero decimal `0.d1d2...dn * 10^decimalPoint` (no leading or trailing
    /// zero digits) at `cursor`: fixed notation for decimal exponents -4 to 15, else `d.ddde±XX`. Returns the number
    /// of bytes written.
    private static func formatRepr(
        digits: UnsafeBufferPointer<UInt8>,
        decimalPoint: Int,
        to start: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var cursor = start
        let significant = digits.baseAddress!
        let significantCount = digits.count
        let scientificExponent = decimalPoint - 1
        if scientificExponent >= -4 && scientificExponent < 16 {
            if decimalPoint <= 0 {
                // 0.000ddd
                cursor[0] = UInt8(ascii: "0")
                cursor[1] = UInt8(ascii: ".")
                cursor += 2
                for _ in 0..<(-decimalPoint) {
                    cursor.pointee = UInt8(ascii: "0")
                    cursor += 1
                }
                cursor.update(from: significant, count: significantCount)
                cursor += significantCount
            } else if decimalPoint >= significantCount {
                // ddd000.0
                cursor.update(from: significant, count: significantCount)
                cursor += significantCount
                for _ in 0..<(decimalPoint - significantCount) {
                    cursor.pointee = UInt8(ascii: "0")
                    cursor += 1
                }
                cursor[0] = UInt8(ascii: ".")
                cursor[1] = UInt8(ascii: "0")
                cursor += 2
            } else {
                // ddd.ddd
                cursor.update(from: significant, count: decimalPoint)
                cursor[decimalPoint] = UInt8(ascii: ".")
                (cursor + decimalPoint + 1).update(
                    from: significant + decimalPoint,
                    count: significantCount - decimalPoint
                )
                cursor += significantCount + 1
            }
        } else {
            // d.ddde±XX
            cursor.pointee = significant[0]
            cursor += 1
            if significantCount > 1 {
                cursor.pointee = UInt8(ascii: ".")
                (cursor + 1).update(from: significant + 1, count: significantCount - 1)
                cursor += significantCount
            }
            cursor[0] = UInt8(ascii: "e")
            cursor[1] = scientificExponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
            cursor += 2
            let magnitude = abs(scientificExponent)
            if magnitude >= 100 {
                cursor.pointee = UInt8(ascii: "0") &+ UInt8(magnitude / 100)
                cursor += 1
            }
            cursor[0] = UInt8(ascii: "0") &+ UInt8(magnitude / 10 % 10)
            cursor[1] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
            cursor += 2
        }
        return cursor - start
    }

    /// `significand * 10^10 / 2^shift` rounded half to even, in 64-bit words, when the result is below 2^53 (so
    /// that it converts to a double exactly); nil otherwise (the caller then takes the 128-bit path).
    @inline(__always)
    private static func roundedScaledFast(significand: UInt64, shift: Int) -> UInt64? {
        // significand < 2^53 and 10^10 < 2^34, so the product (high:low) is below 2^87.
        let (high, low) = significand.multipliedFullWidth(by: 10_000_000_000)
        if shift >= 128 { return 0 }
        // Bit `index` of the product, and whether any bit below `index` is set.
        func bit(_ index: Int) -> Bool {
            index >= 64 ? (high >> UInt64(index - 64)) & 1 == 1 : (low >> UInt64(index)) & 1 == 1
        }
        func anyBelow(_ index: Int) -> Bool {
            if index <= 0 { return false }
            if index >= 64 { return low != 0 || (index > 64 && high & ((1 << UInt64(index - 64)) &- 1) != 0) }
            return low & ((1 << UInt64(index)) &- 1) != 0
        }
        let quotient: UInt64
        if shift >= 64 {
            quotient = high >> UInt64(shift - 64)
        } else {
            // shift is at least 1 here (integers returned earlier).
            guard high >> UInt64(shift) == 0 else { return nil }
            quotient = (high << UInt64(64 - shift)) | (low >> UInt64(shift))
        }
        let roundUp = bit(shift - 1) && (anyBelow(shift - 1) || quotient & 1 == 1)
        let rounded = roundUp ? quotient + 1 : quotient
        return rounded < (1 << 53) ? rounded : nil
    }

    /// The longest text ``writePythonRepr(_:to:)`` writes (`-2.2250738585072014e-308` is 24 bytes).
    static let maxReprLength = 32

    /// Python's `repr` of a finite double: shortest round-trip digits, fixed notation for exponents -4 to 15.
    static func pythonRepr(_ value: Double) -> String {
        String(unsafeUninitializedCapacity: maxReprLength) { buffer in
            writePythonRepr(value, to: buffer.baseAddress!)
        }
    }

    /// Writes `-` at `out` when `value` is negative (`-0.0` included); returns where the digits go.
    @inline(__always)
    private static func writeSign(of value: Double, to out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8>
    {
        guard value.sign == .minus else { return out }
        out.pointee = UInt8(ascii: "-")
        return out + 1
    }

    /// Writes `0.0` at `cursor`; returns the position after it.
    @inline(__always)
    private static func writeZero(at cursor: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        cursor[0] = UInt8(ascii: "0")
        cursor[1] = UInt8(ascii: ".")
        cursor[2] = UInt8(ascii: "0")
        return cursor + 3
    }

    /// Writes Python's `repr` of the finite double `value` at `out` (room for ``maxReprLength`` bytes) and returns
    /// the number of bytes written.
    static func writePythonRepr(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var cursor = writeSign(of: value, to: out)
        if value == 0 { return writeZero(at: cursor) - out }
        // Swift's description gives the shortest round-trip digits (at most 17); reformat them Python's way. The
        // description of a double is at most 24 bytes, so it is a small string (no allocation) when short.
        var text = value.magnitude.description
        return text.withUTF8 { utf8 in
            // Significant digits (without the point), the point's position and the exponent after `e`.
            var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { digitBytes in
                let digit = digitBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var digitCount = 0
                var pointPosition = -1
                var exponent = 0
                var index = 0
                while index < utf8.count {
                    let byte = utf8[index]
                    if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                        index += 1
                        var negative = false
                        if index < utf8.count, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
                            negative = utf8[index] == UInt8(ascii: "-")
                            index += 1
                        }
                        while index < utf8.count {
                            exponent = exponent * 10 + Int(utf8[index] &- UInt8(ascii: "0"))
                            index += 1
                        }
                        if negative { exponent = -exponent }
                        break
                    }
                    if byte == UInt8(ascii: ".") {
                        pointPosition = digitCount
                    } else if digitCount < 32 {
                        digit[digitCount] = byte
                        digitCount += 1
                    }
                    index += 1
                }
                // Decimal point after `pointPosition` digits, times 10^exponent.
                var decimalPoint = (pointPosition >= 0 ? pointPosition : digitCount) + exponent
                // Strip leading zeros.
                var first = 0
                while digitCount - first > 1 && digit[first] == UInt8(ascii: "0") {
                    first += 1
                    decimalPoint -= 1
                }
                // Strip trailing zeros.
                while digitCount - first > 1 && digit[digitCount - 1] == UInt8(ascii: "0") { digitCount -= 1 }
                let written = formatRepr(
                    digits: UnsafeBufferPointer(start: digit + first, count: digitCount - first),
                    decimalPoint: decimalPoint,
                    to: cursor
                )
                cursor += written
                return cursor - out
            }
        }
    }
}
