import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// End-to-end tests of the ledger verbs, through the built `cairn` binary.
@Suite(.timeLimit(.minutes(15)))
struct LedgerCLITests {
    /// A new store in a temporary directory.
    struct Store {
        let directory: TemporaryDirectory
        var path: String { directory.appending("store") }

        init() throws {
            directory = try TemporaryDirectory(prefix: "cairn-ledger-cli")
            let result = try runCairn(["init", "--store", path])
            #expect(result.status == 0, "\(result.stderrText)")
        }

        @discardableResult
        func run(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
            try runCairn(arguments + ["--store", path], stdin: stdin)
        }

        /// The JSON `cairn ARGUMENTS` printed, as a `Shape`; a different shape fails the test (never the process).
        func json<Shape>(_ arguments: [String], as shape: Shape.Type) throws -> Shape {
            let result = try run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderrText)")
            let value = try JSONSerialization.jsonObject(with: result.stdout, options: [.fragmentsAllowed])
            return try #require(value as? Shape, "\(arguments) printed \(result.stdoutText)")
        }
    }

    static func receiptLine(run: String, step: Int, output: String? = nil, input: String? = nil) -> String {
        let outputs = output.map { "[{\"digest\":\"\($0)\",\"media_type\":\"image/png\"}]" } ?? "[]"
        let inputs = input.map { "[{\"digest\":\"\($0)\",\"media_type\":\"image/png\"}]" } ?? "[]"
        return """
            {"run_id":"\(run)","step_name":"gen","step_index":\(step),"status":"succeeded",\
            "started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z","provider":"synthetic",\
            "inputs":\(inputs),"outputs":\(outputs)}
            """
    }

    static let digestA = "sha256:" + String(repeating: "a1", count: 32)
    static let digestB = "sha256:" + String(repeating: "b2", count: 32)

    @Test func appendTagQueryProveAndVerify() throws {
        let store = try Store()
        let lines = [
            Self.receiptLine(run: "r1", step: 0, output: Self.digestA),
            Self.receiptLine(run: "r2", step: 0, output: Self.digestB, input: Self.digestA),
        ].joined(separator: "\n")
        let appended = try store.run(["ledger", "append-receipts", "-"], stdin: Data(lines.utf8))
        #expect(appended.status == 0, "\(appended.stderrText)")
        #expect(appended.stdoutText.split(separator: "\n").map { $0.split(separator: " ")[0] } == ["0", "1"])
        #expect(try store.run(["ledger", "tag", "r1", "selected=true"]).status == 0)

        let made = try store.json(["made", "--json", Self.digestA], as: [[String: Any]].self)
        #expect(made.map { $0["run_id"] as? String } == ["r1"])
        let used = try store.json(["used", "--json", Self.digestA], as: [[String: Any]].self)
        #expect(used.map { $0["run_id"] as? String } == ["r2"])
        #expect(try store.run(["used", Self.digestB]).status == 1)
        #expect(try store.run(["made", "sha256:nothex"]).status == 2)

        let shown = try store.json(["show", "--json", "r1"], as: [String: Any].self)
        #expect((shown["receipts"] as? [Any])?.count == 1)
        #expect((shown["tags"] as? [String: Any])?["selected"] as? Bool == true)
        #expect(try store.run(["show", "nope"]).status == 1)

        let verified = try store.run(["ledger", "verify"])
        #expect(verified.status == 0, "\(verified.stderrText)")
        let checkpoint = try store.run(["ledger", "checkpoint"])
        #expect(checkpoint.stdoutText.split(separator: "\n")[1] == "3")
        #expect(checkpoint.stdoutText.contains("\n\n\u{2014} cairn.local/"))

        let prove = try store.run(["ledger", "prove", "--json", "--index", "1"])
        #expect(prove.status == 0, "\(prove.stderrText)")
        let bundle = try #require(try JSONSerialization.jsonObject(with: prove.stdout) as? [String: Any])
        #expect(bundle["leaf_index"] as? Int == 1)
        #expect(bundle["tree_size"] as? Int == 3)
        for key in ["entry", "leaf_hash", "audit_path", "root_hash", "checkpoint"] { #expect(bundle[key] != nil) }
        let consistency = try store.json(["ledger", "consistency", "--json", "1", "3"], as: [String: Any].self)
        #expect(consistency["old_size"] as? Int == 1)
        #expect(((consistency["proof"] as? [String])?.count ?? 0) >= 1)
        #expect(try store.run(["ledger", "prove", "--json", "--index", "7"]).status == 2)

        let reindexed = try store.json(["ledger", "reindex", "--json"], as: [String: Any].self)
        #expect(reindexed["entries"] as? Int == 3)
        #expect((try store.json(["made", "--json", Self.digestA], as: [[String: Any]].self)).count == 1)
    }

    /// Manifests imported from elsewhere whose parent_run_id fields form a cycle (two runs naming each other, and a
    /// run naming itself): every lineage view terminates, shows each run once, and says on stderr where the cycle is.
    @Test func lineageWithAParentCycleTerminatesWithAClearNote() throws {
        let store = try Store()
        let cases = genblazeVectorsPath + "/cases/"
        let (set, unset) = ("32503f4c-05e8-458a-9f25-f4a3ba1baf8c", "5be9b125-ca0c-4441-8946-45f2f41791e6")
        // parent_run_id is not hashed: d_parent_set names d_parent_unset, which names d_parent_set back.
        let first = store.directory.appending("first.json")
        let second = store.directory.appending("second.json")
        try Data(
            try String(contentsOfFile: cases + "d_parent_set.json", encoding: .utf8)
                .replacingOccurrences(of: "c0ffee00-1111-4222-8333-444455556666", with: unset).utf8
        ).write(to: URL(fileURLWithPath: first))
        try Data(
            try String(contentsOfFile: cases + "d_parent_unset.json", encoding: .utf8)
                .replacingOccurrences(of: "\"parent_run_id\":null", with: "\"parent_run_id\":\"\(set)\"").utf8
        ).write(to: URL(fileURLWithPath: second))
        let imported = try store.run(["import", first, second])
        #expect(imported.status == 0, "\(imported.stderrText)")
        for arguments in [
            ["lineage", set], ["lineage", "--json", set], ["lineage", "--descendants", set],
            ["lineage", "--descendants", "--json", unset], ["lineage", "--format", "dot", unset],
            ["lineage", "--format", "mermaid", "--descendants", set],
        ] {
            let shown = try store.run(arguments)
            let what = arguments.joined(separator: " ")
            #expect(shown.status == 0, "\(what): \(shown.stderrText)")
            #expect(shown.stderrText.contains("parent_run_id cycle"), "\(what): \(shown.stderrText)")
            for run in [set, unset] {
                // Mermaid labels carry the last 8 characters of a run id; the other views carry it whole.
                let label = arguments.contains("mermaid") ? String(run.suffix(8)) : run
                #expect(shown.stdoutText.contains(label), "\(what) does not show \(run): \(shown.stdoutText)")
            }
        }
        let text = try store.run(["lineage", set]).stdoutText
        #expect(text.split(separator: "\n").count == 2, "each run once: \(text)")
        let ancestry = try store.json(["lineage", "--json", unset], as: [String: Any].self)
        #expect((ancestry["ancestors"] as? [[String: Any]])?.map { $0["run_id"] as? String } == [set])
        let report = store.directory.appending("cycle.html")
        #expect(try store.run(["report", set, "-o", report]).status == 0)

        // A run that names itself as its parent.
        let own = "2eeb390e-ff7d-4776-878c-9bc520bfb351"
        let third = store.directory.appending("third.json")
        try Data(
            try String(contentsOfFile: cases + "d_basic.json", encoding: .utf8)
                .replacingOccurrences(of: "\"parent_run_id\":null", with: "\"parent_run_id\":\"\(own)\"").utf8
        ).write(to: URL(fileURLWithPath: third))
        #expect(try store.run(["import", third]).status == 0)
        for arguments in [["lineage", own], ["lineage", "--descendants", own], ["lineage", "--format", "dot", own]] {
            let shown = try store.run(arguments)
            #expect(shown.status == 0, "\(arguments): \(shown.stderrText)")
            #expect(shown.stderrText.contains("returns to run \(own)"), "\(arguments): \(shown.stderrText)")
        }
        #expect(try store.run(["lineage", own]).stdoutText.split(separator: "\n").count == 1)
    }

    @Test func importLineageAndOfflineProof() throws {
        let store = try Store()
        let cases = genblazeVectorsPath + "/cases/"
        // parent_run_id is not hashed, so pointing d_parent_set at d_parent_unset's run keeps its hash valid.
        let child = store.directory.appending("child.json")
        let text = try String(contentsOfFile: cases + "d_parent_set.json", encoding: .utf8)
            .replacingOccurrences(
                of: "c0ffee00-1111-4222-8333-444455556666",
                with: "5be9b125-ca0c-4441-8946-45f2f41791e6"
            )
        try Data(text.utf8).write(to: URL(fileURLWithPath: child))
        let imported = try store.run([
            "import", "--json", cases + "d_parent_unset.json", child, cases + "d_tamper_prompt.json",
        ])
        #expect(imported.status == 1, "the tampered manifest is refused: \(imported.stderrText)")
        // Malformed input is exit 2, as everywhere: not JSON, or JSON that is not a manifest; nothing is appended.
        let malformed = store.directory.appending("malformed.json")
        let list = store.directory.appending("list.json")
        try Data("{\"run\": ".utf8).write(to: URL(fileURLWithPath: malformed))
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: list))
        for file in [malformed, list] {
            let refused = try store.run(["import", file])
            #expect(refused.status == 2, "\(file): \(refused.stderrText)")
            #expect(refused.stderrText.contains("not a manifest"), "\(refused.stderrText)")
        }
        let lines = imported.stdoutText.split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
        }
        #expect(lines.map { $0["ok"] as? Bool } == [true, true, false])
        let runs = try store.json(["log", "--json"], as: [[String: Any]].self)
        #expect(
            runs.map { $0["run_id"] as? String } == [
                "32503f4c-05e8-458a-9f25-f4a3ba1baf8c", "5be9b125-ca0c-4441-8946-45f2f41791e6",
            ]
        )
        let lineage = try store.json(
            ["lineage", "--json", "32503f4c-05e8-458a-9f25-f4a3ba1baf8c"],
            as: [String: Any].self
        )
        #expect(
            (lineage["ancestors"] as? [[String: Any]])?.map { $0["run_id"] as? String } == [
                "5be9b125-ca0c-4441-8946-45f2f41791e6"
            ]
        )
        let dot = try store.run(["lineage", "--descendants", "--format", "dot", "5be9b125-ca0c-4441-8946-45f2f41791e6"])
        #expect(dot.stdoutText.hasPrefix("digraph lineage {"))
        #expect(
            dot.stdoutText.contains(
                "\"5be9b125-ca0c-4441-8946-45f2f41791e6\" -> \"32503f4c-05e8-458a-9f25-f4a3ba1baf8c\""
            )
        )
        let mermaid = try store.run(["lineage", "--format", "mermaid", "32503f4c-05e8-458a-9f25-f4a3ba1baf8c"])
        #expect(mermaid.stdoutText.hasPrefix("graph TD"))
        #expect(mermaid.stdoutText.contains("n0 --> n1"))
        #expect(try store.run(["lineage", "no-such-run"]).status == 1)

        // The proof bundle checks with no store at all, and fails once altered.
        let prove = try store.run(["ledger", "prove", "--json", "32503f4c-05e8-458a-9f25-f4a3ba1baf8c"])
        #expect(prove.status == 0, "\(prove.stderrText)")
        let proofFile = store.directory.appending("proof.json")
        try prove.stdout.write(to: URL(fileURLWithPath: proofFile))
        let elsewhere = try TemporaryDirectory(prefix: "cairn-no-store")
        let offline = try runCairn(
            ["verify", "--proof", proofFile, "--key", store.path + "/ledger/key.pub"],
            environment: ["CAIRN_HOME": elsewhere.appending("none")],
            currentDirectory: elsewhere.path
        )
        #expect(offline.status == 0, "\(offline.stdoutText) \(offline.stderrText)")
        var bundle = try #require(try JSONSerialization.jsonObject(with: prove.stdout) as? [String: Any])
        var path = try #require(bundle["audit_path"] as? [String])
        path[0] = String(path[0].reversed())
        bundle["audit_path"] = path
        try JSONSerialization.data(withJSONObject: bundle).write(to: URL(fileURLWithPath: proofFile))
        let altered = try runCairn(["verify", "--proof", proofFile], currentDirectory: elsewhere.path)
        #expect(altered.status == 1)
        let consistency = try store.run(["ledger", "consistency", "--json", "1"])
        try consistency.stdout.write(to: URL(fileURLWithPath: proofFile))
        #expect(try runCairn(["verify", "--proof", proofFile], currentDirectory: elsewhere.path).status == 0)
    }

    @Test func tamperedLogFailsVerifyNamingTheIndex() throws {
        let store = try Store()
        let lines = (0..<6).map { Self.receiptLine(run: "r", step: $0) }.joined(separator: "\n")
        #expect(try store.run(["ledger", "append-receipts", "-"], stdin: Data(lines.utf8)).status == 0)
        let log = store.path + "/ledger/entries.log"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        bytes[bytes.count - 10] ^= 0x20  // inside the last entry (index 5)
        try bytes.write(to: URL(fileURLWithPath: log))
        let result = try store.run(["ledger", "verify", "--json"])
        #expect(result.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(report["first_bad_index"] as? Int == 5)
        #expect(try store.run(["ledger", "verify"]).stderrText.contains("entry 5"))
    }

    @Test func gcDryRunAndRefusal() throws {
        let store = try Store()
        let file = store.directory.appending("orphan.txt")
        try Data("orphan bytes".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try store.run(["put", file]).status == 0)
        let dry = try store.json(["gc", "--dry-run", "--grace", "0s", "--json"], as: [String: Any].self)
        #expect((dry["swept"] as? [String])?.count == 1)
        let kept = try store.json(["gc", "--grace", "1h", "--json"], as: [String: Any].self)
        #expect((kept["swept"] as? [String])?.isEmpty == true)
        #expect(try store.run(["gc", "--grace", "soon"]).status == 2)
        let swept = try store.json(["gc", "--grace", "0", "--json"], as: [String: Any].self)
        #expect((swept["swept"] as? [String])?.count == 1)
    }

    @Test func gcRemovesDebrisOfProcessesThatAreGone() throws {
        let store = try Store()
        // pid 2^22 + 1 is above Linux's default pid range: no process has it.
        let stale = store.path + "/tmp/put-4194305-0a1bx0"
        try Data("half an object".utf8).write(to: URL(fileURLWithPath: stale))
        let dry = try store.json(["gc", "--dry-run", "--json"], as: [String: Any].self)
        #expect(dry["debris_removed"] as? Int == 0)
        #expect(FileManager.default.fileExists(atPath: stale), "a dry run removes nothing")
        let report = try store.json(["gc", "--json"], as: [String: Any].self)
        #expect(report["debris_removed"] as? Int == 1)
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    /// `kill -9` at random moments during appends: every append that was reported is present, and the log reopens
    /// with the tree and the checkpoint verifying.
    @Test func killNineDuringAppendsLosesNothingReported() throws {
        let store = try Store()
        let input = store.directory.appending("receipts.jsonl")
        let lines = (0..<3000).map { Self.receiptLine(run: "k", step: $0) }.joined(separator: "\n")
        try Data(lines.utf8).write(to: URL(fileURLWithPath: input))
        var generator = SystemRandomNumberGenerator()
        let trials = slowTestsEnabled ? 200 : 4
        var expected = 0
        for trial in 0..<trials {
            let output = Pipe()
            let (process, isolation) = try launchCairn(
                ["ledger", "append-receipts", input, "--store", store.path, "--batch", String(1 + trial % 3)],
                standardOutput: output
            )
            defer { withExtendedLifetime(isolation) {} }
            usleep(UInt32.random(in: 20_000...250_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let reported = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").filter { $0.split(separator: " ").count == 2 }
            let verify = try store.run(["ledger", "verify", "--json"])
            #expect(verify.status == 0, "trial \(trial): \(verify.stdoutText) \(verify.stderrText)")
            let report = try #require(try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any])
            let entries = try #require(report["entries"] as? Int)
            expected += reported.count
            #expect(entries >= expected, "trial \(trial): \(entries) entries, \(expected) reported")
            expected = entries
            if let last = reported.last {
                let parts = last.split(separator: " ")
                let prove = try store.run(["ledger", "prove", "--json", "--index", String(parts[0])])
                #expect(prove.status == 0, "\(prove.stderrText)")
                let bundle = try #require(try JSONSerialization.jsonObject(with: prove.stdout) as? [String: Any])
                #expect(bundle["leaf_hash"] as? String == String(parts[1]))
            }
        }
        #expect(try store.run(["ledger", "verify"]).status == 0)
    }

    /// 8 processes x 1000 appends at once: 8000 entries, the tree verifies and the index is complete.
    @Test func eightProcessesAppendConcurrently() throws {
        let store = try Store()
        let perProcess = 1000
        var arguments: [[String]] = []
        for p in 0..<8 {
            let input = store.directory.appending("p\(p).jsonl")
            let lines = (0..<perProcess).map { Self.receiptLine(run: "p\(p)", step: $0) }.joined(separator: "\n")
            try Data(lines.utf8).write(to: URL(fileURLWithPath: input))
            arguments.append(["ledger", "append-receipts", input, "--store", store.path, "--concurrency", "8"])
        }
        // Each process appends every line with its own durable append call, from 8 threads (group-committed).
        let errors = arguments.indices.map { store.directory.appending("p\($0).stderr") }
        for path in errors { try #require(FileManager.default.createFile(atPath: path, contents: nil)) }
        let launched = try zip(arguments, errors).map { arguments, path in
            try launchCairn(arguments, standardError: FileHandle(forWritingAtPath: path))
        }
        defer { withExtendedLifetime(launched) {} }
        for (process, path) in zip(launched.map(\.process), errors) {
            process.waitUntilExit()
            let stderr = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(process.terminationStatus == 0, "\(path): \(stderr)")
        }
        let report = try store.json(["ledger", "verify", "--json"], as: [String: Any].self)
        #expect(report["ok"] as? Bool == true)
        #expect(report["entries"] as? Int == 8 * perProcess)
        #expect(report["checkpoint_size"] as? Int == 8 * perProcess)
        for p in 0..<8 {
            let shown = try store.json(["show", "--json", "p\(p)"], as: [String: Any].self)
            let receipts = try #require(shown["receipts"] as? [[String: Any]])
            let steps = receipts.compactMap { $0["step_index"] as? Int }
            #expect(steps.sorted() == Array(0..<perProcess), "process \(p): every receipt indexed once")
        }
    }

    @Test func exportToADirectoryCopiesTheLedgerAndItsVerifierKey() throws {
        let store = try Store()
        for value in ["one", "two"] {
            #expect(try store.run(["ledger", "tag", "run-1", "step=\(value)"]).status == 0)
        }
        let copy = store.directory.appending("copy")
        let exported = try store.run(["ledger", "export", copy + "/ledger"])
        #expect(exported.status == 0, "\(exported.stderrText)")
        // The key beside the copy is the store's (its checkpoint verifies with it), and the log is the store's.
        #expect(
            FileManager.default.contents(atPath: copy + "/ledger/key.pub")
                == FileManager.default.contents(atPath: store.path + "/ledger/key.pub")
        )
        let log = FileManager.default.contents(atPath: copy + "/ledger/entries.log")
        #expect(log != nil && log == FileManager.default.contents(atPath: store.path + "/ledger/entries.log"))
        // A second export into the same place is refused and leaves the copy as it was.
        let again = try store.run(["ledger", "export", copy + "/ledger"])
        #expect(again.status == 2, "\(again.stderrText)")
        #expect(FileManager.default.contents(atPath: copy + "/ledger/entries.log") == log)
    }
}
