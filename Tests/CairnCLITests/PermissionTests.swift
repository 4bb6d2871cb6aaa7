import Foundation
import Testing
import _CairnTestSupport

/// "An unreadable object is an error, never absent", checked as a user the permissions apply to: root reads every
/// directory, so when the tests run as root the `cairn` under test runs as `nobody` (through `setpriv`).
@Suite(.timeLimit(.minutes(15)))
struct PermissionTests {
    /// A store another user can reach: a 0755 directory holding a copy of `cairn` (a clone's build folder may be
    /// private) and a store this process's user initialised.
    struct SharedStore {
        let directory: TemporaryDirectory
        var cairn: String { directory.appending("cairn") }
        var store: String { directory.appending("store") }

        init(prefix: String) throws {
            directory = try TemporaryDirectory(prefix: prefix)
            try FileManager.default.copyItem(atPath: cairnExecutablePath(), toPath: directory.appending("cairn"))
            guard chmod(directory.path, 0o755) == 0, chmod(directory.appending("cairn"), 0o755) == 0 else {
                throw CLIStoreError(message: "cannot open \(directory.path) to other users")
            }
            let initialised = try runCairn(["init", "--store", directory.appending("store")])
            guard initialised.status == 0 else {
                throw CLIStoreError(message: "init failed: \(initialised.stderrText)")
            }
        }

