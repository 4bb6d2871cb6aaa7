import ArgumentParser

/// `cairn ledger ...`: integrity checks, checkpoints, proofs and maintenance of the ledger.
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Verify the ledger, print checkpoints and proofs, rebuild the index, append receipts and tags.",
        subcommands: [
            LedgerVerifyCommand.self,
            LedgerCheckpointCommand.self,
            LedgerProveCommand.self,
            LedgerConsistencyCommand.self,
            LedgerReindexCommand.self,
            LedgerAppendReceiptsCommand.self,
            LedgerTagCommand.self,
            LedgerExportCommand.self,
            LedgerImportCommand.self,
        ]
    )
}
