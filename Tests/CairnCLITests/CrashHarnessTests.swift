import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The harness's seed: `CAIRN_CRASH_SEED` when set (to replay a failure), a fresh random one otherwise.
private let harnessSeed: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["CAIRN_CRASH_SEED"], let seed = UInt64(text) { return seed }
    return UInt64.random(in: 0...UInt64(UInt32.max))
}()

/// `kill -9` at random points of the four operations that write: `put`, ledger appends, pipeline runs and `gc`.
///
/// One harness, one seed (printed, and named in every failure so `CAIRN_CRASH_SEED=N` replays its choices). After
/// every kill it checks the promises of spec/store.md and spec/ledger.md: every object a put acknowledged (printed)
/// is present and intact, fsck finds no damage (only the killed process's temporary files), every appended entry
/// that was acknowledged is in the log with the leaf hash printed for it, the log reopens and its tree and
/// checkpoint verify, a killed run resumes to completion, and a killed gc removed no referenced object.
/// `CAIRN_SLOW_TESTS=1` runs 200 trials per operation; the default run does 3.
@Suite(.timeLimit(.minutes(15)))
struct CrashHarnessTests {
    enum Operation: String, CaseIterable, Sendable {
        case put, append, run, gc
    }

    static var trials: Int { slowTestsEnabled ? 200 : 3 }

    /// What one harness run saw, reported at its end so a log shows the trials were real.
    struct Tally {
        var trials = 0
        var killedMidway = 0
        var acknowledged = 0
    }

    @Test(arguments: Operation.allCases)
    func killNineLosesNothingAcknowledged(operation: Operation) throws {
        let seed = harnessSeed &+ UInt64(Operation.allCases.firstIndex(of: operation) ?? 0)
        print("crash harness: \(operation.rawValue) seed \(seed) (replay with CAIRN_CRASH_SEED=\(harnessSeed))")
        var random = SeededGenerator(seed: seed)
        let cli = try CLIStore()
        let context = "\(operation.rawValue), seed \(harnessSeed)"
        var tally = Tally()
        switch operation {
        case .put: try putTrials(cli, &random, &tally, context)
        case .append: try appendTrials(cli, &random, &tally, context)
        case .run: try runTrials(cli, &random, &tally, context)
        case .gc: try gcTrials(cli, &random, &tally, context)
        }
        print(
            "crash harness: \(operation.rawValue): \(tally.trials) trials, \(tally.killedMidway) killed midway, "
                + "\(tally.acknowledged) acknowledged and checked"
        )
        #expect(tally.trials == Self.trials)
        // The kills must land inside the work, not only after it: some trials were interrupted.
        #expect(tally.killedMidway >= 1, "\(context): no trial was killed before its operation finished")
    }

    // MARK: - Operations

    private func putTrials(
        _ cli: CLIStore,
        _ random: inout SeededGenerator,
        _ tally: inout Tally,
        _ context: String
    ) throws {
        var everAcknowledged: Set<String> = []
        for trial in 0..<Self.trials {
            var files: [String] = []
            let count = Int.random(in: 8...40, using: &random)
            for index in 0..<count {
                let size =
                    index == 0
                    ? Int.random(in: 200_000...2_000_000, using: &random) : Int.random(in: 0...9000, using: &random)
                let path = cli.directory.appending("p\(trial)-\(index)")
                try Data(random.bytes(size)).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            var acknowledged: [String: String] = [:]  // digest -> source file, this trial
            var durability = Bool.random(using: &random) ? "object" : "batch"
            var killAfterLines = Bool.random(using: &random) ? Int.random(in: 1...count, using: &random) : nil
            if trial == 0 {
                // One kill that lands inside the work whatever the machine's speed: after the first of at least 8
                // lines, each printed once its object is durable, while the others are still being stored.
                durability = "object"
                killAfterLines = 1
            }
            let outcome = try killDuring(
                ["put", "--durability", durability, "--store", cli.storePath] + files,
                afterLines: killAfterLines,
                orMicroseconds: UInt32.random(in: 0...120_000, using: &random)
            )
            tally.trials += 1
            if !outcome.exited { tally.killedMidway += 1 }
            for line in outcome.lines {
                let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                acknowledged[parts[0]] = parts[1]
            }
            try expectNoDamage(cli, "\(context), trial \(trial)")
            everAcknowledged.formUnion(acknowledged.keys)
            try expectPresent(cli, Array(everAcknowledged), "\(context), trial \(trial)")
            // Intact, byte for byte: a sample of what was acknowledged so far, read back.
            for digest in acknowledged.keys.sorted().shuffled(using: &random).prefix(3) {
                let got = try cli.run(["cat", digest])
                #expect(got.status == 0, "\(context), trial \(trial): cat \(digest): \(got.stderrText)")
                #expect(
                    got.stdout == FileManager.default.contents(atPath: acknowledged[digest] ?? ""),
                    "\(context), trial \(trial): \(digest) differs from its source"
                )
            }
            for file in files { try? FileManager.default.removeItem(atPath: file) }
            tally.acknowledged += outcome.lines.count
        }
    }

