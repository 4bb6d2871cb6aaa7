import Foundation
import Testing
import _CairnTestSupport

@Suite(.timeLimit(.minutes(15)))
struct StoreMemoryTests {
    /// `cairn put` streams: its peak RSS stays far below the input's size. (The 10 GiB figure is measured by
    /// Benchmarks/compare/store.sh; this checks the property on a smaller input.)
    @Test func putOfALargeFileRunsInConstantMemory() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/time"),
            "GNU time measures the peak RSS: apt-get install time (scripts/setup.sh does)"
        )
        let cli = try CLIStore(["--durability", "none"])
        let size = slowTestsEnabled ? 2 << 30 : 256 << 20
        let path = cli.directory.appending("large.bin")
        // A sparse file: reading it costs no disk, and the store still writes and hashes every byte.
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        let result = try runProcess(
            "/usr/bin/time",
            ["-f", "maxrss=%M", cairnExecutablePath(), "put", "--store", cli.storePath, path]
        )
        #expect(result.status == 0)
        let line = result.stderrText.split(separator: "\n").last { $0.hasPrefix("maxrss=") }
        let kilobytes = line.flatMap { Int($0.dropFirst("maxrss=".count)) } ?? Int.max
        #expect(kilobytes < 64 * 1024, "peak RSS \(kilobytes) KiB")
        #expect(result.stdoutText.hasPrefix("sha256:"))
    }
}
