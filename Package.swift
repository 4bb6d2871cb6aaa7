// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "cairn",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CairnCore", targets: ["CairnCore"]),
        .library(name: "CairnManifest", targets: ["CairnManifest"]),
        .library(name: "CairnStore", targets: ["CairnStore"]),
        .library(name: "CairnLedger", targets: ["CairnLedger"]),
        .library(name: "CairnPipeline", targets: ["CairnPipeline"]),
        .library(name: "CairnExport", targets: ["CairnExport"]),
        .library(name: "CairnS3", targets: ["CairnS3"]),
        .library(name: "CairnPostgres", targets: ["CairnPostgres"]),
        // The C ABI (include/cairn.h, spec/c-abi.md) as a shared library; scripts/build-libcairn.sh builds the
        // self-contained libcairn.so (Swift runtime linked in, only cairn_* exported) the Python package bundles.
        .library(name: "CairnC", type: .dynamic, targets: ["CairnC"]),
        .executable(name: "cairn", targets: ["cairn"]),
        .executable(name: "cairn-s3-bench", targets: ["cairn-s3-bench"]),
    ],
    traits: [
        .trait(
            name: "S3",
            description:
                "Objects in an S3-compatible bucket (CairnS3's HTTP client); builds AsyncHTTPClient and SwiftNIO."
        ),
        .trait(
            name: "PostgreSQL",
            description:
                "A ledger in PostgreSQL (CairnPostgres's PostgresLedgerStorage); builds postgres-nio and SwiftNIO."
        ),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CBlake2", pkgConfig: "libb2", providers: [.apt(["libb2-dev"])]),
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // The one IO layer (package-internal): system calls on swift-system's Errno, syncs, atomic publish.
        .target(
            name: "_CairnSystem",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        // Values, no IO: digests, hashers, checksums.
        .target(
            name: "CairnCore",
            dependencies: [
                "CBlake2",
                "CXXHash",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Values, no IO: genblaze-exact JSON reader, canonical JSON, manifest model and verification.
        .target(
            name: "CairnManifest",
            dependencies: [
                "CairnCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The content-addressed object store.
        .target(
            name: "CairnStore",
            dependencies: [
                "CairnCore",
                "_CairnSystem",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The append-only ledger, Merkle tree, checkpoints, proofs, index, lineage and GC.
        .target(
            name: "CairnLedger",
            dependencies: [
                "CairnCore",
                "CairnManifest",
                "CairnStore",
                "_CairnSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pipelines, providers, retries, resume.
        .target(
            name: "CairnPipeline",
            dependencies: [
                "CairnCore",
                "CairnManifest",
                "CairnStore",
                "CairnLedger",
                "_CairnSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Provenance in other formats: lineage graphs (DOT, Mermaid), the HTML lineage report, run folders, proof
        // bundles, in-toto, Parquet datasets (our own writer; zstd pages through Debian's libzstd), OpenLineage events.
        .target(
            name: "CairnExport",
            dependencies: [
                "CairnCore",
                "CairnManifest",
                "CairnLedger",
                "CairnStore",
                "CZstd",
                "_CairnSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // Objects in an S3-compatible bucket: the SigV4 signer, key layout and XML replies always compile (no IO);
        // the HTTP backend (S3ObjectBackend) only with the S3 trait, which brings AsyncHTTPClient.
        .target(
            name: "CairnS3",
            dependencies: [
                "CairnCore",
                "CairnStore",
                "_CairnSystem",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["S3"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["S3"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["S3"])),
                .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["S3"])),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks/compare/s3.sh's driver: S3ObjectBackend's puts and gets, timed (needs the S3 trait to run).
        .executableTarget(
            name: "cairn-s3-bench",
            dependencies: ["CairnCore", "CairnS3", "CairnStore"],
            swiftSettings: swiftSettings
        ),
        // A ledger in PostgreSQL (spec/postgres.md): URLs and credentials always compile (no IO); the storage
        // (PostgresLedgerStorage) only with the PostgreSQL trait, which brings postgres-nio.
        .target(
            name: "CairnPostgres",
            dependencies: [
                "CairnCore",
                "CairnLedger",
                "CairnStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["PostgreSQL"])),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks/compare/pg.sh's driver: durable ledger appends to PostgreSQL, timed (needs the PostgreSQL trait).
        .executableTarget(
            name: "cairn-pg-bench",
            dependencies: ["CairnLedger", "CairnManifest", "CairnPostgres", "CairnStore"],
            swiftSettings: swiftSettings
        ),
        // Benchmarks/compare/pg-lineage.sh's driver: the lineage index in PostgreSQL at 10^6 entries, beside the local
        // SQLite index of the same log (needs the PostgreSQL trait to run).
        .executableTarget(
            name: "cairn-pg-lineage-bench",
            dependencies: ["CairnCore", "CairnLedger", "CairnManifest", "CairnPostgres", "CairnStore"],
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets (docs/fuzzing.md): scripts/fuzz.sh builds them with -sanitize=fuzzer,address -D CAIRN_FUZZ;
        // the default build compiles only a stub main.
        .executableTarget(
            name: "cairn-fuzz",
            dependencies: ["CairnCore", "CairnManifest", "CairnLedger", "CairnExport", "CairnPipeline"],
            swiftSettings: swiftSettings
        ),
        // The C ABI: @_cdecl functions over the store, the ledger and manifest verification (include/cairn.h).
        .target(
            name: "CairnC",
            dependencies: [
                "CairnCore", "CairnManifest", "CairnStore", "CairnLedger", "_CairnSystem",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The CLI: one small file per verb.
        .executableTarget(
            name: "cairn",
            dependencies: [
                "CairnCore",
                "CairnManifest",
                "CairnStore",
                "CairnLedger",
                "CairnPipeline",
                "CairnExport",
                "CairnS3",
                "CairnPostgres",
                "_CairnSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test helpers: temporary directories, running the built `cairn` binary.
        .target(
            name: "_CairnTestSupport",
            path: "Tests/_CairnTestSupport",
            swiftSettings: swiftSettings
        ),
        // The backend contracts of spec/backends.md as suites any implementation runs (local, S3, PostgreSQL), and
        // TestBackend: the backends the store, ledger and pipeline suites run on (S3 and PostgreSQL with their
        // traits and servers).
        .target(
            name: "_CairnConformance",
            dependencies: [
                "CairnCore", "CairnStore", "CairnLedger", "CairnManifest", "CairnS3", "CairnPostgres",
                "_CairnTestSupport",
            ],
            path: "Tests/_CairnConformance",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnCoreTests",
            dependencies: ["CairnCore", "_CairnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnManifestTests",
            dependencies: ["CairnManifest", "CairnCore", "_CairnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnStoreTests",
            dependencies: ["CairnStore", "CairnCore", "_CairnSystem", "_CairnConformance", "_CairnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnLedgerTests",
            dependencies: [
                "CairnLedger", "CairnStore", "CairnManifest", "CairnCore", "_CairnSystem", "_CairnConformance",
                "_CairnTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnPipelineTests",
            dependencies: [
                "CairnPipeline", "CairnLedger", "CairnStore", "CairnManifest", "CairnCore", "_CairnSystem",
                "_CairnConformance", "_CairnTestSupport",
                // SecretRedactionTests run the built `cairn run` and read everything it wrote.
                "cairn",
            ],
            swiftSettings: swiftSettings
        ),
        // The signer against AWS's vectors, key layout, XML replies, retry policy: no server, always run.
        .testTarget(
            name: "CairnS3Tests",
            dependencies: ["CairnS3", "CairnCore", "_CairnTestSupport"],
            swiftSettings: swiftSettings
        ),
        // The S3 backend against a real server (scripts/s3-server.sh): compiled only with the S3 trait, skipped
        // when CAIRN_S3_ENDPOINT is not set.
        .testTarget(
            name: "CairnS3ServerTests",
            dependencies: [
                "CairnS3", "CairnStore", "CairnCore", "_CairnConformance", "_CairnTestSupport", "cairn",
                .product(name: "AsyncHTTPClient", package: "async-http-client", condition: .when(traits: ["S3"])),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnExportTests",
            dependencies: [
                "cairn", "CairnExport", "CairnLedger", "CairnStore", "CairnManifest", "CairnCore", "CairnPipeline",
                "_CairnSystem", "_CairnTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL ledger: URL and passfile rules always; against a real server (scripts/pg-server.sh) only
        // with the PostgreSQL trait, skipped when CAIRN_PG_URL is not set.
        .testTarget(
            name: "CairnPostgresTests",
            dependencies: [
                "cairn", "CairnPostgres", "CairnLedger", "CairnStore", "CairnManifest", "CairnCore",
                "_CairnConformance", "_CairnTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        // The C ABI's functions called directly, as a C caller would (pointers, lengths, status codes, buffers).
        .testTarget(
            name: "CairnCTests",
            dependencies: ["CairnC", "_CairnTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnCLITests",
            dependencies: ["cairn", "_CairnTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
