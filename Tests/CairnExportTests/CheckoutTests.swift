import CairnCore
import CairnExport
import CairnLedger
import CairnManifest
import CairnPipeline
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite(.timeLimit(.minutes(15)))
struct CheckoutTests {
    @Test func aCheckoutHoldsTheManifestInputsOutputsAndOneReceiptPerAttempt() async throws {
        let fixture = try await ExportFixture()
        let target = fixture.path("run")
        let result = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: target)
        let files = try filesUnder(target)
        #expect(
            files == [
                "inputs/input-1.png",
                "manifest.json",
                "steps/000_zoom/attempt-1/receipt.json",
                "steps/000_zoom/attempt-2/receipt.json",
                "steps/000_zoom/output-1.apng",
                "steps/001_caption/attempt-1/receipt.json",
                "steps/001_caption/output-1.txt",
            ],
            "\(files)"
        )
        // manifest.json is the stored manifest, byte for byte; each receipt is its ledger entry.
        let stored = try #require(try fixture.ledger.manifestBytes(runID: fixture.child))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: target + "/manifest.json"))) == stored)
        let receipts = try fixture.ledger.receipts(runID: fixture.child)
        #expect(receipts.map(\.attempt) == [1, 2, 1])
        #expect(receipts[0].status == .failed)
        let first = try LedgerEntry.decode(
            Array(try Data(contentsOf: URL(fileURLWithPath: target + "/steps/000_zoom/attempt-1/receipt.json")))
        )
        #expect(first.entry == .receipt(receipts[0]))
        // Each output is its object's bytes; the input is the parent's image.
        let zoomOutput = try #require(receipts[1].outputs.first)
        #expect(
            Array(try Data(contentsOf: URL(fileURLWithPath: target + "/steps/000_zoom/output-1.apng")))
                == (try fixture.store.read(zoomOutput.digest))
        )
        let parentOutput = try #require(try fixture.ledger.receipts(runID: fixture.parent).first?.outputs.first)
        #expect(
            Array(try Data(contentsOf: URL(fileURLWithPath: target + "/inputs/input-1.png")))
                == (try fixture.store.read(parentOutput.digest))
        )
        // Read-only, and not hard links: the store's objects keep one link.
        for file in files { #expect(try permissions(target + "/" + file) == 0o444, "\(file)") }
        #expect(try fileStat(fixture.store.objectPath(for: zoomOutput.digest)).st_nlink == 1)
        #expect(result.reflinked + result.copied == 3)
        #expect(result.linked == 0)
        #expect(result.written == 4)
        // The folder verifies.
        let report = try RunFolderVerifier.verify(directory: target)
        #expect(report.isValid, "\(report.failures.map(\.line))")
        #expect(report.runID == fixture.child)
    }

    @Test(
        .enabled(if: getuid() == 0, "reflink checkouts are tested on an XFS image, which needs root to mount"),
        .enabled(if: mkfsXFS != nil, "mkfs.xfs is missing: run scripts/setup.sh (Debian's xfsprogs)")
    )
    func onAReflinkFilesystemFilesAreReflinksThatCopyOnWrite() async throws {
        let filesystem = try ReflinkFilesystem()
        try await Self.checkReflinks(on: filesystem.point)
    }

    /// Checks out on `point` (a reflink filesystem) and shows the files are reflinks the store does not share writes
    /// with.
    private static func checkReflinks(on point: String) async throws {
        let fixture = try await ExportFixture(storeParent: point)
        let target = point + "/run"
        let result = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: target)
        #expect(result.reflinked == 3)
        #expect(result.copied == 0)
        #expect(try RunFolderVerifier.verify(directory: target).isValid)
        // Copy on write: editing the reflinked file leaves the store's object whole.
        let output = try #require(try fixture.ledger.receipts(runID: fixture.child)[1].outputs.first)
        try overwrite(target + "/steps/000_zoom/output-1.apng", with: Array("edited".utf8))
        #expect(try fixture.store.read(output.digest).count > 6)
        #expect(try fileStat(fixture.store.objectPath(for: output.digest)).st_nlink == 1)
    }

    @Test func providerRecordsGoIntoTheLastAttemptsFolder() async throws {
        let fixture = try await ExportFixture()
        let shell = ProcessProvider(
            name: "shell",
            command: [
                "/bin/sh", "-c", "echo said \"$CAIRN_PROMPT\"; echo warned >&2; echo out > \"$CAIRN_OUTPUT_DIR/o.txt\"",
            ],
            modalities: [.text]
        )
        let run = try await Pipeline("local-tool", ledger: fixture.ledger)
            .step(shell, model: "sh", prompt: "hello", modality: .text, name: "tool")
            .run()
        let target = fixture.path("tool")
        _ = try RunCheckout.checkout(ledger: fixture.ledger, runID: run.runID, into: target)
        let files = try filesUnder(target)
        #expect(files.contains("steps/000_tool/attempt-1/stdout.txt"), "\(files)")
        #expect(files.contains("steps/000_tool/attempt-1/stderr.txt"), "\(files)")
        let stdout = try String(contentsOfFile: target + "/steps/000_tool/attempt-1/stdout.txt", encoding: .utf8)
        #expect(stdout == "said hello\n")
        #expect(try RunFolderVerifier.verify(directory: target).isValid)
        // A record is checked like any other file.
        try overwrite(target + "/steps/000_tool/attempt-1/stderr.txt", with: Array("quiet\n".utf8))
        let report = try RunFolderVerifier.verify(directory: target)
        #expect(report.failures.map(\.subject) == ["steps/000_tool/attempt-1/stderr.txt"])
    }

    @Test func aBlake2bStoreChecksOutVerifiesAndBundles() async throws {
        let fixture = try await ExportFixture(algorithm: .blake2b256)
        let target = fixture.path("run")
        _ = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: target)
        let report = try RunFolderVerifier.verify(directory: target)
        #expect(report.isValid, "\(report.failures.map(\.line))")
        // Outputs are checked by their BLAKE2b-256 object digest and by the manifest's SHA-256.
        let output = try #require(try fixture.ledger.receipts(runID: fixture.child)[1].outputs.first)
        #expect(output.digest.algorithm == .blake2b256)
        #expect(report.findings.contains { $0.ok && $0.message == output.digest.description })
        let bundle = try RunBundle.make(ledger: fixture.ledger, runID: fixture.child)
        let checked = try RunBundle.verify(bytes: bundle, key: fixture.ledger.verifier.encoded)
        #expect(checked.isValid, "\(checked.failures.map(\.line))")
    }

    @Test func anHTTPProvidersRequestAndResponseBodiesAreCheckedOut() async throws {
        let server = try EchoJobServer()
        let fixture = try await ExportFixture()
        let http = HTTPProvider(name: "echo", endpoint: try server.endpoint, modalities: [.text])
        let run = try await Pipeline("http-tool", ledger: fixture.ledger)
            .step(http, model: "echo-v1", prompt: "shout this", modality: .text, name: "shout")
            .run()
        let target = fixture.path("http")
        _ = try RunCheckout.checkout(ledger: fixture.ledger, runID: run.runID, into: target)
        let files = try filesUnder(target)
        #expect(files.contains("steps/000_shout/attempt-1/request.json"), "\(files)")
        #expect(files.contains("steps/000_shout/attempt-1/response.json"), "\(files)")
        let request = try String(contentsOfFile: target + "/steps/000_shout/attempt-1/request.json", encoding: .utf8)
        #expect(request.contains("shout this"))
        let response = try String(contentsOfFile: target + "/steps/000_shout/attempt-1/response.json", encoding: .utf8)
        #expect(response.contains("job-1"))
        let output = try String(contentsOfFile: target + "/steps/000_shout/output-1.txt", encoding: .utf8)
        #expect(output == "SHOUT THIS")
        #expect(try RunFolderVerifier.verify(directory: target).isValid)
    }

    @Test func linkModeMakesHardLinksToTheStoresObjects() async throws {
        let fixture = try await ExportFixture()
        let target = fixture.path("linked")
        let result = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.parent, into: target, mode: .link)
        #expect(result.linked == 1)
        #expect(result.copied + result.reflinked == 0)
        let output = try #require(try fixture.ledger.receipts(runID: fixture.parent).first?.outputs.first)
        let object = try fileStat(fixture.store.objectPath(for: output.digest))
        let linked = try fileStat(target + "/steps/000_still/output-1.png")
        #expect(object.st_ino == linked.st_ino)
        #expect(object.st_nlink == 2)
        #expect(try RunFolderVerifier.verify(directory: target).isValid)
    }

    @Test func aCheckoutRefusesANonEmptyDirectoryAndLeavesNothingBehind() async throws {
        let fixture = try await ExportFixture()
        let target = fixture.path("busy")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: target + "/notes.txt"))
        let error = #expect(throws: ExportError.self) {
            try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: target)
        }
        #expect(error?.code == .exists)
        #expect(try filesUnder(target) == ["notes.txt"])
        // An empty directory is fine, and no temporary sibling is left anywhere.
        let empty = fixture.path("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        _ = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: empty)
        #expect(try RunFolderVerifier.verify(directory: empty).isValid)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path)
        #expect(siblings.sorted() == ["busy", "empty", "store"], "\(siblings)")
        // An unknown run makes nothing.
        let unknown = #expect(throws: ExportError.self) {
            try RunCheckout.checkout(ledger: fixture.ledger, runID: "no-such-run", into: fixture.path("none"))
        }
        #expect(unknown?.code == .notFound)
        #expect(!FileManager.default.fileExists(atPath: fixture.path("none")))
    }

    @Test func aCheckoutOfACorruptObjectFailsAndLeavesNothing() async throws {
        let fixture = try await ExportFixture()
        let output = try #require(try fixture.ledger.receipts(runID: fixture.parent).first?.outputs.first)
        try overwrite(fixture.store.objectPath(for: output.digest), with: Array("not the image".utf8))
        #expect(throws: (any Error).self) {
            try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.parent, into: fixture.path("bad"))
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.path("bad")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path) == ["store"])
    }

    @Test func verifyNamesTheFileThatDiffersIsMissingOrDoesNotBelong() async throws {
        let fixture = try await ExportFixture()
        let target = fixture.path("run")
        _ = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: target)
        let output = "steps/000_zoom/output-1.apng"
        try overwrite(target + "/" + output, with: Array("edited".utf8))
        var report = try RunFolderVerifier.verify(directory: target)
        #expect(!report.isValid)
        #expect(report.failures.map(\.subject) == [output], "\(report.failures.map(\.line))")
        #expect(report.failures.first?.message.contains("differs") == true)

        try FileManager.default.removeItem(atPath: target + "/inputs/input-1.png")
        try Data("extra".utf8).write(to: URL(fileURLWithPath: target + "/steps/notes.txt"))
        report = try RunFolderVerifier.verify(directory: target)
        #expect(
            Set(report.failures.map(\.subject)) == [output, "inputs/input-1.png", "steps/notes.txt"],
            "\(report.failures.map(\.line))"
        )

        // An edited receipt (another run id) and an edited manifest are named too.
        let other = fixture.path("other")
        _ = try RunCheckout.checkout(ledger: fixture.ledger, runID: fixture.child, into: other)
        let receiptPath = other + "/steps/001_caption/attempt-1/receipt.json"
        let receipt = String(decoding: try Data(contentsOf: URL(fileURLWithPath: receiptPath)), as: UTF8.self)
        try overwrite(
            receiptPath,
            with: Array(receipt.replacingOccurrences(of: fixture.child, with: fixture.parent).utf8)
        )
        let manifestPath = other + "/manifest.json"
        let manifest = String(decoding: try Data(contentsOf: URL(fileURLWithPath: manifestPath)), as: UTF8.self)
        try overwrite(manifestPath, with: Array(manifest.replacingOccurrences(of: "slow zoom", with: "fast zoom").utf8))
        report = try RunFolderVerifier.verify(directory: other)
        #expect(
            Set(report.failures.map(\.subject)) == ["manifest.json", "steps/001_caption/attempt-1/receipt.json"],
            "\(report.failures.map(\.line))"
        )
        // Not a run folder at all: an error, not a report.
        #expect(throws: ExportError.self) { try RunFolderVerifier.verify(directory: fixture.directory.path) }
    }
}
