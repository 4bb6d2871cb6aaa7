import CairnCore
import CairnExport
import CairnLedger
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

/// Graphviz's `dot` (Debian package `graphviz`, installed by scripts/setup.sh), when on the PATH.
private let dotPath: String? = {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let candidate = "\(directory)/dot"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}()

private let idA = "aaaaaaaa-0000-4000-8000-000000000001"
private let idB = "bbbbbbbb-0000-4000-8000-000000000002"
private let idC = "cccccccc-0000-4000-8000-000000000003"
private let idD = "dddddddd-0000-4000-8000-000000000004"
private let idE = "eeeeeeee-0000-4000-8000-000000000005"

/// A store whose ledger holds the chain A <- B <- C, the fork A <- D, and E whose parent has no manifest entry.
private struct LineageFixture {
    let directory: TemporaryDirectory
    let ledger: Ledger

    init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-export")
        let store = try ObjectStore.create(at: directory.appending("store"), algorithm: .sha256, durability: .none)
        ledger = try Ledger.open(store: store)
        for (run, parent, name) in [
            (idA, nil, "root"), (idB, idA, "upscale"), (idC, idB, "final"), (idD, idA, "variant"),
            (idE, "ffffffff-not-in-the-ledger", "orphan"),
        ] as [(String, String?, String)] {
            let manifest: [String: Any] = [
                "schema_version": "1.5",
                "canonical_hash": String(repeating: "ab", count: 32),
                "run": [
                    "run_id": run, "parent_run_id": parent.map { $0 as Any } ?? NSNull(), "name": name, "steps": [],
                ],
            ]
            try ledger.appendManifest(bytes: Array(try JSONSerialization.data(withJSONObject: manifest)))
        }
    }
}

/// Runs `dot -Tsvg` on `text`; returns the SVG, or records a failure.
private func svg(_ text: String, dot: String) throws -> String {
    let result = try runProcess(dot, ["-Tsvg"], stdin: Data(text.utf8))
    #expect(result.status == 0, "dot rejected:\n\(text)\n\(result.stderrText)")
    return result.stdoutText
}

private func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

@Suite(.timeLimit(.minutes(15)))
struct LineageGraphTests {
    @Test func dotOfAChainShowsAncestorsAndDescendantsButNotSiblings() throws {
        let fixture = try LineageFixture()
        let graph = try #require(try LineageGraph(around: idB, in: fixture.ledger))
        #expect(
            graph.dot() == #"""
                digraph lineage {
                  node [shape=box];
                  "aaaaaaaa-0000-4000-8000-000000000001" [label="root\n00000001"];
                  "bbbbbbbb-0000-4000-8000-000000000002" [label="upscale\n00000002", penwidth=2];
                  "cccccccc-0000-4000-8000-000000000003" [label="final\n00000003"];
                  "aaaaaaaa-0000-4000-8000-000000000001" -> "bbbbbbbb-0000-4000-8000-000000000002";
                  "bbbbbbbb-0000-4000-8000-000000000002" -> "cccccccc-0000-4000-8000-000000000003";
                }

                """#
        )
    }

    @Test func mermaidOfAForkHasOneNodePerRunAndOneEdgePerParentLink() throws {
        let fixture = try LineageFixture()
        let graph = try #require(try LineageGraph(around: idA, in: fixture.ledger))
        #expect(
            graph.mermaid() == """
                graph TD
                  n0["root<br/>00000001"]
                  n1["upscale<br/>00000002"]
                  n2["final<br/>00000003"]
                  n3["variant<br/>00000004"]
                  n0 --> n1
                  n1 --> n2
                  n0 --> n3
                  style n0 stroke-width:3px

                """
        )
        // From the leaf: the whole chain up, nothing below.
        let leaf = try #require(try LineageGraph(around: idC, in: fixture.ledger))
        #expect(leaf.nodes.map(\.runID) == [idA, idB, idC])
        #expect(leaf.links == [.init(parent: idA, child: idB), .init(parent: idB, child: idC)])
        // A parent with no manifest entry is no node; an unknown run is no graph.
        let orphan = try #require(try LineageGraph(around: idE, in: fixture.ledger))
        #expect(orphan.nodes.map(\.runID) == [idE])
        #expect(orphan.links.isEmpty)
        #expect(try LineageGraph(around: "no-such-run", in: fixture.ledger) == nil)
    }

    /// A name and a run ID carrying every character either format treats specially.
    static let hostile = LineageGraph(
        nodes: [
            .init(
                runID: #"evil"id\ -> x"#,
                name: "say \"hi\"\n[line] {x} (y) |z| <b>&amp; #35; `t` back\\slash \\l\t;"
            ),
            .init(runID: "plain-0000", name: nil),
        ],
        links: [.init(parent: #"evil"id\ -> x"#, child: "plain-0000")],
        focus: "plain-0000"
    )

    @Test func hostileNamesAreEscaped() throws {
        #expect(
            Self.hostile.dot() == #"""
                digraph lineage {
                  node [shape=box];
                  "evil\"id\\ -> x" [label="say \"hi\"\n[line] {x} (y) |z| <b>&amp; #35; `t` back\\slash \\l ;\nid\\ -> x"];
                  "plain-0000" [label="ain-0000", penwidth=2];
                  "evil\"id\\ -> x" -> "plain-0000";
                }

                """#
        )
        #expect(
            Self.hostile.mermaid() == """
                graph TD
                  n0["say #34;hi#34;<br/>[line] {x} (y) |z| #60;b#62;#38;amp; #35;35; #96;t#96; back#92;slash #92;l ;<br/>id#92; -#62; x"]
                  n1["ain-0000"]
                  n0 --> n1
                  style n1 stroke-width:3px

                """
        )
    }

    @Test(.enabled(if: dotPath != nil, "graphviz's dot is not installed (scripts/setup.sh installs it)"))
    func graphvizDrawsOneNodePerRunAndOneEdgePerLink() throws {
        let dot = try #require(dotPath)
        let fixture = try LineageFixture()
        for (run, expected) in [(idA, [idA, idB, idC, idD]), (idB, [idA, idB, idC]), (idE, [idE])] {
            let graph = try #require(try LineageGraph(around: run, in: fixture.ledger))
            let picture = try svg(graph.dot(), dot: dot)
            #expect(occurrences(of: "class=\"node\"", in: picture) == expected.count, "around \(run)")
            #expect(occurrences(of: "class=\"edge\"", in: picture) == expected.count - 1, "around \(run)")
            // Graphviz writes node names XML-escaped, and `-` as `&#45;`.
            for id in expected {
                let title = "<title>\(id.replacingOccurrences(of: "-", with: "&#45;"))</title>"
                #expect(picture.contains(title), "\(id) around \(run)")
            }
        }
        let picture = try svg(Self.hostile.dot(), dot: dot)
        #expect(occurrences(of: "class=\"node\"", in: picture) == 2)
        #expect(occurrences(of: "class=\"edge\"", in: picture) == 1)
        #expect(picture.contains("say &quot;hi&quot;"))
        #expect(picture.contains(#"back\slash \l"#))
    }
}
