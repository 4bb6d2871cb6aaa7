#if PostgreSQL
import CairnCore
import CairnLedger
import CairnManifest
import CairnPostgres
import CairnStore
import Dispatch
import Foundation
import Synchronization
import Testing
import _CairnConformance
import _CairnTestSupport

/// The PostgreSQL server the tests use: `CAIRN_PG_URL` (and `PGPASSWORD`), as `scripts/pg-server.sh env` prints.
enum PostgresServer {
    static let url = ProcessInfo.processInfo.environment["CAIRN_PG_URL"]
    static let skipReason: Comment = """
        CAIRN_PG_URL is not set: start a server with `bash scripts/pg-server.sh start` and \
        `eval "$(bash scripts/pg-server.sh env)"` to run the PostgreSQL ledger tests
        """

    /// A fresh schema of its own, dropped when the value goes.
    final class Scratch {
        let schema = "t_" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        var url: String {
            let base = PostgresServer.url ?? ""
            return base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        }
        func open(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresLedgerStorage {
            try PostgresLedgerStorage(url: url, environment: environment)
        }
        deinit {
            if let storage = try? open() { try? storage.dropSchema() }
        }
    }
}

/// Threads that each use their own value (never shared), as the storage and ledger instances require.
final class PerThread<Value>: @unchecked Sendable {
    let values: [Value]
    init(_ values: [Value]) { self.values = values }
}

/// Errors collected from worker threads.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}

func bundleBytes(_ value: JSONValue) throws -> [UInt8] { Array(try CanonicalJSON.string(value).utf8) }

func receipt(run: String, step: Int) throws -> Receipt {
    try Receipt(
        json: JSONReader.parse(
            """
            {"run_id":"\(run)","step_name":"s\(step)","step_index":\(step),"attempt":1,"status":"succeeded",\
            "started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z","provider":"p",\
            "inputs":[],"outputs":[]}
            """
        )
    )
}

/// Copies the ledger in `storage` into local files under `root` (with the key that signed it) and runs the local
/// offline verifier, which recomputes every leaf, node and the checkpoint's root from the entries.
func verifyOffline(
    _ storage: any LedgerStorage,
    keyFrom ledgerRoot: String
) throws -> (LedgerTransfer, LedgerVerification) {
    let copy = try TemporaryDirectory(prefix: "cairn-pg-verify")
    let transfer = try Ledger.transfer(from: storage, to: try Ledger.localStorage(directory: copy.appending("ledger")))
    try FileManager.default.copyItem(atPath: ledgerRoot + "/ledger/key.pub", toPath: copy.appending("ledger/key.pub"))
    return (transfer, try Ledger.verify(storeRoot: copy.path))
}

@Suite(.enabled(if: PostgresServer.url != nil, PostgresServer.skipReason), .timeLimit(.minutes(15)))
struct PostgresLedgerStorageTests {
    @Test func passesTheLedgerStorageContract() throws {
        let scratch = PostgresServer.Scratch()
        try LedgerStorageConformance.run { try scratch.open() }
    }

    @Test func aLedgerRunsOnPostgreSQLAndItsProofsVerifyOffline() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-ledger")
        let store = try ObjectStore.create(at: directory.appending("store"))
        let ledger = try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
        var refs: [LedgerEntryRef] = []
        for run in 0..<12 {
            refs += try ledger.appendReceipts(try (0..<(run % 3 + 1)).map { try receipt(run: "r\(run)", step: $0) })
            refs.append(try ledger.appendTag(runID: "r\(run)", key: "selected", value: .bool(run % 2 == 0)))
        }
        #expect(refs.map(\.index) == Array(0..<UInt64(refs.count)))
        #expect(try ledger.size() == UInt64(refs.count))
        let checkpoint = try ledger.checkpoint()
        #expect(checkpoint.size == UInt64(refs.count))
        for ref in refs {
            let bundle = try ledger.inclusionBundle(index: ref.index)
            #expect(bundle.leafHash == ref.leafHash)
            let check = try ProofVerifier.check(
                bundle: try bundleBytes(bundle.jsonValue),
                key: ledger.verifier.encoded
            )
            #expect(check.isValid, "entry \(ref.index): \(check.findings)")
        }
        let consistency = try ledger.consistencyBundle(oldSize: 5, newSize: checkpoint.size)
        let consistent = try ProofVerifier.check(
            bundle: try bundleBytes(consistency.jsonValue),
            key: ledger.verifier.encoded
        )
        #expect(consistent.isValid, "\(consistent.findings)")

