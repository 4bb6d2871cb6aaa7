import CairnCore
import CairnStore
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

/// The local store passes the object-backend contract (spec/backends.md), in every algorithm and durability.
@Suite(.timeLimit(.minutes(15)))
struct ObjectBackendContractTests {
    @Test(arguments: [DigestAlgorithm.sha256, .blake2b256], [Durability.object, .batch, .none])
    func localStorePassesTheContract(algorithm: DigestAlgorithm, durability: Durability) throws {
        let directory = try TemporaryDirectory(prefix: "cairn-contract")
        let store = try ObjectStore.create(
            at: directory.appending("store"),
            algorithm: algorithm,
            durability: durability
        )
        try ObjectBackendConformance.run(store, scratch: directory.path) { digest, bytes in
            // Replace the object's file, as a disk error or a hand edit would.
            let path = store.objectPath(for: digest)
            try FileManager.default.removeItem(atPath: path)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }
}
