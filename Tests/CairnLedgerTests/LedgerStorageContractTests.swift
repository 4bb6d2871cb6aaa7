import CairnLedger
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

/// The local ledger files pass the ledger-storage contract (spec/backends.md), and a ledger runs on any storage.
@Suite(.timeLimit(.minutes(2)))
struct LedgerStorageContractTests {
    @Test func localFilesPassTheContract() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-ledger-contract")
        try LedgerStorageConformance.run { try Ledger.localStorage(directory: directory.appending("ledger")) }
    }
}
