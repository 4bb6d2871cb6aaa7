import Foundation

/// The keys a model reads, found by a hash of their UTF-8 bytes (Unicode scalars, never canonical equivalence).
struct ModelKeys: Sendable {
    let names: [String]
    /// Open addressing over 64 buckets: a slot into `names`, or -1 for an empty bucket.
    private let buckets: [Int8]

    init(_ names: [String]) {
        precondition(names.count <= 32, "a model reads at most 32 keys")
        var buckets = [Int8](repeating: -1, count: 64)
        for (slot, name) in names.enumerated() {
            var bucket = Int(keyHash(name) & 63)
            while buckets[bucket] >= 0 { bucket = (bucket + 1) & 63 }
            buckets[bucket] = Int8(slot)
        }
        self.names = names
        self.buckets = buckets
    }

    /// The slot of `key`, or nil when the model does not read it.
    @inline(__always)
    func slot(of key: String) -> Int? {
        var bucket = Int(keyHash(key) & 63)
        while true {
            let slot = buckets[bucket]
            if slot < 0 { return nil }
            if scalarsEqual(names[Int(slot)], key) { return Int(slot) }
            bucket = (bucket + 1) & 63
        }
    }

    /// The slot of a key written in the source, hashed and compared straight from its static bytes.
    @inline(__always)
    func slot(of key: StaticString) -> Int? {
        let start = key.utf8Start
        let count = key.utf8CodeUnitCount
        var bucket = Int(keyHash(bytes: UnsafeBufferPointer(start: start, count: count)) & 63)
        while true {
            let slot = buckets[bucket]
            if slot < 0 { return nil }
            var name = names[Int(slot)]
            let equal = name.withUTF8 { bytes in
                bytes.count == count && (count == 0 || memcmp(bytes.baseAddress!, start, count) == 0)
            }
            if equal { return Int(slot) }
            bucket = (bucket + 1) & 63
        }
    }
}

/// One JSON object's values for a model's keys, gathered in a single pass over its entries.
struct ModelFields {
    let keys: ModelKeys
    private var values: [JSONValue?]
    /// Keys the model does not read, in entry order.
    private(set) var unknownKeys: [String] = []

    init(_ object: JSONObject, keys: ModelKeys) {
        self.keys = keys
        values = [JSONValue?](repeating: nil, count: keys.names.count)
        object.forEachEntry { key, value in
            if let slot = keys.slot(of: key) {
                values[slot] = value
            } else {
                unknownKeys.append(key)
            }
        }
    }

    /// The value under `name`, one of the model's keys; nil when the object lacks it.
    subscript(name: StaticString) -> JSONValue? {
        guard let slot = keys.slot(of: name) else {
            assertionFailure("\(name) is not one of the model's keys")
            return nil
        }
        return values[slot]
    }
}
