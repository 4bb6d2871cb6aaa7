import CairnCore
import CairnExport
import CairnLedger
import CairnManifest
import CairnPipeline
import CairnStore
import Foundation
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct ExportFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A store with two real pipeline runs: `parent` makes an image; `child` is chained from it (the image is its
/// input), its first step fails once and succeeds on the second attempt, and a second step follows.
struct ExportFixture {
    let directory: TemporaryDirectory
    let store: ObjectStore
    let ledger: Ledger
    let parent: String
    let child: String

    /// - Parameter storeParent: where to make the store (default: the fixture's own temporary directory).
    init(algorithm: DigestAlgorithm = .sha256, storeParent: String? = nil) async throws {
        directory = try TemporaryDirectory(prefix: "cairn-export")
        store = try ObjectStore.create(
            at: (storeParent ?? directory.path) + "/store",
            algorithm: algorithm,
            durability: .none
        )
        ledger = try Ledger.open(store: store)
        let synthetic = SyntheticProvider()
        let flaky = SyntheticProvider(name: "flaky", failingAttempts: 1)
        let first = try await Pipeline("hero-shot", ledger: ledger)
            .step(synthetic, model: "image-v1", prompt: "product on white", modality: .image, name: "still", seed: 7)
            .run()
        let second = try await Pipeline("hero-video", ledger: ledger, chain: true).from(first)
            .step(flaky, model: "video-v1", prompt: "slow zoom", modality: .video, name: "zoom")
            .step(synthetic, model: "caption-v1", prompt: "describe", modality: .text, name: "caption")
            .run()
        parent = first.runID
        child = second.runID
    }

    /// A fresh path (not created) inside the fixture's directory.
    func path(_ name: String) -> String { directory.appending(name) }
}

/// The permission bits of the file at `path`.
func permissions(_ path: String) throws -> mode_t {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw ExportFixtureError("cannot stat \(path)") }
    return info.st_mode & 0o7777
}

/// `stat` of `path`.
func fileStat(_ path: String) throws -> stat {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw ExportFixtureError("cannot stat \(path)") }
    return info
}

/// Replaces the bytes of a read-only file (as a user editing it would, after making it writable).
func overwrite(_ path: String, with bytes: [UInt8]) throws {
    guard chmod(path, 0o644) == 0 else { throw ExportFixtureError("cannot chmod \(path)") }
    let fd = open(path, O_WRONLY | O_TRUNC)
    guard fd >= 0 else { throw ExportFixtureError("cannot open \(path)") }
    defer { close(fd) }
    guard write(fd, bytes, bytes.count) == bytes.count else { throw ExportFixtureError("cannot write \(path)") }
}

/// Every regular file under `root`, relative, sorted.
func filesUnder(_ root: String) throws -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: root) else {
        throw ExportFixtureError("cannot list \(root)")
    }
    var result: [String] = []
    while let item = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root + "/" + item, isDirectory: &isDirectory), !isDirectory.boolValue
        {
            result.append(item)
        }
    }
    return result.sorted()
}

/// `mkfs.xfs` (Debian's xfsprogs, installed by scripts/setup.sh), when on the PATH.
let mkfsXFS: String? = {
    for directory in ["/usr/sbin", "/sbin", "/usr/bin"]
    where FileManager.default.isExecutableFile(
        atPath: directory + "/mkfs.xfs"
    ) {
        return directory + "/mkfs.xfs"
    }
    return nil
}()

/// An XFS filesystem with reflinks, in an image file mounted through a loop device (root only); unmounted (lazily,
/// if busy) when released.
final class ReflinkFilesystem {
    let directory: TemporaryDirectory
    let point: String
    private var mounted = false

    init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-xfs")
        let image = directory.appending("xfs.img")
        point = directory.appending("mnt")
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
        guard FileManager.default.createFile(atPath: image, contents: nil),
            truncate(image, 320 << 20) == 0
        else { throw ExportFixtureError("cannot make \(image)") }
        let mkfs = try runProcess(mkfsXFS ?? "mkfs.xfs", ["-q", "-m", "reflink=1", image])
        guard mkfs.status == 0 else { throw ExportFixtureError("mkfs.xfs failed: \(mkfs.stderrText)") }
        let mount = try runProcess("/usr/bin/mount", ["-o", "loop", image, point])
        guard mount.status == 0 else { throw ExportFixtureError("mount failed: \(mount.stderrText)") }
        mounted = true
    }

    deinit {
        guard mounted else { return }
        if (try? runProcess("/usr/bin/umount", [point]))?.status != 0 {
            _ = try? runProcess("/usr/bin/umount", ["-l", point])
        }
    }
}

/// A tiny HTTP JSON provider (Python's http.server on 127.0.0.1) that answers every POST at once with the prompt,
/// upper-cased, as a text output; stopped when released.
final class EchoJobServer {
    let server: PythonServer
    var port: Int { server.port }

    init() throws {
        let script = #"""
            import json, base64, os, sys, threading
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            class H(BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_POST(self):
                    body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))))
                    out = base64.b64encode((body.get('prompt') or '').upper().encode()).decode()
                    reply = json.dumps({"id": "job-1", "status": "succeeded",
                                        "outputs": [{"media_type": "text/plain", "data_base64": out}]}).encode()
                    self.send_response(200)
                    self.send_header('X-Request-Id', 'req-1')
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(reply)))
                    self.end_headers(); self.wfile.write(reply)
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            server = ThreadingHTTPServer(('127.0.0.1', 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#
        server = try PythonServer(script: script)
    }

    var endpoint: URL {
        get throws {
            guard let url = URL(string: "http://127.0.0.1:\(port)/jobs") else { throw ExportFixtureError("bad URL") }
            return url
        }
    }
}
