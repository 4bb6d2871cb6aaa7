import Foundation
import Testing
import _CairnTestSupport

/// A fixture that could not be set up: fails the test that asked for it.
struct CLIStoreError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A temporary directory with an initialised store, and helpers to run `cairn` against it.
struct CLIStore {
    let directory: TemporaryDirectory
    var storePath: String { directory.appending("store") }

    init(_ initArguments: [String] = []) throws {
        directory = try TemporaryDirectory(prefix: "cairn-cli")
        let result = try runCairn(["init", "--store", storePath] + initArguments)
        guard result.status == 0 else { throw CLIStoreError(message: "init failed: \(result.stderrText)") }
    }

    @discardableResult
    func run(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
        try runCairn(arguments, stdin: stdin, environment: ["CAIRN_HOME": storePath])
    }

    func makeFile(_ name: String, _ text: String) throws -> String {
        let path = directory.appending(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite(.timeLimit(.minutes(15)))
struct StoreCLITests {
    static let abcSHA256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    @Test func initCreatesAStoreAndRefusesToReinitialise() throws {
        let cli = try CLIStore()
        #expect(FileManager.default.fileExists(atPath: cli.storePath + "/config.json"))
        let again = try runCairn(["init", "--store", cli.storePath])
        #expect(again.status == 2)
        #expect(again.stderrText.contains("already exists"))
        #expect(again.stdout.isEmpty)
        let bad = try runCairn(["init", "--store", cli.directory.appending("x"), "--algorithm", "md5"])
        #expect(bad.status == 2)
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appending("x")))
    }

    @Test func putPrintsSha256sumStyleLinesAndGetRoundTrips() throws {
        let cli = try CLIStore()
        let file = try cli.makeFile("abc.txt", "abc")
        let put = try cli.run(["put", file])
        #expect(put.status == 0)
        #expect(put.stdoutText == "\(Self.abcSHA256)  \(file)\n")
        #expect(put.stderr.isEmpty)

        let cat = try cli.run(["cat", Self.abcSHA256])
        #expect(cat.status == 0)
        #expect(cat.stdoutText == "abc")

        let output = cli.directory.appending("out.txt")
        let get = try cli.run(["get", Self.abcSHA256, "-o", output])
        #expect(get.status == 0)
        #expect(get.stdout.isEmpty)
        #expect(FileManager.default.contents(atPath: output) == Data("abc".utf8))
    }

    @Test func putFromStdinAndJSON() throws {
        let cli = try CLIStore()
        let file = try cli.makeFile("abc.txt", "abc")
        let put = try cli.run(["put", "--json", "-", file], stdin: Data("abc".utf8))
        #expect(put.status == 0)
        let array = try JSONSerialization.jsonObject(with: put.stdout) as? [[String: Any]]
        #expect(array?.count == 2)
        #expect(array?[0]["path"] as? String == "-")
        #expect(array?[0]["digest"] as? String == Self.abcSHA256)
        #expect(array?[0]["size"] as? Int == 3)
        // The same bytes twice in one put: exactly one line, the input that created the object, says stored
        // (inputs are stored concurrently, so which one is not fixed).
        #expect(array?.compactMap { $0["stored"] as? Bool }.sorted { !$0 && $1 } == [false, true])
        #expect(array?[1]["digest"] as? String == Self.abcSHA256)
    }

    @Test func putTakesManyOperandsWithOptionsBetweenThem() throws {
        let cli = try CLIStore()
        var files: [String] = []
        for index in 0..<300 { files.append(try cli.makeFile("f\(index)", "file \(index)")) }
        _ = try cli.makeFile("-dash", "starts with a dash")
        // Options before, between and after the operands; an option's value is never a FILE; `--` ends options.
        let arguments =
            ["put", "--jobs", "2"] + files[..<150] + ["--json"] + files[150...] + [
                "--durability", "batch", "--", "-dash",
            ]
        let put = try runCairn(
            arguments,
            environment: ["CAIRN_HOME": cli.storePath],
            currentDirectory: cli.directory.path
        )
        #expect(put.status == 0, "\(put.stderrText)")
        let array = try JSONSerialization.jsonObject(with: put.stdout) as? [[String: Any]]
        #expect(array?.map { $0["path"] as? String } == (files + ["-dash"]).map { Optional($0) })
        #expect(try cli.run(["has", array?.last?["digest"] as? String ?? ""]).status == 0)
        // Validation still sees every operand: two `-` are refused, as is --stdin-paths with FILE operands.
        let twice = try cli.run(["put", files[0], "-", files[1], "-"])
        #expect(twice.status == 2)
        #expect(twice.stderrText.contains("only once"))
        #expect(try cli.run(["put", "--stdin-paths", files[0], files[1]]).status == 2)
        #expect(try cli.run(["put", "--jobs"]).status == 2)
    }

    @Test func hasTakesManyDigestsWithOptionsBetweenThem() throws {
        let cli = try CLIStore()
        let stored = try cli.run(["put", "-"], stdin: Data("abc".utf8))
        #expect(stored.status == 0)
        let absent = (0..<300).map { "sha256:" + String(repeating: "0", count: 60) + String(format: "%04x", $0) }
        let digests = absent[..<150] + [Self.abcSHA256] + absent[150...]
        let has = try runCairn(
            ["has"] + digests[..<100] + ["--json", "--store", cli.storePath] + digests[100...],
            environment: [:]
        )
        #expect(has.status == 1, "\(has.stderrText)")
        let array = try JSONSerialization.jsonObject(with: has.stdout) as? [[String: Any]]
        #expect(array?.map { $0["digest"] as? String } == digests.map { Optional($0) })
        #expect(array?.filter { $0["present"] as? Bool == true }.count == 1)
        // A bad digest anywhere in the list is still a usage error.
        #expect(try cli.run(["has"] + absent[..<200] + ["sha256:zz"] + absent[200...]).status == 2)
    }

    @Test(arguments: ["object", "batch", "none"])
    func putWithStdinPathsReadsOnePathPerLine(durability: String) throws {
        let cli = try CLIStore(["--durability", durability])
        let abc = try cli.makeFile("abc.txt", "abc")
        let other = try cli.makeFile("with space.txt", "other")
        let listed = try cli.run(["put", "--stdin-paths"], stdin: Data("\(abc)\n\(other)\n\(abc)".utf8))
        let direct = try cli.run(["put", abc, other, abc])
        #expect(listed.status == 0)
        #expect(listed.stdoutText == direct.stdoutText)
        #expect(listed.stdoutText.hasPrefix("\(Self.abcSHA256)  \(abc)\n"))
        #expect(listed.stdoutText.split(separator: "\n").count == 3)

        // Paths and --stdin-paths together, no paths, an empty line or a missing file: exit 2, nothing stored.
        let fresh = try CLIStore(["--durability", durability])
        let missing = cli.directory.appending("missing.txt")
        let refusals: [([String], String)] = [
            (["put", "--stdin-paths", abc], abc + "\n"),
            (["put", "--stdin-paths"], ""),
            (["put", "--stdin-paths"], abc + "\n\n" + other + "\n"),
            (["put", "--stdin-paths"], abc + "\n" + missing + "\n"),
            (["put", "--jobs", "0", abc], ""),
        ]
        for (arguments, input) in refusals {
            let refused = try fresh.run(arguments, stdin: Data(input.utf8))
            #expect(refused.status == 2, "\(arguments) \(input)")
            #expect(refused.stdout.isEmpty)
            #expect(refused.stderrText.split(separator: "\n").count == 1)
        }
        let objects = try FileManager.default.subpathsOfDirectory(atPath: fresh.storePath + "/objects/sha256")
            .filter { $0.count > 2 }
        #expect(objects.isEmpty)
    }

    @Test(arguments: ["object", "batch", "none"])
    func putOfAMissingFileStoresNothing(durability: String) throws {
        let cli = try CLIStore(["--durability", durability])
        let good = try cli.makeFile("good.txt", "good")
        let put = try cli.run(["put", good, cli.directory.appending("missing.txt")])
        #expect(put.status == 2)
        #expect(put.stdout.isEmpty)
        #expect(put.stderrText.hasPrefix("cairn: "))
        #expect(put.stderrText.contains("missing.txt"))
        #expect(put.stderrText.split(separator: "\n").count == 1)
        let objects = try FileManager.default.subpathsOfDirectory(atPath: cli.storePath + "/objects/sha256")
            .filter { $0.count > 2 }  // the 256 shard directories are made by init
        #expect(objects.isEmpty)
    }

    @Test func hasExitCodes() throws {
        let cli = try CLIStore()
        let file = try cli.makeFile("abc.txt", "abc")
        try cli.run(["put", file])
        let absent = "sha256:" + String(repeating: "0", count: 64)
        let present = try cli.run(["has", Self.abcSHA256])
        #expect(present.status == 0)
        #expect(present.stdoutText == "\(Self.abcSHA256)  present\n")
        let some = try cli.run(["has", Self.abcSHA256, absent])
        #expect(some.status == 1)
        #expect(some.stdoutText.contains("\(absent)  absent"))
        let bad = try cli.run(["has", "sha256:../../etc/passwd"])
        #expect(bad.status == 2)
        #expect(bad.stderrText.contains("path separator"))
        #expect(bad.stdout.isEmpty)
        let json = try cli.run(["has", "--json", absent])
        #expect(json.status == 1)
        #expect(json.stdoutText.contains("\"present\":false"))
    }

    @Test func hostileDigestsAreUsageErrors() throws {
        let cli = try CLIStore()
        for digest in [
            "sha256:..", "SHA256:abc", "sha256:" + String(repeating: "A", count: 64), "md5:00", "sha256:00\u{1}",
        ] {
            for verb in ["get", "cat", "has"] {
                let result = try cli.run([verb, digest])
                #expect(result.status == 2, "\(verb) \(digest)")
                #expect(result.stdout.isEmpty)
                #expect(result.stderrText.hasPrefix("cairn: invalid digest"))
            }
        }
    }

    @Test func getOfAnAbsentOrCorruptObjectIsExitOneAndWritesNothing() throws {
        let cli = try CLIStore()
        let absent = "sha256:" + String(repeating: "1", count: 64)
        let output = cli.directory.appending("out")
        let missing = try cli.run(["get", absent, "-o", output])
        #expect(missing.status == 1)
        #expect(!FileManager.default.fileExists(atPath: output))

        let file = try cli.makeFile("abc.txt", "abc")
        try cli.run(["put", file])
        let objectPath = cli.storePath + "/objects/sha256/ba/" + Self.abcSHA256.dropFirst(7)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: objectPath)
        try Data("abd".utf8).write(to: URL(fileURLWithPath: objectPath))
        let cat = try cli.run(["cat", Self.abcSHA256])
        #expect(cat.status == 1)
        #expect(cat.stdout.isEmpty)
        #expect(cat.stderrText.contains("corrupt"))
        let get = try cli.run(["get", Self.abcSHA256, "-o", output])
        #expect(get.status == 1)
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func fsckReportsAndRepairs() throws {
        let cli = try CLIStore()
        let file = try cli.makeFile("abc.txt", "abc")
        try cli.run(["put", file])
        let clean = try cli.run(["fsck", "--jobs", "2"])
        #expect(clean.status == 0)
        #expect(clean.stdoutText.contains("clean"))
        #expect(clean.stderr.isEmpty)  // no progress when stderr is not a terminal

        let objectPath = cli.storePath + "/objects/sha256/ba/" + Self.abcSHA256.dropFirst(7)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: objectPath)
        try Data("abd".utf8).write(to: URL(fileURLWithPath: objectPath))
        let found = try cli.run(["fsck", "--json"])
        #expect(found.status == 1)
        let report = try JSONSerialization.jsonObject(with: found.stdout) as? [String: Any]
        let problems = report?["problems"] as? [[String: Any]]
        #expect(problems?.count == 1)
        #expect(problems?.first?["kind"] as? String == "corrupt")
        #expect(problems?.first?["path"] as? String == objectPath)

        let repaired = try cli.run(["fsck", "--repair"])
        #expect(repaired.status == 1)
        #expect(repaired.stdoutText.contains("quarantined"))
        #expect(try cli.run(["fsck"]).status == 0)
        #expect(try cli.run(["has", Self.abcSHA256]).status == 1)
    }

    @Test func commandsWithoutAStoreFailWithExitTwo() throws {
        let directory = try TemporaryDirectory()
        let result = try runCairn(["has", Self.abcSHA256], environment: ["CAIRN_HOME": directory.appending("none")])
        #expect(result.status == 2)
        #expect(result.stderrText.contains("cairn init"))
    }
}