        /// Runs the copied `cairn` as `nobody` (through `setpriv`; this process must be root).
        func asNobody(
            _ arguments: [String],
            stdin: Data? = nil,
            environment: [String: String] = [:]
        ) throws
            -> ProcessResult
        {
            try runProcess(
                "/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", cairn] + arguments,
                stdin: stdin,
                environment: environment,
                currentDirectory: directory.path
            )
        }
    }

    /// Runs `cairn ARGUMENTS` as an unprivileged user: as `nobody` when this process is root, else as this user.
    func runUnprivileged(_ arguments: [String], in shared: SharedStore) throws -> ProcessResult {
        // The store is root's: these tests are about what the other user may read, so they ask to use it.
        if getuid() == 0 { return try shared.asNobody(arguments, environment: ["CAIRN_ALLOW_OTHER_OWNER": "1"]) }
        return try runProcess(shared.cairn, arguments, currentDirectory: shared.directory.path)
    }

    @Test func anUnreadableShardIsAnErrorNeverAbsent() throws {
        let shared = try SharedStore(prefix: "cairn-permissions")
        let store = shared.store
        let hidden = try runCairn(["put", "--store", store, "-"], stdin: Data("hidden bytes".utf8))
        let shown = try runCairn(["put", "--store", store, "-"], stdin: Data("bytes anyone may read".utf8))
        #expect(hidden.status == 0 && shown.status == 0)
        let hiddenDigest = try #require(hidden.stdoutText.split(separator: " ").first.map(String.init))
        let shownDigest = try #require(shown.stdoutText.split(separator: " ").first.map(String.init))
        let hex = String(hiddenDigest.dropFirst("sha256:".count))
        let shard = store + "/objects/sha256/" + hex.prefix(2)
        #expect(FileManager.default.fileExists(atPath: shard + "/" + hex))
        // Readable by its owner only; when the owner runs the check too, not even by the owner.
        #expect(chmod(shard, getuid() == 0 ? 0o700 : 0o000) == 0)
        defer { chmod(shard, 0o755) }

        // The same user sees the readable object, so the store itself is open to it.
        let control = try runUnprivileged(["has", "--store", store, shownDigest], in: shared)
        if hex.prefix(2) != shownDigest.dropFirst("sha256:".count).prefix(2) {
            #expect(control.status == 0, "\(control.stdoutText)\(control.stderrText)")
        }
        let result = try runUnprivileged(["has", "--store", store, hiddenDigest], in: shared)
        #expect(result.status == 2, "exit \(result.status): \(result.stdoutText)\(result.stderrText)")
        #expect(!result.stdoutText.contains("absent"))
        #expect(result.stderrText.lowercased().contains("permission"), "\(result.stderrText)")
    }

    @Test func aPutOfStoredBytesFailsWhenItCannotRestartTheirGracePeriod() throws {
        // The object belongs to another user and is read-only: its modification time cannot be set, so the put
        // cannot promise the garbage collector's grace period and must fail rather than report the bytes stored.
        guard getuid() == 0 else { return }  // only root can make a file another user cannot touch here
        let shared = try SharedStore(prefix: "cairn-permissions")
        let store = shared.store
        let bytes = Data("bytes stored by another user".utf8)
        let first = try runCairn(["put", "--store", store, "-"], stdin: bytes)
        #expect(first.status == 0)
        let digest = try #require(first.stdoutText.split(separator: " ").first.map(String.init))

        // The other user may stage its input in tmp/ (as a shared store's writers do).
        #expect(chmod(store + "/tmp", 0o1777) == 0)
        let has = try runUnprivileged(["has", "--store", store, digest], in: shared)
        #expect(has.status == 0, "the other user can read the store: \(has.stderrText)")
        let again = try shared.asNobody(
            ["put", "--store", store, "-"],
            stdin: bytes,
            environment: ["CAIRN_ALLOW_OTHER_OWNER": "1"]
        )
        #expect(again.status == 2, "exit \(again.status): \(again.stdoutText)\(again.stderrText)")
        #expect(again.stderrText.contains("grace period"), "\(again.stderrText)")
        #expect(!again.stdoutText.contains(digest), "a put that failed printed the digest")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").isEmpty, "no temporary left")
    }

    /// A store directory owned by another user is refused by every verb unless asked, and changes nothing.
    @Test(.enabled(if: getuid() == 0, "needs root to run cairn as another user"))
    func aStoreOwnedByAnotherUserIsRefusedUnlessAsked() throws {
        let shared = try SharedStore(prefix: "cairn-owner")
        let (directory, store) = (shared.directory, shared.store)
        let put = try runCairn(["put", "--store", store, "-"], stdin: Data("root's bytes".utf8))
        let digest = try #require(put.stdoutText.split(separator: " ").first.map(String.init), "\(put.stderrText)")
        for arguments in [["has", digest], ["cat", digest], ["fsck"], ["log"], ["ledger", "verify"]] {
            let refused = try shared.asNobody(arguments + ["--store", store])
            #expect(refused.status == 2, "\(arguments): exit \(refused.status): \(refused.stderrText)")
            #expect(refused.stderrText.contains("owned by uid 0"), "\(arguments): \(refused.stderrText)")
            #expect(refused.stderrText.contains("--allow-other-owner"), "\(refused.stderrText)")
            #expect(refused.stdout.isEmpty)
        }
        let pipeline = directory.appending("p.yaml")
        try "name: p\nsteps:\n  - {model: m, prompt: a, modality: text}\n".write(
            toFile: pipeline,
            atomically: true,
            encoding: .utf8
        )
        #expect(chmod(pipeline, 0o644) == 0)
        let run = try shared.asNobody(["run", "--store", store, pipeline])
        #expect(run.status == 2 && run.stderrText.contains("owned by uid 0"), "\(run.stderrText)")
        let before = try FileManager.default.subpathsOfDirectory(atPath: store).sorted()
        // Asked, by flag or by environment, the reads go through.
        #expect(try shared.asNobody(["has", "--allow-other-owner", "--store", store, digest]).status == 0)
        let allowed = try shared.asNobody(
            ["cat", "--store", store, digest],
            environment: ["CAIRN_ALLOW_OTHER_OWNER": "1"]
        )
        #expect(allowed.status == 0 && allowed.stdoutText == "root's bytes", "\(allowed.stderrText)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: store).sorted() == before)
    }

    /// Whatever the umask, the store is never group- or world-writable: directories 0755 at most, objects 0444,
    /// the signing key 0600.
    @Test func modesDoNotDependOnTheUmask() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-modes")
        let store = directory.appending("store")
        let file = directory.appending("input")
        try Data("some bytes".utf8).write(to: URL(fileURLWithPath: file))
        for arguments in [["init", "--store", store], ["put", "--store", store, file], ["log", "--store", store]] {
            let result = try runProcess(
                "/bin/sh",
                ["-c", "umask 000 && exec \"$0\" \"$@\"", cairnExecutablePath()] + arguments
            )
            #expect(result.status == 0, "\(arguments): \(result.stderrText)")
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: store)
        #expect(files.count > 5)
        for relative in files {
            let path = store + "/" + relative
            var info = stat()
            #expect(lstat(path, &info) == 0)
            let mode = info.st_mode & 0o7777
            #expect(mode & 0o022 == 0, "\(relative) has mode \(String(mode, radix: 8))")
            if relative.hasPrefix("objects/"), info.st_mode & S_IFMT == S_IFREG {
                #expect(mode == 0o444, "\(relative) has mode \(String(mode, radix: 8))")
            }
            if relative == "ledger/key" { #expect(mode == 0o600, "the signing key has mode \(String(mode, radix: 8))") }
        }
        #expect(files.contains("ledger/key"))
    }
}
