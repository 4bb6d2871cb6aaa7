import ArgumentParser
import CairnCore
import CairnLedger
import CairnManifest
import CairnPipeline
import CairnStore
import Dispatch
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `cairn run`: runs a pipeline file.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline described in a YAML or JSON file.",
        discussion: """
            Every output goes into the store, every attempt into the ledger as a receipt, and every run \
            (also a failed or cancelled one) into the ledger as a genblaze manifest. A file with `batch.prompts` \
            makes one run per prompt. Ctrl-C cancels: in-flight attempts are recorded as cancelled.

            Exit codes: 0 every run completed; 1 a run failed or was cancelled (its manifest is recorded); \
            2 usage error, bad pipeline file (nothing is appended), or the store/ledger could not be used.

            Examples:
              cairn run examples/hero-shot.yaml
              cairn run --resume examples/hero-shot.yaml
              cairn run --rerun-from zoom examples/hero-video.yaml
              cairn run --parent RUN_ID --json examples/hero-video.yaml
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Print the results as JSON on stdout.")
    var json = false

    @Flag(name: .long, help: "Log each run, step, attempt and retry wait on stderr (debug level).")
    var verbose = false

    @Flag(name: .long, help: "Reuse steps whose fingerprint already succeeded and whose outputs are intact.")
    var resume = false

    @Option(
        name: .customLong("rerun-from"),
        help: ArgumentHelp("Call this step and all later ones again.", valueName: "step")
    )
    var rerunFrom: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Link the run to this parent run (and fork from it when chained).", valueName: "run-id")
    )
    var parent: String?

    @Argument(
        help: ArgumentHelp("The pipeline file (.yaml, .yml or .json).", valueName: "pipeline-file"),
        completion: .file()
    )
    var pipelineFile: String

    func run() async throws {
        let file: PipelineFile
        do {
            file = try PipelineFile.load(path: pipelineFile)
        } catch {
            throw CLIError("\(error)")
        }
        // The store's ledger (local or PostgreSQL) over its objects (local or S3), as every other verb opens them.
        let ledger = try storeOptions.openLedger()
        let progress = RunProgress(name: file.name)
        var logger = Logger(label: "cairn.pipeline")
        if verbose {
            logger = Logger(label: "cairn.pipeline") { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .debug
                return handler
            }
        }
        let pipeline = file.makePipeline(ledger: ledger, parentRunID: parent, logger: logger).observe {
            progress.handle($0)
        }
        let rerunFrom = self.rerunFrom
        let resume = self.resume
        let work = Task { () -> [RunResult] in
            if let prompts = file.batchPrompts {
                return try await pipeline.batchRun(
                    prompts: prompts,
                    maxConcurrency: file.batchConcurrency,
                    resume: resume
                )
            }
            return [try await pipeline.run(resume: resume, rerunFrom: rerunFrom)]
        }
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupt.setEventHandler {
            Terminal.writeStderr("\ncairn: cancelling (in-flight attempts are recorded as cancelled)\n")
            work.cancel()
        }
        interrupt.resume()
        let results: [RunResult]
        do {
            results = try await work.value
        } catch {
            progress.finish()
            throw CLIError("\(error)")
        }
        interrupt.cancel()
        progress.finish()
        if json {
            try JSONOutput.print(results)
        } else {
            for result in results { Terminal.print(RunReport.text(result)) }
            if let last = results.last {
                Terminal.print(
                    "next: cairn show \(last.runID) | cairn lineage \(last.runID) | cairn get DIGEST -o FILE"
                )
            }
        }
        if results.contains(where: { $0.status != .completed }) { throw ExitCode(1) }
    }
}

/// Live progress on stderr (only when it is a terminal).
final class RunProgress: Sendable {
    let line: ProgressLine
    let enabled = Terminal.stderrIsTerminal

    init(name: String) {
        line = ProgressLine("\(name): steps done")
    }

    func handle(_ event: PipelineEvent) {
        guard enabled else { return }
        switch event {
        case .attemptStarted(let runID, let step, let attempt):
            let note = attempt > 1 ? " (attempt \(attempt))" : ""
            Terminal.writeStderr("\r\u{1B}[2K\(runID.prefix(8)) \(step)\(note)...")
        case .stepFinished(let runID, let step, let status, let reused):
            Terminal.writeStderr("\r\u{1B}[2K\(runID.prefix(8)) \(step): \(reused ? "reused" : status.rawValue)\n")
            line.advance()
        }
    }

    func finish() { line.finish() }
}

/// One run as `cairn run` prints it without `--json` (with `--json`, ``RunResult`` encodes itself).
enum RunReport {
    static func text(_ result: RunResult) -> String {
        var lines = ["run \(result.runID)  \(result.name)  \(result.status.rawValue)"]
        if let parent = result.parentRunID { lines.append("  parent   \(parent)") }
        for step in result.steps {
            let how =
                step.reusedFrom.map { "reused from \($0)" }
                ?? "\(step.status.rawValue) after \(step.attempts) attempt\(step.attempts == 1 ? "" : "s")"
            lines.append("  step \(step.name): \(how)")
            for output in step.outputs {
                lines.append("    \(output.digest)  \(output.mediaType)  \(output.size) bytes")
            }
            if let error = step.error, step.status != .succeeded { lines.append("    error: \(error)") }
        }
        for (stage, reason) in result.stoppedStages.sorted(by: { $0.key < $1.key }) {
            lines.append("  stage \(stage) stopped: \(reason)")
        }
        if let manifest = result.manifest {
            lines.append("  manifest \(manifest.digest)  canonical_hash \(manifest.canonicalHash)")
        }
        if let error = result.error { lines.append("  error: \(error)") }
        return lines.joined(separator: "\n")
    }
}
