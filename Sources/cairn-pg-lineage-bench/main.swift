// Benchmarks/compare/pg-lineage.sh's driver: the lineage index in PostgreSQL at scale, timed, beside the local
// SQLite index of the same entries (the peer, in the same run). Needs the PostgreSQL trait to run.
//
//   cairn-pg-lineage-bench COUNT CHAIN ROOT [CALLS]      (CAIRN_PG_URL and PGPASSWORD from the environment)
//
// Fills a fresh PostgreSQL ledger (its own schema, dropped at the end unless CAIRN_BENCH_KEEP=1) with COUNT real
// entries through the storage's batched append: one `manifest` entry per four entries (its body, one step with one
// input and one output, in an in-memory object backend the index reads it from) and three `receipt` entries of
// that run. Runs form short parent chains, and one chain of CHAIN + 1 runs, spread evenly over the log, gives its
// last run CHAIN ancestors. Then catches the PostgreSQL index up (timed), and times CALLS calls each of
// `ancestors(of:)` of that last run and `descendants(of:)` of the chain's root, through the Ledger (each call also
// checks the index is up to date) and on the index alone; then the same on a local SQLite index of the same log.
// Prints `key=value` lines.
import CairnCore
import CairnLedger
import CairnManifest
import CairnPostgres
import CairnStore
import Foundation

#if PostgreSQL
/// Objects in memory: the manifest bodies the index reads (a local store would sync each of a million puts).
final class MemoryObjects: ObjectBackend, @unchecked Sendable {
    // Invariant: `lock` guards `objects`.
    private let lock = NSLock()
    private var objects: [Digest: [UInt8]] = [:]
    let algorithm = DigestAlgorithm.sha256
    let location = "memory"

    func put(_ bytes: [UInt8], expecting expected: Digest?) throws -> PutResult {
        let digest = ContentHasher.digest(of: bytes, algorithm: algorithm)
        let stored = lock.withLock { objects.updateValue(bytes, forKey: digest) == nil }
        return PutResult(digest: digest, size: Int64(bytes.count), stored: stored)
    }
    func put(fileAt path: String, expecting expected: Digest?) throws -> PutResult {
        try put(Array(try Data(contentsOf: URL(fileURLWithPath: path))), expecting: expected)
    }
    func read(_ digest: Digest, verify: Bool) throws -> [UInt8] {
        guard let bytes = lock.withLock({ objects[digest] }) else {
            throw StoreError(code: .notFound, message: "no object \(digest) in memory", digest: digest)
        }
        return bytes
    }
    func stream(_ digest: Digest, verify: Bool, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try read(digest, verify: verify).withUnsafeBytes(body)
    }
    func copy(_ digest: Digest, toFileAt path: String, verify: Bool) throws {
        try Data(try read(digest, verify: verify)).write(to: URL(fileURLWithPath: path))
    }
    func contains(_ digest: Digest) throws -> Presence {
        lock.withLock { objects[digest].map { .present(size: Int64($0.count)) } ?? .absent }
    }
    func size(of digest: Digest) throws -> Int64 { Int64(try read(digest, verify: false).count) }
    func modificationDate(of digest: Digest) throws -> Date { Date(timeIntervalSince1970: 0) }
    func list() throws -> [Digest] { lock.withLock { Array(objects.keys) } }
    func remove(_ digest: Digest) throws -> Bool { lock.withLock { objects.removeValue(forKey: digest) != nil } }
    func cleanUpDebris() throws -> Int { 0 }
}

let arguments = CommandLine.arguments
guard arguments.count == 4 || arguments.count == 5, let count = Int(arguments[1]), let chain = Int(arguments[2]),
    count >= 4 * (chain + 1), chain > 0,
    let url = ProcessInfo.processInfo.environment["CAIRN_PG_URL"]
else {
    FileHandle.standardError.write(
        Data("usage: CAIRN_PG_URL=... cairn-pg-lineage-bench COUNT CHAIN ROOT [CALLS] (COUNT >= 4 (CHAIN + 1))\n".utf8)
    )
    exit(2)
}
let root = arguments[3]
let calls = arguments.count == 5 ? Int(arguments[4]) ?? 25 : 25
let schema = "bench_lineage_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
let schemaURL = url + (url.contains("?") ? "&" : "?") + "schema=\(schema)"
let storage = try PostgresLedgerStorage(url: schemaURL)
defer {
    if ProcessInfo.processInfo.environment["CAIRN_BENCH_KEEP"] != "1" { try? storage.dropSchema() }
}
let objects = MemoryObjects()

func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
func say(_ key: String, _ value: Any) {
    FileHandle.standardOutput.write(Data("\(key)=\(value)\n".utf8))
}

