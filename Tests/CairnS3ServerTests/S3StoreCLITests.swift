#if S3
import CairnCore
import CairnS3
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

/// The `cairn` verbs on a store whose objects are in S3 (`cairn init --objects s3://...`), against the real
/// server: put, has, cat, get, run, the ledger verbs and gc reach the bucket; nothing is written under the local
/// `objects/`; gc sweeps only unreferenced objects and aborts unfinished uploads older than its grace.
@Suite(.enabled(if: S3Server.environment != nil, S3Server.skipMessage), .timeLimit(.minutes(15)))
struct S3StoreCLITests {
    /// A store on a fresh prefix of the test bucket; the backend reads the same prefix for the checks.
    struct RemoteStore {
        let directory: TemporaryDirectory
        let store: String
        let backend: S3ObjectBackend

        init() throws {
            let server = try #require(S3Server.environment)
            directory = try TemporaryDirectory(prefix: "cairn-s3-cli")
            store = directory.appending("store")
            let location = S3Location(
                bucket: server.bucket,
                prefix: "cairn-tests/cli-\(UInt64.random(in: 0...UInt64.max))",
                endpoint: server.endpoint
            )
            let made = try runCairn([
                "init", "--store", store, "--objects", location.description, "--s3-endpoint", server.endpoint,
            ])
            guard made.status == 0 else { throw S3CLIFailure("init: \(made.stderrText)") }
            backend = try S3ObjectBackend(configuration: S3BackendConfiguration(location: location))
        }

        @discardableResult
        func cairn(_ arguments: [String], stdin: Data? = nil, expect expected: Int32? = 0) throws -> ProcessResult {
            let result = try runCairn(arguments + ["--store", store], stdin: stdin)
            if let expected {
                #expect(result.status == expected, "cairn \(arguments.joined(separator: " ")): \(result.stderrText)")
            }
            return result
        }

        /// Files under the local `objects/` and `tmp/` (there must be none).
        func localObjectFiles() -> [String] {
            ["objects", "tmp"].flatMap { folder in
                (FileManager.default.enumerator(atPath: store + "/" + folder)?.allObjects as? [String] ?? [])
                    .filter { path in
                        var isDirectory: ObjCBool = false
                        let exists = FileManager.default.fileExists(
                            atPath: store + "/\(folder)/" + path,
                            isDirectory: &isDirectory
                        )
                        return exists && !isDirectory.boolValue
                    }
            }
        }
    }

    struct S3CLIFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    @Test func theObjectVerbsAndRunsReachTheBucket() throws {
        let remote = try RemoteStore()
        defer { remote.backend.shutdown() }
        let small = Data("bytes that live in S3".utf8)
        let file = remote.directory.appending("small.txt")
        try small.write(to: URL(fileURLWithPath: file))
        // 20 MiB on standard input: spooled, then up in parts (the multipart threshold is 16 MiB).
        let big = Self.randomBytes(20 << 20)
        let put = try remote.cairn(["put", file, "-"], stdin: big)
        let digests = put.stdoutText.split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
        try #require(digests.count == 2, "\(put.stdoutText)")
        #expect(try remote.backend.list().map(\.description).sorted() == digests.sorted())
        #expect(remote.localObjectFiles().isEmpty, "\(remote.localObjectFiles())")

        #expect(try remote.cairn(["has"] + digests).stdoutText.components(separatedBy: "present").count == 3)
        let absent = ContentHasher.digest(of: Array("never stored".utf8), algorithm: .sha256).description
        #expect(try remote.cairn(["has", absent], expect: 1).stdoutText.contains("absent"))
        #expect(try remote.cairn(["cat", digests[0]]).stdout == small)
        let copy = remote.directory.appending("big.copy")
        try remote.cairn(["get", digests[1], "-o", copy])
        #expect(FileManager.default.contents(atPath: copy) == big)
        // A second put of the same bytes stores nothing new.
        #expect(try remote.cairn(["put", "--json", file]).stdoutText.contains("\"stored\":false"))

        // Several inputs go up --jobs at a time; the lines still come in the order of the inputs, each with its
        // object's digest, and every object is in the bucket.
        var inputs: [String] = []
        var expected: [String] = []
        for index in 0..<9 {
            let bytes = Self.randomBytes(1_000 + index * 40_000)
            let path = remote.directory.appending("many-\(index).bin")
            try bytes.write(to: URL(fileURLWithPath: path))
            inputs.append(path)
            expected.append(ContentHasher.digest(of: Array(bytes), algorithm: .sha256).description + "  " + path)
        }
        let piped = Self.randomBytes(3_000)
        inputs.insert("-", at: 4)
        expected.insert(ContentHasher.digest(of: Array(piped), algorithm: .sha256).description + "  -", at: 4)
        let many = try remote.cairn(["put", "--jobs", "3"] + inputs, stdin: piped)
        #expect(many.stdoutText.split(separator: "\n").map(String.init) == expected)
        let listed = Set(try remote.backend.list().map(\.description))
        #expect(expected.allSatisfy { listed.contains(String($0.prefix { $0 != " " })) })

