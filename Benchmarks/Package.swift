// swift-tools-version: 6.1
import PackageDescription

// Cairn's benchmarks: a separate package so that the benchmark harness and its malloc interposer stay out of the
// library's dependency graph and out of `swift test`. Same-run comparisons against peer tools live in compare/.
let package = Package(
    name: "cairn-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "cairn", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "HashingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CairnCore", package: "cairn"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/HashingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ManifestBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CairnManifest", package: "cairn"),
            ],
            path: "Benchmarks/ManifestBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LedgerCompare",
            dependencies: [
                .product(name: "CairnCore", package: "cairn"),
                .product(name: "CairnManifest", package: "cairn"),
                .product(name: "CairnStore", package: "cairn"),
                .product(name: "CairnLedger", package: "cairn"),
            ],
            path: "Benchmarks/LedgerCompare"
        ),
        .executableTarget(
            name: "PipelineCompare",
            dependencies: [
                .product(name: "CairnCore", package: "cairn"),
                .product(name: "CairnManifest", package: "cairn"),
                .product(name: "CairnStore", package: "cairn"),
                .product(name: "CairnLedger", package: "cairn"),
                .product(name: "CairnPipeline", package: "cairn"),
            ],
            path: "Benchmarks/PipelineCompare"
        ),
        .executableTarget(
            name: "ManifestCompare",
            dependencies: [.product(name: "CairnManifest", package: "cairn")],
            path: "Benchmarks/ManifestCompare"
        ),
    ]
)
