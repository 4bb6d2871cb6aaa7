import Foundation
import Testing
import _CairnTestSupport

/// `cairn init --objects s3://...` in a build without the S3 trait (the default): a clear refusal, exit 2, and
/// nothing written. (With the trait, CairnS3ServerTests runs it against a real server.)
@Suite(.timeLimit(.minutes(15)))
struct S3InitCLITests {
    #if !S3
    @Test func aBuildWithoutS3SaysSoAndWritesNothing() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-s3-init")
        let store = directory.appending("store")
        let result = try runCairn(["init", "--store", store, "--objects", "s3://bucket/prefix"])
        #expect(result.status == 2)
        #expect(result.stderrText.contains("built without S3 support"), "\(result.stderrText)")
        #expect(result.stderrText.contains("--traits S3"), "\(result.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }

    /// A store whose `s3.json` names a bucket (made by a build with the trait) is refused by every verb that reaches
    /// objects, naming the location and the trait, and nothing is written under the local `objects/`.
    @Test func aBuildWithoutS3RefusesAStoreWhoseObjectsAreInS3() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-s3-store")
        let store = directory.appending("store")
        #expect(try runCairn(["init", "--store", store]).status == 0)
        try Data(#"{"bucket":"team","prefix":"objects-here","endpoint":"http://127.0.0.1:9"}"#.utf8)
            .write(to: URL(fileURLWithPath: store + "/s3.json"))
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        for arguments in [["put", "-"], ["has", digest], ["cat", digest], ["gc"], ["ledger", "verify"], ["fsck"]] {
            let result = try runCairn(arguments + ["--store", store], stdin: Data("bytes".utf8))
            let what = arguments.joined(separator: " ")
            #expect(result.status == 2, "\(what): \(result.stderrText)")
            #expect(result.stderrText.contains("s3://team/objects-here"), "\(what): \(result.stderrText)")
        }
        let put = try runCairn(["put", "-", "--store", store], stdin: Data("bytes".utf8))
        #expect(put.stderrText.contains("--traits S3"), "\(put.stderrText)")
        let objects = (FileManager.default.enumerator(atPath: store + "/objects")?.allObjects as? [String] ?? [])
            .filter { $0.split(separator: "/").count > 2 }  // sha256/ab/<hex>: a stored object, not a shard directory
        #expect(objects.isEmpty, "\(objects)")
    }
    #endif

    @Test func anEndpointWithoutObjectsIsAUsageError() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-s3-init")
        let store = directory.appending("store")
        let result = try runCairn(["init", "--store", store, "--s3-endpoint", "http://127.0.0.1:9"])
        #expect(result.status == 2)
        #expect(result.stderrText.contains("--s3-endpoint goes with --objects"), "\(result.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }
}
