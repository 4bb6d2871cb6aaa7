import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The genblaze venv's python (genblaze-core, pyarrow, duckdb, openlineage-python), when the test command gives one.
private let genblazePython: String? = {
    guard let path = ProcessInfo.processInfo.environment["CAIRN_GENBLAZE_PYTHON"],
        FileManager.default.isExecutableFile(atPath: path)
    else { return nil }
    return path
}()

private let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
private let needsPython: Comment = "needs CAIRN_GENBLAZE_PYTHON with genblaze-core, pyarrow, duckdb (scripts/setup.sh)"

private struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// A store holding genblaze manifests made by genblaze itself (scripts/parquet_probe.py make-manifests), imported
/// with `cairn import`.
private struct ExportFixture {
    let python: String
    let directory: TemporaryDirectory
    var store: String { directory.appending("store") }
    var manifests: String { directory.appending("manifests") }
    var out: String { directory.appending("out") }

    init(runs: Int, seed: Int = 1) throws {
        guard let python = genblazePython else { throw FixtureError(description: "CAIRN_GENBLAZE_PYTHON is not set") }
        self.python = python
        directory = try TemporaryDirectory(prefix: "cairn-export")
        let initResult = try runCairn(["init", "--store", store])
        guard initResult.status == 0 else { throw FixtureError(description: "init: \(initResult.stderrText)") }
        _ = try probe(["make-manifests", manifests, String(runs), String(seed)])
        try importManifests(try manifestFiles())
    }

    func manifestFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: manifests).filter { $0.hasSuffix(".json") }.sorted().map {
            manifests + "/" + $0
        }
    }

    func importManifests(_ files: [String]) throws {
        let result = try runCairn(["import", "--store", store] + files)
        guard result.status == 0 else { throw FixtureError(description: "import: \(result.stderrText)") }
    }

    /// The manifests' JSON objects, in file order.
    func manifestObjects() throws -> [[String: Any]] {
        try manifestFiles().map { path in
            guard
                let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
                    as? [String: Any]
            else { throw FixtureError(description: "\(path) is not a JSON object") }
            return object
        }
    }

    func cairn(_ arguments: [String]) throws -> ProcessResult {
        try runCairn(arguments)
    }

    func exportParquet(_ extra: [String] = [], to out: String? = nil) throws -> ProcessResult {
        try runCairn(["export", "parquet", "--store", store] + extra + [out ?? self.out])
    }

    /// Runs scripts/parquet_probe.py and returns its JSON object.
    func probe(_ arguments: [String]) throws -> [String: Any] {
        let result = try runProcess(python, [repositoryRoot() + "/scripts/parquet_probe.py"] + arguments)
        guard result.status == 0,
            let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        else {
            throw FixtureError(description: "parquet_probe.py \(arguments): \(result.stderrText)")
        }
        return object
    }
}

private func runs(of manifest: [String: Any]) -> [String: Any] { manifest["run"] as? [String: Any] ?? [:] }
private func steps(of manifest: [String: Any]) -> [[String: Any]] {
    runs(of: manifest)["steps"] as? [[String: Any]] ?? []
}

/// The documented columns of each dataset: the tables of spec/export.md's "Columns" section.
private func documentedColumns() throws -> [String: [[String]]] {
    let text = try String(contentsOfFile: repositoryRoot() + "/spec/export.md", encoding: .utf8)
    let arrowTypes = ["string": "string", "int64": "int64", "double": "double", "boolean": "bool"]
    var tables: [String: [[String]]] = [:]
    var current: String?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("#### `") {
            current = line.split(separator: "`").dropFirst().first.map(String.init)
        } else if line.hasPrefix("## ") || line.hasPrefix("### ") {
            current = nil
        } else if let table = current, line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, let type = arrowTypes[cells[1]] else { continue }
            tables[table, default: []].append([cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), type])
        }
    }
    return tables
}

private func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw FixtureError(description: "not a JSON object: \(line)")
        }
        return object
    }
}

private func jsonObject(_ result: ProcessResult) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] else {
        throw FixtureError(description: "not a JSON object: \(result.stdoutText)")
    }
    return object
}

