import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Faults of the filesystem itself, on filesystems the tests make and mount (root only; with CAIRN_SLOW_TESTS=1):
///
/// - **Power loss.** A store on an ext4 image mounted through a loop device with a 300 s journal commit interval,
///   so nothing reaches the image unless it is synced. A `cairn put` is killed with SIGKILL after some of its lines
///   were printed, and the image file is copied at that instant: the copy holds exactly what the "disk" held, and
///   the page cache (every write that was not synced) is lost, as in a power cut. After `e2fsck` replays the journal,
///   every object a printed line named must be in the copy and intact, every acknowledged ledger entry must verify,
///   and fsck must find no damage. A second store on the same image, with `--durability none`, is the control:
///   its acknowledged objects are lost, which shows the copy really drops what was not synced.
/// - **Read-only.** A read-only bind mount of a store serves `has`, `cat` and `fsck`; a put fails (exit 2) naming
///   the read-only filesystem, and nothing changes.
/// - **Disk full.** A store on a 4 MiB tmpfs: a put that does not fit and an import into a full disk fail with a
///   clear error, leave no partial object, no temporary file and an intact ledger, and work resumes once space
///   is freed.
@Suite(.timeLimit(.minutes(15)), .serialized)
struct FilesystemFaultTests {
    /// Why the suite cannot run here, or nil when it can: it mounts filesystems, so it needs root and the slow
    /// switch (CI sets both).
    static var unavailable: String? {
        if !slowTestsEnabled { return "filesystem fault tests run with CAIRN_SLOW_TESTS=1" }
        if getuid() != 0 { return "filesystem fault tests mount filesystems and need root" }
        return nil
    }

    /// A mounted filesystem, unmounted (lazily, if busy) when released.
    final class Mount {
        let directory: TemporaryDirectory
        let point: String
        private(set) var mounted = false

        init(_ arguments: [String]) throws {
            directory = try TemporaryDirectory(prefix: "cairn-fault")
            point = directory.appending("mnt")
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
            let result = try runProcess("/usr/bin/mount", arguments + [point])
            guard result.status == 0 else { throw FaultSetupError("mount \(arguments) failed: \(result.stderrText)") }
            mounted = true
        }

        func unmount() {
            guard mounted else { return }
            if (try? runProcess("/usr/bin/umount", [point]))?.status != 0 {
                _ = try? runProcess("/usr/bin/umount", ["-l", point])
            }
            mounted = false
        }

        deinit { unmount() }
    }

    struct FaultSetupError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `cairn` on `store` and returns the result, recording a failure when its exit status is not `expected`.
    @discardableResult
    func cairn(
        _ arguments: [String],
        store: String,
        stdin: Data? = nil,
        expect expected: Int32? = 0
    ) throws
        -> ProcessResult
    {
        let result = try runCairn(arguments + ["--store", store], stdin: stdin)
        if let expected {
            #expect(result.status == expected, "cairn \(arguments.joined(separator: " ")): \(result.stderrText)")
        }
        return result
    }

    /// Three genblaze manifests that verify, imported as ledger entries by the tests.
    var manifests: [String] {
        ["d_basic.json", "d_chain.json", "d_parent_unset.json"].map { genblazeVectorsPath + "/cases/" + $0 }
    }

    /// The store's fsck report as JSON: (problems, exit status).
    func fsck(_ store: String) throws -> (problems: [[String: Any]], status: Int32) {
        let result = try cairn(["fsck", "--json"], store: store, expect: nil)
        let report = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return ((report?["problems"] as? [[String: Any]]) ?? [["kind": "unreadable report"]], result.status)
    }