        // Another process's view: a second ledger on its own connection sees the same log and checkpoint.
        let again = try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
        #expect(try again.size() == UInt64(refs.count))
        #expect(try again.checkpointNote() == (try ledger.checkpointNote()))

        // The same entries in local files give the same tree, and the local verifier finds nothing wrong.
        let (transfer, verification) = try verifyOffline(try scratch.open(), keyFrom: store.root)
        #expect(verification.isOK, "\(verification.problems)")
        #expect(transfer.rootHash == checkpoint.rootHash && verification.rootHash == checkpoint.rootHash)
        #expect(transfer.checkpointSize == checkpoint.size && verification.checkpoint?.size == checkpoint.size)
    }

    @Test func concurrentWritersOnSeparateConnectionsMakeOneConsistentLog() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-concurrent")
        let store = try ObjectStore.create(at: directory.appending("store"))
        let workers = 6
        let rounds = 20
        let ledgers = PerThread(
            try (0..<workers).map { _ in try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
            }
        )
        let errors = Collected()
        let seenCheckpoints = Collected()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let ledger = ledgers.values[worker]
            for round in 0..<rounds {
                do {
                    if round % 2 == 0 {
                        try ledger.appendTag(runID: "w\(worker)", key: "round", value: .string("\(round)"))
                    } else {
                        try ledger.appendReceipts(try (0..<3).map { try receipt(run: "w\(worker)-\(round)", step: $0) })
                    }
                    seenCheckpoints.add(try ledger.checkpointNote())
                } catch {
                    errors.add("worker \(worker) round \(round): \(error)")
                }
            }
        }
        #expect(errors.all.isEmpty, "\(errors.all)")
        let expected = UInt64(workers * (rounds / 2) * 4)
        let ledger = ledgers.values[0]
        #expect(try ledger.size() == expected)

        // Every entry exactly once, and each three-receipt batch contiguous.
        var payloads: [[UInt8]] = []
        try ledger.forEachEntry { _, bytes in payloads.append(bytes) }
        #expect(Set(payloads).count == payloads.count)
        var position = 0
        while position < payloads.count {
            let (entry, _) = try LedgerEntry.decode(payloads[position])
            if case .receipt(let first) = entry {
                for step in 1..<3 {
                    guard case .receipt(let next) = try LedgerEntry.decode(payloads[position + step]).entry else {
                        Issue.record("batch of run \(first.runID) split at entry \(position + step)")
                        break
                    }
                    #expect(next.runID == first.runID && next.stepIndex == step)
                }
                position += 3
            } else {
                position += 1
            }
        }

        // The tree and checkpoint verify offline, and every checkpoint a writer saw is a prefix of the final one.
        let final = try ledger.checkpoint()
        #expect(final.size == expected)
        let (transfer, verification) = try verifyOffline(try scratch.open(), keyFrom: store.root)
        #expect(verification.isOK, "\(verification.problems)")
        #expect(transfer.rootHash == final.rootHash && verification.entryCount == expected)
        for note in Set(seenCheckpoints.all) {
            let seen = try Checkpoint.open(signedNote: note, verifier: ledger.verifier)
            let proof = try ledger.consistencyBundle(oldSize: seen.size, newSize: final.size)
            #expect(proof.oldRoot == seen.rootHash)
            let check = try ProofVerifier.check(bundle: try bundleBytes(proof.jsonValue), key: ledger.verifier.encoded)
            #expect(check.isValid, "from \(seen.size): \(check.findings)")
        }
        for index in stride(from: UInt64(0), to: expected, by: 17) {
            let bundle = try ledger.inclusionBundle(index: index)
            let check = try ProofVerifier.check(bundle: try bundleBytes(bundle.jsonValue), key: ledger.verifier.encoded)
            #expect(check.isValid, "entry \(index): \(check.findings)")
        }
    }

    @Test func aConnectionBrokenBeforeAnAppendStillLandsTheBatchExactlyOnce() throws {
        let scratch = PostgresServer.Scratch()
        let writer = try scratch.open()
        let killer = try scratch.open()
        let size = try writer.withExclusiveAccess { () throws -> UInt64 in
            _ = try writer.recover()
            _ = try writer.append([Array("first".utf8)])
            // The server ends the writer's session (its advisory lock goes with it) before the next append.
            try killer.execute(unsafeSQL: "SELECT pg_terminate_backend(\(try writer.backendProcessID()))")
            Thread.sleep(forTimeInterval: 0.2)
            return try writer.append([Array("second".utf8), Array("third".utf8)])
        }
        #expect(size == 3)
        let entries = try killer.withSharedAccess { try killer.entries(0..<(try killer.committedSize())) }
        #expect(entries.map { String(decoding: $0, as: UTF8.self) } == ["first", "second", "third"])
        // The writer is usable again, and holds the lock when it says so.
        let next = try writer.withExclusiveAccess { () throws -> UInt64 in
            _ = try writer.recover()
            return try writer.append([Array("fourth".utf8)])
        }
        #expect(next == 4)
    }

    @Test func aOneStatementCommitOverABrokenConnectionLandsOnceWithItsCheckpoint() throws {
        let scratch = PostgresServer.Scratch()
        let writer = try scratch.open()
        let killer = try scratch.open()
        @Sendable func note(_ size: UInt64, _ root: MerkleHash) -> String { "size \(size) root \(root.bytes)" }
        // The first commit finds the end itself; the next one, the log being where it left it, is one statement.
        #expect(try writer.commit([Array("first".utf8)], checkpoint: note) == 1)
        try killer.execute(unsafeSQL: "SELECT pg_terminate_backend(\(try writer.backendProcessID()))")
        Thread.sleep(forTimeInterval: 0.2)
        // Its statement meets the ended session: it reconnects, finds the end, and commits the batch once.
        #expect(try writer.commit([Array("second".utf8), Array("third".utf8)], checkpoint: note) == 3)
        let entries = try killer.withSharedAccess { try killer.entries(0..<(try killer.committedSize())) }
        #expect(entries.map { String(decoding: $0, as: UTF8.self) } == ["first", "second", "third"])
        let checkpoint = try killer.withSharedAccess { try killer.checkpoint() }
        let root = try killer.withSharedAccess { try killer.root(size: 3) }
        #expect(checkpoint?.note == note(3, root) && checkpoint?.sequence == 2, "\(String(describing: checkpoint))")
        // A writer inside the exclusive access holds a one-statement commit off until it leaves.
        nonisolated(unsafe) let holder = try scratch.open()
        let entered = DispatchSemaphore(value: 0)
        let held = Mutex<Result<UInt64, any Error>?>(nil)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            let result = Result {
                try holder.withExclusiveAccess { () throws -> UInt64 in
                    _ = try holder.recover()
                    entered.signal()
                    Thread.sleep(forTimeInterval: 0.5)
                    return try holder.append([Array("held".utf8)])
                }
            }
            held.withLock { $0 = result }
        }
        entered.wait()
        #expect(try writer.commit([Array("after".utf8)], checkpoint: note) == 5)
        done.wait()
        #expect(try held.withLock { $0 }?.get() == 4)
        let all = try killer.withSharedAccess { try killer.entries(0..<(try killer.committedSize())) }
        #expect(all.suffix(2).map { String(decoding: $0, as: UTF8.self) } == ["held", "after"])
    }

    @Test func aWriterWhoseLogMovedIsRefusedAndCommitsNothing() throws {
        let scratch = PostgresServer.Scratch()
        let writer = try scratch.open()
        let other = try scratch.open()
        #expect {
            try writer.withExclusiveAccess {
                _ = try writer.recover()
                // Damage: another session moves the head behind the lock's back.
                try other.execute(unsafeSQL: "UPDATE {schema}.head SET size = 1")
                _ = try writer.append([Array("late".utf8)])
            }
        } throws: { error in
            (error as? PostgresLedgerError)?.code == .lostExclusive
        }
        try other.execute(unsafeSQL: "UPDATE {schema}.head SET size = 0")
        #expect(try other.withSharedAccess { try other.entries(0..<0) }.isEmpty)
        let recovered = try other.withExclusiveAccess { try other.recover().size }
        #expect(recovered == 0)
    }

    /// Raises a server error (so `execute` throws) unless `condition` holds in the schema.
    static func expectOnServer(_ storage: PostgresLedgerStorage, _ condition: String, _ what: String) {
        do {
            try storage.execute(
                unsafeSQL: "DO $$ BEGIN IF NOT (\(condition)) THEN RAISE EXCEPTION 'failed: %', $x$\(what)$x$; "
                    + "END IF; END $$"
            )
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test func nodesFromLevelFourAreStoredAndTheLowerOnesAreFoldedFromTheLeaves() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-floor")
        let store = try ObjectStore.create(at: directory.appending("store"))
        let ledger = try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
        // Batches of 1, 5, 16 and 15: nodes complete across batch boundaries and inside them; 37 entries in all.
        var step = 0
        for size in [1, 5, 16, 15] {
            try ledger.appendReceipts(
                try (0..<size).map { _ in
                    step += 1
                    return try receipt(run: "r", step: step)
                }
            )
        }
        let storage = try scratch.open()
        Self.expectOnServer(storage, "NOT EXISTS (SELECT 1 FROM {schema}.nodes WHERE level < 4)", "no node below 4")
        Self.expectOnServer(
            storage,
            "(SELECT array_agg(level ORDER BY level, idx) FROM {schema}.nodes) = ARRAY[4, 4, 5]::smallint[]",
            "the level 4 nodes of entries 0-15 and 16-31, and the level 5 node of 0-31"
        )
        // Every node of the 37-entry tree, read through a fresh instance (nothing cached), is the fold of its leaves.
        let (size, _) = try storage.withExclusiveAccess { try storage.recover() }
        #expect(size == 37)
        let leaves = try storage.withSharedAccess { try storage.entries(0..<37) }.map { Merkle.leafHash($0) }
        for level in 0...5 {
            let width = 1 << level
            for index in 0..<(37 / width) {
                let expected = Merkle.root(ofLeaves: Array(leaves[index * width..<(index + 1) * width]))
                let stored = try storage.withSharedAccess { try storage.node(level: level, index: UInt64(index)) }
                #expect(stored == expected, "node (\(level), \(index))")
            }
        }
        #expect(throws: LedgerError.self) { try storage.withSharedAccess { try storage.node(level: 2, index: 9) } }
        // A fresh writer recovers the peaks (32, 4 and 1 leaves: one stored, two folded) and appends after them.
        let again = try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
        try again.appendReceipt(try receipt(run: "r", step: 38))
        let (transfer, verification) = try verifyOffline(try scratch.open(), keyFrom: store.root)
        #expect(verification.isOK, "\(verification.problems)")
        #expect(transfer.rootHash == (try again.checkpoint().rootHash) && verification.entryCount == 38)
        // A missing leaf under a peak below the floor is damage that recovery names: of the 38 entries' peaks (32, 4
        // and 2 leaves), the last two are folded from entries 32-37. A fresh instance has to read the peaks.
        try storage.execute(unsafeSQL: "DELETE FROM {schema}.entries WHERE idx = 33")
        let damaged = try scratch.open()
        #expect {
            try damaged.withExclusiveAccess { _ = try damaged.recover() }
        } throws: { error in
            (error as? LedgerError)?.code == .corruptLog && "\(error)".contains("peaks of 38 entries are missing")
        }
        // A missing node at the floor is damage that recovery names.
        try storage.execute(unsafeSQL: "DELETE FROM {schema}.nodes WHERE level = 4 AND idx = 1")
        #expect {
            try storage.withExclusiveAccess { _ = try storage.recover() }
        } throws: { error in
            (error as? LedgerError)?.code == .corruptLog && "\(error)".contains("level-4 nodes at 0 (expected 1)")
        }
    }

    @Test func aVersionOneSchemaIsUpgradedOnOpenAndItsLedgerStillVerifies() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-v1")
        let store = try ObjectStore.create(at: directory.appending("store"))
        let ledger = try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
        try ledger.appendReceipts(try (0..<21).map { try receipt(run: "old", step: $0) })
        // What version 1 held: the same tables with every level stored (here level 0, the leaves), no append
        // function, version '1'.
        let storage = try scratch.open()
        try storage.execute(unsafeSQL: "INSERT INTO {schema}.nodes SELECT 0, idx, leaf FROM {schema}.entries")
        try storage.execute(unsafeSQL: "DROP FUNCTION {schema}.append_batch")
        try storage.execute(unsafeSQL: "UPDATE {schema}.meta SET value = '1' WHERE key = 'schema_version'")
        let upgraded = try Ledger.open(objects: store, storage: try scratch.open(), root: store.root)
        Self.expectOnServer(
            storage,
            "(SELECT value FROM {schema}.meta WHERE key = 'schema_version') = '2'",
            "the open moved the schema to version 2"
        )
        try upgraded.appendReceipts(try (0..<12).map { try receipt(run: "new", step: $0) })
        let (transfer, verification) = try verifyOffline(try scratch.open(), keyFrom: store.root)
        #expect(verification.isOK, "\(verification.problems)")
        #expect(transfer.rootHash == (try upgraded.checkpoint().rootHash) && verification.entryCount == 33)
    }

    @Test func anUnknownSchemaVersionIsRefused() throws {
        let scratch = PostgresServer.Scratch()
        let storage = try scratch.open()
        try storage.execute(unsafeSQL: "UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'")
        #expect {
            _ = try scratch.open()
        } throws: { error in
            let text = "\(error)"
            return (error as? PostgresLedgerError)?.code == .schemaVersion && text.contains("version 99")
        }
        try storage.execute(unsafeSQL: "UPDATE {schema}.meta SET value = '2' WHERE key = 'schema_version'")
    }

    @Test func aWrongPasswordIsAnAuthenticationErrorThatNeverShowsThePassword() throws {
        let scratch = PostgresServer.Scratch()
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = "wrong-Pa55word-xyzzy"
        #expect {
            _ = try scratch.open(environment: environment)
        } throws: { error in
            let text = "\(error)"
            return (error as? PostgresLedgerError)?.code == .authentication && text.contains("SQLSTATE 28P01")
                && text.contains("127.0.0.1") && !text.contains("wrong-Pa55word-xyzzy")
        }
    }

    @Test func anUnreachableServerIsAConnectionErrorNamingTheHost() throws {
        let url = "postgres://cairn@127.0.0.1:9/cairn?sslmode=disable"
        #expect {
            _ = try PostgresLedgerStorage(url: url)
        } throws: { error in
            (error as? PostgresLedgerError)?.code == .connection && "\(error)".contains("127.0.0.1:9/cairn")
        }
    }
}
#endif
