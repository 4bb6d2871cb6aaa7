public import CairnLedger

/// The lineage graph around one run: its ancestors (parent chain), the run, and every run descending from it, one
/// node per run and one edge per parent link, rendered as Graphviz DOT or Mermaid text (docs/ledger.md).
public struct LineageGraph: Sendable, Hashable {
    /// A run in the graph.
    public struct Node: Sendable, Hashable {
        /// The run's ID.
        public var runID: String
        /// The run's name, if any.
        public var name: String?

        public init(runID: String, name: String?) {
            self.runID = runID
            self.name = name
        }
    }

    /// A parent link: `child`'s manifest names `parent` as its parent run.
    public struct Link: Sendable, Hashable {
        public var parent: String
        public var child: String

        public init(parent: String, child: String) {
            self.parent = parent
            self.child = child
        }
    }

    /// The runs: ancestors from the root down, the focus run, then its descendants depth first (children oldest
    /// first). Each run ID appears once.
    public var nodes: [Node]
    /// The parent links between runs of ``nodes``, each once, in the order of ``nodes``' discovery.
    public var links: [Link]
    /// The run the graph was drawn around (drawn with a heavier outline).
    public var focus: String

    /// A graph of the given runs and links; repeated nodes and links are kept once, in first-seen order.
    public init(nodes: [Node], links: [Link], focus: String) {
        var seenNodes: Set<String> = []
        self.nodes = nodes.filter { seenNodes.insert($0.runID).inserted }
        var seenLinks: Set<Link> = []
        self.links = links.filter { seenLinks.insert($0).inserted }
        self.focus = focus
    }

    /// The graph around `runID` as `ledger` knows it, or nil when the run has no manifest entry. A parent that has
    /// no manifest entry is not a node (the chain ends at the last run the ledger has).
    public init?(around runID: String, in ledger: Ledger) throws {
        guard let run = try ledger.run(runID) else { return nil }
        let ancestors = try ledger.ancestors(of: runID)
        var nodes = ancestors.reversed().map { Node(runID: $0.runID, name: $0.name) }
        var links: [Link] = []
        for (child, parent) in zip([run] + ancestors, ancestors) {
            links.insert(Link(parent: parent.runID, child: child.runID), at: 0)
        }
        nodes.append(Node(runID: run.runID, name: run.name))
        if let tree = try ledger.descendants(of: runID) {
            func walk(_ node: LineageNode) {
                for child in node.children {
                    nodes.append(Node(runID: child.run.runID, name: child.run.name))
                    links.append(Link(parent: node.run.runID, child: child.run.runID))
                    walk(child)
                }
            }
            walk(tree)
        }
        self.init(nodes: nodes, links: links, focus: runID)
    }

    /// The last 8 characters of a run ID: the random tail of a UUID. (Its first group would not tell runs apart:
    /// in the UUIDv7 run IDs `cairn run` makes it is the time, the same for runs made within about a minute.)
    public static func shortID(_ runID: String) -> String { String(runID.suffix(8)) }

    /// The label lines of a node: its name (when it has a non-empty one) and its short ID.
    static func labelLines(_ node: Node) -> [String] {
        guard let name = node.name, !name.isEmpty else { return [shortID(node.runID)] }
        return [name, shortID(node.runID)]
    }

    /// Graphviz DOT text: a `digraph` with one box per run (ID = the full run ID, label = name and short ID) and one
    /// `parent -> child` edge per link. Ends with a newline.
    public func dot() -> String {
        var text = "digraph lineage {\n  node [shape=box];\n"
        for node in nodes {
            let label = Self.labelLines(node).map(Self.dotEscaped).joined(separator: "\\n")
            let focused = node.runID == focus ? ", penwidth=2" : ""
            text += "  \"\(Self.dotEscaped(node.runID))\" [label=\"\(label)\"\(focused)];\n"
        }
        for link in links {
            text += "  \"\(Self.dotEscaped(link.parent))\" -> \"\(Self.dotEscaped(link.child))\";\n"
        }
        return text + "}\n"
    }

    /// Mermaid flowchart text (`graph TD`): nodes `n0`, `n1`, ... in ``nodes`` order with quoted labels, one
    /// `-->` per link, and a heavier outline on the focus run. Ends with a newline.
    public func mermaid() -> String {
        var text = "graph TD\n"
        var ids: [String: String] = [:]
        for (position, node) in nodes.enumerated() {
            let id = "n\(position)"
            ids[node.runID] = id
            let label = Self.labelLines(node).map(Self.mermaidEscaped).joined(separator: "<br/>")
            text += "  \(id)[\"\(label)\"]\n"
        }
        for link in links {
            guard let parent = ids[link.parent], let child = ids[link.child] else { continue }
            text += "  \(parent) --> \(child)\n"
        }
        if let focused = ids[focus] { text += "  style \(focused) stroke-width:3px\n" }
        return text
    }

    /// Text for the inside of a DOT double-quoted string: `"` and `\` escaped, a line break as DOT's `\n`, any
    /// other control character as a space (DOT would otherwise read `\l`, `\N`... or break the string).
    static func dotEscaped(_ text: String) -> String {
        escaped(text, lineBreak: "\\n") { scalar in
            switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            default: nil
            }
        }
    }

    /// Text for the inside of a Mermaid `["..."]` label: characters Mermaid would read as markup or as the end of
    /// the label (`"`, `#`, `<`, `>`, `&`, backquote, backslash) as entity codes (`#34;`...), a line break as `<br/>`, any
    /// other control character as a space.
    static func mermaidEscaped(_ text: String) -> String {
        escaped(text, lineBreak: "<br/>") { scalar in
            switch scalar {
            case "\"", "#", "<", ">", "&", "`", "\\": "#\(scalar.value);"
            default: nil
            }
        }
    }

    /// `text` with each scalar `special` replaces replaced, `\n` as `lineBreak`, `\r` dropped and any other control
    /// character as a space: what both graph languages need of a label.
    private static func escaped(
        _ text: String,
        lineBreak: String,
        special: (Unicode.Scalar) -> String?
    ) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if let replacement = special(scalar) {
                out += replacement
            } else if scalar == "\n" {
                out += lineBreak
            } else if scalar == "\r" {
                continue
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                out += " "
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
