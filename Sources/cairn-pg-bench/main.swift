// Benchmarks/compare/pg.sh's driver: durable ledger appends to PostgreSQL through the real Ledger (entry encoding,
// one append statement and one checkpoint per batch), timed. Needs the PostgreSQL trait to run.
//
//   cairn-pg-bench COUNT BATCH ROOT [ledger|storage] [THREADS]  (CAIRN_PG_URL and PGPASSWORD from the environment)
// prints `appends_per_second=N entry_bytes=B` on stdout and writes one entry's exact bytes to ROOT/entry.json.
// `storage` times the storage alone (its one-call commit: the append and a checkpoint note), without entry
// encoding or signing. THREADS (ledger mode, default 1) writers append their shares of the COUNT entries through one
// Ledger at once, in batches of BATCH: its group commit merges what they queue while a commit is in flight.
import CairnLedger
import CairnManifest
import CairnPostgres
import CairnStore
import Foundation
import Synchronization

#if PostgreSQL
let arguments = CommandLine.arguments
guard (4...6).contains(arguments.count), let count = Int(arguments[1]), let batch = Int(arguments[2]),
    count > 0, batch > 0, let threads = arguments.count == 6 ? Int(arguments[5]) : 1, threads > 0,
    let url = ProcessInfo.processInfo.environment["CAIRN_PG_URL"]
else {
    FileHandle.standardError.write(
        Data("usage: CAIRN_PG_URL=... cairn-pg-bench COUNT BATCH ROOT [ledger|storage] [THREADS]\n".utf8)
    )
    exit(2)
}
let root = arguments[3]
let storageOnly = arguments.count >= 5 && arguments[4] == "storage"
let schema = "bench_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
let storage = try PostgresLedgerStorage(url: url + (url.contains("?") ? "&" : "?") + "schema=\(schema)")
defer { try? storage.dropSchema() }
let store = try ObjectStore.create(at: root + "/store")
let ledger = try Ledger.open(objects: store, storage: storage, root: store.root)
func receipt(_ index: Int) throws -> Receipt {
    try Receipt(
        json: JSONReader.parse(
            """
            {"run_id":"run-\(index / 8)","step_name":"step","step_index":\(index % 8),"attempt":1,\
            "status":"succeeded","started_at":"2026-01-01T00:00:00.000Z","finished_at":"2026-01-01T00:00:01.000Z",\
            "provider":"bench","inputs":[],"outputs":[]}
            """
        )
    )
}
let receipts = try (0..<count).map(receipt)
// In storage mode, one real entry (appended untimed) is the template of every payload.
let template: [UInt8]? =
    storageOnly
    ? try { () throws -> [UInt8] in
        try ledger.appendReceipt(receipts[0])
        return try ledger.entryBytes(at: 0)
    }() : nil
let start = DispatchTime.now().uptimeNanoseconds
var next = 0
if let sample = template {
    while next < count {
        let end = min(count, next + batch)
        let payloads = (next..<end).map { sample + Array(" \($0)".utf8) }
        _ = try storage.commit(payloads) { size, root in "bench\n\(size)\n\(root.bytes)\n" }
        next = end
    }
}
if threads > 1, template == nil {
    // Each writer takes every THREADS-th batch.
    let batches = stride(from: 0, to: count, by: batch).map { $0..<min(count, $0 + batch) }
    let failure = Mutex<(any Error)?>(nil)
    // One thread per writer: `concurrentPerform` would run at most as many at once as there are cores.
    let done = DispatchGroup()
    for writer in 0..<threads {
        done.enter()
        Thread.detachNewThread {
            defer { done.leave() }
            for (number, range) in batches.enumerated() where number % threads == writer {
                do {
                    try ledger.appendReceipts(Array(receipts[range]))
                } catch {
                    failure.withLock { $0 = error }
                    return
                }
            }
        }
    }
    done.wait()
    if let error = failure.withLock({ $0 }) { throw error }
    next = count
}
while next < count {
    let end = min(count, next + batch)
    if end - next == 1 {
        try ledger.appendReceipt(receipts[next])
    } else {
        try ledger.appendReceipts(Array(receipts[next..<end]))
    }
    next = end
}
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
let sample = try ledger.entryBytes(at: 0)
try Data(sample).write(to: URL(fileURLWithPath: root + "/entry.json"))
print("appends_per_second=\(Int(Double(count) / seconds)) entry_bytes=\(sample.count)")
#else
FileHandle.standardError.write(Data((PostgresSupport.missingSupportMessage + "\n").utf8))
exit(2)
#endif
