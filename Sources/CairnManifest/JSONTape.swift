import Foundation

/// A JSON text read into a flat list of nodes that point into the input bytes (pre-order: a container's node comes
/// before its children; an object's children are alternately a key and the key's value).
///
/// The tape is what ``JSONReader`` checks and what the manifest decoder reads: nothing is copied out of the input
/// until a field is used, so a manifest's values become Swift strings once, straight from the bytes. The tape only
/// lives inside ``parse(_:maxDepth:_:)``'s body, while the input is borrowed.
struct JSONTape {
    enum Kind: UInt8 {
        case null, isTrue, isFalse, integer, float, nan, infinity, negativeInfinity, string, array, object
    }

    struct Node {
        var kind: Kind
        /// Strings: whether the body has backslash escapes.
        var escaped: Bool
        /// Strings: whether this string is an object key.
        var isKey: Bool
        /// Strings and numbers: where the body (between the quotes) or lexeme starts. Containers: child count
        /// (elements, or entries for an object).
        var start: Int
        /// Strings and numbers: where the body or lexeme ends. Containers: the index of the first node after them.
        var end: Int
    }

    let bytes: UnsafeBufferPointer<UInt8>
    /// The nodes, in memory the parser owns until ``parse(_:maxDepth:_:)``'s body returns.
    let nodes: UnsafeBufferPointer<Node>

    /// Checks `bytes` as `json.loads` would and calls `body` with the tape; the tape must not escape `body`.
    ///
    /// - Throws: ``JSONReadError`` naming the position and reason, or what `body` throws.
    static func parse<Result>(
        _ bytes: some Collection<UInt8>,
        maxDepth: Int = JSONReader.defaultMaxDepth,
        _ body: (JSONTape) throws -> Result
    ) throws -> Result {
        func run(_ buffer: UnsafeBufferPointer<UInt8>) throws -> Result {
            var parser = TapeParser(buffer: buffer, maxDepth: maxDepth)
            defer { parser.deallocate() }
            return try body(try parser.parse())
        }
        if let result = try bytes.withContiguousStorageIfAvailable(run) { return result }
        return try Array(bytes).withUnsafeBufferPointer(run)
    }

    // MARK: Reading nodes

    @inline(__always)
    func kind(_ node: Int) -> Kind { nodes[node].kind }

    @inline(__always)
    func isNull(_ node: Int) -> Bool { nodes[node].kind == .null }

    /// Child count of a container node.
    @inline(__always)
    func count(_ node: Int) -> Int { nodes[node].start }

    /// The index of the first node after `node` and its children.
    @inline(__always)
    func next(after node: Int) -> Int {
        let entry = nodes[node]
        return entry.kind == .array || entry.kind == .object ? entry.end : node + 1
    }

    /// The raw body bytes of a string or number node.
    @inline(__always)
    func body(_ node: Int) -> UnsafeBufferPointer<UInt8> {
        let entry = nodes[node]
        return UnsafeBufferPointer(rebasing: bytes[entry.start..<entry.end])
    }

    /// Calls `body` with the key node and value node of each entry of an object node, in order.
    @inline(__always)
    func forEachEntry(of object: Int, _ body: (_ key: Int, _ value: Int) throws -> Void) rethrows {
        var child = object + 1
        let end = nodes[object].end
        while child < end {
            try body(child, child + 1)
            child = next(after: child + 1)
        }
    }

    /// The value node of the last entry under `key` in an object node (the entry `json.loads` keeps).
    func member(of object: Int, _ key: StaticString) -> Int? {
        var found: Int? = nil
        forEachEntry(of: object) { keyNode, value in
            if keyEquals(keyNode, key) { found = value }
        }
        return found
    }

    /// Whether a key node's decoded text is exactly `key` (by Unicode scalars).
    func keyEquals(_ node: Int, _ key: StaticString) -> Bool {
        if nodes[node].escaped { return scalarsEqual(text(node), key.description) }
        let bytes = body(node)
        let count = key.utf8CodeUnitCount
        return bytes.count == count && (count == 0 || memcmp(bytes.baseAddress!, key.utf8Start, count) == 0)
    }