    @Test func acknowledgedWorkSurvivesAPowerCut() throws {
        if let reason = Self.unavailable {
            print("FilesystemFaultTests skipped: \(reason)")
            return
        }
        let work = try TemporaryDirectory(prefix: "cairn-powercut")
        let image = work.appending("disk.img")
        #expect(try runProcess("/usr/bin/truncate", ["-s", "256M", image]).status == 0)
        let mkfs = try runProcess("/usr/sbin/mkfs.ext4", ["-q", "-F", image])
        try #require(mkfs.status == 0, "mkfs.ext4: \(mkfs.stderrText)")
        // commit=300: the journal commits only when a sync asks for it, so unsynced work never reaches the image.
        let disk = try Mount(["-o", "loop,commit=300", image])
        let durable = disk.point + "/durable"
        let careless = disk.point + "/careless"
        try cairn(["init"], store: durable)
        try cairn(["init", "--durability", "none"], store: careless)
        let imported = try cairn(["import", "--json"] + manifests, store: durable)
        let entries = imported.stdoutText.split(separator: "\n").count
        #expect(entries == manifests.count, "\(imported.stdoutText)")

        // The control: acknowledged, never synced.
        var carelessDigests: [String] = []
        for index in 0..<20 {
            let put = try cairn(["put", "-"], store: careless, stdin: randomBytes(4096 + index))
            carelessDigests += put.stdoutText.split(separator: " ").prefix(1).map(String.init)
        }
        #expect(carelessDigests.count == 20)

        // The durable put: many files, killed after some lines were printed.
        var files: [String] = []
        for index in 0..<300 {
            let path = work.appending("in-\(index)")
            try randomBytes(3000 + index * 97).write(to: URL(fileURLWithPath: path))
            files.append(path)
        }
        let pipe = Pipe()
        let (process, isolation) = try launchCairn(
            ["put", "--store", durable, "--jobs", "1"] + files,
            standardOutput: pipe
        )
        var received = Data()
        received.append(pipe.fileHandleForReading.readLines(atLeast: 40))
        kill(process.processIdentifier, SIGKILL)
        // The power cut: the image as the disk holds it, before anything else can be written back.
        let snapshot = work.appending("after-power-cut.img")
        let copy = try runProcess("/usr/bin/cp", ["--sparse=always", image, snapshot])
        try #require(copy.status == 0, "cp: \(copy.stderrText)")
        process.waitUntilExit()
        withExtendedLifetime(isolation) {}
        received.append(pipe.fileHandleForReading.readDataToEndOfFile())
        disk.unmount()

        var acknowledged: [(digest: String, path: String)] = []
        for line in String(decoding: received, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { acknowledged.append((parts[0], parts[1].trimmingCharacters(in: .whitespaces))) }
        }
        #expect(acknowledged.count >= 40, "the put printed \(acknowledged.count) lines before it was killed")
        #expect(acknowledged.count < files.count, "the put finished before the kill")

        // Boot after the power cut: the journal is replayed, then the store is checked.
        let repair = try runProcess("/usr/sbin/e2fsck", ["-f", "-y", snapshot])
        #expect(repair.status <= 1, "e2fsck exit \(repair.status): \(repair.stdoutText)\(repair.stderrText)")
        let rebooted = try Mount(["-o", "loop", snapshot])
        let durableAfter = rebooted.point + "/durable"
        for (digest, path) in acknowledged {
            let got = try cairn(["cat", digest], store: durableAfter, expect: nil)
            #expect(got.status == 0, "\(digest) was acknowledged, and after the power cut: \(got.stderrText)")
            #expect(got.stdout == FileManager.default.contents(atPath: path), "\(digest) differs after the power cut")
        }
        let (problems, status) = try fsck(durableAfter)
        #expect(problems.isEmpty && status == 0, "fsck after the power cut: \(problems)")
        let verify = try cairn(["ledger", "verify", "--json"], store: durableAfter)
        let ledger = try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any]
        #expect((ledger?["entries"] as? Int ?? -1) >= entries, "\(verify.stdoutText)")

