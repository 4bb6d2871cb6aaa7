#if S3
import CairnCore
import CairnS3
import CairnStore
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

/// The S3 backend against a real S3-compatible server: the object-backend conformance suite of spec/backends.md
/// and the S3 promises of spec/s3.md. Needs `CAIRN_S3_ENDPOINT`, `CAIRN_S3_BUCKET` and the `AWS_*` credentials
/// (`scripts/s3-server.sh start` prints them); without them every test here is skipped.
@Suite(.enabled(if: S3Server.environment != nil, S3Server.skipMessage), .timeLimit(.minutes(15)))
struct S3BackendTests {
    /// A backend on a fresh prefix of the test bucket, so each test starts from an empty store.
    static func backend(
        algorithm: DigestAlgorithm = .sha256,
        configure: (inout S3BackendConfiguration) -> Void = { _ in },
        credentials: S3Credentials? = nil
    ) throws -> S3ObjectBackend {
        let server = try #require(S3Server.environment)
        let prefix = "cairn-tests/\(UInt64.random(in: 0...UInt64.max))"
        var configuration = S3BackendConfiguration(
            location: S3Location(bucket: server.bucket, prefix: prefix, endpoint: server.endpoint),
            algorithm: algorithm
        )
        configure(&configuration)
        return try S3ObjectBackend(configuration: configuration, credentials: credentials)
    }

    @Test(arguments: [DigestAlgorithm.sha256, .blake2b256], [false, true])
    func passesTheObjectBackendContract(algorithm: DigestAlgorithm, multipart: Bool) throws {
        // With `multipart`, the suite's 3 MiB file goes up as a multipart upload and comes back in 1 MiB ranges.
        let backend = try Self.backend(algorithm: algorithm) { configuration in
            if multipart {
                configuration.multipartThreshold = 1 << 20
                configuration.readChunkSize = 1 << 20
            }
        }
        defer { backend.shutdown() }
        let scratch = try TemporaryDirectory(prefix: "cairn-s3-contract")
        try ObjectBackendConformance.run(backend, scratch: scratch.path) { digest, bytes in
            try backend.overwriteStoredBytes(of: digest, with: bytes)
        }
    }

    @Test func aLargeObjectAlreadyThereIsNotSentAgain() throws {
        // A bucket of its own: the server's counters are per bucket, and the other tests use the shared one.
        let server = try #require(S3Server.environment)
        let backend = try S3ObjectBackend(
            configuration: S3BackendConfiguration(
                location: S3Location(
                    bucket: "cairn-lookup-" + String(UInt64.random(in: 0...UInt64.max), radix: 16),
                    prefix: "cairn-tests/lookup",
                    endpoint: server.endpoint
                ),
                algorithm: .sha256
            )
        )
        defer { backend.shutdown() }
        try backend.createBucketForTesting()
        let bucket = backend.configuration.location.bucket
        let large = (0..<S3ObjectBackend.lookUpBeforePutSize).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let small = Array("a small object".utf8)
        let before = try S3Metrics.read(bucket: bucket)

        #expect(try backend.put(large, expecting: nil).stored)
        #expect(try backend.put(small, expecting: nil).stored)
        let again = try backend.put(large, expecting: nil)
        #expect(!again.stored && again.size == Int64(large.count))
        #expect(!(try backend.put(small, expecting: nil).stored))
        #expect(try backend.read(again.digest, verify: true) == large)

        // By the server's count: two objects stored; the small one's second put was sent and refused with 412,
        // the large one's was not sent at all.
        if let before, let after = try S3Metrics.read(bucket: bucket) {
            #expect(after.uploaded - before.uploaded == 2)
            #expect(after.refused - before.refused == 1)
        }
    }

