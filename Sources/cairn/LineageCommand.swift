import ArgumentParser
import CairnExport
import CairnLedger
import CairnManifest
import Foundation

/// `cairn lineage RUN_ID`: a run's ancestors, or its descendants tree.
struct LineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Show a run's ancestors (parent chain) or, with --descendants, the tree of runs chained from it.",
        discussion: """
            Formats: text (default), dot (Graphviz), mermaid. The dot and mermaid graphs show the ancestors and the \
            descendants of the run, one node per run and one edge per parent link, with or without --descendants. \
            Exit 1 when the run has no manifest entry. Manifests imported from elsewhere can name parents that form \
            a cycle: the walk stops at the first repeated run and a note on standard error names it.
            """
    )

    enum Format: String, CaseIterable, ExpressibleByArgument { case text, dot, mermaid }

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID.")
    var runID: String

    @Flag(help: "Show the descendants tree instead of the ancestors.")
    var descendants = false

    @Option(help: "Output format: text, dot or mermaid.")
    var format: Format = .text

    @Flag(help: "Print JSON: the run with its ancestors, or the descendants tree.")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        guard let run = try LedgerExit.run({ try ledger.run(runID) }) else {
            throw CLIError("no manifest for run \(runID) in the ledger", exitCode: 1)
        }
        let ancestors = try LedgerExit.run { try ledger.ancestors(of: runID) }
        // Each run has one parent, so any parent_run_id cycle the walks below meet passes through this run's
        // parent chain: the walks stop at the first repeat, and this says so.
        let chain = [run] + ancestors
        if let parent = chain.last?.parentRunID, let repeated = chain.first(where: { $0.runID == parent }) {
            Terminal.error(
                "note: the parent chain of \(runID) returns to run \(repeated.runID) (a parent_run_id cycle in the "
                    + "ledger's manifests); the lineage shown stops at the first repeated run"
            )
        }
        if !json && format != .text {
            guard let graph = try LedgerExit.run({ try LineageGraph(around: runID, in: ledger) }) else {
                throw CLIError("no manifest for run \(runID) in the ledger", exitCode: 1)
            }
            Terminal.write(format == .dot ? graph.dot() : graph.mermaid())
            return
        }
        if descendants {
            guard let tree = try LedgerExit.run({ try ledger.descendants(of: runID) }) else { return }
            if json {
                try JSONOutput.printCanonical(tree)
                return
            }
            func walk(_ node: LineageNode, depth: Int) {
                Terminal.print(String(repeating: "  ", count: depth) + describe(node.run))
                for child in node.children { walk(child, depth: depth + 1) }
            }
            walk(tree, depth: 0)
        } else {
            if json {
                try JSONOutput.printCanonical(RunAncestry(run: run, ancestors: ancestors))
                return
            }
            for (depth, node) in ([run] + ancestors).enumerated() {
                Terminal.print((depth == 0 ? "" : String(repeating: "  ", count: depth - 1) + "<- ") + describe(node))
            }
        }
    }

    private func describe(_ run: RunSummary) -> String {
        "\(run.runID) \(run.name ?? "-") \(run.status ?? "-") \(run.timestamp)"
    }
}