    private func appendTrials(
        _ cli: CLIStore,
        _ random: inout SeededGenerator,
        _ tally: inout Tally,
        _ context: String
    ) throws {
        var entries = 0
        for trial in 0..<Self.trials {
            let input = cli.directory.appending("receipts-\(trial).jsonl")
            let count = Int.random(in: 50...400, using: &random)
            let lines = (0..<count).map { LedgerCLITests.receiptLine(run: "crash-\(trial)", step: $0) }
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: input))
            let batch = Int.random(in: 1...4, using: &random)
            let killAfterLines = Bool.random(using: &random) ? Int.random(in: 1...count, using: &random) : nil
            let outcome = try killDuring(
                ["ledger", "append-receipts", input, "--batch", String(batch), "--store", cli.storePath],
                afterLines: killAfterLines,
                orMicroseconds: UInt32.random(in: 0...150_000, using: &random)
            )
            tally.trials += 1
            if !outcome.exited { tally.killedMidway += 1 }
            let reported = outcome.lines.compactMap { line -> (index: String, leaf: String)? in
                let parts = line.split(separator: " ").map(String.init)
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
            let where_ = "\(context), trial \(trial)"
            let verified = try verifyLedger(cli, where_)
            #expect(
                verified >= entries + reported.count,
                "\(where_): \(verified) entries, \(reported.count) more acknowledged after \(entries)"
            )
            entries = verified
            // Acknowledged entries are the ones printed: each sampled one proves with the leaf hash printed for it.
            let samples =
                reported.isEmpty
                ? [] : [reported[reported.count - 1], reported[Int.random(in: 0..<reported.count, using: &random)]]
            for (index, leaf) in samples {
                let prove = try cli.run(["ledger", "prove", "--json", "--index", index])
                #expect(prove.status == 0, "\(where_): prove \(index): \(prove.stderrText)")
                let bundle = try JSONSerialization.jsonObject(with: prove.stdout) as? [String: Any]
                #expect(bundle?["leaf_hash"] as? String == leaf, "\(where_): entry \(index) changed")
            }
            try expectNoDamage(cli, where_)
            tally.acknowledged += reported.count
        }
    }

    private func runTrials(
        _ cli: CLIStore,
        _ random: inout SeededGenerator,
        _ tally: inout Tally,
        _ context: String
    ) throws {
        for trial in 0..<Self.trials {
            // A pipeline of its own name per trial: no trial reuses steps an earlier trial completed.
            let file = try cli.makeFile(
                "crash-\(trial).yaml",
                """
                name: crash-\(trial)
                chain: true
                providers:
                  slow: {type: synthetic, delay_ms: \(Int.random(in: 5...40, using: &random))}
                steps:
                  - {name: s1, provider: slow, model: m, prompt: a\(trial), modality: text}
                  - {name: s2, provider: slow, model: m, prompt: b\(trial), modality: image}
                  - {name: s3, provider: slow, model: m, prompt: c\(trial), modality: text}
                  - {name: s4, provider: slow, model: m, prompt: d\(trial), modality: audio}
                """
            )
            let outcome = try killDuring(
                ["run", "--json", "--store", cli.storePath, file],
                afterLines: nil,
                orMicroseconds: UInt32.random(in: 0...400_000, using: &random)
            )
            tally.trials += 1
            if !outcome.exited { tally.killedMidway += 1 }
            let where_ = "\(context), trial \(trial)"
            try expectNoDamage(cli, where_)
            _ = try verifyLedger(cli, where_)
            // The run finishes on resume; a run acknowledged before the kill is reused whole, never lost.
            let resumed = try cli.run(["run", "--json", "--resume", "--store", cli.storePath, file])
            #expect(resumed.status == 0, "\(where_): resume: \(resumed.stderrText)")
            let runs = try JSONSerialization.jsonObject(with: resumed.stdout) as? [[String: Any]] ?? []
            let run = try #require(runs.first, "\(where_): resume printed \(resumed.stdoutText)")
            #expect(run["status"] as? String == "completed", "\(where_): \(resumed.stdoutText)")
            let steps = run["steps"] as? [[String: Any]] ?? []
            #expect(steps.count == 4, "\(where_): \(resumed.stdoutText)")
            if outcome.exited {
                #expect(outcome.status == 0, "\(where_): the run ended with \(outcome.status)")
                #expect(steps.allSatisfy { $0["reused_from"] != nil }, "\(where_): a completed run was redone")
                tally.acknowledged += 1
            }
            let runID = try #require(run["run_id"] as? String, "\(where_): \(resumed.stdoutText)")
            let show = try cli.run(["show", runID])
            #expect(show.status == 0, "\(where_): show \(runID): \(show.stderrText)")
            #expect(show.stdoutText.contains("\nmanifest  "), "\(where_): \(runID) has no manifest: \(show.stdoutText)")
        }
    }

    private func gcTrials(
        _ cli: CLIStore,
        _ random: inout SeededGenerator,
        _ tally: inout Tally,
        _ context: String
    ) throws {
        // Objects the ledger references: they must outlive every gc.
        var referenced: [String] = []
        for index in 0..<20 {
            let path = try cli.makeFile(
                "kept-\(index)",
                "referenced \(index) " + String(repeating: "x", count: index * 97)
            )
            let put = try cli.run(["put", path])
            let digest = try #require(put.stdoutText.split(separator: " ").first.map(String.init), "\(put.stderrText)")
            referenced.append(digest)
        }
        let receipts = referenced.enumerated().map { LedgerCLITests.receiptLine(run: "kept", step: $0, output: $1) }
        let append = try cli.run(
            ["ledger", "append-receipts", "-"],
            stdin: Data(receipts.joined(separator: "\n").utf8)
        )
        #expect(append.status == 0, "\(append.stderrText)")
        var orphans: Set<String> = []
        for trial in 0..<Self.trials {
            let where_ = "\(context), trial \(trial)"
            // Unreferenced objects for this gc to sweep (grace 0): many small files, so a kill lands mid-sweep.
            var files: [String] = []
            for index in 0..<Int.random(in: 20...120, using: &random) {
                let path = cli.directory.appending("orphan-\(trial)-\(index)")
                try Data(random.bytes(Int.random(in: 1...3000, using: &random))).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            let put = try cli.run(["put", "--durability", "batch"] + files)
            #expect(put.status == 0, "\(where_): \(put.stderrText)")
            for line in put.stdoutText.split(separator: "\n") {
                if let digest = line.split(separator: " ").first { orphans.insert(String(digest)) }
            }
            for file in files { try? FileManager.default.removeItem(atPath: file) }
            let outcome = try killDuring(
                ["gc", "--grace", "0", "--store", cli.storePath],
                afterLines: nil,  // gc prints its lines at its end: only a timed kill lands mid-sweep
                orMicroseconds: UInt32.random(in: 0...60_000, using: &random)
            )
            tally.trials += 1
            if !outcome.exited { tally.killedMidway += 1 }
            for line in outcome.lines where line.hasPrefix("deleted ") {
                orphans.remove(String(line.dropFirst("deleted ".count)))
            }
            try expectNoDamage(cli, where_)
            _ = try verifyLedger(cli, where_)
            try expectPresent(cli, referenced, where_)
            tally.acknowledged += referenced.count
        }
        // A gc left to finish sweeps every orphan the killed ones left, and still no referenced object.
        let finish = try cli.run(["gc", "--grace", "0", "--json"])
        #expect(finish.status == 0, "\(context): \(finish.stderrText)")
        try expectPresent(cli, referenced, context)
        if !orphans.isEmpty {
            let has = try cli.run(["has", "--json"] + Array(orphans.prefix(200)))
            let lines = try JSONSerialization.jsonObject(with: has.stdout) as? [[String: Any]] ?? []
            #expect(
                !lines.isEmpty && lines.allSatisfy { $0["present"] as? Bool == false },
                "\(context): \(has.stdoutText)"
            )
        }
    }

    // MARK: - Checks

    /// fsck finds no damage: at most the killed process's temporary files, which it reports as debris.
    private func expectNoDamage(_ cli: CLIStore, _ where_: String) throws {
        let fsck = try cli.run(["fsck", "--json"])
        let report = try JSONSerialization.jsonObject(with: fsck.stdout) as? [String: Any]
        let problems = report?["problems"] as? [[String: Any]] ?? [["kind": "unreadable report: \(fsck.stdoutText)"]]
        #expect(problems.isEmpty, "\(where_): fsck found \(problems)")
        #expect(fsck.status == 0, "\(where_): \(fsck.stderrText)")
        let debris = report?["debris"] as? [[String: Any]] ?? []
        #expect(debris.allSatisfy { $0["kind"] as? String == "stray_temp" }, "\(where_): \(fsck.stdoutText)")
    }

    /// The ledger reopens, its tree and checkpoint verify; returns its entry count.
    private func verifyLedger(_ cli: CLIStore, _ where_: String) throws -> Int {
        let verify = try cli.run(["ledger", "verify", "--json"])
        #expect(verify.status == 0, "\(where_): \(verify.stdoutText) \(verify.stderrText)")
        let report = try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any]
        return try #require(report?["entries"] as? Int, "\(where_): ledger verify printed \(verify.stdoutText)")
    }

    private func expectPresent(_ cli: CLIStore, _ digests: [String], _ where_: String) throws {
        for chunk in stride(from: 0, to: digests.count, by: 500) {
            let part = Array(digests[chunk..<min(chunk + 500, digests.count)])
            let has = try cli.run(["has"] + part)
            #expect(has.status == 0, "\(where_): an acknowledged object is missing: \(has.stdoutText)")
        }
    }

    // MARK: - Killing

    struct Outcome {
        /// Lines the process printed on stdout before it ended.
        var lines: [String]
        /// True when the process ended by itself before the kill (then `status` is its exit code).
        var exited: Bool
        var status: Int32
    }

    /// Starts `cairn arguments` and kills it with SIGKILL after `afterLines` lines of output when given (or at its
    /// end, whichever comes first), otherwise after `orMicroseconds`.
    private func killDuring(_ arguments: [String], afterLines: Int?, orMicroseconds delay: UInt32) throws -> Outcome {
        let output = Pipe()
        let (process, isolation) = try launchCairn(arguments, standardOutput: output)
        var received = Data()
        if let afterLines {
            received.append(output.fileHandleForReading.readLines(atLeast: afterLines))
        } else {
            usleep(delay)
        }
        let exitedBeforeKill = !process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        received.append(output.fileHandleForReading.readDataToEndOfFile())
        withExtendedLifetime(isolation) {}
        let exited = exitedBeforeKill || process.terminationReason == .exit
        return Outcome(
            lines: String(decoding: received, as: UTF8.self).split(separator: "\n").map(String.init),
            exited: exited,
            status: process.terminationStatus
        )
    }
}
