#if S3
import CairnCore
import CairnS3
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Many hosts, simulated: eight `cairn run` processes, each with its own store directory (its own configuration,
/// as on its own machine) naming the same S3 bucket and the same PostgreSQL ledger, each making a batch of runs at
/// once. Some are killed with SIGKILL part-way and finished with `cairn run --resume`. Afterwards every run is
/// complete, every manifest is in the ledger once, the tree and checkpoint verify from two hosts, every output is
/// in the bucket, and no receipt of a completed run is missing.
///
/// Needs the S3 server and `CAIRN_PG_URL` (both started by `scripts/test.sh` with `CAIRN_SERVER_TESTS=1`).
/// 100 runs per host with `CAIRN_SLOW_TESTS=1`, 10 otherwise.
@Suite(
    .enabled(if: S3Server.environment != nil && ManyHostsTests.databaseURL != nil, ManyHostsTests.skipMessage),
    .timeLimit(.minutes(30))
)
struct ManyHostsTests {
    static let databaseURL = ProcessInfo.processInfo.environment["CAIRN_PG_URL"]
    static let skipMessage: Comment = """
        many-hosts test skipped: it needs the S3 server's variables and CAIRN_PG_URL \
        (scripts/s3-server.sh and scripts/pg-server.sh start, then eval their env)
        """
    static let hosts = 8
    static var runsPerHost: Int { slowTestsEnabled ? 100 : 10 }

    @Test func eightHostsShareOneBucketAndOneLedger() throws {
        let server = try #require(S3Server.environment)
        let base = try #require(Self.databaseURL)
        let work = try TemporaryDirectory(prefix: "cairn-hosts")
        let schema = "hosts_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let ledger = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        let location = S3Location(
            bucket: server.bucket,
            prefix: "cairn-tests/hosts-\(UInt64.random(in: 0...UInt64.max))",
            endpoint: server.endpoint
        )
        // Host 0 is set up with `cairn init`; the others get a copy of its configuration and signing key, as a
        // fleet is provisioned (the ledger's checkpoints are signed by one key: README, "one machine is not enough").
        let first = work.appending("host-0")
        let made = try runCairn([
            "init", "--store", first, "--objects", location.description, "--s3-endpoint", server.endpoint,
            "--ledger", ledger,
        ])
        try #require(made.status == 0, "\(made.stderrText)")
        var stores = [first]
        for host in 1..<Self.hosts {
            let store = work.appending("host-\(host)")
            try #require(try runProcess("/bin/cp", ["-a", first, store]).status == 0)
            stores.append(store)
        }
        // Hosts 0 and 1 run the same prompts with the same model: their outputs are the same objects, stored once.
        var files: [String] = []
        for host in 0..<Self.hosts {
            let prompts = (0..<Self.runsPerHost).map { "    - prompt \(host == 1 ? 0 : host)-\($0)" }
            let file = work.appending("host-\(host).yaml")
            try Data(
                ([
                    "name: host-\(host)", "chain: true", "providers:", "  synth: {type: synthetic, delay_ms: 5}",
                    "steps:",
                    "  - {name: draft, provider: synth, model: m, prompt: \"{prompt}\", modality: text}",
                    "  - {name: picture, provider: synth, model: m, prompt: \"{prompt}\", modality: image}",
                    "batch:", "  concurrency: 2", "  prompts:",
                ] + prompts).joined(separator: "\n").utf8
            ).write(to: URL(fileURLWithPath: file))
            files.append(file)
        }

        // All hosts at once; three of them are killed part-way.
        let killed: Set<Int> = [2, 5, 7]
        // What they print is read at resume; here it goes nowhere.
        var processes: [(Process, IsolatedRun)] = []
        for host in 0..<Self.hosts {
            processes.append(try launchCairn(["run", "--json", "--store", stores[host], files[host]]))
        }
        for host in killed.sorted() {
            usleep(UInt32.random(in: 300_000...1_500_000))
            kill(processes[host].0.processIdentifier, SIGKILL)
        }
        for (process, isolation) in processes {
            process.waitUntilExit()
            withExtendedLifetime(isolation) {}
        }
        for host in 0..<Self.hosts where !killed.contains(host) {
            #expect(
                processes[host].0.terminationStatus == 0,
                "host \(host) ended with \(processes[host].0.terminationStatus)"
            )
        }

        // Every host's runs complete: the killed ones finish on resume, the others are reused whole.
        var outputDigests: Set<String> = []
        var completed: [String: String] = [:]  // run id -> host
        for host in 0..<Self.hosts {
            let resumed = try runCairn(["run", "--json", "--resume", "--store", stores[host], files[host]])
            #expect(resumed.status == 0, "host \(host) resume: \(resumed.stderrText)")
            let runs = try JSONSerialization.jsonObject(with: resumed.stdout) as? [[String: Any]] ?? []
            #expect(runs.count == Self.runsPerHost, "host \(host): \(runs.count) runs")
            for run in runs {
                #expect(run["status"] as? String == "completed", "host \(host): \(run["status"] ?? "?")")
                if let id = run["run_id"] as? String { completed[id] = "host-\(host)" }
                for step in run["steps"] as? [[String: Any]] ?? [] {
                    for output in step["outputs"] as? [[String: Any]] ?? [] {
                        if let digest = output["digest"] as? String { outputDigests.insert(digest) }
                    }
                }
            }
        }
        #expect(completed.count == Self.hosts * Self.runsPerHost, "\(completed.count) distinct completed runs")

        // Every manifest is in the ledger once; every completed run's manifest is there with its receipts.
        let log = try runCairn(["log", "--json", "--store", stores[3]])
        #expect(log.status == 0, "\(log.stderrText)")
        let manifests = try JSONSerialization.jsonObject(with: log.stdout) as? [[String: Any]] ?? []
        let runIDs = manifests.compactMap { $0["run_id"] as? String }
        #expect(Set(runIDs).count == runIDs.count, "a manifest is in the ledger twice")
        #expect(Set(completed.keys).isSubset(of: Set(runIDs)), "a completed run has no manifest")
        for runID in completed.keys.shuffled().prefix(12) {
            let shown = try runCairn(["show", "--json", runID, "--store", stores[Int.random(in: 0..<Self.hosts)]])
            let record = try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any]
            #expect(((record?["receipts"] as? [Any])?.count ?? 0) >= 2, "\(runID): \(shown.stdoutText)")
        }
        // The tree and the checkpoint verify, from two hosts.
        for host in [0, 6] {
            let verify = try runCairn(["ledger", "verify", "--store", stores[host]])
            #expect(verify.status == 0, "host \(host): \(verify.stdoutText) \(verify.stderrText)")
        }
        // Every output is in the bucket; the shared prompts' outputs were stored once (keys are unique by name).
        let digests = Array(outputDigests)
        for chunk in stride(from: 0, to: digests.count, by: 200) {
            let has = try runCairn(["has", "--store", stores[4]] + digests[chunk..<min(chunk + 200, digests.count)])
            #expect(has.status == 0, "an output is missing from the bucket: \(has.stdoutText)")
        }
        print(
            "many hosts: \(Self.hosts) hosts x \(Self.runsPerHost) runs, hosts \(killed.sorted()) killed and resumed, "
                + "\(completed.count) completed runs, \(runIDs.count) manifests, \(digests.count) outputs"
        )
    }
}
#endif