@Suite(.timeLimit(.minutes(15)))
struct ParquetExportTests {
    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func datasetsHaveTheDocumentedSchemaInEveryFileAndOneRowPerRecord() throws {
        let fixture = try ExportFixture(runs: 40)
        let result = try fixture.exportParquet()
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.contains("exported 40 runs"))
        let described = try fixture.probe(["describe", fixture.out])
        let documented = try documentedColumns()
        let manifests = try fixture.manifestObjects()
        let expectedRows = [
            "runs": manifests.count,
            "steps": manifests.reduce(0) { $0 + steps(of: $1).count },
            "assets": manifests.reduce(0) { total, manifest in
                total
                    + steps(of: manifest).reduce(0) {
                        $0 + (($1["assets"] as? [Any])?.count ?? 0) + (($1["inputs"] as? [Any])?.count ?? 0)
                    }
            },
        ]
        for table in ["runs", "steps", "assets"] {
            let info = try #require(described[table] as? [String: Any])
            let schemas = try #require(info["schemas"] as? [[[String]]])
            #expect(schemas.count == 1, "\(table): files disagree on the schema: \(schemas)")
            #expect(schemas.first == documented[table], "\(table): \(schemas.first ?? []) vs spec/export.md")
            #expect(info["rows_pyarrow"] as? Int == expectedRows[table], "\(table) rows (pyarrow)")
            #expect(info["rows_duckdb"] as? Int == expectedRows[table], "\(table) rows (duckdb)")
        }
        #expect(
            documented["runs"]?.count == 13 && documented["steps"]?.count == 22 && documented["assets"]?.count == 25
        )
        // The state file is there, and no temporary file is left.
        #expect(FileManager.default.fileExists(atPath: fixture.out + "/_cairn_export.json"))
        let leftovers = try fixture.probe(["read-all", fixture.out])
        #expect((leftovers["hidden"] as? [String])?.isEmpty == true)
        #expect((leftovers["errors"] as? [String])?.isEmpty == true)
    }

    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func lineageWalksOverTheExportGiveWhatCairnLineageGives() throws {
        let fixture = try ExportFixture(runs: 40, seed: 7)
        #expect(try fixture.exportParquet().status == 0)
        // Every run: its parent chain to the root and its children, from pyarrow and duckdb over the export.
        let runIDs = try fixture.manifestObjects().compactMap { runs(of: $0)["run_id"] as? String }
        let walks = try fixture.probe(["lineage", fixture.out] + runIDs)
        var chainsLongerThanOne = 0
        for runID in runIDs {
            let walk = try #require(walks[runID] as? [String: Any])
            let ancestry = try jsonObject(try fixture.cairn(["lineage", "--store", fixture.store, "--json", runID]))
            let ancestors = (ancestry["ancestors"] as? [[String: Any]] ?? []).compactMap { $0["run_id"] as? String }
            let tree = try jsonObject(
                try fixture.cairn(["lineage", "--store", fixture.store, "--descendants", "--json", runID])
            )
            let children = (tree["children"] as? [[String: Any]] ?? []).compactMap { $0["run_id"] as? String }.sorted()
            #expect(walk["ancestors_pyarrow"] as? [String] == ancestors, "\(runID) ancestors (pyarrow)")
            #expect(walk["ancestors_duckdb"] as? [String] == ancestors, "\(runID) ancestors (duckdb)")
            #expect(walk["children_pyarrow"] as? [String] == children, "\(runID) children (pyarrow)")
            #expect(walk["children_duckdb"] as? [String] == children, "\(runID) children (duckdb)")
            if ancestors.count > 1 { chainsLongerThanOne += 1 }
        }
        #expect(chainsLongerThanOne > 5, "the seed should have chains to walk")
    }

    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func genblazeParquetSinkAndCairnAnswerTheSameQueries() throws {
        let fixture = try ExportFixture(runs: 40, seed: 3)
        #expect(try fixture.exportParquet().status == 0)
        let genblaze = fixture.directory.appending("genblaze")
        _ = try fixture.probe(["genblaze-sink", fixture.manifests, genblaze])
        let ours = try fixture.probe(["query", fixture.out])
        let theirs = try fixture.probe(["query", genblaze])
        for key in ["runs", "steps", "assets", "per_provider"] {
            let a = try #require(ours[key] as? [Any])
            let b = try #require(theirs[key] as? [Any])
            #expect(a.count == b.count && !a.isEmpty, "\(key): \(a.count) rows vs genblaze's \(b.count)")
            #expect(
                (a as NSArray).isEqual(to: b),
                "\(key) differs from genblaze's: first of ours \(a.first ?? "-") / theirs \(b.first ?? "-")"
            )
        }
        let ourLayout = try fixture.probe(["describe", fixture.out])
        let theirLayout = try fixture.probe(["describe", genblaze])
        for table in ["runs", "steps", "assets"] {
            let a = (ourLayout[table] as? [String: Any])?["partitions"] as? [String]
            let b = (theirLayout[table] as? [String: Any])?["partitions"] as? [String]
            #expect(a == b && a?.isEmpty == false, "\(table) partitions differ from genblaze's")
        }
    }

    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func reExportWritesOnlyWhatIsNewAndARunIsAlwaysOneRow() throws {
        let fixture = try ExportFixture(runs: 30, seed: 5)
        let first = try jsonObject(try fixture.exportParquet(["--json"]))
        #expect(first["runs"] as? Int == 30)
        let state = try Data(contentsOf: URL(fileURLWithPath: fixture.out + "/_cairn_export.json"))
        let files = try FileManager.default.subpathsOfDirectory(atPath: fixture.out).sorted()

        // Nothing new: nothing written, nothing changed.
        let second = try jsonObject(try fixture.exportParquet(["--json"]))
        #expect(second["runs"] as? Int == 0)
        #expect((second["files_written"] as? [Any])?.isEmpty == true)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: fixture.out).sorted() == files)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.out + "/_cairn_export.json")) == state)

        // New runs, and a newer manifest for an exported run (one more step).
        let more = fixture.directory.appending("more")
        _ = try fixture.probe(["make-manifests", more, "5", "99"])
        let amendedPath = fixture.directory.appending("amended.json")
        let amended = try fixture.probe(["amend", try fixture.manifestFiles()[4], amendedPath])
        let amendedRun = try #require(amended["run_id"] as? String)
        let newFiles = try FileManager.default.contentsOfDirectory(atPath: more).sorted().map { more + "/" + $0 }
        try fixture.importManifests(newFiles + [amendedPath])
        let third = try jsonObject(try fixture.exportParquet(["--json"]))
        let written = try #require(third["runs"] as? Int)
        #expect(written >= 6 && written < 35, "wrote \(written) runs: the new ones, the amended one, its file-mates")
        #expect((third["files_removed"] as? [Any])?.isEmpty == false)

        let counts = try fixture.probe([
            "sql", fixture.out,
            "SELECT (SELECT count(*) FROM {runs}), (SELECT count(DISTINCT run_id) FROM {runs}), "
                + "(SELECT step_count FROM {runs} WHERE run_id = '\(amendedRun)'), "
                + "(SELECT count(*) FROM {steps} WHERE run_id = '\(amendedRun)')",
        ])
        let row = try #require((counts["rows"] as? [[Any]])?.first)
        #expect(row[0] as? Int == 35 && row[1] as? Int == 35, "runs rows: \(row)")
        #expect(row[2] as? Int == amended["step_count"] as? Int && row[3] as? Int == amended["step_count"] as? Int)
        let leftovers = try fixture.probe(["read-all", fixture.out])
        #expect((leftovers["errors"] as? [String])?.isEmpty == true)
        #expect((leftovers["hidden"] as? [String])?.isEmpty == true)
    }

    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func anInterruptedExportLeavesOnlyWholeFilesAndTheNextOneCompletes() throws {
        let fixture = try ExportFixture(runs: 400, seed: 11)
        // How long a whole export takes here; the kills land at fractions of it.
        let started = Date()
        #expect(
            try fixture.exportParquet(["--compression", "none"], to: fixture.directory.appending("timed")).status == 0
        )
        let duration = Date().timeIntervalSince(started)
        for fraction in [0.1, 0.3, 0.5, 0.7, 0.85, 0.95] {
            let (process, isolation) = try launchCairn([
                "export", "parquet", "--store", fixture.store, "--compression", "none", fixture.out,
            ])
            usleep(UInt32(duration * fraction * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            withExtendedLifetime(isolation) {}
            let seen = try fixture.probe(["read-all", fixture.out])
            #expect((seen["errors"] as? [String])?.isEmpty == true, "after a kill at \(fraction) of an export: \(seen)")
        }
        // A fault: a file where the steps dataset's folder belongs. The export fails (exit 2, naming the path);
        // what it wrote is whole; once the blocker is gone the next export completes without duplicates.
        let fresh = fixture.directory.appending("fresh")
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: fresh + "/steps", contents: Data("not a folder".utf8)))
        let failed = try fixture.exportParquet(to: fresh)
        #expect(failed.status == 2)
        #expect(failed.stderrText.contains(fresh + "/steps"), "\(failed.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: fresh + "/_cairn_export.json"))
        try FileManager.default.removeItem(atPath: fresh + "/steps")

        for out in [fixture.out, fresh] {
            let done = try fixture.exportParquet(to: out)
            #expect(done.status == 0, "\(done.stderrText)")
            let counts = try fixture.probe([
                "sql", out, "SELECT (SELECT count(*) FROM {runs}), (SELECT count(DISTINCT run_id) FROM {runs})",
            ])
            let row = try #require((counts["rows"] as? [[Any]])?.first)
            #expect(row[0] as? Int == 400 && row[1] as? Int == 400, "\(out): \(row)")
            let seen = try fixture.probe(["read-all", out])
            #expect((seen["hidden"] as? [String])?.isEmpty == true, "\(seen)")
        }
    }

    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func attemptsAndFingerprintsComeFromReceipts() throws {
        let python = try #require(genblazePython)
        let directory = try TemporaryDirectory(prefix: "cairn-export-run")
        let store = directory.appending("store")
        #expect(try runCairn(["init", "--store", store]).status == 0)
        let run = try runCairn(["run", "--store", store, repositoryRoot() + "/examples/stages.yaml"])
        #expect(run.status == 0, "\(run.stderrText)")
        let out = directory.appending("out")
        let export = try runCairn(["export", "parquet", "--store", store, out])
        #expect(export.status == 0, "\(export.stderrText)")
        let result = try runProcess(
            python,
            [
                repositoryRoot() + "/scripts/parquet_probe.py", "sql", out,
                "SELECT model, retries, cairn_attempts, cairn_fingerprint IS NOT NULL FROM {steps} ORDER BY model",
            ]
        )
        let object = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let rows = try #require(object["rows"] as? [[Any]])
        #expect(rows.count == 4, "\(rows)")
        // The flaky audio step failed once before succeeding: two attempts; every step has a fingerprint.
        let audio = try #require(rows.first { $0[0] as? String == "audio-v1" })
        #expect(audio[2] as? Int == 2)
        #expect(rows.allSatisfy { $0[3] as? Bool == true && ($0[2] as? Int ?? 0) >= 1 })
        let attempts = try runProcess(
            python,
            [repositoryRoot() + "/scripts/parquet_probe.py", "sql", out, "SELECT cairn_attempts FROM {runs}"]
        )
        #expect(attempts.stdoutText.contains("[[5]]"), "\(attempts.stdoutText)")
    }
}