    @Test func largeFilesGoInPartsWithBoundedReadsAndLeaveNoUpload() throws {
        let backend = try Self.backend { configuration in
            configuration.multipartThreshold = 5 << 20
            configuration.partSize = 5 << 20
            configuration.readChunkSize = 1 << 20
        }
        defer { backend.shutdown() }
        let scratch = try TemporaryDirectory(prefix: "cairn-s3-multipart")
        var bytes = [UInt8](repeating: 0, count: 12 << 20 | 777)
        for index in stride(from: 0, to: bytes.count, by: 4096) {
            bytes[index] = UInt8(truncatingIfNeeded: index >> 12)
        }
        let file = scratch.appending("large.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let digest = ContentHasher.digest(of: bytes, algorithm: .sha256)

        let first = try backend.put(fileAt: file, expecting: digest)
        #expect(first == PutResult(digest: digest, size: Int64(bytes.count), stored: true))
        #expect(try backend.contains(digest) == .present(size: Int64(bytes.count)))
        var chunks: [Int] = []
        var read: [UInt8] = []
        try backend.stream(digest, verify: true) { chunk in
            chunks.append(chunk.count)
            read += chunk
        }
        #expect(read == bytes)
        #expect(chunks.max() == 1 << 20 && chunks.count == 13)
        let again = try backend.put(fileAt: file)
        #expect(again.stored == false)
        #expect(try backend.staleUploads(olderThan: -3_600).isEmpty)
    }

    @Test func theServerRefusesBytesThatDoNotMatchTheirChecksum() throws {
        let backend = try Self.backend()
        defer { backend.shutdown() }
        let bytes = Array("checked by the server".utf8)
        let other = ContentHasher.digest(of: Array("other".utf8), algorithm: .sha256)
        let key = backend.layout.key(for: ContentHasher.digest(of: bytes, algorithm: .sha256))
        do {
            _ = try backend.putForTesting(
                key: key,
                bytes: bytes,
                headers: [("x-amz-checksum-sha256", Data(other.bytes).base64EncodedString())]
            )
            Issue.record("a wrong x-amz-checksum-sha256 was accepted")
        } catch let error as StoreError {
            let s3 = try #require(error.underlying as? S3Error)
            #expect(s3.status == 400, "\(error)")
        }
        do {
            _ = try backend.putForTesting(
                key: key,
                bytes: bytes,
                headers: [("Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==")]
            )
            Issue.record("a wrong Content-MD5 was accepted")
        } catch let error as StoreError {
            let s3 = try #require(error.underlying as? S3Error)
            #expect(s3.status == 400, "\(error)")
        }
        #expect(try backend.list().isEmpty)
    }

    @Test func aRefusedSignatureIsAnErrorThatNamesNoSecret() throws {
        let server = try #require(S3Server.environment)
        let secret = "not-the-secret-\(UInt64.random(in: 0...UInt64.max))"
        let backend = try Self.backend(
            credentials: S3Credentials(accessKeyID: server.accessKey, secretAccessKey: secret, region: server.region)
        )
        defer { backend.shutdown() }
        let digest = ContentHasher.digest(of: Array("x".utf8), algorithm: .sha256)
        for operation in ["contains", "read", "list", "put"] {
            do {
                switch operation {
                case "contains": _ = try backend.contains(digest)
                case "read": _ = try backend.read(digest)
                case "list": _ = try backend.list()
                default: _ = try backend.put(Array("x".utf8))
                }
                Issue.record("\(operation) with a wrong secret did not throw")
            } catch let error as StoreError {
                #expect(error.code == .io, "\(operation): \(error)")
                let s3 = try #require(error.underlying as? S3Error)
                #expect(s3.status == 403, "\(operation): \(error)")
                #expect(s3.attempts == 1, "a 403 was retried: \(error)")
                #expect(!error.description.contains(secret))
            }
        }
    }

    @Test func aMissingBucketIsAnErrorNotAbsence() throws {
        let server = try #require(S3Server.environment)
        let configuration = S3BackendConfiguration(
            location: S3Location(
                bucket: "cairn-no-such-bucket-\(UInt32.random(in: 0...UInt32.max))",
                endpoint: server.endpoint
            )
        )
        let backend = try S3ObjectBackend(configuration: configuration)
        defer { backend.shutdown() }
        let digest = ContentHasher.digest(of: Array("x".utf8), algorithm: .sha256)
        do {
            let presence = try backend.contains(digest)
            Issue.record("contains in a missing bucket answered \(presence)")
        } catch let error as StoreError {
            let s3 = try #require(error.underlying as? S3Error)
            #expect(s3.status == 404 && s3.code == "NoSuchBucket", "\(error)")
        }
        do {
            try backend.checkAccess()
            Issue.record("checkAccess passed for a missing bucket")
        } catch let error as StoreError {
            #expect(error.description.contains("NoSuchBucket"), "\(error)")
        }
        // Neither call made the bucket (some servers create one on a PUT).
        #expect(throws: StoreError.self) { try backend.list() }
    }

    @Test func anUnreachableServerIsAnErrorAfterRetries() throws {
        // Port 9 on loopback: nothing listens there, so every connection is refused.
        let configuration = S3BackendConfiguration(
            location: S3Location(bucket: "bucket", endpoint: "http://127.0.0.1:9"),
            retry: S3RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05),
            connectTimeout: 1
        )
        let backend = try S3ObjectBackend(
            configuration: configuration,
            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s", region: "us-east-1")
        )
        defer { backend.shutdown() }
        let digest = ContentHasher.digest(of: Array("x".utf8), algorithm: .sha256)
        do {
            let presence = try backend.contains(digest)
            Issue.record("contains on an unreachable server answered \(presence)")
        } catch let error as StoreError {
            let s3 = try #require(error.underlying as? S3Error)
            #expect(s3.kind == .transport && s3.attempts == 3, "\(error)")
            #expect(error.description.contains("127.0.0.1:9"), "\(error)")
        }
    }

    @Test func debrisIsOnlyOldUploads() throws {
        let backend = try Self.backend()
        defer { backend.shutdown() }
        let digest = ContentHasher.digest(of: Array("never completed".utf8), algorithm: .sha256)
        _ = try backend.startUploadForTesting(digest)
        // A live writer's upload (younger than the debris age) is left alone...
        #expect(try backend.cleanUpDebris() == 0)
        #expect(try backend.staleUploads(olderThan: -3_600).count == 1)
        // ...and an interrupted one (older than it) is aborted.
        let sameStore = try S3ObjectBackend(
            configuration: S3BackendConfiguration(
                location: backend.configuration.location,
                algorithm: .sha256,
                debrisAge: -3_600
            )
        )
        defer { sameStore.shutdown() }
        #expect(try sameStore.cleanUpDebris() == 1)
        #expect(try backend.staleUploads(olderThan: -3_600).isEmpty)
        #expect(try backend.list().isEmpty)
    }

