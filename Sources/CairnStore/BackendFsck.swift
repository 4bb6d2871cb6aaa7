import CairnCore
import Dispatch
import Synchronization

extension FsckReport {
    /// Checks the objects of a backend whose objects are not files on this machine (an S3 bucket): rehashes every
    /// object `backend` lists, on `jobs` threads, and reports each whose bytes hash to anything but its name as
    /// ``FsckProblem/Kind/corrupt``, with what they hash to. O(total bytes), in constant memory per thread.
    ///
    /// A mismatch is read and hashed a second time before it is reported: only bytes that hash to the same wrong
    /// digest twice are damage (a transfer error is not). An object listed and then gone (garbage collection in
    /// between) is skipped. With `repair`, each corrupt object is removed, since the backend refuses to overwrite
    /// it: the next put of the right bytes stores it again. A good object is never removed.
    ///
    /// - Parameters:
    ///   - backend: The objects to check.
    ///   - jobs: Objects hashed at once (at least 1).
    ///   - repair: Remove the corrupt objects found.
    ///   - progress: Called with (objects done, objects total) now and then, from any thread.
    /// - Throws: `StoreError` when the backend cannot be listed or an object cannot be read (never for damage).
    public static func check(
        objectsIn backend: any ObjectBackend,
        jobs: Int = 1,
        repair: Bool = false,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> FsckReport {
        let digests = try backend.list()
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let found = Mutex(Found())
        progress?(0, digests.count)
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, digests.count))) { _ in
            while true {
                let position = next.add(1, ordering: .relaxed).oldValue
                guard position < digests.count, found.withLock({ $0.failure == nil }) else { return }
                let digest = digests[position]
                do {
                    if let result = try checkObject(digest, in: backend, repair: repair) {
                        found.withLock {
                            $0.bytes += result.size
                            $0.checked += 1
                            if let problem = result.problem { $0.problems.append(problem) }
                        }
                    }
                } catch {
                    found.withLock { if $0.failure == nil { $0.failure = error } }
                    return
                }
                let finished = done.add(1, ordering: .relaxed).newValue
                if finished % 64 == 0 || finished == digests.count { progress?(finished, digests.count) }
            }
        }
        let result = found.withLock { $0 }
        if let failure = result.failure { throw failure }
        return FsckReport(
            objectsChecked: result.checked,
            bytesChecked: result.bytes,
            temporaryFilesInUse: 0,
            problems: result.problems.sorted { $0.path < $1.path },
            debris: []
        )
    }

    private struct Found: Sendable {
        var checked = 0
        var bytes: Int64 = 0
        var problems: [FsckProblem] = []
        var failure: (any Error)?
    }

    /// Hashes one object (twice when the first hash differs from its name); nil when it is gone.
    private static func checkObject(
        _ digest: Digest,
        in backend: any ObjectBackend,
        repair: Bool
    ) throws -> (size: Int64, problem: FsckProblem?)? {
        func hash() throws -> (digest: Digest, size: Int64)? {
            var hasher = ContentHasher(algorithm: digest.algorithm)
            var size: Int64 = 0
            do {
                try backend.stream(digest, verify: false) { chunk in
                    hasher.update(bufferPointer: chunk)
                    size += Int64(chunk.count)
                }
            } catch let error as StoreError where error.code == .notFound {
                return nil
            }
            return (hasher.finalize(), size)
        }
        guard let first = try hash() else { return nil }
        guard first.digest != digest else { return (first.size, nil) }
        guard let second = try hash() else { return nil }
        guard second.digest == first.digest else {
            throw StoreError(
                code: .io,
                message: "two reads of the object hashed to \(first.digest) and \(second.digest): the backend is not "
                    + "returning stable bytes; check it and run fsck again",
                path: backend.location,
                digest: digest
            )
        }
        var problem = FsckProblem(
            kind: .corrupt,
            path: backend.location + " " + digest.description,
            digest: digest,
            actualDigest: second.digest,
            detail: "the stored bytes hash to \(second.digest), not their name",
            repair: nil
        )
        if repair {
            problem.repair = try backend.remove(digest) ? "removed (a put of the right bytes stores it again)" : nil
        }
        return (second.size, problem)
    }
}