@Suite(.timeLimit(.minutes(15)))
struct ExportCLITests {
    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func sinceSelectsLaterRunsAndABadSinceExitsTwoWritingNothing() throws {
        let fixture = try ExportFixture(runs: 12, seed: 2)
        for bad in ["yesterday", "2026-13-45", "2026-02-30T25:00:00Z", "01234567-89ab-4def-8123-456789abcdef"] {
            let out = fixture.directory.appending("bad")
            let parquet = try fixture.exportParquet(["--since", bad], to: out)
            #expect(parquet.status == 2, "--since \(bad)")
            #expect(parquet.stderrText.contains("--since \(bad)"), "\(parquet.stderrText)")
            #expect(!FileManager.default.fileExists(atPath: out))
            let lineage = try fixture.cairn(["export", "openlineage", "--store", fixture.store, "--since", bad])
            #expect(lineage.status == 2 && lineage.stdoutText.isEmpty)
        }
        let runIDs = try fixture.manifestObjects().compactMap { runs(of: $0)["run_id"] as? String }
        let afterEighth = try jsonObject(try fixture.exportParquet(["--json", "--since", runIDs[7]], to: fixture.out))
        #expect(afterEighth["runs"] as? Int == 4)
        let listed = try fixture.probe(["sql", fixture.out, "SELECT run_id FROM {runs} ORDER BY run_id"])
        let exported = ((listed["rows"] as? [[Any]]) ?? []).compactMap { $0.first as? String }
        #expect(exported == Array(runIDs[8...]).sorted())
        let future = try jsonObject(
            try fixture.exportParquet(["--json", "--since", "2999-01-01"], to: fixture.directory.appending("f"))
        )
        #expect(future["runs"] as? Int == 0)
        let past = try jsonObject(
            try fixture.exportParquet(
                ["--json", "--since", "2000-01-01T00:00:00Z"],
                to: fixture.directory.appending("p")
            )
        )
        #expect(past["runs"] as? Int == 12)
    }

