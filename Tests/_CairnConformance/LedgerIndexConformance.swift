package import CairnCore
package import CairnLedger
import CairnManifest
import CairnStore
import Dispatch
import Foundation

/// The lineage-index contract (spec/index.md, "Backends"), as one suite every index backend must pass: the local
/// SQLite index runs it in `CairnLedgerTests`, the PostgreSQL index in `CairnPostgresTests` against a real server.
/// The same entries must give the same answers to every query: clause I1 checks each answer against what the
/// entries say, so two backends that pass agree.
///
/// `make` opens a new instance on one and the same, initially empty, index each time it is called; `directory` is
/// an empty scratch folder for the store and the (local) ledger the suite writes.
package enum LedgerIndexConformance {
    /// Runs every clause; throws the first ``ConformanceFailure`` (or the backend's own unexpected error).
    package static func run(directory: String, make: () throws -> any LedgerIndexBackend) throws {
        func require(_ condition: Bool, _ clause: String, _ seen: @autoclosure () -> String) throws {
            if !condition { throw ConformanceFailure(clause, seen()) }
        }
        let store = try ObjectStore.create(at: directory + "/store")
        let index = try make()
        let ledger = try Ledger.open(
            objects: store,
            storage: try Ledger.localStorage(directory: store.root + "/ledger"),
            root: store.root,
            index: .backend(index)
        )
        let d = try (0..<6).map { try store.put(Array("object \($0)".utf8)).digest }

        // The entries: a tree r0 <- r1 <- r2, a fork r0 <- r3 appended twice (its latest manifest counts), a run
        // whose parent has no manifest, a chain c0 ... c11 under r2, a parent cycle x <-> y with z under x,
        // receipts, tags, and enough bulk receipts for several catch-up batches. Queries in between make the
        // index catch up in several steps.
        try ledger.appendManifest(
            bytes: try manifest("r0", parent: nil, name: "root", steps: [([], [d[0]]), ([d[0]], [d[1], d[2]])])
        )
        let receipt = try ledger.appendReceipt(try makeReceipt(run: "r1", step: 0, inputs: [d[1]], outputs: [d[3]]))
        try ledger.appendManifest(
            bytes: try manifest("r1", parent: "r0", name: "it's \"one\"", steps: [([d[1]], [d[3]])])
        )
        _ = try ledger.runs()
        try ledger.appendManifest(
            bytes: try manifest("r2", parent: "r1", name: "grandchild", steps: [([d[3]], [d[4]])])
        )
        try ledger.appendManifest(bytes: try manifest("r3", parent: "r0", name: "fork", steps: [([], [d[5]])]))
        try ledger.appendManifest(bytes: try manifest("r3", parent: "r0", name: "fork v2", steps: [([d[2]], [d[4]])]))
        try ledger.appendManifest(bytes: try manifest("r4", parent: "gone", name: "orphan", steps: []))
        try ledger.appendManifests(
            bytes: (0..<12).map {
                try manifest("c\($0)", parent: $0 == 0 ? "r2" : "c\($0 - 1)", name: "chain", steps: [])
            }
        )
        _ = try ledger.run("c3")
        try ledger.appendManifests(
            bytes: [
                try manifest("x", parent: "y", name: "cycle", steps: []),
                try manifest("y", parent: "x", name: "cycle", steps: []),
                try manifest("z", parent: "x", name: "cycle", steps: []),
            ]
        )
        try ledger.appendTag(runID: "r1", key: "selected", value: .bool(true))
        try ledger.appendTag(runID: "r2", key: "selected", value: .bool(true))
        try ledger.appendTag(runID: "r1", key: "selected", value: .bool(false))
        try ledger.appendTag(runID: "r1", key: "a-note", value: .string("v2"))
        let bulk = 2500
        for start in stride(from: 0, to: bulk, by: 500) {
            try ledger.appendReceipts(
                try (start..<(start + 500)).map {
                    try makeReceipt(run: "bulk\($0 % 7)", step: $0, inputs: [], outputs: [])
                }
            )
        }
        let size = try ledger.size()

        // I1: every query answers what the entries say.
        let runs = try ledger.runs()
        try require(runs.count == 20, "I1", "runs() lists \(runs.count) runs, not 20")
        try require(
            runs.map(\.entryIndex) == runs.map(\.entryIndex).sorted(by: >),
            "I1",
            "runs() is not newest first: \(runs.map(\.runID))"
        )
        try require(try ledger.runs(limit: 2).map(\.runID) == ["z", "y"], "I1", "runs(limit: 2) is wrong")
        let r3 = try ledger.run("r3")
        try require(r3?.name == "fork v2" && r3?.parentRunID == "r0", "I1", "run r3 is \(String(describing: r3))")
        try require(try ledger.run("gone") == nil, "I1", "a run without a manifest was found")
        try require(try ledger.run("r1")?.name == "it's \"one\"", "I1", "a quoted name did not round-trip")
        let receiptIndexes = try index.receiptIndexes(runID: "r1")
        try require(
            receiptIndexes == [receipt.index],
            "I1",
            "the receipts of r1 are at \(receiptIndexes), not [\(receipt.index)]"
        )
        try require(try ledger.receipts(runID: "bulk3").count == 357, "I1", "bulk3 has the wrong receipt count")
        let tags = try ledger.tags(runID: "r1")
        try require(
            tags.map(\.key) == ["a-note", "selected"] && tags.map(\.value) == ["\"v2\"", "false"],
            "I1",
            "the tags of r1 are \(tags)"
        )
        try require(
            try ledger.runs(taggedWith: "selected", value: .bool(true)).map(\.runID) == ["r2"],
            "I1",
            "runs tagged selected=true are not [r2]"
        )
        try require(
            try ledger.runs(taggedWith: "selected", value: .bool(false)).map(\.runID) == ["r1"],
            "I1",
            "runs tagged selected=false are not [r1]"
        )
        try require(try ledger.runs(named: "fork v2").map(\.runID) == ["r3"], "I1", "runs named 'fork v2'")
        try require(try ledger.runs(named: "fork").isEmpty, "I1", "a replaced manifest's name still matches")
        try require(
            try ledger.runs(named: "cycle").map(\.runID) == ["z", "y", "x"],
            "I1",
            "runs named 'cycle' are not newest first"
        )

        // Ancestors: nearest first, ended by a parent without manifest, cut by the depth bound and at a cycle.
        let chain = (0..<11).reversed().map { "c\($0)" } + ["r2", "r1", "r0"]
        let ancestors = try ledger.ancestors(of: "c11").map(\.runID)
        try require(ancestors == chain, "I1", "the ancestors of c11 are \(ancestors)")
        let bounded = try index.ancestors(of: "c11", depth: 3).map(\.runID)
        try require(bounded == ["c10", "c9", "c8"], "I1", "the depth bound 3 gave \(bounded)")
        try require(try ledger.ancestors(of: "r4").isEmpty, "I1", "a parent without manifest was listed")
        try require(try ledger.ancestors(of: "r0").isEmpty, "I1", "a root run has ancestors")
        try require(try ledger.ancestors(of: "z").map(\.runID) == ["x", "y"], "I1", "the cycle under z was not cut")
        try require(try ledger.ancestors(of: "x").map(\.runID) == ["y"], "I1", "the cycle x <-> y was not cut")

        // Children and descendants.
        try require(try ledger.children(of: "r0").map(\.runID) == ["r1", "r3"], "I1", "the children of r0")
        try require(try ledger.children(of: "x").map(\.runID) == ["y", "z"], "I1", "the children of x")
        func shape(_ node: LineageNode?) -> String {
            guard let node else { return "nil" }
            let below = node.children.map(shape).joined(separator: ",")
            return node.children.isEmpty ? node.run.runID : "\(node.run.runID)(\(below))"
        }
        let chainShape = (0..<12).reversed().reduce("") { inner, i in inner.isEmpty ? "c\(i)" : "c\(i)(\(inner))" }
        let tree = shape(try ledger.descendants(of: "r0"))
        try require(tree == "r0(r1(r2(\(chainShape))),r3)", "I1", "the descendants of r0 are \(tree)")
        try require(shape(try ledger.descendants(of: "x")) == "x(y,z)", "I1", "the cycle below x was not cut")
        try require(try ledger.descendants(of: "gone") == nil, "I1", "a run without manifest has descendants")
        let r0 = try ledger.descendants(of: "r0")
        try require(r0?.run == (try ledger.run("r0")), "I1", "a tree's root differs from run(r0)")

        // Digest uses: per (run, step), from its earliest entry, both sources.
        let made3 = try ledger.runs(producing: d[3])
        try require(
            made3.map { "\($0.runID)/\($0.stepIndex ?? -1)@\($0.entryIndex)" } == ["r1/0@\(receipt.index)"],
            "I1",
            "the producers of object 3 are \(made3)"
        )
        try require(made3.first?.mediaType == "image/png", "I1", "a receipt's media type was lost: \(made3)")
        let used0 = try ledger.runs(consuming: d[0]).map { "\($0.runID)/\($0.stepIndex ?? -1)" }
        try require(used0 == ["r0/1"], "I1", "the consumers of object 0 are \(used0)")
        let made4 = try ledger.runs(producing: d[4]).map(\.runID)
        try require(made4 == ["r2", "r3"], "I1", "the producers of object 4 are \(made4)")
        try require(try ledger.runs(producing: d[5]).isEmpty, "I1", "a replaced manifest's output is still produced")

        let counts = try index.rowCounts()
        try require(counts["entries"] == Int(size), "I1", "\(counts["entries"] ?? -1) entries rows for \(size) entries")
        try require(counts["run_rows"] == 20 && counts["tags"] == 4, "I1", "row counts \(counts)")
        let indexed = try index.indexedEntries()
        try require(indexed == size, "I1", "indexed_entries is \(indexed)")
        let incremental = try answers(ledger, digests: d)

        // I2: another instance on the same index sees the same answers without indexing anything again.
        let second = try Ledger.open(
            objects: store,
            storage: try Ledger.localStorage(directory: store.root + "/ledger"),
            root: store.root,
            index: .backend(try make())
        )
        try require(try answers(second, digests: d) == incremental, "I2", "a second instance answers differently")
        try require(try second.index.rowCounts() == counts, "I2", "a second instance changed the row counts")

        // I3: a reindex gives the same answers as the incremental catch-ups.
        try require(try ledger.reindex() == size, "I3", "reindex did not report \(size) entries")
        try require(try answers(ledger, digests: d) == incremental, "I3", "reindexed answers differ")
        let reindexedCounts = try index.rowCounts()
        try require(reindexedCounts == counts, "I3", "reindexed row counts \(reindexedCounts) differ")

        // I4: two writers catching up at once, each on its own instance, index every entry exactly once.
        try index.clear()
        let cleared = try index.indexedEntries()
        try require(
            cleared == 0,
            "I4",
            "clear left indexed_entries at \(cleared)"
        )
        let racers = OneThreadEach([ledger, second])
        let failures = ConcurrentErrors()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            do {
                try racers.values[worker].updateIndex()
            } catch {
                failures.add("catch-up \(worker): \(error)")
            }
        }
        if let failure = failures.first { throw ConformanceFailure("I4", failure) }
        let racedCounts = try index.rowCounts()
        try require(racedCounts == counts, "I4", "after a race the row counts are \(racedCounts)")
        try require(try answers(second, digests: d) == incremental, "I4", "after a race the answers differ")
    }

    /// Every query's answer, as text, for comparing two indexes of the same entries.
    static func answers(_ ledger: Ledger, digests: [Digest]) throws -> [String] {
        var lines = ["runs: \(try ledger.runs())"]
        for run in try ledger.runs() {
            lines.append("run \(run.runID): \(String(describing: try ledger.run(run.runID)))")
            lines.append("ancestors \(run.runID): \(try ledger.ancestors(of: run.runID))")
            lines.append("children \(run.runID): \(try ledger.children(of: run.runID))")
            lines.append("descendants \(run.runID): \(String(describing: try ledger.descendants(of: run.runID)))")
            lines.append("tags \(run.runID): \(try ledger.tags(runID: run.runID))")
            lines.append("receipts \(run.runID): \(try ledger.index.receiptIndexes(runID: run.runID))")
        }
        for digest in digests {
            lines.append("produced \(digest): \(try ledger.runs(producing: digest))")
            lines.append("consumed \(digest): \(try ledger.runs(consuming: digest))")
        }
        for name in ["root", "chain", "cycle", "fork"] {
            lines.append("named \(name): \(try ledger.runs(named: name))")
        }
        lines.append("tagged: \(try ledger.runs(taggedWith: "selected", value: .bool(true)))")
        return lines
    }

    static func makeReceipt(run: String, step: Int, inputs: [Digest], outputs: [Digest]) throws -> Receipt {
        func artifacts(_ list: [Digest]) -> String {
            list.map { "{\"digest\":\"\($0)\",\"media_type\":\"image/png\"}" }.joined(separator: ",")
        }
        return try Receipt(
            json: JSONReader.parse(
                """
                {"run_id":"\(run)","step_name":"s\(step)","step_index":\(step),"attempt":1,"status":"succeeded",\
                "started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z","provider":"p",\
                "fingerprint":"f\(step % 5)","inputs":[\(artifacts(inputs))],"outputs":[\(artifacts(outputs))]}
                """
            )
        )
    }

    /// A genblaze-shaped manifest: each step is (inputs, outputs).
    package static func manifest(
        _ run: String,
        parent: String?,
        name: String,
        steps: [([Digest], [Digest])]
    ) throws -> [UInt8] {
        func asset(_ digest: Digest) -> JSONValue {
            .object(
                JSONObject([
                    ("media_type", "image/png"), ("sha256", .string(digest.hex)), ("size_bytes", 12),
                    ("url", "file:///x"),
                ])
            )
        }
        let stepValues: [JSONValue] = steps.enumerated().map { index, step in
            .object(
                JSONObject([
                    ("step_id", .string("\(run)-s\(index)")), ("provider", "p1"), ("model", "m1"),
                    ("step_type", "generate"), ("modality", "image"), ("step_index", .integer(JSONInteger(index))),
                    ("status", "succeeded"), ("inputs", .array(step.0.map(asset))),
                    ("assets", .array(step.1.map(asset))),
                ])
            )
        }
        let value: JSONValue = .object(
            JSONObject([
                ("schema_version", "1.5"), ("canonical_hash", .string(String(repeating: "cd", count: 32))),
                (
                    "run",
                    .object(
                        JSONObject([
                            ("run_id", .string(run)), ("parent_run_id", parent.map { .string($0) } ?? .null),
                            ("name", .string(name)), ("status", "succeeded"), ("created_at", "2026-12-01T10:00:00Z"),
                            ("steps", .array(stepValues)),
                        ])
                    )
                ),
            ])
        )
        return Array(try CanonicalJSON.string(value).utf8)
    }
}
