#if S3
import CairnCore
import CairnS3
import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A server that goes away in the middle of `cairn run` and comes back: SeaweedFS killed (`scripts/s3-server.sh
/// halt`, SIGKILL) or PostgreSQL stopped at once (`scripts/pg-server.sh halt`, `pg_ctl -m immediate`), then started
/// again on the same data. The run either rides the outage out on its retries or ends with a clear error (never a
/// crash); nothing the ledger held before is lost; `cairn run --resume` then finishes every run, and the ledger
/// verifies.
///
/// It stops the servers every other server test uses, so it runs on its own: `scripts/test.sh` runs it after the
/// other server suites with `CAIRN_SERVER_RESTART_TESTS=1`.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["CAIRN_SERVER_RESTART_TESTS"] == "1" && S3Server.environment != nil
            && ProcessInfo.processInfo.environment["CAIRN_PG_URL"] != nil,
        "server restart tests run alone, with CAIRN_SERVER_RESTART_TESTS=1 and both servers (scripts/test.sh)"
    ),
    .serialized,
    .timeLimit(.minutes(15))
)
struct ServerRestartTests {
    static let runs = 30

    @Test(arguments: ["s3-server", "pg-server"])
    func aServerThatGoesAwayMidRunLosesNothing(server script: String) throws {
        let server = try #require(S3Server.environment)
        let base = try #require(ProcessInfo.processInfo.environment["CAIRN_PG_URL"])
        let work = try TemporaryDirectory(prefix: "cairn-restart")
        let store = work.appending("store")
        let location = S3Location(
            bucket: server.bucket,
            prefix: "cairn-tests/restart-\(UInt64.random(in: 0...UInt64.max))",
            endpoint: server.endpoint
        )
        let ledger =
            base + (base.contains("?") ? "&" : "?")
            + "schema=restart_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let made = try runCairn([
            "init", "--store", store, "--objects", location.description, "--s3-endpoint", server.endpoint,
            "--ledger", ledger,
        ])
        try #require(made.status == 0, "\(made.stderrText)")
        let file = work.appending("restart.yaml")
        try Data(
            ([
                "name: restart-\(script)", "chain: true", "providers:", "  synth: {type: synthetic, delay_ms: 40}",
                "steps:", "  - {name: a, provider: synth, model: m, prompt: \"{prompt}\", modality: text}",
                "  - {name: b, provider: synth, model: m, prompt: \"{prompt}\", modality: image}",
                "batch:", "  concurrency: 2", "  prompts:",
            ] + (0..<Self.runs).map { "    - \(script) \($0)" }).joined(separator: "\n").utf8
        ).write(to: URL(fileURLWithPath: file))

        let errors = Pipe()
        let (process, isolation) = try launchCairn(
            ["run", "--json", "--store", store, file],
            standardError: errors
        )
        usleep(1_200_000)
        try halt(script)
        usleep(1_500_000)
        try resume(script)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        withExtendedLifetime(isolation) {}
        #expect(process.terminationReason == .exit, "cairn died of a signal: \(stderr)")
        #expect(!stderr.contains("Fatal error"), "\(stderr)")
        if process.terminationStatus != 0 {
            // A clear error that names the server it could not reach.
            let named = script == "s3-server" ? location.description : "PostgreSQL"
            #expect(stderr.contains(named), "exit \(process.terminationStatus), \(named) not named: \(stderr)")
        }
        print("\(script): the run through the outage ended with \(process.terminationStatus)")

        // What the ledger held once the server was back is kept through the resume.
        let before = try Self.manifests(store)
        let resumed = try runCairn(["run", "--json", "--resume", "--store", store, file])
        #expect(resumed.status == 0, "resume: \(resumed.stderrText)")
        let runs = try JSONSerialization.jsonObject(with: resumed.stdout) as? [[String: Any]] ?? []
        #expect(runs.count == Self.runs)
        #expect(runs.allSatisfy { $0["status"] as? String == "completed" }, "\(resumed.stdoutText)")
        let after = try Self.manifests(store)
        #expect(Set(before).isSubset(of: Set(after)), "a manifest recorded before the resume is gone")
        #expect(Set(after).count == after.count, "a manifest is in the ledger twice")
        let verify = try runCairn(["ledger", "verify", "--store", store])
        #expect(verify.status == 0, "\(verify.stdoutText) \(verify.stderrText)")
        var outputs: [String] = []
        for run in runs {
            for step in run["steps"] as? [[String: Any]] ?? [] {
                outputs += (step["outputs"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
            }
        }
        let has = try runCairn(["has", "--store", store] + outputs)
        #expect(has.status == 0, "an output is missing: \(has.stdoutText)")
    }

    static func manifests(_ store: String) throws -> [String] {
        let log = try runCairn(["log", "--json", "--store", store])
        guard log.status == 0 else { throw RestartFailure("log: \(log.stderrText)") }
        let runs = try JSONSerialization.jsonObject(with: log.stdout) as? [[String: Any]] ?? []
        return runs.compactMap { $0["run_id"] as? String }
    }

    func halt(_ script: String) throws { try serverScript(script, "halt") }
    func resume(_ script: String) throws { try serverScript(script, "resume") }

    func serverScript(_ script: String, _ verb: String) throws {
        let result = try runProcess("/bin/bash", [repositoryRoot() + "/scripts/\(script).sh", verb])
        guard result.status == 0 else { throw RestartFailure("\(script) \(verb): \(result.stderrText)") }
    }

    struct RestartFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
#endif
