import CairnCore
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnLedger

/// Random single-bit flips in every file that holds state: objects, log records (headers and payloads), the index of
/// offsets, tree nodes and checkpoints. fsck or `ledger verify` must find every one (100%, no sampling) and name
/// the object or the entry it damaged; then the byte is restored and the next flip is tried on a clean store.
/// The seed is printed; `CAIRN_FLIP_SEED=N` replays a run. `CAIRN_SLOW_TESTS=1` runs 2,000 flips, 300 by default.
@Suite(.timeLimit(.minutes(15)))
struct BitFlipTests {
    enum Target: CaseIterable {
        case object, logRecord, offsets, treeNodes, checkpoint
    }

    /// A store with objects of many sizes and a ledger of receipts, manifests and tags over them.
    struct Fixture {
        let ledgerFixture: LedgerFixture
        var objects: [Digest] = []
        /// Start offset of every record in entries.log, and the log's length.
        var recordStarts: [Int] = []
        var logLength = 0

        init() throws {
            ledgerFixture = try LedgerFixture()
            let store = ledgerFixture.store
            let ledger = ledgerFixture.ledger
            var bytes = SeededGenerator(seed: 7)
            for size in [1, 2, 31, 32, 33, 4095, 4096, 4097, 65_536, 200_003] {
                objects.append(try store.put(bytes.bytes(size)).digest)
            }
            for run in 0..<6 {
                let runID = "flip-\(run)"
                for step in 0..<3 {
                    try ledger.appendReceipt(
                        makeReceipt(run: runID, step: step, outputs: [objects[(run + step) % objects.count]])
                    )
                }
                try ledger.appendManifest(
                    bytes: makeManifest(
                        run: runID,
                        parent: run == 0 ? nil : "flip-\(run - 1)",
                        name: "run \(run)",
                        assets: [objects[run]]
                    )
                )
                try ledger.appendTag(runID: runID, key: "round", value: .string("r\(run)"))
            }
            // The manifest bodies are objects too: flips in them must be found like any other.
            objects = try store.list()
            let log = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ledgerFixture.logPath)))
            logLength = log.count
            var offset = 8
            while offset + 12 <= log.count {
                recordStarts.append(offset)
                offset += 12 + Int(LogStorage.readUInt32(log, offset))
            }
        }

        /// The entry whose record holds byte `offset` of entries.log.
        func entry(atLogOffset offset: Int) -> Int {
            (recordStarts.lastIndex { $0 <= offset }) ?? 0
        }
    }

    static var seed: UInt64 {
        if let text = ProcessInfo.processInfo.environment["CAIRN_FLIP_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0...UInt64(UInt32.max))
    }

    @Test func everyFlippedBitIsFoundAndNamed() throws {
        let seed = Self.seed
        print("bit flips: seed \(seed) (replay with CAIRN_FLIP_SEED=\(seed))")
        var random = SeededGenerator(seed: seed)
        let fixture = try Fixture()
        let root = fixture.ledgerFixture.root
        let flips = slowTestsEnabled ? 2000 : 300
        var found: [Target: Int] = [:]
        for trial in 0..<flips {
            let target = Target.allCases[trial % Target.allCases.count]
            let context = "flip \(trial) (\(target)), seed \(seed)"
            switch target {
            case .object:
                let digest = fixture.objects[Int.random(in: 0..<fixture.objects.count, using: &random)]
                let path = try fixture.ledgerFixture.localStore.objectPath(for: digest)
                try withFlippedBit(in: path, &random) { _ in
                    let report = try fixture.ledgerFixture.localStore.fsck()
                    #expect(report.problems.map(\.digest) == [digest], "\(context): \(report.problems)")
                }
            case .logRecord:
                try withFlippedBit(in: fixture.ledgerFixture.logPath, &random) { offset in
                    let verification = try Ledger.verify(storeRoot: root)
                    // The magic belongs to no entry: a flip there must still fail the whole log.
                    let expected = offset < 8 ? 0 : UInt64(fixture.entry(atLogOffset: offset))
                    #expect(!verification.problems.isEmpty, "\(context): offset \(offset) went unnoticed")
                    #expect(
                        offset < 8 || verification.firstBadIndex == expected,
                        "\(context): offset \(offset) is in entry \(expected); verify said \(verification.problems)"
                    )
                }
            case .offsets:
                try withFlippedBit(in: root + "/ledger/entries.idx", &random) { offset in
                    let verification = try Ledger.verify(storeRoot: root)
                    #expect(
                        verification.firstBadIndex == UInt64(offset / 8),
                        "\(context): offset \(offset) of entries.idx; verify said \(verification.problems)"
                    )
                }
            case .treeNodes:
                try withFlippedBit(in: root + "/ledger/tree.nodes", &random) { offset in
                    let verification = try Ledger.verify(storeRoot: root)
                    #expect(
                        verification.firstBadIndex != nil,
                        "\(context): node byte \(offset) went unnoticed or unnamed: \(verification.problems)"
                    )
                }
            case .checkpoint:
                try withFlippedBit(in: root + "/ledger/checkpoint", &random) { offset in
                    let verification = try? Ledger.verify(storeRoot: root)
                    let problems = verification?.problems.map(\.description) ?? ["no valid checkpoint"]
                    #expect(
                        problems.contains { $0.contains("checkpoint") },
                        "\(context): checkpoint byte \(offset) went unnoticed: \(problems)"
                    )
                }
            }
            found[target, default: 0] += 1
            // Restored, the store and the ledger are clean again: the next flip starts from a known state.
            if trial % 50 == 49 {
                #expect(try fixture.ledgerFixture.localStore.fsck().isClean, "\(context): not clean after restoring")
                #expect(try Ledger.verify(storeRoot: root).problems.isEmpty, "\(context)")
            }
        }
        print("bit flips: \(flips) flips, by target \(found.map { "\($0.key) \($0.value)" }.sorted())")
    }

    /// Flips one random bit of the file at `path`, runs `check` with the flipped byte's offset, and restores the
    /// file's bytes whatever `check` did.
    private func withFlippedBit(
        in path: String,
        _ random: inout SeededGenerator,
        _ check: (Int) throws -> Void
    ) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        try #require(!original.isEmpty, "\(path) is empty: no bit to flip")
        let offset = Int.random(in: 0..<original.count, using: &random)
        var flipped = original
        flipped[offset] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
        try flipped.write(to: URL(fileURLWithPath: path))
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        try check(offset)
    }
}