    /// The text of a string node whose escapes (if any) decode without an unpaired surrogate.
    func text(_ node: Int) -> String {
        if !nodes[node].escaped { return String(decoding: body(node), as: UTF8.self) }
        switch stringValue(node) {
        case .string(let text): return text
        case .unpairedSurrogateString(let units): return String(decoding: units, as: UTF16.self)
        default: return ""
        }
    }

    /// A string node as ``JSONValue/string(_:)`` or ``JSONValue/unpairedSurrogateString(_:)``.
    func stringValue(_ node: Int) -> JSONValue {
        let entry = nodes[node]
        let raw = body(node)
        if !entry.escaped { return .string(String(decoding: raw, as: UTF8.self)) }
        return decodeEscapes(raw)
    }

    /// An integer node's exact value.
    func integer(_ node: Int) -> JSONInteger {
        let raw = body(node)
        let negative = raw[0] == UInt8(ascii: "-")
        let digits = negative ? UnsafeBufferPointer(rebasing: raw[1...]) : raw
        if digits.count <= 18 {
            var value = 0
            for digit in digits { value = value &* 10 &+ Int(digit &- 0x30) }
            return JSONInteger(negative ? -value : value)
        }
        return JSONInteger(negative: negative, digits: Array(digits)[...])
    }

    /// A number node (integer, float or special token) as a `Double`.
    func double(_ node: Int) -> Double {
        switch nodes[node].kind {
        case .integer: integer(node).doubleValue
        case .nan: .nan
        case .infinity: .infinity
        case .negativeInfinity: -.infinity
        default: exactDouble(body(node)) ?? Double(String(decoding: body(node), as: UTF8.self)) ?? .nan
        }
    }

    /// Powers of ten that a `Double` holds exactly.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ]

    /// The value of float text (Python's number pattern) when at most 15 significant digits and a power of ten
    /// from 10^-22 to 10^22 give it with one correctly rounded multiplication or division (Clinger's fast path),
    /// else nil for the full conversion to decide.
    @inline(__always)
    private func exactDouble(_ raw: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = 0
        let negative = raw[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var fractionDigits = 0
        var inFraction = false
        while index < raw.count {
            let byte = raw[index]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if mantissa != 0 || byte != UInt8(ascii: "0") {
                    significant += 1
                    guard significant <= 15 else { return nil }
                }
                mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                if inFraction { fractionDigits += 1 }
            } else {
                break
            }
            index += 1
        }
        var exponent = 0
        if index < raw.count {
            // An exponent: `e` or `E`, an optional sign, digits.
            index += 1
            let negativeExponent = raw[index] == UInt8(ascii: "-")
            if raw[index] == UInt8(ascii: "-") || raw[index] == UInt8(ascii: "+") { index += 1 }
            while index < raw.count {
                exponent = exponent * 10 + Int(raw[index] &- UInt8(ascii: "0"))
                guard exponent < 1000 else { return nil }
                index += 1
            }
            if negativeExponent { exponent = -exponent }
        }
        let scale = exponent - fractionDigits
        guard scale >= -22 && scale <= 22 else { return nil }
        var value = Double(mantissa)
        if scale < 0 {
            value /= Self.exactPowersOfTen[-scale]
        } else {
            value *= Self.exactPowersOfTen[scale]
        }
        return negative ? -value : value
    }

    /// A scalar node as a ``JSONValue``.
    func scalar(_ node: Int) -> JSONValue {
        switch nodes[node].kind {
        case .null: .null
        case .isTrue: .bool(true)
        case .isFalse: .bool(false)
        case .integer: .integer(integer(node))
        case .float, .nan, .infinity, .negativeInfinity: .float(double(node))
        case .string: stringValue(node)
        case .array, .object: preconditionFailure("not a scalar node")
        }
    }

