import CairnCore
import CairnManifest
import CairnStore
import Dispatch
import Foundation
import Synchronization
import Testing
import _CairnConformance
import _CairnTestSupport

@testable import CairnLedger

/// A fresh store and ledger on one of the test backends (`local` unless a test takes the backend as its argument).
struct LedgerFixture {
    let instance: BackendInstance
    let ledger: Ledger

    init(_ backend: TestBackend = .local, algorithm: DigestAlgorithm = .sha256) throws {
        instance = try backend.make(algorithm: algorithm, durability: .none)
        ledger = try instance.openLedger()
    }

    /// The objects (a local store, or a bucket).
    var store: any ObjectBackend { instance.objects }
    /// The temporary directory.
    var directory: TemporaryDirectory { instance.directory }
    /// The folder of the ledger's key and index (and, on a local ledger, its files).
    var root: String { instance.root }
    /// The local store, for tests of its files (local only).
    var localStore: ObjectStore { get throws { try instance.requireLocalStore() } }
    var logPath: String { root + "/ledger/entries.log" }

    /// Another ledger on the same log, as another process would open it.
    func reopen() throws -> Ledger { try instance.openLedger() }

    /// `cairn ledger verify` over the ledger, wherever it lives.
    func verify() throws -> LedgerVerification { try instance.verifyLedger() }
}

func makeReceipt(run: String, step: Int, inputs: [Digest] = [], outputs: [Digest] = []) -> Receipt {
    Receipt(
        runID: run,
        stepName: "step\(step)",
        stepIndex: step,
        status: .succeeded,
        startedAt: "2026-01-01T00:00:00Z",
        finishedAt: "2026-01-01T00:00:01Z",
        inputs: inputs.map { ReceiptArtifact(digest: $0, mediaType: "image/png") },
        outputs: outputs.map { ReceiptArtifact(digest: $0, mediaType: "image/png") },
        provider: "synthetic"
    )
}

/// A minimal genblaze-shaped manifest (the ledger reads run fields and asset digests from it).
func makeManifest(
    run: String,
    parent: String?,
    name: String,
    assets: [Digest] = [],
    inputs: [Digest] = [],
    records: [String: Digest] = [:]
) throws -> [UInt8] {
    func asset(_ digest: Digest) -> JSONValue {
        .object(JSONObject([("media_type", "image/png"), ("sha256", .string(digest.hex)), ("url", "file:///x")]))
    }
    let step: JSONValue = .object(
        JSONObject([
            ("provider", "synthetic"), ("model", "m"), ("step_index", 0), ("status", "succeeded"),
            ("assets", .array(assets.map(asset))), ("inputs", .array(inputs.map(asset))),
            (
                "provider_payload",
                .object(
                    JSONObject([
                        (
                            "cairn",
                            .object(
                                JSONObject([
                                    (
                                        "records",
                                        .object(
                                            JSONObject(
                                                records.sorted { $0.key < $1.key }.map { ($0, .string($1.description)) }
                                            )
                                        )
                                    )
                                ])
                            )
                        )
                    ])
                )
            ),
        ])
    )
    let value: JSONValue = .object(
        JSONObject([
            ("schema_version", "1.5"), ("canonical_hash", .string(String(repeating: "ab", count: 32))),
            (
                "run",
                .object(
                    JSONObject([
                        ("run_id", .string(run)), ("parent_run_id", parent.map { .string($0) } ?? .null),
                        ("name", .string(name)), ("status", "succeeded"), ("steps", .array([step])),
                    ])
                )
            ),
        ])
    )
    return try CanonicalJSON.encode(value)
}

