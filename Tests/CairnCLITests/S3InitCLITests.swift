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