    /// A node without children: a scalar, or an empty array or object.
    private func leaf(_ node: Int) -> JSONValue {
        switch nodes[node].kind {
        case .array: .array([])
        case .object: .object(JSONObject())
        default: scalar(node)
        }
    }

    /// The object at an object node (nothing is allocated for an empty one).
    func object(_ node: Int) -> JSONObject {
        if nodes[node].start == 0 { return JSONObject() }
        guard case .object(let object) = value(node) else { preconditionFailure("not an object node") }
        return object
    }

    /// The whole value at `root`, built without recursion (children are built before their container, walking the
    /// nodes backwards), so any depth the reader accepted is safe.
    func value(_ root: Int) -> JSONValue {
        let end = next(after: root)
        if end == root + 1 { return leaf(root) }
        let flatCount = nodes[root].start
        if nodes[root].kind == .object && end == root + 1 + 2 * flatCount {
            // Every value is a scalar (the usual `params` or `metadata`): build the entries in place.
            var entries: [JSONObject.Element] = []
            var hashes: [UInt32] = []
            entries.reserveCapacity(flatCount)
            hashes.reserveCapacity(flatCount)
            forEachEntry(of: root) { key, value in
                entries.append((text(key), leaf(value)))
                hashes.append(nodes[key].escaped ? keyHash(entries[entries.count - 1].key) : keyHash(bytes: body(key)))
            }
            return .object(JSONObject(parsedEntries: entries, keyHashes: hashes))
        }
        // Finished values and keys wait on two stacks until their container is built; they are moved (never
        // copied) into it, so each value is built and retained once.
        let values = UnsafeMutablePointer<JSONValue>.allocate(capacity: end - root)
        let keys = UnsafeMutablePointer<(key: String, hash: UInt32)>.allocate(capacity: (end - root) / 2 + 1)
        defer {
            values.deallocate()
            keys.deallocate()
        }
        var valueCount = 0
        var keyCount = 0
        var node = end - 1
        while node >= root {
            let entry = nodes[node]
            switch entry.kind {
            case .array:
                let count = entry.start
                let top = valueCount
                let elements = [JSONValue](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for offset in 0..<count {
                        (buffer.baseAddress! + offset).initialize(to: (values + top - 1 - offset).move())
                    }
                    initialized = count
                }
                valueCount -= count
                (values + valueCount).initialize(to: .array(elements))
                valueCount += 1
            case .object:
                let count = entry.start
                let valueTop = valueCount
                let keyTop = keyCount
                var hashes: [UInt32] = []
                hashes.reserveCapacity(count)
                let entries = [JSONObject.Element](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for offset in 0..<count {
                        let key = (keys + keyTop - 1 - offset).move()
                        hashes.append(key.hash)
                        (buffer.baseAddress! + offset).initialize(
                            to: (key.key, (values + valueTop - 1 - offset).move())
                        )
                    }
                    initialized = count
                }
                valueCount -= count
                keyCount -= count
                (values + valueCount).initialize(to: .object(JSONObject(parsedEntries: entries, keyHashes: hashes)))
                valueCount += 1
            case .string where entry.isKey:
                let key = text(node)
                (keys + keyCount).initialize(to: (key, entry.escaped ? keyHash(key) : keyHash(bytes: body(node))))
                keyCount += 1
            default:
                (values + valueCount).initialize(to: scalar(node))
                valueCount += 1
            }
            node -= 1
        }
        return values.move()
    }

    /// Decodes a string body with escapes (already checked by the parser).
    private func decodeEscapes(_ raw: UnsafeBufferPointer<UInt8>) -> JSONValue {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var unpaired = false
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let unit = hex4(raw, at: index) ?? 0
                index += 4
                var scalar = UInt32(unit)
                if unit >= 0xD800 && unit <= 0xDBFF && index + 6 <= raw.count && raw[index] == UInt8(ascii: "\\")
                    && raw[index + 1] == UInt8(ascii: "u"), let low = hex4(raw, at: index + 2), low >= 0xDC00,
                    low <= 0xDFFF
                {
                    scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    index += 6
                } else if unit >= 0xD800 && unit <= 0xDFFF {
                    unpaired = true
                }
                appendWTF8(scalar, to: &out)
            default:
                out.append(escape)  // `"`, `\` and `/` stand for themselves
            }
        }
        if !unpaired { return .string(String(decoding: out, as: UTF8.self)) }
        return .unpairedSurrogateString(utf16FromWTF8(out))
    }
}

