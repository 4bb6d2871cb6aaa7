import Foundation
import Testing
import _CairnTestSupport

/// Every path under `root` with its size (directories as -1, symbolic links as -2): what "nothing changed"
/// is checked against.
func directoryTree(_ root: String) throws -> [String: Int] {
    var result: [String: Int] = [:]
    guard let walker = FileManager.default.enumerator(atPath: root) else { return result }
    while let name = walker.nextObject() as? String {
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + name)
        switch attributes[.type] as? FileAttributeType {
        case .typeDirectory?: result[name] = -1
        case .typeSymbolicLink?: result[name] = -2
        default: result[name] = (attributes[.size] as? Int) ?? -3
        }
    }
    return result
}

/// Stores in states Cairn did not leave them in: a configuration from a newer layout, a shard directory replaced by
/// a symbolic link. Each is a clear error (exit 2) that changes nothing, and nothing is written outside the store.
@Suite(.timeLimit(.minutes(15)))
struct StoreFaultTests {
    static let abcSHA256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    @Test func aStoreOfANewerLayoutIsRefusedAndLeftAsItIs() throws {
        let cli = try CLIStore()
        let file = try cli.makeFile("abc.txt", "abc")
        #expect(try cli.run(["put", file]).status == 0)
        // A newer layout may also name an algorithm and fields this version does not know.
        let future = """
            {"algorithm": "sha3-512", "durability": "object", "layoutVersion": 2, "shardDepth": 3, "tiers": ["hot"]}

            """
        try Data(future.utf8).write(to: URL(fileURLWithPath: cli.storePath + "/config.json"))
        let before = try directoryTree(cli.storePath)
        for arguments in [["put", file], ["has", Self.abcSHA256], ["cat", Self.abcSHA256], ["fsck"], ["gc"]] {
            let result = try cli.run(arguments)
            #expect(result.status == 2, "\(arguments): exit \(result.status) \(result.stderrText)")
            #expect(result.stdout.isEmpty, "\(arguments): \(result.stdoutText)")
            #expect(result.stderrText.contains("layout version 2"), "\(arguments): \(result.stderrText)")
            #expect(result.stderrText.contains("newer Cairn"), "\(arguments): \(result.stderrText)")
        }
        #expect(try directoryTree(cli.storePath) == before, "a refused store was changed")
    }

    @Test func aShardDirectoryReplacedByASymbolicLinkIsNeverWrittenThrough() throws {
        let cli = try CLIStore()
        let outside = cli.directory.appending("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        let hex = String(Self.abcSHA256.dropFirst("sha256:".count))
        let shard = cli.storePath + "/objects/sha256/" + hex.prefix(2)
        try FileManager.default.removeItem(atPath: shard)
        try FileManager.default.createSymbolicLink(atPath: shard, withDestinationPath: outside)

        let file = try cli.makeFile("abc.txt", "abc")
        let put = try cli.run(["put", file])
        #expect(put.status == 2, "exit \(put.status): \(put.stdoutText)\(put.stderrText)")
        #expect(put.stdout.isEmpty)
        #expect(put.stderrText.contains("symbolic link"), "\(put.stderrText)")
        #expect(put.stderrText.contains(shard), "the error names the shard: \(put.stderrText)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "written outside the store")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cli.storePath + "/tmp").isEmpty)

        // fsck names it; once it is a directory again, the same put succeeds.
        let fsck = try cli.run(["fsck", "--json"])
        #expect(fsck.status == 1, "\(fsck.stdoutText)\(fsck.stderrText)")
        let report = try JSONSerialization.jsonObject(with: fsck.stdout) as? [String: Any]
        let paths = ((report?["problems"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String }
        #expect(paths.contains { $0.hasSuffix("objects/sha256/" + hex.prefix(2)) }, "\(fsck.stdoutText)")
        try FileManager.default.removeItem(atPath: shard)
        try FileManager.default.createDirectory(atPath: shard, withIntermediateDirectories: false)
        #expect(try cli.run(["put", file]).status == 0)
        #expect(try cli.run(["cat", Self.abcSHA256]).stdoutText == "abc")
    }

    /// The store directory removed while a put and an append run: each ends with a clear error (exit 2, the missing
    /// path named), never a crash, and nothing is made again in its place or written anywhere else.
    @Test func aStoreRemovedUnderARunningProcessIsAClearErrorAndNothingIsRecreated() throws {
        let cli = try CLIStore()
        var files: [String] = []
        for index in 0..<3000 { files.append(try cli.makeFile("f\(index)", "bytes of file \(index)")) }
        let receipts = (0..<3000).map { LedgerCLITests.receiptLine(run: "gone", step: $0) }
        let input = try cli.makeFile("receipts.jsonl", receipts.joined(separator: "\n"))
        let outside = try directoryTree(cli.directory.path).filter { !$0.key.hasPrefix("store") }
        for arguments in [
            ["put", "--durability", "object", "--store", cli.storePath] + files,
            ["ledger", "append-receipts", "--batch", "1", input, "--store", cli.storePath],
        ] {
            if !FileManager.default.fileExists(atPath: cli.storePath) {
                #expect(try runCairn(["init", "--store", cli.storePath]).status == 0)
            }
            let output = Pipe()
            let errors = Pipe()
            let (process, isolation) = try launchCairn(arguments, standardOutput: output, standardError: errors)
            // Remove the store once the command has acknowledged some work.
            var received = Data()
            received.append(output.fileHandleForReading.readLines(atLeast: 20))
            // The running process may make a directory while it is removed: remove until nothing is left.
            for _ in 0..<50 where FileManager.default.fileExists(atPath: cli.storePath) {
                try runProcess("/bin/rm", ["-rf", cli.storePath])
            }
            received.append(output.fileHandleForReading.readDataToEndOfFile())
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            withExtendedLifetime(isolation) {}
            let what = arguments[0]
            #expect(process.terminationReason == .exit, "\(what) died of a signal: \(stderr)")
            #expect(process.terminationStatus == 2, "\(what): exit \(process.terminationStatus): \(stderr)")
            #expect(stderr.contains(cli.storePath), "\(what): the error names no path: \(stderr)")
            #expect(!stderr.contains("Fatal error"), "\(stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.storePath), "\(what) made the store again")
            #expect(
                try directoryTree(cli.directory.path).filter { !$0.key.hasPrefix("store") } == outside,
                "\(what) wrote outside the store"
            )
        }
    }
}
