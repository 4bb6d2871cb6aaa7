import CairnCore
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnLedger

/// The asset sources `cairn verify` uses, called as a library.
@Suite(.timeLimit(.minutes(15)))
struct AssetSourceTests {
    let bytes = Array("asset bytes".utf8)
    var hex: String { ContentHasher.digest(of: bytes, algorithm: .sha256).hex }

    @Test func aBLAKE2bStoreFindsBytesBySHA256AfterHashingOnce() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-asset-source")
        let store = try ObjectStore.create(at: directory.appending("store"), algorithm: .blake2b256)
        let put = try store.put(bytes)
        let events = Events()
        let source = StoreAssetSource(store: store) { events.record($0) }

        let found = try source.sha256OfBytes(declaredSHA256: hex, url: "https://x/a.png")
        #expect(found?.sha256 == hex)
        #expect(found?.location == "store:" + put.digest.description)
        #expect(try source.sha256OfBytes(declaredSHA256: String(repeating: "0", count: 64), url: "") == nil)
        // The map is built once: one started, one advance per object, one finished.
        #expect(events.all == [.started(algorithm: .blake2b256, objectCount: 1), .advanced, .finished])
    }

    @Test func aDirectoryIsSearchedByDigestThenURLFileNameAndCombinedAfterTheStore() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-asset-source")
        let store = try ObjectStore.create(at: directory.appending("store"))
        let folder = directory.appending("assets")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/image.png"))
        let combined = CombinedAssetSource([StoreAssetSource(store: store), DirectoryAssetSource(directory: folder)])

        let byName = try combined.sha256OfBytes(declaredSHA256: hex, url: "https://x/image.png?sig=1")
        #expect(byName?.sha256 == hex)
        #expect(byName?.location == folder + "/image.png")
        #expect(try combined.sha256OfBytes(declaredSHA256: hex, url: "https://x/other.png") == nil)

        let put = try store.put(bytes)
        let inStore = try combined.sha256OfBytes(declaredSHA256: hex, url: "https://x/image.png")
        #expect(inStore?.location == "store:" + put.digest.description)

        let verdict = try ManifestVerdict.verify(bytes: Array("{}".utf8), byteSource: combined)
        #expect(verdict.outcome == .refused && !verdict.isVerified)
    }

    @Test func anUnreadableFileIsATypedErrorNamingThePath() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-asset-source")
        let path = directory.appending(hex)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0)
        defer { chmod(path, 0o644) }
        guard FileHandle(forReadingAtPath: path) == nil else { return }  // running as root: nothing to test
        #expect {
            try DirectoryAssetSource(directory: directory.path).sha256OfBytes(declaredSHA256: hex, url: "")
        } throws: { error in
            (error as? AssetSourceError)?.path == path && "\(error)" == "\(path): cannot read asset bytes"
        }
    }
}

/// Progress events heard by a callback.
private final class Events: @unchecked Sendable {
    // Invariant: `lock` guards `events`.
    private let lock = NSLock()
    private var events: [StoreAliasProgress] = []

    func record(_ event: StoreAliasProgress) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [StoreAliasProgress] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}
