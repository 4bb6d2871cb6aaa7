import ArgumentParser
import CairnLedger
import CairnManifest
import Foundation

/// `cairn lineage RUN_ID`: a run's ancestors, or its descendants tree.
struct LineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Show a run's ancestors (parent chain) or, with --descendants, the tree of runs chained from it.",
        discussion: "Formats: text (default), dot (Graphviz), mermaid. Exit 1 when the run has no manifest entry."
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
        // Edges are (parent, child); nodes are every run shown.
        var nodes: [RunSummary] = []
        var edges: [(String, String)] = []
        let result: any Encodable
        if descendants {
            guard let tree = try LedgerExit.run({ try ledger.descendants(of: runID) }) else { return }
            result = tree
            var lines: [String] = []
            func walk(_ node: LineageNode, depth: Int) {
                nodes.append(node.run)
                lines.append(String(repeating: "  ", count: depth) + describe(node.run))
                for child in node.children {
                    edges.append((node.run.runID, child.run.runID))
                    walk(child, depth: depth + 1)
                }
            }
            walk(tree, depth: 0)
            if !json && format == .text {
                lines.forEach(Terminal.print)
                return
            }
        } else {
            let ancestors = try LedgerExit.run { try ledger.ancestors(of: runID) }
            nodes = [run] + ancestors
            for (child, parent) in zip(nodes, nodes.dropFirst()) { edges.append((parent.runID, child.runID)) }
            result = RunAncestry(run: run, ancestors: ancestors)
            if !json && format == .text {
                for (depth, node) in nodes.enumerated() {
                    Terminal.print(
                        (depth == 0 ? "" : String(repeating: "  ", count: depth - 1) + "<- ") + describe(node)
                    )
                }
                return
            }
        }
        if json {
            try JSONOutput.printCanonical(result)
            return
        }
        switch format {
        case .dot:
            Terminal.print("digraph lineage {")
            for node in nodes { Terminal.print("  \"\(node.runID)\" [label=\"\(label(node))\"];") }
            for (parent, child) in edges { Terminal.print("  \"\(parent)\" -> \"\(child)\";") }
            Terminal.print("}")
        case .mermaid:
            Terminal.print("graph TD")
            var ids: [String: String] = [:]
            for (i, node) in nodes.enumerated() {
                ids[node.runID] = "r\(i)"
                Terminal.print("  r\(i)[\"\(label(node))\"]")
            }
            for (parent, child) in edges { Terminal.print("  \(ids[parent]!) --> \(ids[child]!)") }
        case .text:
            break
        }
    }

    private func describe(_ run: RunSummary) -> String {
        "\(run.runID) \(run.name ?? "-") \(run.status ?? "-") \(run.timestamp)"
    }

    private func label(_ run: RunSummary) -> String {
        let name = (run.name ?? "").replacingOccurrences(of: "\"", with: "'")
        return name.isEmpty ? run.runID : "\(name)\\n\(run.runID)"
    }
}