        // The control lost what it never synced: the copy is a real power cut, not a tidy shutdown.
        var carelessIntact = 0
        for digest in carelessDigests {
            if try cairn(["cat", digest], store: rebooted.point + "/careless", expect: nil).status == 0 {
                carelessIntact += 1
            }
        }
        #expect(
            carelessIntact < carelessDigests.count,
            "all \(carelessDigests.count) unsynced objects survived the copy: it did not model a power cut"
        )
        print("power cut: \(acknowledged.count) acknowledged objects intact; control kept \(carelessIntact)/20")
    }

    @Test func aFullDiskFailsCleanlyAndWorkResumes() throws {
        if let reason = Self.unavailable {
            print("FilesystemFaultTests skipped: \(reason)")
            return
        }
        let disk = try Mount(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        let store = disk.point + "/store"
        try cairn(["init"], store: store)
        try cairn(["import"] + manifests.prefix(1), store: store)
        let logBefore = try FileManager.default.attributesOfItem(atPath: store + "/ledger/entries.log")[.size] as? Int

        // A put that does not fit: a clear error, no object, no temporary file left.
        let big = randomBytes(6 << 20)
        let put = try cairn(["put", "-"], store: store, stdin: big, expect: 2)
        #expect(put.stdout.isEmpty)
        #expect(put.stderrText.lowercased().contains("space"), "\(put.stderrText)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").isEmpty)
        let (problems, status) = try fsck(store)
        #expect(problems.isEmpty && status == 0, "\(problems)")

        // A full disk under the ledger: the import fails, the log keeps its size and still verifies.
        let filler = disk.point + "/filler"
        _ = try runProcess("/usr/bin/dd", ["if=/dev/zero", "of=" + filler, "bs=64k"])
        let imported = try cairn(["import"] + manifests.suffix(2), store: store, expect: 2)
        #expect(imported.stderrText.contains("free some space"), "\(imported.stderrText)")
        let logAfter = try FileManager.default.attributesOfItem(atPath: store + "/ledger/entries.log")[.size] as? Int
        #expect(logAfter == logBefore, "the log changed size on a full disk")
        try cairn(["ledger", "verify"], store: store)

        // Space again: the same work succeeds and everything verifies.
        try FileManager.default.removeItem(atPath: filler)
        try cairn(["import"] + manifests.suffix(2), store: store)
        let small = randomBytes(1 << 20)
        let again = try cairn(["put", "-"], store: store, stdin: small)
        let digest = try #require(again.stdoutText.split(separator: " ").first.map(String.init))
        #expect(try cairn(["cat", digest], store: store).stdout == small)
        try cairn(["ledger", "verify"], store: store)
        let (after, afterStatus) = try fsck(store)
        #expect(after.isEmpty && afterStatus == 0, "\(after)")
    }

    /// Fills the filesystem until only `free` bytes are left (rounded to tmpfs pages); returns the filler's path.
    func fill(_ disk: Mount, leaving free: Int) throws -> String {
        var stats = statvfs()
        guard statvfs(disk.point, &stats) == 0 else { throw FaultSetupError("statvfs \(disk.point): \(errno)") }
        let available = Int(stats.f_bavail) * Int(stats.f_frsize)
        let filler = disk.point + "/filler"
        try Data(count: max(0, available - free)).write(to: URL(fileURLWithPath: filler))
        return filler
    }

    /// The disk fills up in the middle of a ledger append: at each of a sweep of free-space levels, an append of
    /// hundreds of receipts runs until the disk is full. It fails with a clear error, every entry it acknowledged
    /// (printed) is in the log and proves with the leaf hash printed for it, nothing torn is visible and the
    /// ledger verifies; once space is freed, the same receipts append and verify.
    @Test func aDiskThatFillsMidAppendLosesNothingAcknowledged() throws {
        if let reason = Self.unavailable {
            print("FilesystemFaultTests skipped: \(reason)")
            return
        }
        let disk = try Mount(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        let store = disk.point + "/store"
        try cairn(["init"], store: store)
        let work = try TemporaryDirectory(prefix: "cairn-full-append")
        var entries = 0
        var failedMidway = 0
        for (level, free) in [8, 24, 40, 72, 136, 264].map({ $0 << 10 }).enumerated() {
            let input = work.appending("receipts-\(level).jsonl")
            let lines = (0..<600).map { LedgerCLITests.receiptLine(run: "full-\(level)", step: $0) }
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: input))
            let filler = try fill(disk, leaving: free)
            let where_ = "\(free >> 10) KiB free"
            let append = try cairn(
                ["ledger", "append-receipts", input, "--batch", String(1 + level % 3)],
                store: store,
                expect: nil
            )
            let printed = append.stdoutText.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            if append.status != 0 {
                failedMidway += 1
                #expect(append.status == 2, "\(where_): exit \(append.status)")
                #expect(append.stderrText.contains("free some space"), "\(where_): \(append.stderrText)")
                #expect(printed.count < lines.count, "\(where_): failed after acknowledging every entry")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").isEmpty, "\(where_)")
            try FileManager.default.removeItem(atPath: filler)
            // Space again: the ledger reopens and verifies with every acknowledged entry.
            let verify = try cairn(["ledger", "verify", "--json"], store: store)
            let report = try JSONSerialization.jsonObject(with: verify.stdout) as? [String: Any]
            let verified = try #require(report?["entries"] as? Int, "\(where_): \(verify.stdoutText)")
            #expect(verified >= entries + printed.count, "\(where_): \(verified) entries, \(printed.count) printed")
            for parts in [printed.first, printed.last].compactMap({ $0 }) where parts.count == 2 {
                let prove = try cairn(["ledger", "prove", "--json", "--index", parts[0]], store: store)
                let bundle = try JSONSerialization.jsonObject(with: prove.stdout) as? [String: Any]
                #expect(bundle?["leaf_hash"] as? String == parts[1], "\(where_): entry \(parts[0]) changed")
            }
            let (problems, status) = try fsck(store)
            #expect(problems.isEmpty && status == 0, "\(where_): \(problems)")
            // The rest of the work goes through now.
            if append.status != 0 {
                try cairn(["ledger", "append-receipts", input], store: store)
            }
            let after = try cairn(["ledger", "verify", "--json"], store: store)
            entries = try #require(
                (try JSONSerialization.jsonObject(with: after.stdout) as? [String: Any])?["entries"] as? Int
            )
        }
        #expect(failedMidway >= 3, "only \(failedMidway) appends met a full disk")
    }

    /// The disk fills up in the middle of `cairn run`: steps that each store a 128 KiB WAV file meet a full disk
    /// at a sweep of free-space levels. The run fails with a clear error naming the lack of space, leaves no
    /// temporary file and no damage, the ledger verifies; once space is freed, `cairn run --resume` reuses the
    /// steps that completed and finishes the run.
    @Test func aDiskThatFillsMidRunFailsCleanlyAndResumes() throws {
        if let reason = Self.unavailable {
            print("FilesystemFaultTests skipped: \(reason)")
            return
        }
        let disk = try Mount(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        let store = disk.point + "/store"
        try cairn(["init"], store: store)
        let work = try TemporaryDirectory(prefix: "cairn-full-run")
        var failedMidway = 0
        for (level, free) in [16, 200, 330, 460, 590].map({ $0 << 10 }).enumerated() {
            let where_ = "\(free >> 10) KiB free"
            let steps = (1...6).map {
                "  - {name: s\($0), provider: synth, model: m, prompt: p\(level)-\($0), modality: audio, "
                    + "params: {duration: 4}}"
            }
            let file = work.appending("full-\(level).yaml")
            try Data(
                (["name: full-\(level)", "providers:", "  synth: {type: synthetic}", "steps:"] + steps)
                    .joined(separator: "\n").utf8
            ).write(to: URL(fileURLWithPath: file))
            let filler = try fill(disk, leaving: free)
            let run = try cairn(["run", "--json", file], store: store, expect: nil)
            if run.status != 0 {
                failedMidway += 1
                // The store's error stops the run and says what to do. Exit 1 when the failed run's manifest was
                // still recorded (its error names the cause), 2 when the ledger could not take it either.
                #expect(run.stderrText.contains("free some space"), "\(where_): \(run.stderrText)")
                if run.status == 1 {
                    let runs = try JSONSerialization.jsonObject(with: run.stdout) as? [[String: Any]] ?? []
                    #expect(runs.first?["status"] as? String == "failed", "\(where_): \(run.stdoutText)")
                } else {
                    #expect(run.status == 2, "\(where_): exit \(run.status): \(run.stderrText)")
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").isEmpty, "\(where_)")
            try FileManager.default.removeItem(atPath: filler)
            try cairn(["ledger", "verify"], store: store)
            let (problems, status) = try fsck(store)
            #expect(problems.isEmpty && status == 0, "\(where_): \(problems)")
            let resumed = try cairn(["run", "--json", "--resume", file], store: store)
            let runs = try JSONSerialization.jsonObject(with: resumed.stdout) as? [[String: Any]] ?? []
            #expect(runs.first?["status"] as? String == "completed", "\(where_): \(resumed.stdoutText)")
            #expect((runs.first?["steps"] as? [Any])?.count == 6, "\(where_): \(resumed.stdoutText)")
            try cairn(["ledger", "verify"], store: store)
        }
        #expect(failedMidway >= 3, "only \(failedMidway) runs met a full disk")
    }

    @Test func aReadOnlyStoreServesReadsAndRefusesWrites() throws {
        if let reason = Self.unavailable {
            print("FilesystemFaultTests skipped: \(reason)")
            return
        }
        let work = try TemporaryDirectory(prefix: "cairn-readonly")
        let store = work.appending("store")
        try cairn(["init"], store: store)
        let kept = Data("bytes stored before the store became read-only".utf8)
        let put = try cairn(["put", "-"], store: store, stdin: kept)
        let digest = try #require(put.stdoutText.split(separator: " ").first.map(String.init))
        let view = try Mount(["--bind", "-o", "ro", store])
        let before = try directoryTree(store)

        #expect(try cairn(["has", digest], store: view.point).status == 0)
        #expect(try cairn(["cat", digest], store: view.point).stdout == kept)
        #expect(try fsck(view.point).status == 0)
        for bytes in [Data("new bytes".utf8), kept] {
            let refused = try cairn(["put", "-"], store: view.point, stdin: bytes, expect: 2)
            #expect(refused.stdout.isEmpty)
            #expect(refused.stderrText.contains("Read-only file system"), "\(refused.stderrText)")
        }
        #expect(try directoryTree(store) == before, "a read-only store changed")
    }

    func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
