import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Starts `cairn` without waiting; stdout goes to a pipe read after the process ends.
private func launchCairn(_ arguments: [String], storePath: String) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cairnExecutablePath())
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(["CAIRN_HOME": storePath]) { _, new in new }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return (process, output)
}

/// Random bytes from /dev/urandom.
private func randomData(_ count: Int) -> Data {
    guard let handle = FileHandle(forReadingAtPath: "/dev/urandom") else { return Data(count: count) }
    defer { try? handle.close() }
    return handle.readData(ofLength: count)
}

struct StoreConcurrencyTests {
    @Test(arguments: ["object", "batch"])
    func severalProcessesPuttingTheSameAndDifferentFiles(durability: String) throws {
        let cli = try CLIStore(["--durability", durability])
        var shared: [String] = []
        for index in 0..<6 {
            let path = cli.directory.appending("shared-\(index)")
            try randomData(50_000 + index * 40_000).write(to: URL(fileURLWithPath: path))
            shared.append(path)
        }
        var processes: [(Process, Pipe, [String])] = []
        for worker in 0..<4 {
            var files = shared
            for index in 0..<4 {
                let path = cli.directory.appending("own-\(worker)-\(index)")
                try randomData(30_000 + index).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            files.shuffle()
            let (process, pipe) = try launchCairn(["put"] + files, storePath: cli.storePath)
            processes.append((process, pipe, files))
        }
        var digestOf: [String: String] = [:]
        for (process, pipe, files) in processes {
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let lines = output.split(separator: "\n")
            #expect(lines.count == files.count)
            for line in lines {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                let path = parts[1].trimmingCharacters(in: .whitespaces)
                if let earlier = digestOf[path] { #expect(earlier == parts[0]) }
                digestOf[path] = parts[0]
            }
        }
        let unique = Set(digestOf.values)
        #expect(unique.count == 6 + 16)
        let objects = try FileManager.default.subpathsOfDirectory(atPath: cli.storePath + "/objects/sha256")
            .filter { $0.count > 3 }
        #expect(objects.count == unique.count)
        #expect(try cli.run(["fsck", "--jobs", "2"]).status == 0)
        for (path, digest) in digestOf {
            let got = try cli.run(["cat", digest])
            #expect(got.status == 0)
            #expect(got.stdout == FileManager.default.contents(atPath: path))
        }
    }

    /// Kills `cairn put` with SIGKILL at random moments; afterwards every digest it had printed must be present
    /// and intact, and fsck may find nothing but the stale temporary files of the killed processes.
    @Test(arguments: ["object", "batch"])
    func killedPutsNeverLeaveTornObjects(durability: String) throws {
        let cli = try CLIStore(["--durability", durability])
        let trials = slowTestsEnabled ? 200 : 8
        var printed: [(digest: String, path: String)] = []
        for trial in 0..<trials {
            var files: [String] = []
            // A few large inputs and enough small ones that a batch is staged on several threads.
            let sizes = [1024, 300_000, 2_500_000, 7] + (0..<28).map { 2000 + $0 }
            for (index, size) in sizes.enumerated() {
                let path = cli.directory.appending("t\(trial)-\(index)")
                try randomData(size).write(to: URL(fileURLWithPath: path))
                files.append(path)
            }
            let (process, pipe) = try launchCairn(["put"] + files, storePath: cli.storePath)
            usleep(UInt32.random(in: 0...60_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in output.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                printed.append((parts[0], parts[1].trimmingCharacters(in: .whitespaces)))
            }
        }
        // The loop must really interrupt puts, not only watch them finish.
        #expect(printed.count < trials * 32)
        let fsck = try cli.run(["fsck", "--json"])
        let report = try JSONSerialization.jsonObject(with: fsck.stdout) as? [String: Any]
        let kinds = Set(((report?["problems"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String })
        #expect(kinds.isSubset(of: ["stray-temp"]), "fsck found \(kinds)")
        #expect(fsck.status == (kinds.isEmpty ? 0 : 1))
        for (digest, path) in printed {
            let got = try cli.run(["cat", digest])
            #expect(got.status == 0, "\(digest) printed but not intact")
            #expect(got.stdout == FileManager.default.contents(atPath: path))
        }
        #expect(try cli.run(["fsck", "--repair"]).status == (kinds.isEmpty ? 0 : 1))
        #expect(try cli.run(["fsck"]).status == 0)
    }
}
