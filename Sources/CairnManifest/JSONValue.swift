import Foundation

/// A JSON value as genblaze's reader (Python `json.loads`) keeps it.
///
/// Numbers keep the kind their lexeme had: a token with `.`, `e` or `E` is a ``float(_:)``, any other number is an
/// exact, arbitrary-size ``integer(_:)``. Strings and object keys are compared by Unicode scalars, never by Swift's
/// canonical-equivalence `String ==`, so `"café"` (NFC) and `"cafe\u{301}"` (NFD) are two different values.
///
/// Equality is structural; objects compare as key/value mappings (their entry order does not matter), floats
/// compare by bit pattern (so `NaN == NaN` and `0.0 != -0.0`).
public enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without `.`, `e` or `E`, kept exactly at any size.
    case integer(JSONInteger)
    /// A number written with `.`, `e` or `E` (or the tokens `NaN`, `Infinity`, `-Infinity`) as a binary64 value.
    case float(Double)
    /// A string of Unicode scalars.
    case string(String)
    /// An ordered list of values.
    case array([JSONValue])
    /// An object: ordered entries with unique keys.
    case object(JSONObject)
    /// A string whose `\u` escapes left an unpaired surrogate, kept as its UTF-16 code units.
    ///
    /// Python keeps such strings; genblaze fails only when it has to encode one (for example, when it is part of the
    /// hash payload). ``CanonicalJSON/encode(_:)`` throws ``CanonicalJSONError/Code/unencodableString`` for it.
    case unpairedSurrogateString([UInt16])
}

extension JSONValue {
    /// The string payload, if this is a ``string(_:)``.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The object payload, if this is an ``object(_:)``.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The array payload, if this is an ``array(_:)``.
    public var arrayValue: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The Boolean payload, if this is a ``bool(_:)``.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The integer payload, if this is an ``integer(_:)``.
    public var integerValue: JSONInteger? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// True for ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the value's JSON kind, for error messages (`"object"`, `"integer"`, ...).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .float: "float"
        case .string, .unpairedSurrogateString: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: Hashable {
    /// Structural equality: strings by Unicode scalars, floats by bit pattern, objects as mappings.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.float(let a), .float(let b)): a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): scalarsEqual(a, b)
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        case (.unpairedSurrogateString(let a), .unpairedSurrogateString(let b)): a == b
        default: false
        }
    }

    /// Hashes consistently with ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let value):
            hasher.combine(1 as UInt8)
            hasher.combine(value)
        case .integer(let value):
            hasher.combine(2 as UInt8)
            hasher.combine(value)
        case .float(let value):
            hasher.combine(3 as UInt8)
            hasher.combine(value.bitPattern)
        case .string(let value):
            hasher.combine(4 as UInt8)
            hashScalars(of: value, into: &hasher)
        case .array(let values):
            hasher.combine(5 as UInt8)
            hasher.combine(values)
        case .object(let object):
            hasher.combine(6 as UInt8)
            hasher.combine(object)
        case .unpairedSurrogateString(let units):
            hasher.combine(7 as UInt8)
            hasher.combine(units)
        }
    }
}

/// Feeds a string's UTF-8 bytes (its scalars, not its canonical-equivalence class) into `hasher`.
func hashScalars(of text: String, into hasher: inout Hasher) {
    var text = text
    text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    hasher.combine(text.utf8.count)
}