/// The four hex digits of a `\u` escape at `index`, or nil.
@inline(__always)
private func hex4(_ raw: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt16? {
    guard index + 4 <= raw.count else { return nil }
    var value: UInt16 = 0
    for step in 0..<4 {
        let byte = raw[index + step]
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

/// Builds a ``JSONTape`` in one forward pass, without recursion.
private struct TapeParser {
    let buffer: UnsafeBufferPointer<UInt8>
    let base: UnsafePointer<UInt8>
    let count: Int
    let maxDepth: Int
    var position = 0
    /// The nodes so far: `nodeCount` of `nodeCapacity` initialized (nodes are plain values, never deinitialized).
    private var nodeBase: UnsafeMutablePointer<JSONTape.Node>
    private var nodeCount = 0
    private var nodeCapacity: Int

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buffer = buffer
        // An empty buffer may have no address; any valid pointer will do, since nothing is read from it.
        self.base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        self.count = buffer.count
        self.maxDepth = maxDepth
        // Manifests hold about one node per twelve bytes; more than one per eight grows the buffer.
        nodeCapacity = buffer.count / 8 + 16
        nodeBase = .allocate(capacity: nodeCapacity)
    }

    /// Frees the nodes; the tape ``parse()`` returned is gone with them.
    func deallocate() {
        nodeBase.deallocate()
    }

    @inline(__always)
    private mutating func append(_ node: JSONTape.Node) {
        if nodeCount == nodeCapacity { grow() }
        (nodeBase + nodeCount).initialize(to: node)
        nodeCount += 1
    }

    @inline(never)
    private mutating func grow() {
        let larger = UnsafeMutablePointer<JSONTape.Node>.allocate(capacity: nodeCapacity * 2)
        larger.moveInitialize(from: nodeBase, count: nodeCount)
        nodeBase.deallocate()
        nodeBase = larger
        nodeCapacity *= 2
    }

    func fail(_ code: JSONReadError.Code, _ reason: String, at offset: Int? = nil) -> JSONReadError {
        let offset = min(offset ?? position, count)
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
        while position < count {
            switch base[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    func byte(at index: Int) -> UInt8? { index < count ? base[index] : nil }

    mutating func parse() throws -> JSONTape {
        if count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
            throw fail(.byteOrderMark, "unexpected UTF-8 byte order mark", at: 0)
        }
        // Open containers, innermost last. A few dozen levels fit on the stack; a deeper text is read again with
        // room for every level it may open (never more than its bytes, nor than the limit).
        let shallow = 40
        do {
            return try withUnsafeTemporaryAllocation(of: Frame.self, capacity: shallow) { frames in
                try parse(frames: frames.baseAddress!, capacity: shallow)
            }
        } catch is DeeperThanStack {
            position = 0
            nodeCount = 0
            let frames = UnsafeMutablePointer<Frame>.allocate(capacity: min(maxDepth, count) + 1)
            defer { frames.deallocate() }
            return try parse(frames: frames, capacity: min(maxDepth, count) + 1)
        }
    }

    /// An open container: its node and the values counted in it so far.
    private struct Frame {
        var node: Int
        var values: Int
        var isObject: Bool
    }

    /// Thrown when the text nests deeper than the frames given to ``parse(frames:capacity:)``.
    private struct DeeperThanStack: Error {}

    private mutating func parse(frames: UnsafeMutablePointer<Frame>, capacity: Int) throws -> JSONTape {
        var depth = 0
        parsing: while true {
            skipWhitespace()
            guard position < count else { throw fail(.expectedValue, "expecting value") }
            switch base[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < maxDepth else { throw fail(.tooDeep, "nesting deeper than \(maxDepth)") }
                guard depth < capacity else { throw DeeperThanStack() }
                let isObject = base[position] == UInt8(ascii: "{")
                let index = nodeCount
                append(
                    JSONTape.Node(
                        kind: isObject ? .object : .array,
                        escaped: false,
                        isKey: false,
                        start: 0,
                        end: index + 1
                    )
                )
                position += 1
                skipWhitespace()
                if byte(at: position) == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    position += 1
                } else {
                    frames[depth] = Frame(node: index, values: 0, isObject: isObject)
                    depth += 1
                    if isObject { try parseKeyAndColon() }
                    continue parsing
                }
            default:
                try parseScalar()
            }
            // A value is complete: count it in its container and close as many containers as end here.
            while depth > 0 {
                let frame = frames + (depth - 1)
                skipWhitespace()
                let next = byte(at: position)
                frame.pointee.values += 1
                if frame.pointee.isObject {
                    if next == UInt8(ascii: ",") {
                        position += 1
                        skipWhitespace()
                        try parseKeyAndColon()
                        continue parsing
                    }
                    guard next == UInt8(ascii: "}") else {
                        throw fail(.invalidSyntax, "expecting ',' delimiter or '}'")
                    }
                } else {
                    if next == UInt8(ascii: ",") {
                        position += 1
                        continue parsing
                    }
                    guard next == UInt8(ascii: "]") else {
                        throw fail(.invalidSyntax, "expecting ',' delimiter or ']'")
                    }
                }
                position += 1
                nodeBase[frame.pointee.node].start = frame.pointee.values
                nodeBase[frame.pointee.node].end = nodeCount
                depth -= 1
            }
            skipWhitespace()
            if position != count { throw fail(.extraData, "extra data after the value") }
            return JSONTape(bytes: buffer, nodes: UnsafeBufferPointer(start: nodeBase, count: nodeCount))
        }
    }

    /// Parses `"key"` then `:` (whitespace allowed around the colon).
    @inline(__always)
    mutating func parseKeyAndColon() throws {
        guard byte(at: position) == UInt8(ascii: "\"") else {
            throw fail(.invalidSyntax, "expecting property name enclosed in double quotes")
        }
        let start = position
        if try parseString(isKey: true) {
            let tape = JSONTape(bytes: buffer, nodes: UnsafeBufferPointer(start: nodeBase + nodeCount - 1, count: 1))
            if case .unpairedSurrogateString = tape.stringValue(0) {
                throw fail(.unpairedSurrogateInKey, "object key contains an unpaired surrogate escape", at: start)
            }
        }
        skipWhitespace()
        guard byte(at: position) == UInt8(ascii: ":") else { throw fail(.invalidSyntax, "expecting ':' delimiter") }
        position += 1
    }

    @inline(__always)
    mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard position + length <= count, memcmp(base + position, literal.utf8Start, length) == 0 else {
            return false
        }
        position += length
        return true
    }

    @inline(__always)
    mutating func appendToken(_ kind: JSONTape.Kind, _ literal: StaticString) -> Bool {
        let start = position
        guard matchLiteral(literal) else { return false }
        append(JSONTape.Node(kind: kind, escaped: false, isKey: false, start: start, end: position))
        return true
    }

    @inline(__always)
    mutating func parseScalar() throws {
        switch base[position] {
        case UInt8(ascii: "\""):
            try parseString(isKey: false)
            return
        case UInt8(ascii: "t"):
            if appendToken(.isTrue, "true") { return }
        case UInt8(ascii: "f"):
            if appendToken(.isFalse, "false") { return }
        case UInt8(ascii: "n"):
            if appendToken(.null, "null") { return }
        case UInt8(ascii: "N"):
            if appendToken(.nan, "NaN") { return }
        case UInt8(ascii: "I"):
            if appendToken(.infinity, "Infinity") { return }
        case UInt8(ascii: "-"):
            if appendToken(.negativeInfinity, "-Infinity") { return }
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
        index < count && base[index] >= 0x30 && base[index] <= 0x39
    }

    /// Python's number pattern: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    @inline(__always)
    mutating func parseNumber() throws {
        let start = position
        var index = position
        if base[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw fail(.expectedValue, "expecting value", at: start) }
        let digitsStart = index
        if base[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        let digitCount = index - digitsStart
        var isFloat = false
        if byte(at: index) == UInt8(ascii: ".") && isDigit(index + 1) {
            isFloat = true
            index += 1
            while isDigit(index) { index += 1 }
        }
        if let mark = byte(at: index), mark == UInt8(ascii: "e") || mark == UInt8(ascii: "E") {
            var exponentIndex = index + 1
            if let sign = byte(at: exponentIndex), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponentIndex += 1
            }
            if isDigit(exponentIndex) {
                isFloat = true
                index = exponentIndex
                while isDigit(index) { index += 1 }
            }
        }
        if !isFloat && digitCount > 4300 {
            throw fail(
                .integerTooLong,
                "integer has \(digitCount) digits, more than Python's limit of 4300",
                at: start
            )
        }
        // Text of this shape always converts to a Double (out-of-range values become ±infinity or ±0), so the
        // conversion waits until a value is read.
        position = index
        append(
            JSONTape.Node(kind: isFloat ? .float : .integer, escaped: false, isKey: false, start: start, end: index)
        )
    }

    /// Scans a string, checking escapes, control characters and UTF-8 as it goes (in text order, as Python does).
    ///
    /// - Returns: Whether the string holds an escape.
    @discardableResult
    @inline(__always)
    mutating func parseString(isKey: Bool) throws -> Bool {
        let quote = position
        let contentStart = position + 1
        // The scan keeps its place in a local, so the loop never stores it back.
        var cursor = contentStart
        var escaped = false
        while true {
            // Skip eight plain bytes at a time (no quote, backslash, control character or non-ASCII byte). The
            // lowest flagged byte of a word is always a real one, so the scan resumes exactly there.
            while cursor + 8 <= count {
                let flagged = TextScan.readerStopLanes(UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
                if flagged != 0 {
                    cursor += flagged.trailingZeroBitCount >> 3
                    break
                }
                cursor += 8
            }
            guard cursor < count else { throw fail(.unterminatedString, "unterminated string", at: quote) }
            let byte = base[cursor]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                guard cursor + 1 < count else { throw fail(.unterminatedString, "unterminated string", at: quote) }
                switch base[cursor + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    cursor += 2
                case UInt8(ascii: "u"):
                    guard hex4(buffer, at: cursor + 2) != nil else {
                        throw fail(.invalidEscape, "invalid \\uXXXX escape", at: cursor)
                    }
                    cursor += 6
                default:
                    throw fail(.invalidEscape, "invalid \\escape", at: cursor)
                }
                continue
            }
            if byte < 0x20 {
                throw fail(.controlCharacterInString, "invalid control character in string", at: cursor)
            }
            if byte >= 0x80 {
                guard let length = utf8SequenceLength(at: cursor) else {
                    throw fail(.invalidUTF8, "string is not valid UTF-8", at: contentStart)
                }
                cursor += length
                continue
            }
            cursor += 1
        }
        append(JSONTape.Node(kind: .string, escaped: escaped, isKey: isKey, start: contentStart, end: cursor))
        position = cursor + 1
        return escaped
    }

    /// The length of the well-formed UTF-8 sequence (2 to 4 bytes) starting at `index`, or nil.
    @inline(__always)
    func utf8SequenceLength(at index: Int) -> Int? {
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            guard let byte = byte(at: index + offset) else { return false }
            return byte >= low && byte <= high
        }
        let lead = base[index]
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : nil
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : nil
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : nil
        case 0xE1...0xEF:
            return continuation(1) && continuation(2) ? 3 : nil
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : nil
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : nil
        default:
            return nil
        }
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