@Suite(.timeLimit(.minutes(15)))
struct LedgerTests {
    @Test(arguments: TestBackend.available)
    func appendsAreReadBackWithVerifiableProofs(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        let ledger = fixture.ledger
        var refs: [LedgerEntryRef] = []
        for i in 0..<37 { refs.append(try ledger.appendReceipt(makeReceipt(run: "run-\(i % 5)", step: i))) }
        #expect(refs.map(\.index) == Array(0..<37))
        #expect(try ledger.size() == 37)
        let checkpoint = try ledger.checkpoint()
        #expect(checkpoint.size == 37)
        var leaves: [MerkleHash] = []
        for i in 0..<UInt64(37) {
            let bytes = try ledger.entryBytes(at: i)
            #expect(Merkle.leafHash(bytes) == refs[Int(i)].leafHash)
            leaves.append(Merkle.leafHash(bytes))
        }
        #expect(Merkle.root(ofLeaves: leaves) == checkpoint.rootHash)
        for size in [UInt64(1), 2, 5, 16, 37] {
            let root = try ledger.rootHash(size: size)
            #expect(root == Merkle.root(ofLeaves: Array(leaves[0..<Int(size)])))
            for index in 0..<size {
                let proof = try ledger.inclusionProof(index: index, size: size)
                #expect(
                    Merkle.verifyInclusion(
                        index: index,
                        size: size,
                        leafHash: leaves[Int(index)],
                        proof: proof,
                        root: root
                    )
                )
            }
            let consistency = try ledger.consistencyProof(oldSize: size, newSize: 37)
            #expect(
                Merkle.verifyConsistency(
                    oldSize: size,
                    newSize: 37,
                    oldRoot: root,
                    newRoot: checkpoint.rootHash,
                    proof: consistency
                )
            )
        }
        // The proof bundle checks offline, and fails when its entry is altered.
        let bundle = try ledger.inclusionBundle(index: 11)
        let text = try CanonicalJSON.encode(bundle.jsonValue)
        #expect(try ProofVerifier.check(bundle: text).isValid)
        var altered = bundle
        altered.entry[3] ^= 1
        #expect(!(try ProofVerifier.check(bundle: try CanonicalJSON.encode(altered.jsonValue)).isValid))
        let older = try ledger.inclusionBundle(index: 3, size: 9)
        #expect(try ProofVerifier.check(bundle: try CanonicalJSON.encode(older.jsonValue)).isValid)
        let other = try NoteSigner.generate(name: ledger.verifier.name)
        #expect(!(try ProofVerifier.check(bundle: text, key: other.verifier.encoded).isValid))
        #expect(try fixture.verify().isOK)
    }

    @Test(arguments: TestBackend.available)
    func concurrentThreadsAreGroupCommitted(backend: TestBackend) async throws {
        let fixture = try LedgerFixture(backend)
        let ledger = fixture.ledger
        try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for t in 0..<8 {
                group.addTask {
                    var indices: [UInt64] = []
                    for i in 0..<50 {
                        indices.append(try ledger.appendReceipt(makeReceipt(run: "t\(t)", step: i)).index)
                    }
                    return indices
                }
            }
            var all: [UInt64] = []
            for try await indices in group { all += indices }
            #expect(all.sorted() == Array(0..<400))
        }
        #expect(try fixture.verify().isOK)
        #expect(try ledger.receipts(runID: "t3").map(\.stepIndex) == Array(0..<50))
    }

    @Test(arguments: TestBackend.available)
    func ledgersOpenedSeparatelyOnOneLogAppendAtOnceAndSeeEachOther(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        // Three ledgers on one log, as three processes (or hosts, on PostgreSQL) would open it, each on its own
        // thread: single appends and batches of three, interleaved.
        let ledgers = [fixture.ledger, try fixture.reopen(), try fixture.reopen()]
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: ledgers.count) { worker in
            for round in 0..<20 {
                do {
                    if round % 4 == 3 {
                        try ledgers[worker].appendReceipts(
                            (0..<3).map { makeReceipt(run: "w\(worker)-batch\(round)", step: $0) }
                        )
                    } else {
                        try ledgers[worker].appendReceipt(makeReceipt(run: "w\(worker)", step: round))
                    }
                } catch {
                    failures.withLock { $0.append("ledger \(worker) round \(round): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // 3 ledgers x (15 single appends + 5 batches of 3).
        for (number, ledger) in ledgers.enumerated() {
            #expect(try ledger.size() == 90, "ledger \(number)")
            #expect(try ledger.checkpoint().size == 90, "ledger \(number)")
            #expect(try ledger.receipts(runID: "w\((number + 1) % 3)").count == 15, "ledger \(number)")
        }
        // Every batch landed whole, its three entries side by side.
        var runs: [String] = []
        try fixture.ledger.forEachEntry { _, bytes in
            if case .receipt(let receipt) = try LedgerEntry.decode(bytes).entry { runs.append(receipt.runID) }
        }
        for (index, run) in runs.enumerated() where run.contains("-batch") && (index == 0 || runs[index - 1] != run) {
            #expect(Array(runs[index..<min(index + 3, runs.count)]) == Array(repeating: run, count: 3), "\(run)")
        }
        #expect(try fixture.verify().isOK)
    }

    @Test(arguments: TestBackend.available)
    func aLedgerTransfersOutAndBackWithItsTreeAndSignedCheckpoint(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        for run in 0..<5 {
            try fixture.ledger.appendReceipts((0..<3).map { makeReceipt(run: "r\(run)", step: $0) })
            try fixture.ledger.appendManifest(
                bytes: makeManifest(run: "r\(run)", parent: run == 0 ? nil : "r\(run - 1)", name: "n\(run)")
            )
        }
        let checkpoint = try fixture.ledger.checkpoint()
        #expect(checkpoint.size == 20)

        // Out, into local files (`cairn ledger export`): every entry, the same root, the checkpoint as it was.
        let copy = try TemporaryDirectory(prefix: "cairn-transfer")
        let local = try Ledger.localStorage(directory: copy.appending("ledger"))
        let out = try Ledger.transfer(from: try fixture.instance.ledgerStorage(), to: local)
        #expect(out == LedgerTransfer(entryCount: 20, rootHash: checkpoint.rootHash, checkpointSize: 20))
        // A storage that holds a ledger is never written over.
        let refused = #expect(throws: LedgerError.self) {
            try Ledger.transfer(from: local, to: try fixture.instance.ledgerStorage())
        }
        #expect(refused?.code == .invalidArgument)
        #expect(try fixture.ledger.size() == 20)

        // Back, into a fresh ledger of the same backend (`cairn ledger import`), with the key that signed it: the
        // ledger opened there keeps the checkpoint (its signature still verifies), proves what the first proved,
        // and takes new entries.
        let target = try backend.make()
        for digest in try fixture.store.list() { _ = try target.objects.put(try fixture.store.read(digest)) }
        let back = try Ledger.transfer(from: local, to: try target.ledgerStorage())
        #expect(back == out)
        try FileManager.default.createDirectory(atPath: target.root + "/ledger", withIntermediateDirectories: true)
        for name in ["key", "key.pub"] {
            try FileManager.default.copyItem(
                atPath: fixture.root + "/ledger/" + name,
                toPath: target.root + "/ledger/" + name
            )
        }
        let moved = try target.openLedger()
        #expect(try moved.checkpointNote() == (try fixture.ledger.checkpointNote()))
        #expect(try moved.runs().map(\.runID) == (try fixture.ledger.runs().map(\.runID)))
        let bundle = try moved.inclusionBundle(index: 7)
        #expect(
            try ProofVerifier.check(
                bundle: CanonicalJSON.encode(bundle.jsonValue),
                key: fixture.ledger.verifier.encoded
            ).isValid
        )
        try moved.appendTag(runID: "r4", key: "moved", value: true)
        #expect(try moved.checkpoint().size == 21)
        #expect(try target.verifyLedger().isOK)
    }

    @Test func tornTailIsCutAndCompleteRecordsKept() throws {
        let fixture = try LedgerFixture()
        for i in 0..<10 { try fixture.ledger.appendReceipt(makeReceipt(run: "r", step: i)) }
        let log = try LedgerFile(path: fixture.logPath, flags: O_RDWR)
        let fullSize = try log.size()
        let start9 = try fixture.ledger.core.withSharedLock { try #require($0 as? LogStorage).offset(ofEntry: 9) }
        // Cut inside the last record: at every byte of its header and just past it, then every seventh byte of its
        // payload and its last byte (every byte with CAIRN_SLOW_TESTS=1). The first nine entries survive, and the
        // tail is reported.
        let header = Array((start9 + 1)...(start9 + 13))
        let payload =
            slowTestsEnabled
            ? Array((start9 + 14)..<fullSize) : Array(stride(from: start9 + 14, to: fullSize, by: 7)) + [fullSize - 1]
        for cut in header + payload {
            let copy = try TemporaryDirectory(prefix: "cairn-torn")
            try FileManager.default.copyItem(atPath: fixture.root, toPath: copy.appending("s"))
            let path = copy.appending("s") + "/ledger/entries.log"
            #expect(truncate(path, off_t(cut)) == 0)
            let reopened = try Ledger.open(store: try ObjectStore(at: copy.appending("s")))
            #expect(reopened.recoveredTail?.offset == start9)
            #expect(reopened.recoveredTail?.entryCount == 9)
            #expect(try reopened.size() == 9)
            #expect(try Ledger.verify(storeRoot: copy.appending("s")).isOK)
            try reopened.appendReceipt(makeReceipt(run: "r", step: 99))
            #expect(try Ledger.verify(storeRoot: copy.appending("s")).isOK)
        }
        // A zero-filled extension (size grown, data never written) is a torn tail too.
        try log.write([UInt8](repeating: 0, count: 100), at: fullSize)
        let reopened = try fixture.reopen()
        #expect(reopened.recoveredTail?.bytesRemoved == 100)
        #expect(try reopened.size() == 10)
    }

    @Test func derivedFilesAreRebuiltWhenMissingOrBehind() throws {
        let fixture = try LedgerFixture()
        for i in 0..<20 { try fixture.ledger.appendReceipt(makeReceipt(run: "r", step: i)) }
        let root = try fixture.ledger.checkpoint().rootHash
        #expect(truncate(fixture.root + "/ledger/tree.nodes", 32 * 7) == 0)
        #expect(truncate(fixture.root + "/ledger/entries.idx", 8 * 3) == 0)
        let reopened = try fixture.reopen()
        #expect(reopened.recoveredTail == nil)
        #expect(try reopened.size() == 20)
        #expect(try reopened.rootHash(size: 20) == root)
        #expect(try Ledger.verify(storeRoot: fixture.root).isOK)
    }

    @Test func tamperingIsFoundAndNamesTheIndex() throws {
        let fixture = try LedgerFixture()
        for i in 0..<12 { try fixture.ledger.appendReceipt(makeReceipt(run: "r", step: i)) }
        let original = try Data(contentsOf: URL(fileURLWithPath: fixture.logPath))
        let offsets = try fixture.ledger.core.withSharedLock { s in
            let log = try #require(s as? LogStorage)
            return try (0..<12).map { try log.offset(ofEntry: $0) }
        }
        func record(_ i: Int) -> Data {
            let end = i + 1 < offsets.count ? Int(offsets[i + 1]) : original.count
            return original[Int(offsets[i])..<end]
        }
        func check(_ data: Data, expect index: UInt64) throws {
            try data.write(to: URL(fileURLWithPath: fixture.logPath))
            let report = try Ledger.verify(storeRoot: fixture.root)
            #expect(!report.isOK)
            #expect(report.firstBadIndex == index, "\(report.problems)")
        }
        // Flip one payload byte of entry 5 (checksum catches it).
        var flipped = original
        flipped[Int(offsets[5]) + 20] ^= 0x01
        try check(flipped, expect: 5)
        // An open that has to read that record (its index covers only entries 0-2) refuses the log: a complete
        // record that fails its checksum is corruption, not a torn tail to cut, and the file keeps every byte.
        #expect(truncate(fixture.root + "/ledger/entries.idx", 8 * 3) == 0)
        #expect {
            _ = try fixture.reopen()
        } throws: { error in
            (error as? LedgerError)?.code == .corruptLog
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.logPath)) == flipped)
        // The intact log back, an open rebuilds the derived files the refused open left behind.
        try original.write(to: URL(fileURLWithPath: fixture.logPath))
        #expect(try fixture.reopen().size() == 12)
        // Flip a byte and fix the XXH3 checksum: the Merkle leaf catches it.
        var forged = original
        let start = Int(offsets[7])
        let length = Int(LogStorage.readUInt32(Array(original[start..<start + 4]), 0))
        forged[start + 12 + 3] ^= 0x01
        let checksum = XXH3.hash64(Array(forged[(start + 12)..<(start + 12 + length)]))
        withUnsafeBytes(of: checksum.littleEndian) { forged.replaceSubrange((start + 4)..<(start + 12), with: $0) }
        try check(forged, expect: 7)
        // Drop entry 4.
        var dropped = original[0..<Int(offsets[4])]
        for i in 5..<12 { dropped += record(i) }
        try check(Data(dropped), expect: 4)
        // Reorder entries 2 and 9.
        var reordered = original[0..<Int(offsets[0])]
        for i in 0..<12 { reordered += record(i == 2 ? 9 : i == 9 ? 2 : i) }
        try check(Data(reordered), expect: 2)
        // Drop the last entry: the checkpoint covers more than the log holds.
        try check(Data(original[0..<Int(offsets[11])]), expect: 11)
        try original.write(to: URL(fileURLWithPath: fixture.logPath))
        #expect(try Ledger.verify(storeRoot: fixture.root).isOK)
    }

    @Test(arguments: TestBackend.available)
    func aManifestBodyMissingFromTheStoreIsReportedNotSilentlyStepless(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        try fixture.ledger.appendManifest(bytes: makeManifest(run: "a", parent: nil, name: "first"))
        let bytes = try makeManifest(run: "b", parent: "a", name: "second")
        let entry = try fixture.ledger.appendManifest(bytes: bytes)
        #expect(try fixture.verify().isOK)
        let body = ContentHasher.digest(of: bytes, algorithm: .sha256)
        #expect(try fixture.store.remove(body))
        let report = try fixture.verify()
        #expect(report.firstBadIndex == entry.index)
        #expect(report.problems.map(\.message).joined().contains(body.description), "\(report.problems)")
        // The index still answers for the run (from the entry), and says it has no steps it could read.
        #expect(try fixture.ledger.reindex() >= 2)
        #expect(try fixture.ledger.ancestors(of: "b").map(\.runID) == ["a"])
    }

    @Test(arguments: TestBackend.available)
    func indexAnswersLineageAndDigestQueriesAndReindexAgrees(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        let ledger = fixture.ledger
        let image = try fixture.store.put(Array("image".utf8)).digest
        let upscaled = try fixture.store.put(Array("upscaled".utf8)).digest
        try ledger.appendReceipt(makeReceipt(run: "a", step: 0, outputs: [image]))
        try ledger.appendManifest(bytes: makeManifest(run: "a", parent: nil, name: "first", assets: [image]))
        try ledger.appendReceipt(makeReceipt(run: "b", step: 0, inputs: [image], outputs: [upscaled]))
        try ledger.appendManifest(bytes: makeManifest(run: "b", parent: "a", name: "second", assets: [upscaled]))
        try ledger.appendManifest(bytes: makeManifest(run: "c", parent: "b", name: "third"))
        try ledger.appendManifest(bytes: makeManifest(run: "d", parent: "a", name: "fourth"))
        try ledger.appendTag(runID: "c", key: "selected", value: true)
        func answers() throws -> [String] {
            [
                try ledger.ancestors(of: "c").map(\.runID).joined(separator: ","),
                try ledger.children(of: "a").map(\.runID).joined(separator: ","),
                "\(try ledger.descendants(of: "a")!)",
                try ledger.runs(producing: image).map(\.runID).joined(separator: ","),
                try ledger.runs(consuming: image).map(\.runID).joined(separator: ","),
                try ledger.runs(named: "second").map(\.runID).joined(separator: ","),
                try ledger.runs(taggedWith: "selected", value: true).map(\.runID).joined(separator: ","),
                try ledger.runs().map(\.runID).joined(separator: ","),
            ]
        }
        let before = try answers()
        #expect(before[0] == "b,a")
        #expect(before[1] == "b,d")
        #expect(before[3] == "a")
        #expect(before[4] == "b")
        #expect(before[5] == "b")
        #expect(before[6] == "c")
        #expect(before[7] == "d,c,b,a")
        #expect(try ledger.reindex() == 7)
        #expect(try answers() == before)
        try FileManager.default.removeItem(atPath: fixture.root + "/index.sqlite")
        #expect(try fixture.reopen().runs().map(\.runID) == ["d", "c", "b", "a"])
    }

    @Test(arguments: TestBackend.available)
    func gcKeepsReferencedObjectsAndRefusesOnUnreadableRoots(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        let ledger = fixture.ledger
        let kept = try fixture.store.put(Array("kept output".utf8)).digest
        let asset = try fixture.store.put(Array("manifest asset".utf8)).digest
        let orphan = try fixture.store.put(Array("orphan".utf8)).digest
        try ledger.appendReceipt(makeReceipt(run: "a", step: 0, outputs: [kept]))
        let manifest = try ledger.appendManifest(bytes: makeManifest(run: "a", parent: nil, name: "n", assets: [asset]))
        _ = manifest
        let dry = try ledger.collectGarbage(grace: 0, dryRun: true)
        #expect(dry.swept == [orphan])
        #expect(try fixture.store.contains(orphan).isPresent)
        let young = try ledger.collectGarbage(grace: 3600, dryRun: false)
        #expect(young.swept.isEmpty && young.keptYoung == 1)
        let real = try ledger.collectGarbage(grace: 0, dryRun: false)
        #expect(real.swept == [orphan])
        #expect(!(try fixture.store.contains(orphan).isPresent))
        #expect(try fixture.store.contains(kept).isPresent)
        #expect(try fixture.store.contains(asset).isPresent)
        // Remove a manifest body: gc refuses and deletes nothing.
        let other = try fixture.store.put(Array("another orphan".utf8)).digest
        let body = try #require(try ledger.run("a")).manifestDigest
        #expect(try fixture.store.remove(Digest(parsing: body)))
        let error = #expect(throws: LedgerError.self) { try ledger.collectGarbage(grace: 0) }
        #expect(error?.code == .gcRefused)
        #expect(try fixture.store.contains(other).isPresent)
    }

    @Test(arguments: TestBackend.available)
    func gcKeepsProviderRecordsNamedInManifests(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        let ledger = fixture.ledger
        let stdout = try fixture.store.put(Array("provider stdout".utf8)).digest
        let response = try fixture.store.put(Array("{\"id\":\"job-1\"}".utf8)).digest
        let orphan = try fixture.store.put(Array("unreferenced".utf8)).digest
        try ledger.appendManifest(
            bytes: makeManifest(run: "r", parent: nil, name: "n", records: ["stdout": stdout, "response": response])
        )
        let report = try ledger.collectGarbage(grace: 0, dryRun: false)
        #expect(report.swept == [orphan])
        #expect(try fixture.store.contains(stdout).isPresent)
        #expect(try fixture.store.contains(response).isPresent)
    }
}
