import Benchmark
import CairnCore
import Crypto

/// In-process hashing throughput: Cairn's public hasher (`ContentHasher`, what the store hashes with) in each
/// algorithm beside the raw library call on the same 1 MiB buffer.
/// Allocations are a handful per whole hash (init and finalize), never per chunk: the threshold gates that.
let benchmarks: @Sendable () -> Void = {
    let input = [UInt8](repeating: 0xA5, count: 1 << 20)
    let configuration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        maxDuration: .seconds(2),
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 8])]
    )

    Benchmark("ContentHasher(sha256).update 1MiB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            var hasher = ContentHasher(algorithm: .sha256)
            input.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            blackHole(hasher.finalize())
        }
    }

    Benchmark("swift-crypto SHA256.update 1MiB (raw)", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            var hasher = SHA256()
            input.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            blackHole(hasher.finalize())
        }
    }

    Benchmark("ContentHasher(blake2b-256).update 1MiB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            var hasher = ContentHasher(algorithm: .blake2b256)
            input.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            blackHole(hasher.finalize())
        }
    }

    Benchmark("XXH3.hash64 1MiB", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(input.withUnsafeBytes { XXH3.hash64($0) })
        }
    }
}
