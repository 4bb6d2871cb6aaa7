import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Several `cairn` processes working on one store at once, for a bounded time: puts, ledger appends, pipeline
/// runs, fsck and gc, each in its own loop. Afterwards every invariant must hold:
///
/// - every object a put acknowledged is present and every acknowledged entry is in the log with the leaf hash
///   printed for it; the ledger verifies; every completed run has its manifest;
/// - no fsck saw damage while the others worked (only the temporary files of writers still running);
/// - gc deleted only objects nothing references that are older than its grace period (a set of backdated orphans
///   made beforehand), and nothing any worker made;
/// - the SQLite index equals the one `cairn ledger reindex` rebuilds from the log.
///
/// It runs 5 seconds by default and 60 with CAIRN_SLOW_TESTS=1 (`CAIRN_STRESS_SECONDS` sets another bound).
@Suite(.timeLimit(.minutes(15)))
struct ConcurrencyStressTests {
    static var seconds: Double {
        if let text = ProcessInfo.processInfo.environment["CAIRN_STRESS_SECONDS"], let value = Double(text) {
            return value
        }
        return slowTestsEnabled ? 60 : 5
    }

    /// What the workers saw, shared between their threads.
    final class Observations: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var acknowledgedObjects: [String] = []
        private(set) var acknowledgedEntries: [(index: String, leaf: String)] = []
        private(set) var completedRuns: [String] = []
        private(set) var deleted: [String] = []
        private(set) var failures: [String] = []
        private(set) var rounds: [String: Int] = [:]

