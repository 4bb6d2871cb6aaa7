import CairnCore
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnLedger

/// The `sqlite3` command-line tool (Debian package `sqlite3`, installed by scripts/setup.sh).
private func sqlite3Path() throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let candidate = "\(directory)/sqlite3"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "sqlite3 not found: run scripts/setup.sh"])
}

/// Runs `sql` with the `sqlite3` tool against `database` and returns its rows (`-json` output).
private func sqlite3(_ database: String, _ sql: String, readOnly: Bool = true) throws -> [[String: Any]] {
    let result = try runProcess(try sqlite3Path(), (readOnly ? ["-readonly"] : []) + ["-bail", "-json", database, sql])
    guard result.status == 0 else {
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "sqlite3: \(result.stderrText)"])
    }
    if result.stdout.isEmpty { return [] }
    return try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
}

/// A genblaze-shaped manifest with the given steps: each step is (provider, modality, inputs, outputs).
private func viewManifest(
    run: String,
    parent: String?,
    name: String,
    steps: [(provider: String, modality: String, inputs: [Digest], outputs: [Digest])]
) -> [UInt8] {
    func asset(_ digest: Digest, size: Int) -> JSONValue {
        .object(
            JSONObject([
                ("media_type", "image/png"), ("sha256", .string(digest.hex)),
                ("size_bytes", .integer(JSONInteger(size))),
                ("url", "file:///x"),
            ])
        )
    }
    let stepValues: [JSONValue] = steps.enumerated().map { index, step in
        .object(
            JSONObject([
                ("step_id", .string("\(run)-s\(index)")), ("provider", .string(step.provider)), ("model", "m1"),
                ("step_type", "generate"), ("modality", .string(step.modality)),
                ("step_index", .integer(JSONInteger(index))),
                ("status", "succeeded"), ("inputs", .array(step.inputs.map { asset($0, size: 10) })),
                ("assets", .array(step.outputs.map { asset($0, size: 20) })),
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
    return try! CanonicalJSON.encode(value)
}

@Suite(.timeLimit(.minutes(15)))
struct IndexViewTests {
    /// A chain r0 <- r1 <- r2, a fork r0 <- r3 (appended twice: its latest manifest counts), a run r4 whose parent
    /// has no manifest entry, and a receipt (not a view row). Returns the fixture and the digests A...E.
    private func populate() throws -> (LedgerFixture, [Digest]) {
        let fixture = try LedgerFixture()
        let d = try ["a", "b", "c", "d", "e"].map { try fixture.store.put(Array("object \($0)".utf8)).digest }
        let ledger = fixture.ledger
        try ledger.appendManifest(
            bytes: viewManifest(
                run: "r0",
                parent: nil,
                name: "root",
                steps: [("p1", "image", [], [d[0]]), ("p2", "image", [d[0]], [d[1], d[2]])]
            )
        )
        try ledger.appendReceipt(makeReceipt(run: "r1", step: 0, inputs: [d[1]], outputs: [d[3]]))
        try ledger.appendManifest(
            bytes: viewManifest(
                run: "r1",
                parent: "r0",
                name: "it's \"quoted\"",
                steps: [("p1", "image", [d[1]], [d[3]])]
            )
        )
        try ledger.appendManifest(
            bytes: viewManifest(run: "r2", parent: "r1", name: "grandchild", steps: [("p3", "audio", [d[3]], [d[4]])])
        )
        try ledger.appendManifest(
            bytes: viewManifest(run: "r3", parent: "r0", name: "fork", steps: [("p1", "image", [], [])])
        )
        try ledger.appendManifest(
            bytes: viewManifest(run: "r3", parent: "r0", name: "fork v2", steps: [("p2", "video", [d[2]], [d[4]])])
        )
        try ledger.appendManifest(
            bytes: viewManifest(run: "r4", parent: "gone", name: "orphan", steps: [("p1", "text", [], [])])
        )
        try ledger.updateIndex()
        return (fixture, d)
    }

    @Test func viewsAnswerWhatTheLedgerAnswersThroughTheSqlite3Tool() throws {
        let (fixture, d) = try populate()
        let ledger = fixture.ledger
        let db = fixture.root + "/index.sqlite"
        func count(_ sql: String) throws -> Int { try sqlite3(db, sql).first?["n"] as? Int ?? -1 }

        #expect(
            try sqlite3(db, "SELECT value FROM meta WHERE key = 'schema_version'").first?["value"] as? String == "2"
        )

        // Row counts: runs as the ledger lists them; steps and assets as the latest manifests hold them.
        #expect(try count("SELECT COUNT(*) AS n FROM runs") == (try ledger.runs().count))
        #expect(
            try Set(sqlite3(db, "SELECT run_id FROM runs").map { $0["run_id"] as! String })
                == Set(try ledger.runs().map(\.runID))
        )
        #expect(try count("SELECT COUNT(*) AS n FROM steps") == 2 + 1 + 1 + 1 + 1)
        #expect(try count("SELECT COUNT(*) AS n FROM assets") == 4 + 2 + 2 + 2)
        #expect(try count("SELECT COUNT(*) AS n FROM assets WHERE role = 'input'") == 4)
        #expect(try count("SELECT COUNT(*) AS n FROM edges WHERE kind = 'parent'") == 4)
        #expect(try count("SELECT COUNT(*) AS n FROM edges WHERE kind = 'derived'") == 2 + 1 + 1 + 1)

        // Column values.
        let r1 = try #require(try sqlite3(db, "SELECT * FROM runs WHERE run_id = 'r1'").first)
        let summary = try #require(try ledger.run("r1"))
        #expect(r1["name"] as? String == "it's \"quoted\"")
        #expect(r1["parent_run_id"] as? String == "r0")
        #expect(r1["canonical_hash"] as? String == summary.canonicalHash)
        #expect(r1["manifest_digest"] as? String == summary.manifestDigest)
        #expect(r1["recorded_at"] as? String == summary.timestamp)
        #expect(r1["entry_index"] as? Int == Int(summary.entryIndex))
        #expect(r1["created_at"] as? String == "2026-12-01T10:00:00Z")
        let r3 = try sqlite3(
            db,
            "SELECT run_id, step_index, step_id, provider, modality FROM steps WHERE run_id = 'r3'"
        )
        #expect(r3.count == 1)
        #expect(r3.first?["provider"] as? String == "p2")
        #expect(r3.first?["modality"] as? String == "video")
        #expect(r3.first?["step_id"] as? String == "r3-s0")
        let output = try #require(
            try sqlite3(db, "SELECT * FROM assets WHERE run_id = 'r0' AND step_index = 1 AND position = 1").first
        )
        #expect(output["role"] as? String == "output")
        #expect(output["digest"] as? String == d[2].description)
        #expect(output["sha256"] as? String == d[2].hex)
        #expect(output["size_bytes"] as? Int == 20)
        #expect(output["media_type"] as? String == "image/png")

        // Producers of each digest: the view agrees with the ledger (the receipt of r1 names what its manifest does).
        for digest in d {
            let viewRuns = try sqlite3(
                db,
                "SELECT DISTINCT run_id FROM assets WHERE digest = '\(digest)' AND role = 'output' ORDER BY run_id"
            ).map { $0["run_id"] as! String }
            #expect(viewRuns == Set(try ledger.runs(producing: digest).map(\.runID)).sorted(), "\(digest)")
        }

        // The parent-chain query of spec/index.md gives the ledger's ancestors; children through edges.
        for run in ["r0", "r1", "r2", "r3", "r4"] {
            let chain = try sqlite3(
                db,
                """
                WITH RECURSIVE up(run_id, depth) AS (
                  SELECT parent_run_id, 1 FROM runs WHERE run_id = '\(run)' AND parent_run_id IS NOT NULL
                  UNION ALL
                  SELECT r.parent_run_id, up.depth + 1 FROM runs r JOIN up ON r.run_id = up.run_id
                  WHERE r.parent_run_id IS NOT NULL)
                SELECT up.run_id, depth FROM up JOIN runs USING (run_id) ORDER BY depth;
                """
            ).map { $0["run_id"] as! String }
            #expect(chain == (try ledger.ancestors(of: run).map(\.runID)), "ancestors of \(run)")
            let children = try sqlite3(
                db,
                "SELECT to_id FROM edges WHERE kind = 'parent' AND from_id = '\(run)' ORDER BY entry_index"
            ).map { $0["to_id"] as! String }
            #expect(children == (try ledger.children(of: run).map(\.runID)), "children of \(run)")
        }
        #expect(try ledger.ancestors(of: "r2").map(\.runID) == ["r1", "r0"])

        // Derivation: e was made from d (r2) and from c (r3); walking back from e reaches a, b, c, d.
        let sources = try sqlite3(
            db,
            """
            WITH RECURSIVE src(digest) AS (
              SELECT from_id FROM edges WHERE kind = 'derived' AND to_id = '\(d[4])'
              UNION SELECT e.from_id FROM edges e JOIN src ON e.kind = 'derived' AND e.to_id = src.digest)
            SELECT digest FROM src ORDER BY digest;
            """
        ).map { $0["digest"] as! String }
        #expect(sources == d[0..<4].map(\.description).sorted())
    }

    /// The column tables of spec/index.md's "Query surface" section, by view name, in order.
    private func specifiedColumns() throws -> [String: [String]] {
        let specPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("spec/index.md").path
        var columns: [String: [String]] = [:]
        var view: String?
        for line in try String(contentsOfFile: specPath, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("### `") {
                view = line.split(separator: "`")[1].description
            } else if line.hasPrefix("## ") {
                view = nil
            } else if let view, line.hasPrefix("| `") {
                columns[view, default: []].append(line.split(separator: "`")[1].description)
            }
        }
        return columns
    }

    @Test func theViewsHaveExactlyTheColumnsOfTheSpecAndAreReadOnly() throws {
        let (fixture, _) = try populate()
        let db = fixture.root + "/index.sqlite"
        let specified = try specifiedColumns()
        #expect(specified.keys.sorted() == ["assets", "edges", "runs", "steps"])
        for (view, columns) in specified {
            let kind = try sqlite3(db, "SELECT type FROM sqlite_master WHERE name = '\(view)'").first?["type"]
            #expect(kind as? String == "view", "\(view)")
            let actual = try sqlite3(db, "SELECT name FROM pragma_table_info('\(view)') ORDER BY cid")
                .map { $0["name"] as! String }
            #expect(actual == columns, "\(view)")
        }
        // A writer is turned away even without -readonly: views take no writes.
        #expect(throws: (any Error).self) { try sqlite3(db, "DELETE FROM runs", readOnly: false) }
        #expect(try sqlite3(db, "SELECT COUNT(*) AS n FROM runs").first?["n"] as? Int == 5)
    }

    @Test func anIndexOfTheOlderSchemaIsRebuiltNotMisread() throws {
        let (fixture, _) = try populate()
        let expected = try fixture.ledger.runs().map(\.runID)
        let path = fixture.root + "/index.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        // A version-1 index claiming to cover the whole log, with a run the log does not hold.
        let size = try fixture.ledger.size()
        _ = try sqlite3(
            path,
            """
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE runs(run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT, parent_run_id TEXT,
              canonical_hash TEXT NOT NULL, manifest TEXT NOT NULL, status TEXT, timestamp TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE edges(seq INTEGER NOT NULL, source TEXT NOT NULL, digest TEXT NOT NULL, role TEXT NOT NULL,
              run_id TEXT NOT NULL, step_index INTEGER, media_type TEXT);
            INSERT INTO runs VALUES ('ghost', 0, 'ghost', NULL, 'x', 'sha256:00', NULL, '2026-01-01T00:00:00.000Z');
            INSERT INTO meta VALUES ('schema_version', '1'), ('indexed_entries', '\(size)');
            """,
            readOnly: false
        )
        let reopened = try fixture.reopen()
        #expect(try reopened.runs().map(\.runID) == expected)
        #expect(
            try sqlite3(path, "SELECT value FROM meta WHERE key = 'schema_version'").first?["value"] as? String == "2"
        )
        #expect(try sqlite3(path, "SELECT COUNT(*) AS n FROM runs WHERE run_id = 'ghost'").first?["n"] as? Int == 0)
        #expect(try sqlite3(path, "SELECT COUNT(*) AS n FROM steps").first?["n"] as? Int == 6)
    }

    @Test func anIndexOfANewerSchemaIsRefused() throws {
        let (fixture, _) = try populate()
        let path = fixture.root + "/index.sqlite"
        _ = try sqlite3(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'", readOnly: false)
        let error = try #require(throws: LedgerError.self) { try fixture.reopen() }
        #expect(error.code == .index)
        #expect(error.message.contains("schema version 99"), "\(error)")
        // Untouched: the newer schema's owner still finds it.
        #expect(
            try sqlite3(path, "SELECT value FROM meta WHERE key = 'schema_version'").first?["value"] as? String == "99"
        )
    }
}
