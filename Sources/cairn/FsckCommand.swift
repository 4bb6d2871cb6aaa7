import ArgumentParser
import CairnCore
import CairnStore
import Foundation

/// `cairn fsck`: rehashes every object and looks for damage.
struct FsckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Rehash every object; report corrupt, truncated, misplaced and stray files.",
        discussion: """
            Exit 0 clean, 1 problems found (also when --repair fixed them), 2 could not run. --repair moves \
            corrupt, truncated and stray files into quarantine/, moves intact misplaced objects into place and \
            removes debris; it never deletes a good object. Debris (temporary files in tmp/ of processes that \
            are gone, such as a killed put) is listed but is not damage: it alone leaves the exit status 0. The \
            next put, gc or fsck --repair removes it. On a store whose objects are in S3, fsck rehashes every \
            object in the bucket (a mismatch is read twice before it counts) and --repair removes each corrupt \
            object, since the bucket refuses to overwrite it: the next put of the right bytes stores it again.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Objects hashed in parallel (default: the number of CPUs).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Quarantine corrupt objects and remove stale temporary files.")
    var repair = false

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let (store, objects) = try storeOptions.openObjects()
        let progress = ProgressLine("fsck")
        let report: FsckReport
        do {
            if objects !== store {
                report = try FsckReport.check(objectsIn: objects, jobs: jobs, repair: repair) { _, _ in
                    progress.advance(by: 64)
                }
            } else {
                report = try store.fsck(jobs: jobs, repair: repair) { _, _ in progress.advance(by: 64) }
            }
        } catch {
            progress.finish()
            throw StoreExit.cliError(error)
        }
        progress.finish()
        if json {
            try JSONOutput.print(report)
        } else {
            for problem in report.problems {
                var line = "\(problem.kind.rawValue)  \(problem.path)  \(problem.detail)"
                if let repair = problem.repair { line += " [\(repair)]" }
                Terminal.print(line)
            }
            for item in report.debris {
                var line = "debris  \(item.path)  \(item.detail)"
                if let repair = item.repair { line += " [\(repair)]" }
                Terminal.print(line)
            }
            var summary = report.isClean ? "clean" : "\(report.problems.count) problem(s)"
            let left = report.debris.filter { $0.repair != "removed" }.count
            if left > 0 {
                summary +=
                    "; \(left) temporary file(s) of processes that are gone (removable debris: cairn fsck --repair)"
            }
            Terminal.print("checked \(report.objectsChecked) objects (\(report.bytesChecked) bytes): \(summary)")
        }
        if !report.isClean { throw ExitCode(1) }
    }
}
