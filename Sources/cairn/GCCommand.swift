import ArgumentParser
import CairnCore
import CairnLedger
import CairnManifest
import Foundation

/// `cairn gc`: deletes objects no ledger entry references, older than a grace period.
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete objects that no ledger entry references and that are older than the grace period.",
        discussion: """
            Marks every object referenced by any ledger entry (manifest bodies, their assets and inputs, receipt \
            inputs and outputs) and sweeps the rest older than --grace (default 24h). If any root cannot be read, \
            nothing is deleted and gc exits 2 saying why. Temporary files of processes that are gone (a killed \
            put) are removed from tmp/ as well; in a store whose objects are in S3, multipart uploads left \
            unfinished for longer than the grace period (an interrupted put) are aborted.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Report what would be deleted; delete nothing.")
    var dryRun = false

    @Option(help: "Keep unreferenced objects younger than this (e.g. 30s, 15m, 24h, 7d, or seconds).")
    var grace: String = "24h"

    @Flag(help: "Print the report as JSON.")
    var json = false

    static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last, let scale = units[unit], let value = Double(text.dropLast()), value >= 0 {
            return value * scale
        }
        if let value = Double(text), value >= 0 { return value }
        return nil
    }

    func validate() throws {
        guard Self.parseDuration(grace) != nil else {
            throw ValidationError("--grace '\(grace)' is not a duration like 30s, 15m, 24h, 7d")
        }
    }

    func run() throws {
        let grace = Self.parseDuration(grace)!
        // In a store whose objects are in S3, unfinished multipart uploads older than the grace period are the
        // debris of interrupted writers: gc aborts them.
        let ledger = try storeOptions.openLedger(debrisAge: grace)
        let report = try LedgerExit.run { try ledger.collectGarbage(grace: grace, dryRun: dryRun) }
        if json {
            try JSONOutput.printCanonical(report)
            return
        }
        for digest in report.swept { Terminal.print((dryRun ? "would delete " : "deleted ") + digest.description) }
        Terminal.writeStderr(
            "gc: \(report.objectsSeen) objects, \(report.referenced) referenced by \(report.entriesScanned) entries, "
                + "\(report.swept.count) \(dryRun ? "would be deleted" : "deleted") (\(report.sweptBytes) bytes), "
                + "\(report.keptYoung) kept within the grace period"
                + (report.debrisRemoved > 0
                    ? ", \(report.debrisRemoved) leftover(s) of interrupted writers removed (temporary files of processes "
                        + "that are gone, or unfinished S3 uploads older than the grace period)\n" : "\n")
        )
    }
}
