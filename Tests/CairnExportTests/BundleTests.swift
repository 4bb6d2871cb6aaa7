import CairnCore
import CairnExport
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

/// The checked-in vector: spec/vectors/bundle/.
private let vectorDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("spec/vectors/bundle").path

/// Whether a tampered bundle was refused: a malformed-input error, or a report with a named failure.
private func refusal(_ bytes: [UInt8], key: String?) -> String? {
    do {
        let report = try RunBundle.verify(bytes: bytes, key: key)
        guard let failure = report.failures.first else { return nil }
        return failure.subject.isEmpty || failure.message.isEmpty ? nil : failure.line
    } catch let error as ExportError {
        return error.message.isEmpty ? nil : error.message
    } catch {
        return "\(error)"
    }
}

@Suite(.timeLimit(.minutes(15)))
struct BundleTests {
    @Test func aBundleVerifiesWithNoStoreAndNamesItsKeySource() async throws {
        let fixture = try await ExportFixture()
        let bytes = try RunBundle.make(ledger: fixture.ledger, runID: fixture.child)
        let pinned = try RunBundle.verify(bytes: bytes, key: fixture.ledger.verifier.encoded)
        #expect(pinned.isValid, "\(pinned.failures.map(\.line))")
        #expect(!pinned.keyFromInput)
        #expect(pinned.runID == fixture.child)
        // The manifest entry and all three receipts are proven.
        #expect(pinned.findings.filter { $0.subject.hasPrefix("entries[") && $0.ok }.count == 4)
        let unpinned = try RunBundle.verify(bytes: bytes)
        #expect(unpinned.isValid)
        #expect(unpinned.keyFromInput)
        // Another key: the checkpoint does not verify.
        let otherFixture = try await ExportFixture()
        let other = try RunBundle.verify(bytes: bytes, key: otherFixture.ledger.verifier.encoded)
        #expect(!other.isValid)
        #expect(other.failures.contains { $0.subject == "verifier_key" })
        // A malformed pinned key is bad input.
        #expect(throws: ExportError.self) { try RunBundle.verify(bytes: bytes, key: "not-a-key") }
    }

    @Test func assetBytesAreCheckedWhenAFolderOfThemIsGiven() async throws {
        let fixture = try await ExportFixture()
        let bytes = try RunBundle.make(ledger: fixture.ledger, runID: fixture.parent)
        let assets = fixture.path("assets")
        try FileManager.default.createDirectory(atPath: assets, withIntermediateDirectories: false)
        let output = try #require(try fixture.ledger.receipts(runID: fixture.parent).first?.outputs.first)
        let image = try fixture.store.read(output.digest)
        let sha256 = ContentHasher.digest(of: image, algorithm: .sha256).hex
        try Data(image).write(to: URL(fileURLWithPath: assets + "/" + sha256))
        let good = try RunBundle.verify(bytes: bytes, assets: DirectoryAssetSource(directory: assets))
        #expect(good.isValid, "\(good.failures.map(\.line))")
        try Data("other bytes".utf8).write(to: URL(fileURLWithPath: assets + "/" + sha256))
        let bad = try RunBundle.verify(bytes: bytes, assets: DirectoryAssetSource(directory: assets))
        #expect(!bad.isValid)
        #expect(bad.failures.allSatisfy { $0.subject == "manifest" })
    }

    @Test func changingAnyByteOrTruncatingTheBundleFailsNamingWhat() async throws {
        let fixture = try await ExportFixture()
        let bytes = try RunBundle.make(ledger: fixture.ledger, runID: fixture.parent)
        let key = fixture.ledger.verifier.encoded
        #expect(try RunBundle.verify(bytes: bytes, key: key).isValid)
        var accepted: [String] = []
        for position in bytes.indices {
            for change: UInt8 in [0x01, 0x20] {
                var tampered = bytes
                tampered[position] ^= change
                if refusal(tampered, key: key) == nil {
                    accepted.append("byte \(position) ^ \(change)")
                }
            }
        }
        for length in 0..<bytes.count where refusal(Array(bytes[0..<length]), key: key) == nil {
            accepted.append("truncated to \(length)")
        }
        #expect(accepted.isEmpty, "tampered copies that verified: \(accepted.prefix(20))")
        // Without a pinned key, a tampered key or signature still fails.
        for position in bytes.indices where position % 7 == 0 {
            var tampered = bytes
            tampered[position] ^= 0x01
            #expect(refusal(tampered, key: nil) != nil, "byte \(position) unpinned")
        }
    }

    @Test func theSpecVectorVerifiesWithItsKeyAndFailsTampered() throws {
        let bundle = Array(try Data(contentsOf: URL(fileURLWithPath: vectorDirectory + "/run.bundle")))
        let key = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: vectorDirectory + "/key.pub")),
            as: UTF8.self
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let report = try RunBundle.verify(bytes: bundle, key: key)
        #expect(report.isValid, "\(report.failures.map(\.line))")
        var tampered = bundle
        tampered[tampered.count / 2] ^= 0x01
        #expect(refusal(tampered, key: key) != nil)
    }
}
