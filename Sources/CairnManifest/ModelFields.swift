import Foundation

/// The keys a model reads, found by their UTF-8 bytes (Unicode scalars, never canonical equivalence).
///
/// Names are listed in code point order, the order canonical JSON writes them, so in a canonical file each key is the
/// one after the last key found, and is confirmed with one comparison; other files fall back to a small hash table.
struct ModelKeys: @unchecked Sendable {  // immutable; the pointers address static string literals
    let names: [StaticString]
    private let starts: [UnsafePointer<UInt8>]
    private let counts: [Int]
    /// Open addressing over 64 buckets: a slot into `names`, or -1 for an empty bucket.
    private let buckets: [Int8]

    init(_ names: [StaticString]) {
        precondition(names.count <= 32, "a model reads at most 32 keys")
        self.names = names
        starts = names.map(\.utf8Start)
        counts = names.map(\.utf8CodeUnitCount)
        var buckets = [Int8](repeating: -1, count: 64)
        for (slot, name) in names.enumerated() {
            var bucket = Self.bucket(of: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            while buckets[bucket] >= 0 { bucket = (bucket + 1) & 63 }
            buckets[bucket] = Int8(slot)
        }
        self.buckets = buckets
    }

    /// The number of keys.
    var count: Int { counts.count }

    /// Whether `key` is the name in `slot`.
    @inline(__always)
    func matches(_ key: UnsafeBufferPointer<UInt8>, slot: Int) -> Bool {
        key.count == counts[slot] && bytesEqual(key.baseAddress!, starts[slot], key.count)
    }

    /// The slot of the key whose UTF-8 bytes are `key`, or nil when the model does not read it.
    @inline(__always)
    func slot(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        var bucket = Self.bucket(of: key)
        while true {
            let slot = buckets[bucket]
            if slot < 0 { return nil }
            if matches(key, slot: Int(slot)) { return Int(slot) }
            bucket = (bucket + 1) & 63
        }
    }

    /// The slot of `key`, or nil when the model does not read it.
    func slot(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { slot(of: $0) }
    }

    /// Whether `count` bytes at `lhs` and `rhs` are equal, eight at a time; a tail shorter than eight bytes is
    /// compared as the last eight bytes (overlapping ones already compared) or, in a key shorter than eight, as
    /// overlapping four-, two- and one-byte loads.
    @inline(__always)
    private func bytesEqual(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let left = UnsafeRawPointer(lhs)
        let right = UnsafeRawPointer(rhs)
        @inline(__always) func equal<Word: FixedWidthInteger>(_: Word.Type, at offset: Int) -> Bool {
            left.loadUnaligned(fromByteOffset: offset, as: Word.self)
                == right.loadUnaligned(fromByteOffset: offset, as: Word.self)
        }
        if count >= 8 {
            var index = 0
            while index + 8 <= count {
                guard equal(UInt64.self, at: index) else { return false }
                index += 8
            }
            return index == count || equal(UInt64.self, at: count - 8)
        }
        if count >= 4 { return equal(UInt32.self, at: 0) && equal(UInt32.self, at: count - 4) }
        if count >= 2 { return equal(UInt16.self, at: 0) && equal(UInt16.self, at: count - 2) }
        return count == 0 || lhs[0] == rhs[0]
    }

    /// The first bucket to probe for a key: a mix of its length and three of its bytes (model keys are short and
    /// differ there; probing settles the rest).
    @inline(__always)
    private static func bucket(of key: UnsafeBufferPointer<UInt8>) -> Int {
        let count = key.count
        guard count > 0 else { return 0 }
        var mixed = UInt32(truncatingIfNeeded: count) &* 0x9E37_79B1
        mixed ^= UInt32(key[0]) | UInt32(key[count / 2]) << 8 | UInt32(key[count - 1]) << 16
        mixed = (mixed ^ (mixed >> 15)) &* 0x2C1B_3C6D
        return Int(mixed >> 26)
    }
}

/// The keys one model reads: each case is a slot, and ``table`` names the JSON key of each case, in case order.
protocol ModelKey: CaseIterable, RawRepresentable where RawValue == Int {
    static var table: ModelKeys { get }
}

/// One JSON object's value nodes for a model's keys, gathered in a single pass over its entries on a tape (the last
/// entry of a repeated key wins, as in `json.loads`).
struct ModelFields<Key: ModelKey> {
    /// The value node of each slot, or -1.
    private var values = InlineArray<32, Int32>(repeating: -1)
    /// The key node of the first entry whose key the model does not read.
    private(set) var firstUnknownKey: Int?

    init(_ tape: JSONTape, object: Int) {
        let keys = Key.table
        var child = object + 1
        let end = tape.nodes[object].end
        var expected = 0
        while child < end {
            let key = child
            let slot: Int?
            if tape.nodes[key].escaped {
                slot = keys.slot(of: tape.text(key))
            } else {
                let body = tape.body(key)
                slot = expected < keys.count && keys.matches(body, slot: expected) ? expected : keys.slot(of: body)
            }
            if let slot {
                values[slot] = Int32(truncatingIfNeeded: key + 1)
                expected = slot + 1
            } else if firstUnknownKey == nil {
                firstUnknownKey = key
            }
            child = tape.next(after: key + 1)
        }
    }

    /// The value node under `key`; nil when the object lacks it.
    @inline(__always)
    subscript(key: Key) -> Int? {
        let node = values[key.rawValue]
        return node < 0 ? nil : Int(node)
    }
}

/// A string enumeration whose members a tape string is matched to by its UTF-8 bytes, with no `String` made.
protocol ByteMatchedEnumeration: CaseIterable, RawRepresentable, Sendable where RawValue == String {
    /// The members and their raw values' bytes.
    static var members: EnumerationBytes<Self> { get }
}

/// The members of a string enumeration with the UTF-8 bytes of their raw values.
struct EnumerationBytes<Value: CaseIterable & RawRepresentable & Sendable>: Sendable where Value.RawValue == String {
    private let values: [Value]
    private let rawBytes: [[UInt8]]

    init() {
        values = Array(Value.allCases)
        rawBytes = values.map { Array($0.rawValue.utf8) }
    }

    /// The member whose raw value's UTF-8 bytes are `bytes`, if any.
    func member(_ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let start = bytes.baseAddress else { return nil }
        for index in values.indices where rawBytes[index].count == bytes.count {
            let equal = rawBytes[index].withUnsafeBufferPointer { raw in
                memcmp(raw.baseAddress!, start, bytes.count) == 0
            }
            if equal { return values[index] }
        }
        return nil
    }
}

extension SchemaVersion: ByteMatchedEnumeration { static let members = EnumerationBytes<SchemaVersion>() }
extension RunStatus: ByteMatchedEnumeration { static let members = EnumerationBytes<RunStatus>() }
extension StepStatus: ByteMatchedEnumeration { static let members = EnumerationBytes<StepStatus>() }
extension StepType: ByteMatchedEnumeration { static let members = EnumerationBytes<StepType>() }
extension Modality: ByteMatchedEnumeration { static let members = EnumerationBytes<Modality>() }
extension PromptVisibility: ByteMatchedEnumeration { static let members = EnumerationBytes<PromptVisibility>() }
extension ProviderErrorCode: ByteMatchedEnumeration { static let members = EnumerationBytes<ProviderErrorCode>() }