    @Test func checkAccessWritesAndRemovesAProbe() throws {
        let backend = try Self.backend()
        defer { backend.shutdown() }
        try backend.checkAccess()
        #expect(try backend.list().isEmpty)
    }
}

/// The server the tests use, from the environment `scripts/s3-server.sh env` prints.
enum S3Server {
    struct Environment {
        var endpoint: String
        var bucket: String
        var accessKey: String
        var region: String
    }

    static let environment: Environment? = {
        let variables = ProcessInfo.processInfo.environment
        guard let endpoint = variables["CAIRN_S3_ENDPOINT"], let bucket = variables["CAIRN_S3_BUCKET"],
            let accessKey = variables["AWS_ACCESS_KEY_ID"], variables["AWS_SECRET_ACCESS_KEY"] != nil
        else { return nil }
        return Environment(
            endpoint: endpoint,
            bucket: bucket,
            accessKey: accessKey,
            region: variables["AWS_REGION"] ?? "us-east-1"
        )
    }()

    static let skipMessage: Comment = """
        S3 server tests skipped: set CAIRN_S3_ENDPOINT, CAIRN_S3_BUCKET, AWS_ACCESS_KEY_ID and \
        AWS_SECRET_ACCESS_KEY (eval "$(scripts/s3-server.sh env)" after scripts/s3-server.sh start)
        """
}
#endif

#if S3
/// `cairn init --objects s3://...` against the real server: it checks the bucket before writing anything and
/// records the location without credentials.
@Suite(.enabled(if: S3Server.environment != nil, S3Server.skipMessage))
struct S3InitCommandTests {
    @Test func initChecksTheBucketAndRecordsOnlyItsLocation() throws {
        let server = try #require(S3Server.environment)
        let directory = try TemporaryDirectory(prefix: "cairn-s3-init")
        let store = directory.appending("store")
        let prefix = "cairn-tests/init-\(UInt64.random(in: 0...UInt64.max))"
        let result = try runCairn([
            "init", "--store", store, "--objects", "s3://\(server.bucket)/\(prefix)", "--s3-endpoint", server.endpoint,
        ])
        #expect(result.status == 0, "\(result.stderrText)")
        let recorded = try String(contentsOfFile: store + "/s3.json", encoding: .utf8)
        #expect(recorded.contains("\"bucket\" : \"\(server.bucket)\""), "\(recorded)")
        #expect(recorded.contains(prefix) && recorded.contains(server.endpoint))
        let secret = try #require(ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"])
        #expect(!recorded.contains(secret) && !recorded.contains(server.accessKey))
        // fsck checks the (empty) prefix; a verb that works on the local object layout refuses the store instead of
        // silently using a local directory.
        let fsck = try runCairn(["fsck", "--store", store])
        #expect(fsck.status == 0 && fsck.stdoutText.contains("checked 0 objects"), "\(fsck.stdoutText)")
        let bench = try runCairn(["bench", "--store", store, "--only", "hashing"])
        #expect(bench.status == 2)
        #expect(
            bench.stderrText.contains("keeps its objects in s3://\(server.bucket)/\(prefix)"),
            "\(bench.stderrText)"
        )
    }

    @Test func initSaysWhatIsWrongAndWritesNothing() throws {
        let server = try #require(S3Server.environment)
        let directory = try TemporaryDirectory(prefix: "cairn-s3-init")
        let store = directory.appending("store")
        let missing = try runCairn([
            "init", "--store", store, "--objects", "s3://cairn-missing-\(UInt32.random(in: 0...UInt32.max))/p",
            "--s3-endpoint", server.endpoint,
        ])
        #expect(missing.status == 2)
        #expect(missing.stderrText.contains("NoSuchBucket"), "\(missing.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: store))

        let secret = "wrong-secret-\(UInt64.random(in: 0...UInt64.max))"
        let denied = try runCairn(
            ["init", "--store", store, "--objects", "s3://\(server.bucket)/p", "--s3-endpoint", server.endpoint],
            environment: ["AWS_SECRET_ACCESS_KEY": secret]
        )
        #expect(denied.status == 2)
        #expect(denied.stderrText.contains("HTTP 403"), "\(denied.stderrText)")
        #expect(!denied.stderrText.contains(secret))
        #expect(!FileManager.default.fileExists(atPath: store))

        let noCredentials = try runCairn(
            ["init", "--store", store, "--objects", "s3://\(server.bucket)/p", "--s3-endpoint", server.endpoint],
            environment: ["AWS_SECRET_ACCESS_KEY": ""]
        )
        #expect(noCredentials.status == 2)
        #expect(noCredentials.stderrText.contains("AWS_SECRET_ACCESS_KEY"), "\(noCredentials.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }
}
#endif