extension JSONValue: ExpressibleByNilLiteral {
    /// Creates ``null``.
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// Creates a ``bool(_:)``.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// Creates an ``integer(_:)``.
    public init(integerLiteral value: Int) { self = .integer(JSONInteger(value)) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    /// Creates a ``float(_:)``.
    public init(floatLiteral value: Double) { self = .float(value) }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// Creates a ``string(_:)``.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// Creates an ``array(_:)``.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Creates an ``object(_:)``; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}

// MARK: - JSONInteger

/// An exact integer of any size, as Python's `int` keeps it.
///
/// Values that fit in `Int` are stored natively; larger ones keep their normalized decimal text (no leading zeros,
/// `-` for negatives, never `-0`).
public struct JSONInteger: Sendable, Hashable, CustomStringConvertible {
    enum Storage: Sendable, Hashable {
        case small(Int)
        case big(String)
    }

    let storage: Storage

    /// Creates an integer from a native `Int`.
    public init(_ value: Int) {
        storage = .small(value)
    }

    /// Parses decimal text: an optional `-`, then one or more ASCII digits (leading zeros are accepted and dropped).
    ///
    /// Returns nil for anything else (signs other than a leading `-`, spaces, underscores, an empty string).
    public init?(decimalText text: some StringProtocol) {
        var utf8 = Array(text.utf8)
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8.removeFirst()
        }
        guard !utf8.isEmpty, utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        self.init(negative: negative, digits: utf8[...])
    }

    /// Builds from validated ASCII digits.
    init(negative: Bool, digits: ArraySlice<UInt8>) {
        var start = digits.startIndex
        while start < digits.endIndex - 1 && digits[start] == 0x30 { start += 1 }
        let trimmed = digits[start...]
        if trimmed.count <= 18 {
            var value = 0
            for digit in trimmed { value = value &* 10 &+ Int(digit &- 0x30) }
            storage = .small(negative ? -value : value)
            return
        }
        // Up to 19 digits may still fit in Int.
        if trimmed.count == 19 {
            var value: Int = 0
            var overflow = false
            for digit in trimmed {
                let (product, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) =
                    negative
                    ? product.subtractingReportingOverflow(Int(digit - 0x30))
                    : product.addingReportingOverflow(Int(digit - 0x30))
                if o1 || o2 {
                    overflow = true
                    break
                }
                value = sum
            }
            if !overflow {
                storage = .small(value)
                return
            }
        }
        let text = String(decoding: trimmed, as: UTF8.self)
        storage = .big(negative ? "-" + text : text)
    }

    /// The value as `Int`, or nil when it is out of `Int`'s range.
    public var int: Int? {
        if case .small(let value) = storage { return value }
        return nil
    }

    /// The exact decimal text, as Python's `str(int)` prints it.
    public var decimalText: String {
        switch storage {
        case .small(let value): String(value)
        case .big(let text): text
        }
    }

    /// Same as ``decimalText``.
    public var description: String { decimalText }

    /// True when the value is below zero.
    public var isNegative: Bool {
        switch storage {
        case .small(let value): value < 0
        case .big(let text): text.utf8.first == UInt8(ascii: "-")
        }
    }

    /// True when the value is above zero.
    public var isPositive: Bool {
        switch storage {
        case .small(let value): value > 0
        case .big: !isNegative
        }
    }

    /// The nearest `Double` (as Python's `float(int)`, which rounds half to even).
    public var doubleValue: Double {
        switch storage {
        case .small(let value): Double(value)
        case .big(let text): Double(text) ?? (isNegative ? -.infinity : .infinity)
        }
    }
}

// MARK: - JSONObject

/// A JSON object: entries in first-insertion order with unique keys, like a Python `dict`.
///
/// Keys are compared by Unicode scalars (byte-wise on UTF-8), never by canonical equivalence, so an NFC key and its
/// NFD twin are two keys. Setting an existing key replaces its value in place (the last duplicate wins, at the
/// first occurrence's position, as `json.loads` does).
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One key/value entry.
    public typealias Element = (key: String, value: JSONValue)

    private var storage: [Element] = []
    /// Key -> position, kept only for larger objects (small objects are scanned).
    private var index: [ScalarKey: Int]? = nil

    private static let indexThreshold = 32

    /// Creates an empty object.
    public init() {}

    /// Creates an object from pairs in order; a repeated key keeps its last value at its first position.
    public init(_ pairs: some Sequence<(String, JSONValue)>) {
        for (key, value) in pairs { self[key] = value }
    }

    /// Creates an object from pairs listed in strictly increasing code point order of their keys (so none repeats):
    /// one pass to check the order instead of a duplicate search per key. Pairs in any other order are taken as
    /// ``init(_:)`` takes them.
    package init(codePointOrdered pairs: [(String, JSONValue)]) {
        self.init()
        storage = pairs.map { (key: $0.0, value: $0.1) }
        if !isSortedByCodePoint || storage.count > Self.indexThreshold { self = JSONObject(pairs) }
    }

    /// Creates an object from a literal; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The number of entries.
    public var count: Int { storage.count }

    /// True when the object has no entries.
    public var isEmpty: Bool { storage.isEmpty }

    /// The keys in entry order.
    public var keys: [String] { storage.map(\.key) }

    /// The entries in entry order.
    public var entries: [Element] { storage }

    /// Iterates the entries in entry order.
    public func makeIterator() -> IndexingIterator<[Element]> { storage.makeIterator() }

