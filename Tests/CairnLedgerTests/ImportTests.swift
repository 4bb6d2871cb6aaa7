import CairnCore
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

@testable import CairnLedger

@Suite(.timeLimit(.minutes(15)))
struct ImportTests {
    /// A sealed genblaze manifest whose one output asset is `bytes`, named `image.png` by its url.
    func manifest(bytes: [UInt8], parent: String? = nil) throws -> Manifest {
        let hex = ContentHasher.digest(of: bytes, algorithm: .sha256).hex
        let asset = Asset(url: "file:///outputs/image.png", mediaType: "image/png", sha256: hex)
        let step = Step(provider: "synthetic", model: "m", status: .succeeded, assets: [asset], stepIndex: 0)
        return try Manifest.from(run: Run(name: "imported", status: .completed, steps: [step], parentRunID: parent))
    }

    @Test(arguments: TestBackend.available)
    func importStoresCheckedAssetsAndRefusesBadManifests(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend)
        let assets = try TemporaryDirectory(prefix: "cairn-assets")
        let bytes = Array("png bytes".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: assets.appending("image.png")))
        let parent = try manifest(bytes: bytes)
        let result = try fixture.ledger.importManifest(
            bytes: try parent.canonicalFileBytes(),
            assetsDirectory: assets.path
        )
        let digest = ContentHasher.digest(of: bytes, algorithm: .sha256)
        #expect(result.assetsStored == [digest])
        #expect(try fixture.store.read(digest) == bytes)
        #expect(try fixture.ledger.runs(producing: digest).map(\.runID) == [parent.run.runID])
        #expect(try fixture.ledger.manifest(runID: parent.run.runID)?.canonicalHash == parent.canonicalHash)

        // A child through the contract API, then lineage.
        let child = try manifest(bytes: Array("other".utf8), parent: parent.run.runID)
        try fixture.ledger.appendManifest(child)
        #expect(try fixture.ledger.ancestors(of: child.run.runID).map(\.runID) == [parent.run.runID])

        // A tampered manifest (hash mismatch) is refused and nothing is appended.
        var text = String(decoding: try parent.canonicalFileBytes(), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"model\":\"m\"", with: "\"model\":\"n\"")
        let before = try fixture.ledger.size()
        let refused = #expect(throws: LedgerError.self) {
            try fixture.ledger.importManifest(bytes: Array(text.utf8))
        }
        #expect(refused?.code == .manifestInvalid)
        // Asset bytes that do not match the declared sha256 are refused before anything is stored or appended.
        try Data("not the png".utf8).write(to: URL(fileURLWithPath: assets.appending("image.png")))
        let other = try manifest(bytes: Array("declared".utf8))
        #expect(throws: LedgerError.self) {
            try fixture.ledger.importManifest(bytes: try other.canonicalFileBytes(), assetsDirectory: assets.path)
        }
        #expect(try fixture.ledger.size() == before)
    }

    @Test(arguments: TestBackend.available)
    func gcInABlake2bStoreKeepsImportedAssetsThatManifestsNameBySHA256(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, algorithm: .blake2b256)
        let assets = try TemporaryDirectory(prefix: "cairn-assets")
        let bytes = Array("png bytes kept by a manifest".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: assets.appending("image.png")))
        let imported = try fixture.ledger.importManifest(
            bytes: try manifest(bytes: bytes).canonicalFileBytes(),
            assetsDirectory: assets.path
        )
        let stored = try #require(imported.assetsStored.first)
        #expect(stored.algorithm == .blake2b256)
        let orphan = try fixture.store.put(Array("nobody names this".utf8)).digest
        let report = try fixture.ledger.collectGarbage(grace: 0)
        #expect(report.swept == [orphan])
        #expect(try fixture.store.read(stored) == bytes)
        #expect(try fixture.store.contains(imported.manifestDigest).isPresent)
    }

    /// Local objects only: the local store records each object's size at ingest, so a cut object cannot be read;
    /// a bucket keeps no such record, and an object cut short there reads (unverified) as its shorter bytes.
    @Test(arguments: TestBackend.withLocalObjects)
    func gcInABlake2bStoreRefusesAndRemovesNothingWhenACandidateCannotBeRead(backend: TestBackend) throws {
        let fixture = try LedgerFixture(backend, algorithm: .blake2b256)
        let assets = try TemporaryDirectory(prefix: "cairn-assets")
        let bytes = Array("png bytes kept by a manifest".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: assets.appending("image.png")))
        _ = try fixture.ledger.importManifest(
            bytes: try manifest(bytes: bytes).canonicalFileBytes(),
            assetsDirectory: assets.path
        )
        let orphan = try fixture.store.put(Array("nobody names this".utf8)).digest
        let cutBytes = Array("an object cut short on disk".utf8)
        let cut = try fixture.store.put(cutBytes).digest
        // Cut the second orphan short behind the store's back: its size no longer matches the recorded one.
        try fixture.instance.damageObject(cut, with: Array(cutBytes.prefix(3)))
        let error = #expect(throws: LedgerError.self) { try fixture.ledger.collectGarbage(grace: 0) }
        #expect(error?.code == .gcRefused)
        #expect(error?.description.contains(cut.description) == true)
        #expect(try fixture.store.contains(orphan).isPresent)
    }
}
