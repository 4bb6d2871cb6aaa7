public import CairnCore
public import CairnStore
import Dispatch
import Foundation

/// A clause of a backend contract that an implementation broke.
public struct ConformanceFailure: Error, CustomStringConvertible {
    /// The clause, as `spec/backends.md` numbers it ("O3"), and what was seen.
    public var description: String
    init(_ clause: String, _ seen: String) { description = "\(clause): \(seen)" }
}

/// The object-backend contract of `spec/backends.md`, as one suite every ``ObjectBackend`` must pass: the local
/// store runs it in `CairnStoreTests`, and each scale-out adapter runs the same function against its real server.
///
/// It needs an empty backend and a scratch folder for files; `damage`, when the backend can be damaged from
/// outside, replaces an object's stored bytes so the suite can check that reads refuse them.
public enum ObjectBackendConformance {
    /// Runs every clause; throws the first ``ConformanceFailure`` (or the backend's own unexpected error).
    public static func run(
        _ backend: any ObjectBackend,
        scratch: String,
        damage: ((Digest, [UInt8]) throws -> Void)? = nil
    ) throws {
        let algorithm = backend.algorithm
        @Sendable func digest(_ bytes: [UInt8]) -> Digest { ContentHasher.digest(of: bytes, algorithm: algorithm) }
        func require(_ condition: Bool, _ clause: String, _ seen: @autoclosure () -> String) throws {
            if !condition { throw ConformanceFailure(clause, seen()) }
        }
        func storeError(_ clause: String, _ body: () throws -> Void) throws -> StoreError {
            do {
                try body()
            } catch let error as StoreError {
                return error
            }
            throw ConformanceFailure(clause, "expected a StoreError, the call succeeded")
        }

        // O1: an empty backend lists nothing, and an unknown digest is absent (not an error).
        let initial = try backend.list()
        try require(initial.isEmpty, "O1", "a new backend lists \(initial.count) objects")
        let unknown = digest(Array("never stored".utf8))
        let presence = try backend.contains(unknown)
        try require(presence == .absent, "O1", "an unknown digest is \(presence)")
        let missing = try storeError("O1") { _ = try backend.read(unknown) }
        try require(missing.code == .notFound, "O1", "reading an absent object threw \(missing.code)")
        let otherAlgorithm: DigestAlgorithm = algorithm == .sha256 ? .blake2b256 : .sha256
        let foreign = try backend.contains(
            ContentHasher.digest(of: Array("never stored".utf8), algorithm: otherAlgorithm)
        )
        try require(foreign == .absent, "O1", "a digest of another algorithm is \(foreign)")

        // O2: put names bytes by their digest; a second put of the same bytes stores nothing new.
        let hello = Array("hello, objects".utf8)
        let first = try backend.put(hello)
        try require(first.digest == digest(hello), "O2", "put named the bytes \(first.digest)")
        try require(first.size == Int64(hello.count) && first.stored, "O2", "first put returned \(first)")
        let again = try backend.put(hello)
        try require(again.digest == first.digest && !again.stored, "O2", "second put returned \(again)")
        try require(try backend.contains(first.digest).isPresent, "O2", "a put object is not present")
        try require(try backend.read(first.digest) == hello, "O2", "read returned other bytes")
        try require(try backend.size(of: first.digest) == Int64(hello.count), "O2", "size differs")
        let age = Date().timeIntervalSince(try backend.modificationDate(of: first.digest))
        try require(age > -300 && age < 300, "O2", "modification date is \(age) s from now")

        // O3: a put with an expected digest stores only matching bytes; a mismatch stores nothing.
        let other = Array("other bytes".utf8)
        let mismatch = try storeError("O3") { _ = try backend.put(other, expecting: first.digest) }
        try require(mismatch.code == .digestMismatch, "O3", "a mismatching put threw \(mismatch.code)")
        try require(try backend.contains(digest(other)) == .absent, "O3", "mismatching bytes were stored")
        try require(try backend.read(first.digest) == hello, "O3", "a mismatching put changed the named object")
        let matching = try backend.put(other, expecting: digest(other))
        try require(matching.digest == digest(other), "O3", "a matching put returned \(matching)")

        // O4: the empty object is an object like any other.
        let empty = try backend.put([])
        try require(empty.digest == digest([]) && empty.size == 0, "O4", "the empty object is \(empty)")
        try require(try backend.read(empty.digest).isEmpty, "O4", "the empty object reads back non-empty")

        // O5: files stream in (with an expected digest) and stream out in order, verified.
        var large = [UInt8](repeating: 0, count: 3 << 20 | 12_345)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in large.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            large[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let file = scratch + "/conformance-large.bin"
        try Data(large).write(to: URL(fileURLWithPath: file))
        let wrongFile = try storeError("O5") { _ = try backend.put(fileAt: file, expecting: first.digest) }
        try require(wrongFile.code == .digestMismatch, "O5", "a mismatching file put threw \(wrongFile.code)")
        try require(try backend.contains(digest(large)) == .absent, "O5", "a mismatching file was stored")
        let streamed = try backend.put(fileAt: file, expecting: digest(large))
        try require(streamed.digest == digest(large), "O5", "a file put returned \(streamed)")
        var out: [UInt8] = []
        try backend.stream(streamed.digest, verify: true) { out += $0 }
        try require(out == large, "O5", "streaming returned \(out.count) bytes, not the \(large.count) stored")
        let copyPath = scratch + "/conformance-copy.bin"
        try backend.copy(streamed.digest, toFileAt: copyPath, verify: true)
        try require(FileManager.default.contents(atPath: copyPath) == Data(large), "O5", "copy wrote other bytes")

        // O6: list names every object once.
        let listed = Set(try backend.list())
        let expected: Set = [first.digest, matching.digest, empty.digest, streamed.digest]
        try require(listed == expected, "O6", "list gave \(listed.count) objects, expected \(expected.count)")

        // O7: remove takes the object away; removing it again reports it was not there.
        try require(try backend.remove(matching.digest), "O7", "remove of a present object returned false")
        try require(try backend.contains(matching.digest) == .absent, "O7", "a removed object is still present")
        try require(!(try backend.remove(matching.digest)), "O7", "a second remove returned true")

        // O8: concurrent puts of the same and of different bytes from several threads all land, once each.
        let inputs = (0..<64).map { Array("concurrent object \($0 % 24)".utf8) }
        let failures = ConcurrentErrors()
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            do {
                let result = try backend.put(inputs[index])
                if result.digest != digest(inputs[index]) { failures.add("put \(index) returned \(result.digest)") }
            } catch {
                failures.add("put \(index) threw \(error)")
            }
        }
        if let failure = failures.first { throw ConformanceFailure("O8", failure) }
        for input in inputs {
            try require(try backend.read(digest(input)) == input, "O8", "a concurrently put object reads back wrong")
        }
        try require(try backend.list().count == expected.count - 1 + 24, "O8", "list count after concurrent puts")

        // O9: bytes damaged behind the backend's back (same length, other content) are refused by a verified read
        // and a verified stream.
        if let damage {
            let victim = try backend.put(Array("bytes to be damaged".utf8))
            try damage(victim.digest, Array("bytes to be DAMAGED".utf8))
            let corrupt = try storeError("O9") { _ = try backend.read(victim.digest, verify: true) }
            try require(corrupt.code == .corrupt, "O9", "a verified read of damaged bytes threw \(corrupt.code)")
            let corruptStream = try storeError("O9") { try backend.stream(victim.digest, verify: true) { _ in } }
            try require(
                corruptStream.code == .corrupt,
                "O9",
                "a verified stream of damaged bytes threw \(corruptStream.code)"
            )
        }

        // O10: cleaning up debris of interrupted writers never removes an object.
        _ = try backend.cleanUpDebris()
        try require(try backend.read(first.digest) == hello, "O10", "debris clean-up removed an object")
    }
}

/// Error texts gathered from several threads.
final class ConcurrentErrors: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String] = []
    func add(_ text: String) { lock.withLock { texts.append(text) } }
    var first: String? { lock.withLock { texts.first } }
}
