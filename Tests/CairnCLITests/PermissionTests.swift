import Foundation
import Testing
import _CairnTestSupport

/// "An unreadable object is an error, never absent", checked as a user the permissions apply to: root reads every
/// directory, so when the tests run as root the `cairn` under test runs as `nobody` (through `setpriv`).
@Suite(.timeLimit(.minutes(15)))
struct PermissionTests {
    /// Runs `cairn ARGUMENTS` as an unprivileged user: as `nobody` when this process is root, else as this user.
    func runUnprivileged(_ arguments: [String], cairn: String, in directory: String) throws -> ProcessResult {
        if getuid() == 0 {
            return try runProcess(
                "/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", cairn] + arguments,
                currentDirectory: directory
            )
        }
        return try runProcess(cairn, arguments, currentDirectory: directory)
    }

    @Test func anUnreadableShardIsAnErrorNeverAbsent() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-permissions")
        // The other user must reach the store and the binary (a clone's build folder may be private).
        #expect(chmod(directory.path, 0o755) == 0)
        let cairn = directory.appending("cairn")
        try FileManager.default.copyItem(atPath: cairnExecutablePath(), toPath: cairn)
        #expect(chmod(cairn, 0o755) == 0)
        let store = directory.appending("store")
        #expect(try runCairn(["init", "--store", store]).status == 0)
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
        let control = try runUnprivileged(["has", "--store", store, shownDigest], cairn: cairn, in: directory.path)
        if hex.prefix(2) != shownDigest.dropFirst("sha256:".count).prefix(2) {
            #expect(control.status == 0, "\(control.stdoutText)\(control.stderrText)")
        }
        let result = try runUnprivileged(["has", "--store", store, hiddenDigest], cairn: cairn, in: directory.path)
        #expect(result.status == 2, "exit \(result.status): \(result.stdoutText)\(result.stderrText)")
        #expect(!result.stdoutText.contains("absent"))
        #expect(result.stderrText.lowercased().contains("permission"), "\(result.stderrText)")
    }

    @Test func aPutOfStoredBytesFailsWhenItCannotRestartTheirGracePeriod() throws {
        // The object belongs to another user and is read-only: its modification time cannot be set, so the put
        // cannot promise the garbage collector's grace period and must fail rather than report the bytes stored.
        guard getuid() == 0 else { return }  // only root can make a file another user cannot touch here
        let directory = try TemporaryDirectory(prefix: "cairn-permissions")
        #expect(chmod(directory.path, 0o755) == 0)
        let cairn = directory.appending("cairn")
        try FileManager.default.copyItem(atPath: cairnExecutablePath(), toPath: cairn)
        #expect(chmod(cairn, 0o755) == 0)
        let store = directory.appending("store")
        #expect(try runCairn(["init", "--store", store]).status == 0)
        let bytes = Data("bytes stored by another user".utf8)
        let first = try runCairn(["put", "--store", store, "-"], stdin: bytes)
        #expect(first.status == 0)
        let digest = try #require(first.stdoutText.split(separator: " ").first.map(String.init))

        // The other user may stage its input in tmp/ (as a shared store's writers do).
        #expect(chmod(store + "/tmp", 0o1777) == 0)
        let has = try runUnprivileged(["has", "--store", store, digest], cairn: cairn, in: directory.path)
        #expect(has.status == 0, "the other user can read the store: \(has.stderrText)")
        let again = try runProcess(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", cairn, "put", "--store", store, "-"],
            stdin: bytes,
            currentDirectory: directory.path
        )
        #expect(again.status == 2, "exit \(again.status): \(again.stdoutText)\(again.stderrText)")
        #expect(again.stderrText.contains("grace period"), "\(again.stderrText)")
        #expect(!again.stdoutText.contains(digest), "a put that failed printed the digest")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/tmp").isEmpty, "no temporary left")
    }
}