// The runs: run m's manifest is entry 4m. Chain runs are every `stride`-th; the others form short chains between.
let runCount = count / 4
let stride = runCount / (chain + 1)
func parent(of run: Int) -> String? {
    if run % stride == 0 { return run == 0 || run / stride > chain ? nil : "run-\(run - stride)" }
    return run % stride == 1 ? nil : "run-\(run - 1)"
}
func digest(_ text: String) -> Digest { ContentHasher.digest(of: Array(text.utf8), algorithm: .sha256) }
func manifestBody(run: Int) throws -> [UInt8] {
    func asset(_ name: String) -> JSONValue {
        .object(
            JSONObject([
                ("media_type", "image/png"), ("sha256", .string(digest(name).hex)), ("size_bytes", 1024),
                ("url", .string("file:///\(name)")),
            ])
        )
    }
    let step: JSONValue = .object(
        JSONObject([
            ("step_id", .string("run-\(run)-s0")), ("provider", "bench"), ("model", "m1"), ("step_type", "generate"),
            ("modality", "image"), ("step_index", 0), ("status", "succeeded"),
            ("inputs", .array([asset("in-\(run)")])), ("assets", .array([asset("out-\(run)")])),
        ])
    )
    let value: JSONValue = .object(
        JSONObject([
            ("schema_version", "1.5"), ("canonical_hash", .string(String(repeating: "cd", count: 32))),
            (
                "run",
                .object(
                    JSONObject([
                        ("run_id", .string("run-\(run)")),
                        ("parent_run_id", parent(of: run).map { .string($0) } ?? .null),
                        ("name", .string("bench-\(run % 100)")), ("status", "succeeded"),
                        ("created_at", "2026-12-03T10:00:00Z"), ("steps", .array([step])),
                    ])
                )
            ),
        ])
    )
    return Array(try CanonicalJSON.string(value).utf8)
}
func entry(_ index: Int) throws -> LedgerEntry {
    let run = index / 4
    if index % 4 == 0 {
        let body = try manifestBody(run: run)
        return .manifest(
            ManifestRecord(
                runID: "run-\(run)",
                parentRunID: parent(of: run),
                name: "bench-\(run % 100)",
                canonicalHash: String(repeating: "cd", count: 32),
                manifestDigest: try objects.put(body).digest,
                status: "succeeded"
            )
        )
    }
    let receipt = try Receipt(
        json: JSONReader.parse(
            """
            {"run_id":"run-\(run)","step_name":"step","step_index":\(index % 4 - 1),"attempt":1,\
            "status":"succeeded","started_at":"2026-12-03T10:00:00.000Z","finished_at":"2026-12-03T10:00:01.000Z",\
            "provider":"bench","fingerprint":"f\(run % 1000)",\
            "inputs":[{"digest":"\(digest("in-\(run)"))","media_type":"image/png"}],\
            "outputs":[{"digest":"\(digest("out-\(run)-\(index % 4)"))","media_type":"image/png"}]}
            """
        )
    )
    return .receipt(receipt)
}

// Fill: batches of 4096 entries, one append statement each.
var start = DispatchTime.now().uptimeNanoseconds
var next = 0
while next < count {
    let end = min(count, next + 4096)
    let payloads = try (next..<end).map { try entry($0).encoded(timestamp: "2026-12-03T10:00:00.000Z") }
    _ = try storage.withExclusiveAccess { () throws -> UInt64 in
        _ = try storage.recover()
        return try storage.append(payloads)
    }
    next = end
}
say("entries", count)
say("fill_seconds", String(format: "%.1f", seconds(since: start)))

let target = "run-\(chain * stride)"
let chainRoot = "run-0"
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func nodes(_ node: LineageNode?) -> Int { node.map { 1 + $0.children.map(nodes).reduce(0, +) } ?? 0 }

// Both indexes are caught up first, then the database is vacuumed and analysed (what autovacuum does after a bulk
// load, done here so that it does not run during the timed calls), then the calls are timed interleaved, so that
// both indexes see the same machine load.
var ledgers: [(name: String, ledger: Ledger)] = []
for (name, location) in [
    ("pg", LedgerIndexLocation.postgres(try PostgresLedgerLocation(url: schemaURL))), ("sqlite", .localSQLite),
] {
    let folder = root + "/" + name
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let ledger = try Ledger.open(objects: objects, storage: storage, root: folder, index: location)
    start = DispatchTime.now().uptimeNanoseconds
    try ledger.updateIndex()
    let caughtUp = seconds(since: start)
    say("\(name)_catchup_seconds", String(format: "%.1f", caughtUp))
    say("\(name)_catchup_entries_per_second", Int(Double(count) / caughtUp))
    ledgers.append((name, ledger))
}
start = DispatchTime.now().uptimeNanoseconds
try storage.execute(unsafeSQL: "VACUUM ANALYZE")
say("vacuum_analyze_seconds", String(format: "%.1f", seconds(since: start)))

let probes: [(label: String, expect: Int, body: (Ledger) throws -> Int)] = [
    ("ancestors", chain, { try $0.ancestors(of: target).count }),
    ("ancestors_index_only", chain, { try $0.index.ancestors(of: target, depth: Ledger.maximumAncestorDepth).count }),
    ("descendants", chain + 1, { nodes(try $0.descendants(of: chainRoot)) }),
    (
        "catchup_check", 0,
        {
            try $0.updateIndex()
            return 0
        }
    ),
]
var samples: [String: [Double]] = [:]
for round in 0..<(calls + 2) {
    for (name, ledger) in ledgers {
        for probe in probes {
            let begin = DispatchTime.now().uptimeNanoseconds
            let found = try probe.body(ledger)
            let elapsed = seconds(since: begin) * 1000
            guard found == probe.expect else {
                FileHandle.standardError.write(Data("\(name) \(probe.label): \(found), not \(probe.expect)\n".utf8))
                exit(1)
            }
            // The first two rounds warm plans and caches, as a long-running host has them.
            if round >= 2 { samples["\(name)_\(probe.label)", default: []].append(elapsed) }
        }
    }
}
for (name, _) in ledgers {
    for probe in probes {
        say("\(name)_\(probe.label)_ms", String(format: "%.3f", median(samples["\(name)_\(probe.label)"] ?? [0])))
    }
}
say("schema", schema)
say("target", target)
#else
FileHandle.standardError.write(Data((PostgresSupport.missingSupportMessage + "\n").utf8))
exit(2)
#endif
