import CairnCore
import CairnStore
import Foundation
import SystemPackage
import Testing
import _CairnSystem
import _CairnTestSupport

@testable import CairnLedger

/// The ledger's durability promise ("each append returns only once its entry is durable"), checked through the IO
/// layer's sync accounting: the test fails when the log's fdatasync is removed, and a failed sync acknowledges
/// nothing.
@Suite(.timeLimit(.minutes(15)))
struct LedgerSyncTests {
    @Test func everyAppendSyncsTheLogBeforeReturning() throws {
        let fixture = try LedgerFixture()
        let watch = SyncAccounting.watch(fixture.root + "/ledger")
        defer { SyncAccounting.stop(watch) }
        var before = watch.count
        for step in 0..<3 {
            try fixture.ledger.appendReceipt(makeReceipt(run: "sync", step: step))
            #expect(watch.count > before, "append \(step) returned without a sync of the ledger")
            before = watch.count
        }
        // A batch is one durable write.
        try fixture.ledger.appendReceipts((3..<10).map { makeReceipt(run: "sync", step: $0) })
        #expect(watch.count > before)
    }

    /// The signing key, which nothing can rebuild, is synced under a temporary name, linked into place (never over
    /// an existing key) and its directory synced, in that order.
    @Test func theSigningKeyIsSyncedThenLinkedThenItsDirectorySynced() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-ledger")
        let store = try ObjectStore.create(at: directory.appending("store"), algorithm: .sha256, durability: .none)
        let watch = SyncAccounting.watch(store.root)
        defer { SyncAccounting.stop(watch) }
        _ = try Ledger.open(store: store)
        let events = watch.events
        let linked = try #require(
            events.firstIndex { $0.operation == "link" && $0.path == "ledger/key" },
            "the key was never linked into place: \(events)"
        )
        #expect(
            events[..<linked].contains { $0.operation == "fdatasync" && $0.path.hasPrefix("ledger/") },
            "the key was not synced before it was linked: \(events)"
        )
        #expect(
            events[linked...].contains { $0.operation == "fsync" && $0.path == "ledger" },
            "the ledger directory was not synced after the key was linked: \(events)"
        )
    }

    @Test func aFailedSyncAcknowledgesNothingAndTheLedgerStaysWhole() throws {
        let fixture = try LedgerFixture()
        try fixture.ledger.appendReceipt(makeReceipt(run: "f", step: 0))
        let watch = SyncAccounting.watch(fixture.root + "/ledger", failure: .ioError)
        #expect(throws: LedgerError.self) { try fixture.ledger.appendReceipt(makeReceipt(run: "f", step: 1)) }
        #expect(watch.count >= 1)
        SyncAccounting.stop(watch)
        // The failed entry is not in the ledger, now or after a reopen; the next append takes its place.
        #expect(try fixture.ledger.size() == 1)
        let reopened = try fixture.reopen()
        #expect(try reopened.size() == 1)
        try reopened.appendReceipt(makeReceipt(run: "f", step: 2))
        #expect(try reopened.size() == 2)
        #expect(try Ledger.verify(storeRoot: fixture.root).isOK)
        #expect(try reopened.receipts(runID: "f").map(\.stepIndex) == [0, 2])
    }
}