    /// The value stored under `key` (compared by Unicode scalars); setting nil removes the entry.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return storage[position].value
        }
        set {
            if let position = position(of: key) {
                if let newValue {
                    storage[position].value = newValue
                } else {
                    storage.remove(at: position)
                    rebuildIndex()
                }
            } else if let newValue {
                storage.append((key, newValue))
                if index != nil {
                    index![ScalarKey(key)] = storage.count - 1
                } else if storage.count > Self.indexThreshold {
                    rebuildIndex()
                }
            }
        }
    }

    /// Removes the entry for `key` and returns its value, if there was one.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        let old = self[key]
        if old != nil { self[key] = nil }
        return old
    }

    /// True when an entry for `key` exists (compared by Unicode scalars).
    public func contains(key: String) -> Bool { position(of: key) != nil }

    /// The entries sorted by key in Unicode code point order (the same as UTF-8 byte order).
    public var entriesSortedByCodePoint: [Element] {
        storage.sorted { codePointLess($0.key, $1.key) }
    }

    /// Calls `body` with each entry in Unicode code point order of the keys, without copying the entries: in place
    /// when they are already in that order (as objects built key by key in order are), else through a sorted list
    /// of positions.
    @inline(__always)
    func forEachEntrySortedByCodePoint(_ body: (String, JSONValue) throws -> Void) rethrows {
        if isSortedByCodePoint { return try forEachEntry(body) }
        let order = storage.indices.sorted { codePointLess(storage[$0].key, storage[$1].key) }
        for index in order { try body(storage[index].key, storage[index].value) }
    }

    /// An empty object with room for `capacity` entries.
    init(reservingCapacity capacity: Int) {
        storage.reserveCapacity(capacity)
    }

    /// Calls `body` with each entry in order, without copying the entries out.
    @inline(__always)
    func forEachEntry(_ body: (String, JSONValue) throws -> Void) rethrows {
        for index in storage.indices { try body(storage[index].key, storage[index].value) }
    }

    /// True when the entries are in strictly increasing Unicode code point order of their keys.
    var isSortedByCodePoint: Bool {
        var index = 1
        while index < storage.count {
            if !codePointLess(storage[index - 1].key, storage[index].key) { return false }
            index += 1
        }
        return true
    }

    /// Builds an object from parsed entries in order; a repeated key keeps its last value at its first position.
    ///
    /// The reader calls this once per object, when the object closes, with ``keyHash(_:)`` of every key. A key
    /// whose hash bit is new in a 128-bit mask cannot repeat an earlier key; only the others are compared.
    /// Larger objects build the key index as they go.
    init(parsedEntries: [Element], keyHashes: [UInt32]) {
        let count = parsedEntries.count
        guard count > 1 else {
            storage = parsedEntries
            return
        }
        guard count <= Self.indexThreshold else {
            for (key, value) in parsedEntries { self[key] = value }
            return
        }
        var seen: (UInt64, UInt64) = (0, 0)
        var repeated = false
        scan: for offset in 0..<count {
            let hash = keyHashes[offset]
            let bit: UInt64 = 1 << UInt64(hash & 63)
            let inHigh = hash & 64 != 0
            if (inHigh ? seen.1 : seen.0) & bit != 0 {
                for earlier in 0..<offset where keyHashes[earlier] == hash {
                    if scalarsEqual(parsedEntries[earlier].key, parsedEntries[offset].key) {
                        repeated = true
                        break scan
                    }
                }
            }
            if inHigh { seen.1 |= bit } else { seen.0 |= bit }
        }
        if repeated {
            for (key, value) in parsedEntries { self[key] = value }
        } else {
            storage = parsedEntries
        }
    }

    /// Appends without a duplicate check; the reader uses it for keys it has already checked.
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        storage.append((key, value))
        if index != nil {
            index![ScalarKey(key)] = storage.count - 1
        } else if storage.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    private func position(of key: String) -> Int? {
        if let index { return index[ScalarKey(key)] }
        for (offset, entry) in storage.enumerated() where scalarsEqual(entry.key, key) {
            return offset
        }
        return nil
    }

    private mutating func rebuildIndex() {
        guard storage.count > Self.indexThreshold else {
            index = nil
            return
        }
        var built: [ScalarKey: Int] = [:]
        built.reserveCapacity(storage.count)
        for (offset, entry) in storage.enumerated() { built[ScalarKey(entry.key)] = offset }
        index = built
    }

    /// Mapping equality: the same keys (by scalars) with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs.storage {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }

    /// Hashes consistently with ``==(_:_:)`` (independent of entry order).
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in storage {
            var entryHasher = Hasher()
            hashScalars(of: key, into: &entryHasher)
            entryHasher.combine(value)
            combined = combined &+ entryHasher.finalize()
        }
        hasher.combine(storage.count)
        hasher.combine(combined)
    }
}

/// A dictionary key that compares strings by their Unicode scalars (UTF-8 bytes).
struct ScalarKey: Hashable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: ScalarKey, rhs: ScalarKey) -> Bool { scalarsEqual(lhs.text, rhs.text) }

    func hash(into hasher: inout Hasher) { hashScalars(of: text, into: &hasher) }
}

