// Same-run ledger measurements for Benchmarks/compare/ledger.sh (release build). Prints one JSON object per run.
//   ledger-compare appends DIR COUNT THREADS [SQLFILE]   durable appends/s; THREADS=1 is one fsync per append;
//                                                        SQLFILE gets the same entry bytes as sqlite3 inserts
//   ledger-compare scale DIR ENTRIES DEPTH               builds a ledger, times reindex, ancestors, proofs
import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Lowercase hexadecimal, for an SQL blob literal.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func receipt(_ i: Int, run: String) -> Receipt {
    let digest = ContentHasher.digest(of: Array("output \(i)".utf8), algorithm: .sha256)
    return Receipt(
        runID: run,
        stepName: "generate",
        stepIndex: i % 8,
        status: .succeeded,
        startedAt: "2026-01-01T00:00:00.000Z",
        finishedAt: "2026-01-01T00:00:01.000Z",
        inputs: [],
        outputs: [ReceiptArtifact(digest: digest, mediaType: "image/png")],
        provider: "synthetic",
        providerRequestID: "req-\(i)"
    )
}

func manifestBytes(run: String, parent: String?) throws -> [UInt8] {
    let value: JSONValue = .object(
        JSONObject([
            ("schema_version", "1.5"), ("canonical_hash", .string(String(repeating: "0", count: 64))),
            (
                "run",
                .object(
                    JSONObject([
                        ("run_id", .string(run)), ("parent_run_id", parent.map { .string($0) } ?? .null),
                        ("name", .string("bench")), ("status", "completed"), ("steps", .array([])),
                    ])
                )
            ),
        ])
    )
    return try CanonicalJSON.encode(value)
}

func printJSON(_ pairs: [(String, Any)]) {
    let parts: [String] = pairs.map { key, value in
        let text: String = value is String ? "\"\(value)\"" : "\(value)"
        return "\"" + key + "\":" + text
    }
    let body: String = parts.joined(separator: ",")
    print("{" + body + "}")
}

let arguments = CommandLine.arguments
guard arguments.count >= 5 else {
    FileHandle.standardError.write(Data("usage: ledger-compare appends|scale DIR N M [SQLFILE]\n".utf8))
    exit(2)
}
let directory = arguments[2]
try? FileManager.default.removeItem(atPath: directory)
let store = try ObjectStore.create(at: directory, durability: .none)
let ledger = try Ledger.open(store: store)

switch arguments[1] {
case "appends":
    let count = Int(arguments[3])!
    let threads = Int(arguments[4])!
    let receipts = (0..<count).map { receipt($0, run: "run-\($0 % 16)") }
    let start = now()
    // Real threads: DispatchQueue.concurrentPerform would cap the number of appenders at the core count.
    let done = DispatchSemaphore(value: 0)
    for t in 0..<threads {
        Thread {
            var i = t
            while i < count {
                _ = try! ledger.appendReceipt(receipts[i])
                i += threads
            }
            done.signal()
        }.start()
    }
    for _ in 0..<threads { done.wait() }
    let elapsed = now() - start
    if arguments.count >= 6 {
        // The same entry bytes, one autocommit INSERT (one transaction) each, for sqlite3 WAL synchronous=FULL.
        var sql = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nCREATE TABLE entries(bytes BLOB NOT NULL);\n"
        try ledger.forEachEntry { _, bytes in
            sql += "INSERT INTO entries(bytes) VALUES (x'\(hex(bytes))');\n"
        }
        try sql.write(toFile: arguments[5], atomically: true, encoding: .utf8)
    }
    printJSON([
        ("mode", "appends"), ("count", count), ("threads", threads), ("seconds", elapsed),
        ("appends_per_second", Double(count) / elapsed),
    ])
case "scale":
    let entries = Int(arguments[3])!
    let depth = Int(arguments[4])!
    let otherRuns = max(0, entries / 20 - depth)
    // A chain of `depth` runs, other runs with random earlier parents, and receipts to fill.
    var runIDs: [String] = []
    var batch: [[UInt8]] = []
    var generator = SystemRandomNumberGenerator()
    let buildStart = now()
    for i in 0..<(depth + otherRuns) {
        let run = String(format: "run-%08d", i)
        let parent: String?
        if i < depth {
            parent = i == 0 ? nil : runIDs[i - 1]
        } else {
            parent = runIDs[Int.random(in: 0..<runIDs.count, using: &generator)]
        }
        runIDs.append(run)
        batch.append(try manifestBytes(run: run, parent: parent))
        if batch.count == 5000 {
            try ledger.appendManifests(bytes: batch)
            batch.removeAll()
        }
    }
    if !batch.isEmpty { try ledger.appendManifests(bytes: batch) }
    var appended = depth + otherRuns
    while appended < entries {
        let n = min(10_000, entries - appended)
        try ledger.appendReceipts((0..<n).map { receipt(appended + $0, run: runIDs[(appended + $0) % runIDs.count]) })
        appended += n
    }
    let buildSeconds = now() - buildStart
    let reindexStart = now()
    let indexed = try ledger.reindex()
    let reindexSeconds = now() - reindexStart
    let tip = runIDs[depth - 1]
    var ancestorTimes: [Double] = []
    for _ in 0..<21 {
        let t0 = now()
        let chain = try ledger.ancestors(of: tip)
        ancestorTimes.append(now() - t0)
        precondition(chain.count == depth - 1, "ancestors: \(chain.count)")
    }
    var refreshTimes: [Double] = []
    for _ in 0..<21 {
        let t0 = now()
        try ledger.updateIndex()
        refreshTimes.append(now() - t0)
    }
    // The alternative without an index: scan the log for manifest entries, then walk parent pointers.
    var scanTimes: [Double] = []
    for _ in 0..<3 {
        let t0 = now()
        var parents: [String: String] = [:]
        try ledger.forEachEntry { _, bytes in
            if case .manifest(let record) = try LedgerEntry.decode(bytes).entry, let parent = record.parentRunID {
                parents[record.runID] = parent
            }
        }
        var walked = 0
        var current = tip
        while let parent = parents[current] {
            walked += 1
            current = parent
        }
        scanTimes.append(now() - t0)
        precondition(walked == depth - 1)
    }
    let size = try ledger.size()
    let root = try ledger.rootHash(size: size)
    var proofTimes: [Double] = []
    for _ in 0..<1000 {
        let index = UInt64.random(in: 0..<size, using: &generator)
        let t0 = now()
        let proof = try ledger.inclusionProof(index: index, size: size)
        proofTimes.append(now() - t0)
        let leaf = Merkle.leafHash(try ledger.entryBytes(at: index))
        precondition(Merkle.verifyInclusion(index: index, size: size, leafHash: leaf, proof: proof, root: root))
    }
    printJSON([
        ("mode", "scale"), ("entries", Int(size)), ("depth", depth), ("build_seconds", buildSeconds),
        ("reindex_seconds", reindexSeconds), ("reindex_entries_per_second", Double(indexed) / reindexSeconds),
        ("ancestors_ms", median(ancestorTimes) * 1000), ("index_freshness_check_ms", median(refreshTimes) * 1000),
        ("linear_scan_ms", median(scanTimes) * 1000),
        ("inclusion_proof_ms", median(proofTimes) * 1000),
    ])
default:
    FileHandle.standardError.write(Data("unknown mode \(arguments[1])\n".utf8))
    exit(2)
}
