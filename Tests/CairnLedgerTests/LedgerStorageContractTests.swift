import CairnLedger
import CairnManifest
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

/// The local ledger files pass the ledger-storage contract (spec/backends.md), and a ledger runs on any storage.
@Suite(.timeLimit(.minutes(15)))
struct LedgerStorageContractTests {
    @Test func localFilesPassTheContract() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-ledger-contract")
        try LedgerStorageConformance.run { try Ledger.localStorage(directory: directory.appending("ledger")) }
    }
}

/// A receipt's status is one of the three the ledger format allows, and anything else is refused naming it.
@Suite(.timeLimit(.minutes(15)))
struct ReceiptStatusTests {
    static func receiptJSON(status: String) -> String {
        """
        {"run_id":"r","step_name":"s","step_index":0,"attempt":1,"status":"\(status)",\
        "started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z","provider":"p",\
        "inputs":[],"outputs":[]}
        """
    }

    @Test(arguments: AttemptStatus.allCases)
    func everyStatusRoundTrips(status: AttemptStatus) throws {
        let receipt = try Receipt(json: JSONReader.parse(Self.receiptJSON(status: status.rawValue)))
        #expect(receipt.status == status)
    }

    @Test(arguments: ["done", "pending", "Succeeded", ""])
    func otherStatusesAreRefusedNamingTheValue(text: String) {
        #expect {
            _ = try Receipt(json: JSONReader.parse(Self.receiptJSON(status: text)))
        } throws: { error in
            (error as? LedgerError)?.code == .invalidEntry && "\(error)".contains("\"\(text)\"")
        }
    }
}

/// The local SQLite index passes the lineage-index contract (spec/index.md, "Backends").
@Suite(.timeLimit(.minutes(15)))
struct LedgerIndexContractTests {
    @Test func sqliteIndexPassesTheContract() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-index-contract")
        let path = directory.appending("index.sqlite")
        try LedgerIndexConformance.run(directory: directory.path) { try Ledger.sqliteIndex(path: path) }
    }
}
