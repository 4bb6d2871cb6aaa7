import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

private struct CLIFixtureError: Error, CustomStringConvertible {
    let description: String
}

/// A store made with `cairn init`, with one run of a two-step pipeline made by `cairn run`.
private struct ElsewhereFixture {
    let directory: TemporaryDirectory
    var store: String { directory.appending("store") }
    let runID: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-elsewhere")
        let store = directory.appending("store")
        let initResult = try runCairn(["init", "--store", store])
        guard initResult.status == 0 else { throw CLIFixtureError(description: initResult.stderrText) }
        let pipeline = directory.appending("p.yaml")
        try """
        name: hero-shot
        chain: true
        steps:
          - {name: still, model: image-v1, prompt: "product on white", modality: image}
          - {name: caption, model: caption-v1, prompt: "describe", modality: text}
        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let run = try runCairn(["run", "--json", "--store", store, pipeline])
        guard run.status == 0,
            let runs = try JSONSerialization.jsonObject(with: run.stdout) as? [[String: Any]],
            let id = runs.first?["run_id"] as? String
        else { throw CLIFixtureError(description: "cairn run failed: \(run.stderrText)") }
        runID = id
    }

    func cairn(_ arguments: [String]) throws -> ProcessResult {
        try runCairn(arguments)
    }
}

@Suite(.timeLimit(.minutes(15)))
struct TakeItElsewhereCLITests {
    @Test func checkoutThenVerifyNamesAnEditedFile() throws {
        let fixture = try ElsewhereFixture()
        let folder = fixture.directory.appending("run")
        let checkout = try fixture.cairn(["checkout", "--store", fixture.store, fixture.runID, folder])
        #expect(checkout.status == 0, "\(checkout.stderrText)")
        #expect(checkout.stdoutText.contains("checked out run \(fixture.runID)"))
        let verified = try fixture.cairn(["verify", folder])
        #expect(verified.status == 0, "\(verified.stderrText)")
        #expect(verified.stdoutText.contains("OK: run folder"))
        let report = try fixture.cairn(["verify", "--json", folder])
        #expect(report.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: report.stdout) as? [String: Any])
        #expect(json["valid"] as? Bool == true)
        #expect(json["run_id"] as? String == fixture.runID)
        #expect((json["findings"] as? [[String: Any]])?.count == 5)

        let edited = folder + "/steps/000_still/output-1.png"
        #expect(chmod(edited, 0o644) == 0)
        try Data("edited".utf8).write(to: URL(fileURLWithPath: edited))
        let failed = try fixture.cairn(["verify", folder])
        #expect(failed.status == 1)
        #expect(failed.stderrText.contains("FAIL: steps/000_still/output-1.png: differs"), "\(failed.stderrText)")
        let failedJSON = try fixture.cairn(["verify", "--json", folder])
        #expect(failedJSON.status == 1)
        let failedReport = try #require(try JSONSerialization.jsonObject(with: failedJSON.stdout) as? [String: Any])
        let failures = (failedReport["findings"] as? [[String: Any]] ?? []).filter { $0["ok"] as? Bool == false }
        #expect(failures.compactMap { $0["subject"] as? String } == ["steps/000_still/output-1.png"])
        // A folder that is not a run folder is bad input.
        #expect(try fixture.cairn(["verify", fixture.directory.path]).status == 2)

        // A second checkout into the same (non-empty) folder is refused; a missing run is bad input.
        let again = try fixture.cairn(["checkout", "--store", fixture.store, fixture.runID, folder])
        #expect(again.status == 2)
        #expect(again.stderrText.contains("not empty"))
        let unknown = try fixture.cairn(["checkout", "--store", fixture.store, "no-such-run", folder + "-x"])
        #expect(unknown.status == 2)
        #expect(!FileManager.default.fileExists(atPath: folder + "-x"))
    }

    @Test func editingAHardLinkedCheckoutChangesTheStoreAndFsckFindsIt() throws {
        let fixture = try ElsewhereFixture()
        let folder = fixture.directory.appending("linked")
        let checkout = try fixture.cairn([
            "checkout", "--link", "--json", "--store", fixture.store, fixture.runID, folder,
        ])
        #expect(checkout.status == 0, "\(checkout.stderrText)")
        let summary = try #require(try JSONSerialization.jsonObject(with: checkout.stdout) as? [String: Any])
        #expect(summary["linked"] as? Int == 2)
        #expect(try fixture.cairn(["fsck", "--store", fixture.store]).status == 0)
        let linked = folder + "/steps/001_caption/output-1.txt"
        #expect(chmod(linked, 0o644) == 0)
        let handle = try #require(FileHandle(forUpdatingAtPath: linked))
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data("X".utf8))
        try handle.close()
        let fsck = try fixture.cairn(["fsck", "--store", fixture.store])
        #expect(fsck.status == 1, "\(fsck.stdoutText)\(fsck.stderrText)")
    }

    @Test func aBundleVerifiesOfflineAndATamperedOneFails() throws {
        let fixture = try ElsewhereFixture()
        let bundle = fixture.directory.appending("run.bundle")
        let made = try fixture.cairn(["bundle", "--store", fixture.store, fixture.runID, "-o", bundle])
        #expect(made.status == 0, "\(made.stderrText)")
        // No store anywhere: runCairn runs in an empty directory with a CAIRN_HOME that holds none.
        let key = fixture.store + "/ledger/key.pub"
        let verified = try fixture.cairn(["verify", "--bundle", bundle, "--key", key])
        #expect(verified.status == 0, "\(verified.stderrText)")
        #expect(verified.stdoutText.contains("OK: bundle"))
        let unpinned = try fixture.cairn(["verify", "--bundle", bundle])
        #expect(unpinned.status == 0)
        #expect(unpinned.stdoutText.contains("pass --key"))

        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: bundle)))
        let manifestStart = try #require(String(decoding: bytes, as: UTF8.self).range(of: "\"manifest\":\"")).upperBound
        let offset =
            String(decoding: bytes, as: UTF8.self).utf8.distance(
                from: String(decoding: bytes, as: UTF8.self).startIndex,
                to: manifestStart
            ) + 40
        bytes[offset] = bytes[offset] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let tampered = fixture.directory.appending("tampered.bundle")
        try Data(bytes).write(to: URL(fileURLWithPath: tampered))
        let failed = try fixture.cairn(["verify", "--bundle", tampered, "--key", key])
        #expect(failed.status == 1, "\(failed.stderrText)")
        #expect(failed.stderrText.contains("FAIL: manifest"), "\(failed.stderrText)")

        let garbage = fixture.directory.appending("garbage.bundle")
        try Data("not json".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(try fixture.cairn(["verify", "--bundle", garbage]).status == 2)
        #expect(try fixture.cairn(["verify", "--bundle", fixture.directory.appending("missing")]).status == 2)
        #expect(try fixture.cairn(["bundle", "--store", fixture.store, "no-such-run", "-o", garbage]).status == 2)
    }

    @Test func aSignedInTotoExportVerifiesAgainstTheStore() throws {
        let fixture = try ElsewhereFixture()
        let exported = try fixture.cairn(["export", "intoto", "--sign", "--store", fixture.store, fixture.runID])
        #expect(exported.status == 0, "\(exported.stderrText)")
        let envelope = fixture.directory.appending("run.intoto.json")
        try exported.stdout.write(to: URL(fileURLWithPath: envelope))
        let verified = try fixture.cairn(["verify", "--attestation", envelope, "--store", fixture.store])
        #expect(verified.status == 0, "\(verified.stderrText)")
        #expect(verified.stdoutText.contains("DSSE signature"))

        let bare = try fixture.cairn(["export", "intoto", "--store", fixture.store, fixture.runID])
        #expect(bare.status == 0)
        let statement = try #require(try JSONSerialization.jsonObject(with: bare.stdout) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        let bareFile = fixture.directory.appending("bare.json")
        try bare.stdout.write(to: URL(fileURLWithPath: bareFile))
        let unsigned = try fixture.cairn(["verify", "--attestation", bareFile, "--store", fixture.store])
        #expect(unsigned.status == 1)
        #expect(unsigned.stderrText.contains("not signed"))

        let garbage = fixture.directory.appending("garbage.json")
        try Data("[1, 2".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(try fixture.cairn(["verify", "--attestation", garbage, "--store", fixture.store]).status == 2)
        #expect(try fixture.cairn(["export", "intoto", "--store", fixture.store, "no-such-run"]).status == 2)
        #expect(try fixture.cairn(["verify", "--attestation", envelope, "--bundle", envelope]).status == 2)
    }
}
