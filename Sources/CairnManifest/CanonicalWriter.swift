import Foundation

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
        try object.forEachEntrySortedByCodePoint { key, element in
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