    @Test(.enabled(if: genblazePython != nil || isCI, needsPython))
    func openLineageEventsLoadInTheOpenLineageClientAndFollowTheManifests() throws {
        let fixture = try ExportFixture(runs: 25, seed: 4)
        let result = try fixture.cairn(["export", "openlineage", "--store", fixture.store])
        #expect(result.status == 0, "\(result.stderrText)")
        let events = fixture.directory.appending("events.jsonl")
        try result.stdout.write(to: URL(fileURLWithPath: events))
        let check = try runProcess(fixture.python, [repositoryRoot() + "/scripts/openlineage_check.py", events])
        #expect(check.status == 0, "\(check.stdoutText) \(check.stderrText)")
        let summary = try jsonObject(check)
        #expect((summary["problems"] as? [Any])?.isEmpty == true)
        let seen = try #require(summary["runs"] as? [String: [String: Any]])
        let manifests = try fixture.manifestObjects()
        #expect(seen.count == manifests.count)
        for manifest in manifests {
            let run = runs(of: manifest)
            let runID = try #require(run["run_id"] as? String)
            let entry = try #require(seen[runID], "no events for \(runID)")
            let status = run["status"] as? String
            let expectedTypes = ["START", status == "completed" ? "COMPLETE" : "FAIL"]
            #expect(entry["types"] as? [String] == expectedTypes, "\(runID) \(status ?? "-")")
            #expect(entry["parent"] as? String == run["parent_run_id"] as? String, "\(runID) parent")
            let outputs = Set(
                steps(of: manifest).flatMap { ($0["assets"] as? [[String: Any]]) ?? [] }
                    .compactMap { ($0["sha256"] as? String).map { "sha256:" + $0 } }
            )
            let inputs = Set(
                steps(of: manifest).flatMap { ($0["inputs"] as? [[String: Any]]) ?? [] }
                    .compactMap { ($0["sha256"] as? String).map { "sha256:" + $0 } }
            )
            #expect(Set(entry["outputs"] as? [String] ?? []) == outputs, "\(runID) outputs")
            #expect(Set(entry["inputs"] as? [String] ?? []) == inputs, "\(runID) inputs")
        }
        // Each line is one event; the schema URL and producer are on every one.
        let lines = try jsonLines(result.stdoutText)
        #expect(lines.count == manifests.count * 2)
        #expect(lines.allSatisfy { ($0["schemaURL"] as? String)?.contains("2-0-2") == true })
    }
}