/// True when two strings hold the same Unicode scalars (byte-equal UTF-8; never canonical equivalence).
@inline(__always)
func scalarsEqual(_ lhs: String, _ rhs: String) -> Bool {
    let count = lhs.utf8.count
    guard count == rhs.utf8.count else { return false }
    guard count > 0 else { return true }
    var lhs = lhs
    var rhs = rhs
    return lhs.withUTF8 { left in rhs.withUTF8 { right in memcmp(left.baseAddress!, right.baseAddress!, count) == 0 } }
}

/// FNV-1a of `bytes`: a cheap, unseeded hash for spotting repeated keys in one object and finding model keys.
@inline(__always)
func keyHash(bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
    var hash: UInt32 = 2_166_136_261
    for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    return hash
}

/// ``keyHash(bytes:)`` of a string's UTF-8 bytes.
@inline(__always)
func keyHash(_ key: String) -> UInt32 {
    var key = key
    return key.withUTF8 { keyHash(bytes: $0) }
}

/// Orders two strings by Unicode code point (the same as comparing their UTF-8 bytes).
func codePointLess(_ lhs: String, _ rhs: String) -> Bool {
    // Native strings lend their UTF-8 without a copy; others (bridged) are made native first.
    let native = lhs.utf8.withContiguousStorageIfAvailable { left in
        rhs.utf8.withContiguousStorageIfAvailable { right in utf8Less(left, right) }
    }
    if let native, let less = native { return less }
    var lhs = lhs
    var rhs = rhs
    return lhs.withUTF8 { left in rhs.withUTF8 { right in utf8Less(left, right) } }
}

@inline(__always)
private func utf8Less(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
    let shared = min(left.count, right.count)
    if shared > 0 {
        let order = memcmp(left.baseAddress!, right.baseAddress!, shared)
        if order != 0 { return order < 0 }
    }
    return left.count < right.count
}

extension JSONInteger: ExpressibleByIntegerLiteral {
    /// Creates an integer from a literal.
    public init(integerLiteral value: Int) { self.init(value) }
}

extension JSONValue {
    /// JSON text that ``JSONReader`` reads back to an equal value: entries in order, floats as their shortest
    /// round-trip digits (`NaN`, `Infinity`, `-Infinity` for the special values), strings as raw UTF-8 (an unpaired
    /// surrogate string as `\u` escapes).
    ///
    /// - Parameter maxDepth: The deepest nesting written.
    /// - Throws: ``JSONReadError`` with ``JSONReadError/Code/tooDeep`` when the value nests deeper than `maxDepth`.
    func jsonText(maxDepth: Int = JSONReader.defaultMaxDepth) throws -> [UInt8] {
        var out: [UInt8] = []
        try writeJSONText(into: &out, depth: 0, maxDepth: maxDepth)
        return out
    }

    private func writeJSONText(into out: inout [UInt8], depth: Int, maxDepth: Int) throws {
        func appendString(_ text: String) {
            out.append(UInt8(ascii: "\""))
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case 0..<0x20:
                    out.append(contentsOf: Array(String(format: "\\u%04x", byte).utf8))
                default:
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let integer): out.append(contentsOf: integer.decimalText.utf8)
        case .float(let number):
            if number.isNaN {
                out.append(contentsOf: "NaN".utf8)
            } else if number.isInfinite {
                out.append(contentsOf: (number < 0 ? "-Infinity" : "Infinity").utf8)
            } else {
                out.append(contentsOf: number.description.utf8)
            }
        case .string(let text): appendString(text)
        case .unpairedSurrogateString(let units):
            out.append(UInt8(ascii: "\""))
            for unit in units { out.append(contentsOf: Array(String(format: "\\u%04x", unit).utf8)) }
            out.append(UInt8(ascii: "\""))
        case .array(let elements):
            guard depth < maxDepth else { throw JSONValue.tooDeep(maxDepth) }
            out.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                try element.writeJSONText(into: &out, depth: depth + 1, maxDepth: maxDepth)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            guard depth < maxDepth else { throw JSONValue.tooDeep(maxDepth) }
            out.append(UInt8(ascii: "{"))
            for (offset, entry) in object.entries.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                appendString(entry.key)
                out.append(UInt8(ascii: ":"))
                try entry.value.writeJSONText(into: &out, depth: depth + 1, maxDepth: maxDepth)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func tooDeep(_ maxDepth: Int) -> JSONReadError {
        JSONReadError(code: .tooDeep, offset: 0, line: 1, column: 1, reason: "nesting deeper than \(maxDepth)")
    }
}