        func record(_ body: (Observations) -> Void) {
            lock.lock()
            defer { lock.unlock() }
            body(self)
        }
        func objects(_ digests: [String]) { record { $0.acknowledgedObjects += digests } }
        func entries(_ lines: [(String, String)]) { record { $0.acknowledgedEntries += lines } }
        func run(_ id: String) { record { $0.completedRuns.append(id) } }
        func swept(_ digests: [String]) { record { $0.deleted += digests } }
        func fail(_ text: String) { record { $0.failures.append(text) } }
        func round(_ worker: String) { record { $0.rounds[worker, default: 0] += 1 } }
        func sample(_ count: Int) -> [String] {
            lock.lock()
            defer { lock.unlock() }
            return (0..<min(count, acknowledgedObjects.count)).compactMap { _ in acknowledgedObjects.randomElement() }
        }
    }

    @Test func workersOnOneStoreKeepEveryInvariant() throws {
        let cli = try CLIStore()
        let store = cli.storePath

        // Orphans made "two hours ago": the only objects gc may delete while the workers run.
        var orphans: [String] = []
        for index in 0..<60 {
            let path = try cli.makeFile("orphan-\(index)", "old orphan \(index) " + UUID().uuidString)
            let put = try cli.run(["put", path])
            let digest = try #require(put.stdoutText.split(separator: " ").first.map(String.init), "\(put.stderrText)")
            orphans.append(digest)
            let hex = digest.dropFirst("sha256:".count)
            let object = "\(store)/objects/sha256/\(hex.prefix(2))/\(hex)"
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -7200)],
                ofItemAtPath: object
            )
        }

        let seen = Observations()
        let deadline = Date(timeIntervalSinceNow: Self.seconds)
        let workers = ["put", "append", "run", "fsck", "gc"]
        // One thread per worker (not a pool sized to the cores): all five loops run at once.
        let finished = DispatchGroup()
        for worker in workers {
            finished.enter()
            Thread.detachNewThread {
                var round = 0
                while Date() < deadline {
                    do {
                        try Self.work(worker, round: round, cli: cli, seen: seen)
                    } catch {
                        seen.fail("\(worker) round \(round): \(error)")
                    }
                    seen.round(worker)
                    round += 1
                }
                finished.leave()
            }
        }
        finished.wait()

        #expect(seen.failures.isEmpty, "\(seen.failures.prefix(10))")
        for worker in workers {
            #expect((seen.rounds[worker] ?? 0) >= 2, "\(worker) ran \(seen.rounds[worker] ?? 0) rounds")
        }
        print(
            "concurrency stress: \(Self.seconds) s, rounds \(seen.rounds.sorted { $0.key < $1.key }), "
                + "\(seen.acknowledgedObjects.count) objects, \(seen.acknowledgedEntries.count) entries, "
                + "\(seen.completedRuns.count) runs, \(seen.deleted.count) deleted"
        )

        // gc deleted only backdated orphans: nothing a worker made, nothing referenced.
        let orphanSet = Set(orphans)
        #expect(Set(seen.deleted).isSubset(of: orphanSet), "\(Set(seen.deleted).subtracting(orphanSet))")
        // Every acknowledged object is present.
        let acknowledged = Array(Set(seen.acknowledgedObjects))
        for chunk in stride(from: 0, to: acknowledged.count, by: 400) {
            let part = Array(acknowledged[chunk..<min(chunk + 400, acknowledged.count)])
            let has = try cli.run(["has"] + part)
            #expect(has.status == 0, "an acknowledged object is missing: \(has.stdoutText)")
        }
        // Every acknowledged entry is in the log with its leaf; the ledger verifies.
        let verify = try cli.run(["ledger", "verify", "--json"])
        #expect(verify.status == 0, "\(verify.stdoutText) \(verify.stderrText)")
        let entries = (try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any])?["entries"] as? Int
        #expect((entries ?? 0) >= seen.acknowledgedEntries.count)
        for (index, leaf) in seen.acknowledgedEntries.shuffled().prefix(20) {
            let prove = try cli.run(["ledger", "prove", "--json", "--index", index])
            let bundle = try JSONSerialization.jsonObject(with: prove.stdout) as? [String: Any]
            #expect(bundle?["leaf_hash"] as? String == leaf, "entry \(index) changed: \(prove.stderrText)")
        }
        for runID in seen.completedRuns.shuffled().prefix(10) {
            let show = try cli.run(["show", runID])
            #expect(show.stdoutText.contains("\nmanifest  "), "\(runID) has no manifest: \(show.stdoutText)")
        }
        // A last gc with the same grace sweeps the orphans that are left, and still nothing else.
        let last = try cli.run(["gc", "--grace", "1h"])
        #expect(last.status == 0, "\(last.stderrText)")
        let has = try cli.run(["has", "--json"] + orphans)
        let presence = try JSONSerialization.jsonObject(with: has.stdout) as? [[String: Any]] ?? []
        #expect(presence.count == orphans.count && presence.allSatisfy { $0["present"] as? Bool == false })
        let fsck = try cli.run(["fsck", "--json"])
        #expect(fsck.status == 0, "\(fsck.stdoutText)")

        // The index is what a rebuild from the log makes.
        let before = try Self.indexRows(store)
        #expect(try cli.run(["ledger", "reindex"]).status == 0)
        let after = try Self.indexRows(store)
        #expect(!before.isEmpty)
        #expect(before == after, "the index differs from a rebuild")
    }

    /// One round of `worker`'s loop.
    static func work(_ worker: String, round: Int, cli: CLIStore, seen: Observations) throws {
        switch worker {
        case "put":
            var files: [String] = []
            for index in 0..<Int.random(in: 1...12) {
                let bytes = (0..<Int.random(in: 1...20_000)).map { _ in UInt8.random(in: 0...255) }
                let path = cli.directory.appending("put-\(round)-\(index)")
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            let durability = ["object", "batch"].randomElement() ?? "object"
            let put = try cli.run(["put", "--durability", durability] + files)
            guard put.status == 0 else { throw StressFailure("put: \(put.stderrText)") }
            let printed = put.stdoutText.split(separator: "\n")
            seen.objects(printed.compactMap { $0.split(separator: " ").first.map(String.init) })
            for file in files { try FileManager.default.removeItem(atPath: file) }
        case "append":
            let outputs = seen.sample(Int.random(in: 1...20))
            let lines = (0..<Int.random(in: 1...30)).map {
                LedgerCLITests.receiptLine(run: "stress-\(round)", step: $0, output: outputs.randomElement())
            }
            let append = try cli.run(
                ["ledger", "append-receipts", "-", "--batch", String(Int.random(in: 1...8))],
                stdin: Data(lines.joined(separator: "\n").utf8)
            )
            guard append.status == 0 else { throw StressFailure("append: \(append.stderrText)") }
            seen.entries(
                append.stdoutText.split(separator: "\n").compactMap {
                    let parts = $0.split(separator: " ").map(String.init)
                    return parts.count == 2 ? (parts[0], parts[1]) : nil
                }
            )
        case "run":
            let file = try cli.makeFile(
                "stress-\(round).yaml",
                """
                name: stress-\(round)
                chain: true
                providers:
                  synth: {type: synthetic}
                steps:
                  - {name: a, provider: synth, model: m, prompt: p\(round), modality: text}
                  - {name: b, provider: synth, model: m, prompt: q\(round), modality: image}
                """
            )
            let run = try cli.run(["run", "--json", file])
            guard run.status == 0 else { throw StressFailure("run: \(run.stderrText)") }
            let runs = try JSONSerialization.jsonObject(with: run.stdout) as? [[String: Any]] ?? []
            guard let id = runs.first?["run_id"] as? String else { throw StressFailure("run: \(run.stdoutText)") }
            seen.run(id)
        case "fsck":
            let fsck = try cli.run(["fsck", "--json"])
            let report = try JSONSerialization.jsonObject(with: fsck.stdout) as? [String: Any]
            let problems = report?["problems"] as? [[String: Any]] ?? [["kind": "unreadable: \(fsck.stdoutText)"]]
            let debris = report?["debris"] as? [[String: Any]] ?? []
            guard fsck.status == 0, problems.isEmpty, debris.allSatisfy({ $0["kind"] as? String == "stray_temp" })
            else { throw StressFailure("fsck: \(fsck.stdoutText) \(fsck.stderrText)") }
        default:
            let gc = try cli.run(["gc", "--grace", "1h"])
            guard gc.status == 0 else { throw StressFailure("gc: \(gc.stderrText)") }
            seen.swept(
                gc.stdoutText.split(separator: "\n").filter { $0.hasPrefix("deleted ") }.map {
                    String($0.dropFirst("deleted ".count))
                }
            )
        }
    }

    /// The rows of the index's tables, sorted, read with the sqlite3 CLI.
    static func indexRows(_ store: String) throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        for table in ["entries", "run_rows", "step_rows", "digest_rows", "tags"] {
            let result = try runProcess(
                "/usr/bin/sqlite3",
                ["-readonly", "\(store)/index.sqlite", "SELECT * FROM \(table)"]
            )
            guard result.status == 0 else { throw StressFailure("sqlite3 \(table): \(result.stderrText)") }
            tables[table] = result.stdoutText.split(separator: "\n").map(String.init).sorted()
        }
        return tables
    }

    struct StressFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
