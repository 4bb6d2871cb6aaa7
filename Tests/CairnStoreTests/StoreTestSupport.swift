import CairnCore
import CairnStore
import Foundation
import _CairnConformance
import _CairnTestSupport

/// A fresh store in its own temporary directory.
struct TestStore {
    let directory: TemporaryDirectory
    let store: ObjectStore

    init(algorithm: DigestAlgorithm = .sha256, durability: Durability = .object) throws {
        directory = try TemporaryDirectory(prefix: "cairn-store")
        store = try ObjectStore.create(at: directory.appending("store"), algorithm: algorithm, durability: durability)
    }

    /// Writes `bytes` to a new file in the test directory and returns its path.
    func makeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appending(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

extension BackendInstance {
    /// Writes `bytes` to a new file in the test directory and returns its path.
    func makeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appending(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Deterministic pseudo-random bytes.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    var result = [UInt8]()
    result.reserveCapacity(count)
    while result.count < count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var word = state ^ (state >> 29)
        for _ in 0..<8 where result.count < count {
            result.append(UInt8(truncatingIfNeeded: word))
            word >>= 8
        }
    }
    return result
}

/// Overwrites bytes of a read-only object file in place (for damage tests).
func damage(_ path: String, _ body: (FileHandle) throws -> Void) throws {
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try body(handle)
}