        // A pipeline run writes its outputs to the bucket and its manifest to the ledger.
        let pipeline = remote.directory.appending("s3.yaml")
        try Data(
            """
            name: s3-run
            chain: true
            providers:
              synth: {type: synthetic}
            steps:
              - {name: a, provider: synth, model: m, prompt: one, modality: text}
              - {name: b, provider: synth, model: m, prompt: two, modality: image}
            """.utf8
        ).write(to: URL(fileURLWithPath: pipeline))
        let run = try remote.cairn(["run", "--json", pipeline])
        let runs = try JSONSerialization.jsonObject(with: run.stdout) as? [[String: Any]] ?? []
        let runID = try #require(runs.first?["run_id"] as? String, "\(run.stdoutText)")
        #expect(runs.first?["status"] as? String == "completed")
        #expect(try remote.cairn(["show", runID]).stdoutText.contains("\nmanifest  "))
        #expect(try remote.backend.list().count > 2, "the run's outputs are not in the bucket")
        #expect(remote.localObjectFiles().isEmpty, "\(remote.localObjectFiles())")
        try remote.cairn(["ledger", "verify"])
        let resumed = try remote.cairn(["run", "--json", "--resume", pipeline])
        #expect(resumed.stdoutText.contains("reused_from"), "\(resumed.stdoutText)")
    }

    @Test func fsckRehashesTheBucketAndRepairRemovesOnlyCorruptObjects() throws {
        let remote = try RemoteStore()
        defer { remote.backend.shutdown() }
        let texts = ["first \(UUID())", "second \(UUID())", String(repeating: "third ", count: 50_000)]
        var digests: [Digest] = []
        for text in texts {
            let put = try remote.cairn(["put", "-"], stdin: Data(text.utf8))
            digests.append(try Digest(parsing: String(put.stdoutText.split(separator: " ")[0])))
        }
        func report(_ arguments: [String], expect: Int32) throws -> [String: Any] {
            let result = try remote.cairn(["fsck", "--json"] + arguments, expect: expect)
            return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        }
        func present(_ digest: Digest) throws -> Bool {
            if case .present = try remote.backend.contains(digest) { return true }
            return false
        }
        let clean = try report([], expect: 0)
        #expect(clean["objectsChecked"] as? Int == 3, "\(clean)")
        #expect(clean["bytesChecked"] as? Int == texts.map(\.utf8.count).reduce(0, +), "\(clean)")

        // The server holds other bytes under the second object's name.
        try remote.backend.overwriteStoredBytes(of: digests[1], with: Array("damaged".utf8))
        let damaged = try report([], expect: 1)
        let problems = try #require(damaged["problems"] as? [[String: Any]])
        #expect(problems.count == 1, "\(damaged)")
        #expect(problems.first?["kind"] as? String == "corrupt")
        #expect(problems.first?["digest"] as? String == digests[1].description)
        let wrong = ContentHasher.digest(of: Array("damaged".utf8), algorithm: .sha256)
        #expect(problems.first?["actualDigest"] as? String == wrong.description)
        #expect(try present(digests[1]), "fsck without --repair removed an object")
        let text = try remote.cairn(["fsck"], expect: 1).stdoutText
        #expect(text.contains("corrupt") && text.contains(digests[1].description), "\(text)")

        // --repair removes the corrupt object and nothing else; the right bytes then go up again.
        let repaired = try report(["--repair"], expect: 1)
        let fixed = try #require((repaired["problems"] as? [[String: Any]])?.first)
        #expect((fixed["repair"] as? String)?.hasPrefix("removed") == true, "\(repaired)")
        #expect(!(try present(digests[1])))
        #expect(try present(digests[0]))
        #expect(try present(digests[2]))
        #expect(try report([], expect: 0)["objectsChecked"] as? Int == 2)
        try remote.cairn(["put", "-"], stdin: Data(texts[1].utf8))
        #expect(try report([], expect: 0)["objectsChecked"] as? Int == 3)
        #expect(remote.localObjectFiles().isEmpty, "\(remote.localObjectFiles())")
    }

    @Test func gcSweepsOnlyUnreferencedObjectsAndAbortsStaleUploads() throws {
        let remote = try RemoteStore()
        defer { remote.backend.shutdown() }
        var digests: [String] = []
        for text in ["kept", "orphan"] {
            let put = try remote.cairn(["put", "-"], stdin: Data("\(text) \(UUID())".utf8))
            digests.append(try #require(put.stdoutText.split(separator: " ").first.map(String.init)))
        }
        let receipt = """
            {"run_id":"gc-run","step_name":"gen","step_index":0,"status":"succeeded",\
            "started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z","provider":"synthetic",\
            "inputs":[],"outputs":[{"digest":"\(digests[0])","media_type":"text/plain"}]}
            """
        try remote.cairn(["ledger", "append-receipts", "-"], stdin: Data(receipt.utf8))
        // An interrupted writer's upload, and a grace that makes it stale.
        let pending = ContentHasher.digest(of: Array("never completed".utf8), algorithm: .sha256)
        _ = try remote.backend.startUploadForTesting(pending)
        #expect(try remote.backend.staleUploads(olderThan: -3_600).count == 1)
        // Within a day's grace nothing goes: the orphan and the upload are young.
        #expect(try remote.cairn(["gc"]).stdoutText.isEmpty)
        #expect(try remote.backend.staleUploads(olderThan: -3_600).count == 1)
        Thread.sleep(forTimeInterval: 1.1)  // S3 dates uploads to the second
        let gc = try remote.cairn(["gc", "--grace", "0"])
        #expect(gc.stdoutText == "deleted \(digests[1])\n", "\(gc.stdoutText)")
        #expect(gc.stderrText.contains("1 leftover(s) of interrupted writers removed"), "\(gc.stderrText)")
        #expect(try remote.backend.staleUploads(olderThan: -3_600).isEmpty)
        #expect(try remote.backend.list().map(\.description) == [digests[0]])
        try remote.cairn(["ledger", "verify"])
    }
}
#endif
