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
    .enabled(if: S3Server.environment != nil && BothServers.databaseURL != nil, BothServers.skipMessage),
    .timeLimit(.minutes(30))
)
struct ManyHostsTests {
    static let hosts = 8
    static var runsPerHost: Int { slowTestsEnabled ? 100 : 10 }

    @Test func eightHostsShareOneBucketAndOneLedger() throws {
        let server = try #require(S3Server.environment)
        let base = try #require(BothServers.databaseURL)
        let work = try TemporaryDirectory(prefix: "cairn-hosts")
        let schema = "hosts_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let ledger = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        // A bucket of its own: the server counts stored objects per bucket, and other tests use the shared one.
        let location = S3Location(
            bucket: "cairn-hosts-" + String(UInt64.random(in: 0...UInt64.max), radix: 16),
            prefix: "cairn-tests/hosts",
            endpoint: server.endpoint
        )
        let bucket = try S3ObjectBackend(configuration: S3BackendConfiguration(location: location, algorithm: .sha256))
        try bucket.createBucketForTesting()
        bucket.shutdown()
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

        let countsBefore = try S3Metrics.read(bucket: location.bucket)
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
        let killedMidway = killed.filter { processes[$0].0.terminationReason == .uncaughtSignal }
        #expect(!killedMidway.isEmpty, "every host meant to be killed had finished first")
        for host in 0..<Self.hosts where !killed.contains(host) {
            #expect(
                processes[host].0.terminationStatus == 0,
                "host \(host) ended with \(processes[host].0.terminationStatus)"
            )
        }

        // Every host's runs complete: the killed ones finish on resume, the others are reused whole.
        var outputDigests: Set<String> = []
        var completed: [String: String] = [:]  // run id -> host
        var madeBy: Set<[String]> = []  // [run id that made the step, step name]
        for host in 0..<Self.hosts {
            let resumed = try runCairn(["run", "--json", "--resume", "--store", stores[host], files[host]])
            #expect(resumed.status == 0, "host \(host) resume: \(resumed.stderrText)")
            let runs = try JSONSerialization.jsonObject(with: resumed.stdout) as? [[String: Any]] ?? []
            #expect(runs.count == Self.runsPerHost, "host \(host): \(runs.count) runs")
            for run in runs {
                #expect(run["status"] as? String == "completed", "host \(host): \(run["status"] ?? "?")")
                guard let id = run["run_id"] as? String else { continue }
                completed[id] = "host-\(host)"
                for step in run["steps"] as? [[String: Any]] ?? [] {
                    if let name = step["name"] as? String {
                        madeBy.insert([step["reused_from"] as? String ?? id, name])
                    }
                    for output in step["outputs"] as? [[String: Any]] ?? [] {
                        if let digest = output["digest"] as? String { outputDigests.insert(digest) }
                    }
                }
            }
        }
        #expect(completed.count == Self.hosts * Self.runsPerHost, "\(completed.count) distinct completed runs")

        // Every manifest is in the ledger once, every completed run's among them; the run that made each step
        // (the run itself, or the one it reused the step from) holds that step's receipt.
        let log = try runCairn(["log", "--json", "--store", stores[3]])
        #expect(log.status == 0, "\(log.stderrText)")
        let manifests = try JSONSerialization.jsonObject(with: log.stdout) as? [[String: Any]] ?? []
        let runIDs = manifests.compactMap { $0["run_id"] as? String }
        #expect(Set(runIDs).count == runIDs.count, "a manifest is in the ledger twice")
        #expect(Set(completed.keys).isSubset(of: Set(runIDs)), "a completed run has no manifest")
        for pair in madeBy.shuffled().prefix(16) {
            let shown = try runCairn(["show", "--json", pair[0], "--store", stores[Int.random(in: 0..<Self.hosts)]])
            let record = try JSONSerialization.jsonObject(with: shown.stdout) as? [String: Any]
            let receipts = record?["receipts"] as? [[String: Any]] ?? []
            #expect(
                receipts.contains { $0["step_name"] as? String == pair[1] && $0["status"] as? String == "succeeded" },
                "run \(pair[0]) has no succeeded receipt for step \(pair[1]) (\(receipts.count) receipts)"
            )
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
        // No object was uploaded twice: the server stored exactly as many objects as the bucket holds. A put of an
        // object already there (hosts 0 and 1 make the same outputs; a resumed host puts again what it had put before
        // it was killed) is refused with 412 by `If-None-Match: *` and stores nothing.
        var uploads = "upload counts not read (CAIRN_S3_METRICS is not set)"
        if let before = countsBefore, let after = try S3Metrics.read(bucket: location.bucket) {
            let fsck = try runCairn(["fsck", "--json", "--store", stores[2]])
            #expect(fsck.status == 0, "\(fsck.stdoutText) \(fsck.stderrText)")
            let report = try JSONSerialization.jsonObject(with: fsck.stdout) as? [String: Any]
            let objects = try #require(report?["objectsChecked"] as? Int)
            let stored = after.uploaded - before.uploaded
            #expect(stored == objects, "the server stored \(stored) objects; the bucket holds \(objects)")
            #expect(objects >= digests.count)
            uploads = "\(stored) objects uploaded, each once; \(after.refused - before.refused) puts refused with 412"
        }
        print(
            "many hosts: \(Self.hosts) hosts x \(Self.runsPerHost) runs, hosts \(killedMidway.sorted()) killed "
                + "mid-batch and resumed, "
                + "\(completed.count) completed runs, \(runIDs.count) manifests, \(digests.count) outputs; \(uploads)"
        )
    }
}

/// The S3 server's own counters for one bucket, from its Prometheus endpoint (`CAIRN_S3_METRICS`, which
/// `scripts/s3-server.sh env` prints): objects it stored, and PUTs it refused with 412.
enum S3Metrics {
    struct Counts {
        var uploaded: Int
        var refused: Int
    }

    /// nil when `CAIRN_S3_METRICS` is not set.
    static func read(bucket: String) throws -> Counts? {
        guard let endpoint = ProcessInfo.processInfo.environment["CAIRN_S3_METRICS"] else { return nil }
        let fetched = try runProcess(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                endpoint,
            ]
        )
        try #require(fetched.status == 0, "reading \(endpoint): \(fetched.stderrText)")
        var counts = Counts(uploaded: 0, refused: 0)
        for line in fetched.stdoutText.split(separator: "\n") where line.contains("bucket=\"\(bucket)\"") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            if line.hasPrefix("SeaweedFS_s3_uploaded_objects{") { counts.uploaded = Int(value) }
            if line.hasPrefix("SeaweedFS_s3_request_total{"), line.contains("code=\"412\""),
                line.contains("type=\"PUT\"")
            {
                counts.refused = Int(value)
            }
        }
        return counts
    }
}

/// The PostgreSQL server beside the S3 one, for the tests that need both.
enum BothServers {
    static let databaseURL = ProcessInfo.processInfo.environment["CAIRN_PG_URL"]
    static let skipMessage: Comment = """
        skipped: needs the S3 server's variables and CAIRN_PG_URL \
        (scripts/s3-server.sh and scripts/pg-server.sh start, then eval their env)
        """
}
#endif
