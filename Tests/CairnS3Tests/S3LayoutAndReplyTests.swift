import CairnCore
import CairnS3
import Foundation
import Testing

/// The key layout, locations, XML replies, errors, credentials and retry policy of spec/s3.md (no server).
@Suite(.timeLimit(.minutes(15)))
struct S3LayoutAndReplyTests {
    static let digest = ContentHasher.digest(of: Array("hello".utf8), algorithm: .sha256)

    @Test func keysFollowTheLayout() throws {
        let layout = S3KeyLayout(prefix: "team/store", algorithm: .sha256)
        let key = layout.key(for: Self.digest)
        #expect(key == "team/store/objects/sha256/2c/" + Self.digest.hex)
        #expect(layout.digest(forKey: key) == Self.digest)
        #expect(layout.objectsPrefix == "team/store/objects/sha256/")
        let root = S3KeyLayout(prefix: "", algorithm: .blake2b256)
        let blake = ContentHasher.digest(of: Array("hello".utf8), algorithm: .blake2b256)
        #expect(root.key(for: blake) == "objects/blake2b-256/" + blake.hex.prefix(2) + "/" + blake.hex)
        #expect(root.digest(forKey: root.key(for: blake)) == blake)
    }

    @Test func keysThatAreNotObjectsAreNotListed() {
        let layout = S3KeyLayout(prefix: "p", algorithm: .sha256)
        let hex = Self.digest.hex
        #expect(layout.digest(forKey: "p/objects/sha256/ff/" + hex) == nil)  // shard does not match
        #expect(layout.digest(forKey: "p/objects/sha256/2c/x/" + hex) == nil)  // too deep
        #expect(layout.digest(forKey: "p/objects/sha256/2c/" + hex.uppercased()) == nil)
        #expect(layout.digest(forKey: "p/objects/sha256/2c/" + hex + ".tmp") == nil)
        #expect(layout.digest(forKey: "q/objects/sha256/2c/" + hex) == nil)
        #expect(layout.digest(forKey: "p/cairn-access-check-1") == nil)
    }

    @Test func locationsParse() throws {
        let location = try S3Location(parsing: "s3://my-bucket/some/prefix/", endpoint: "http://127.0.0.1:8333")
        #expect(location.bucket == "my-bucket")
        #expect(location.prefix == "some/prefix")
        #expect(location.endpoint == "http://127.0.0.1:8333")
        #expect(location.description == "s3://my-bucket/some/prefix")
        #expect(try S3Location(parsing: "s3://bucket").prefix == "")
        for bad in [
            "bucket/prefix", "s3://", "s3://Bucket", "s3://a", "s3://-bucket", "s3://bucket/a//b", "s3://bucket/../x",
        ] {
            #expect(throws: S3Error.self, "\(bad)") { try S3Location(parsing: bad) }
        }
        #expect(throws: S3Error.self) { try S3Location(parsing: "s3://bucket", endpoint: "127.0.0.1:8333") }
    }

    @Test func objectListsAreRead() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>\
            <KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>\
            <Contents><Key>p/a&amp;b</Key><Size>3</Size></Contents>\
            <Contents><Key>p/&#x3C;c&#62;</Key><Size>0</Size></Contents>\
            <NextContinuationToken>1/abc=</NextContinuationToken></ListBucketResult>
            """
        let list = try S3Reply.objectList(Array(xml.utf8))
        #expect(list.keys == ["p/a&b", "p/<c>"])
        #expect(list.continuationToken == "1/abc=")
        let last = try S3Reply.objectList(
            Array("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>".utf8)
        )
        #expect(last.keys.isEmpty && last.continuationToken == nil)
        // Truncated without a token would loop forever or lose keys: refused.
        #expect(throws: S3Error.self) {
            try S3Reply.objectList(Array("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>".utf8))
        }
    }

    @Test func malformedXMLIsRefused() {
        for bad in ["", "<a>", "<a></b>", "<a>&bogus;</a>", "<a></a><b/>", "text", "<a x=1></a>"] {
            #expect(throws: S3Error.self, "\(bad)") { try S3XMLElement.parse(Array(bad.utf8)) }
        }
    }

    @Test func multipartRepliesAreRead() throws {
        let started = """
            <InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>\
            </InitiateMultipartUploadResult>
            """
        #expect(try S3Reply.uploadID(Array(started.utf8)) == "VXBsb2FkIElE")
        let uploads = """
            <ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k2</NextKeyMarker>\
            <NextUploadIdMarker>u2</NextUploadIdMarker>\
            <Upload><Key>k1</Key><UploadId>u1</UploadId><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>\
            <Upload><Key>k2</Key><UploadId>u2</UploadId><Initiated>2026-01-02T03:04:05Z</Initiated></Upload>\
            </ListMultipartUploadsResult>
            """
        let list = try S3Reply.uploadList(Array(uploads.utf8))
        #expect(list.uploads.map(\.key) == ["k1", "k2"])
        #expect(list.uploads[0].initiated == Date(timeIntervalSince1970: 1_289_422_113))
        #expect(list.uploads[1].initiated == Date(timeIntervalSince1970: 1_767_323_045))
        #expect(list.next?.keyMarker == "k2" && list.next?.uploadIDMarker == "u2")
        let body = String(decoding: S3Reply.completeMultipartUpload(etags: ["\"e1\"", "\"e2\""]), as: UTF8.self)
        #expect(body.contains("<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"))
        #expect(body.contains("<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"))
    }

    @Test func errorBodiesAreRead() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>AccessDenied</Code><Message>Access Denied</Message><Key>k</Key>\
            <RequestId>4442587FB7D0A2F9</RequestId></Error>
            """
        let error = S3Reply.errorBody(Array(xml.utf8))
        #expect(
            error == S3Reply.ErrorBody(code: "AccessDenied", message: "Access Denied", requestID: "4442587FB7D0A2F9")
        )
        #expect(S3Reply.errorBody(Array("<html>Bad Gateway</html>".utf8)) == nil)
        #expect(S3Reply.errorBody([]) == nil)
    }

    @Test func errorsCarryStatusCodeAndRequestID() {
        let error = S3Error(
            kind: .status,
            message: "cannot store object",
            request: "PUT s3://b/k",
            status: 403,
            code: "AccessDenied",
            serverMessage: "Access Denied",
            requestID: "RID1",
            attempts: 1
        )
        #expect(
            error.description
                == "cannot store object (PUT s3://b/k): HTTP 403 AccessDenied: Access Denied [request id RID1]"
        )
    }

    @Test func credentialsComeOnlyFromTheEnvironmentAndNeverPrint() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let credentials = try S3Credentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_SESSION_TOKEN": "token-123456", "AWS_REGION": "eu-west-1",
        ])
        #expect(credentials.region == "eu-west-1")
        #expect(!"\(credentials)".contains(secret) && !"\(credentials)".contains("token-123456"))
        #expect(!String(reflecting: credentials).isEmpty)
        let defaulted = try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"])
        #expect(defaulted.region == "us-east-1")
        do {
            _ = try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": ""])
            Issue.record("empty secret accepted")
        } catch {
            #expect(error.kind == .missingCredentials)
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
            #expect(!error.description.contains("AWS_ACCESS_KEY_ID"))
        }
    }

    @Test func onlyTransientStatusesAreRetried() {
        for status in [500, 502, 503, 504, 429] { #expect(S3RetryPolicy.isRetryable(status: status, code: nil)) }
        #expect(S3RetryPolicy.isRetryable(status: 503, code: "SlowDown"))
        #expect(S3RetryPolicy.isRetryable(status: 400, code: "RequestTimeout"))
        #expect(S3RetryPolicy.isRetryable(status: 409, code: "ConditionalRequestConflict"))
        for status in [400, 401, 403, 404, 405, 409, 411, 412, 416] {
            #expect(!S3RetryPolicy.isRetryable(status: status, code: nil), "\(status)")
        }
        #expect(!S3RetryPolicy.isRetryable(status: 400, code: "BadDigest"))
        #expect(!S3RetryPolicy.isRetryable(status: 403, code: "SignatureDoesNotMatch"))
    }

    @Test func backoffIsJitteredBoundedAndHonoursRetryAfter() {
        let policy = S3RetryPolicy(maxAttempts: 6, baseDelay: 0.1, maxDelay: 2, maxRetryAfter: 30)
        var generator = SystemRandomNumberGenerator()
        var seen: Set<Double> = []
        for attempt in 1...10 {
            let ceiling = min(2, 0.1 * Double(1 << (attempt - 1)))
            for _ in 0..<50 {
                let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, using: &generator)
                #expect(delay >= 0 && delay <= ceiling)
                seen.insert(delay)
            }
        }
        #expect(seen.count > 100)  // jittered, not a fixed schedule
        #expect(policy.delay(afterAttempt: 1, retryAfter: "7", using: &generator) >= 7)
        #expect(policy.delay(afterAttempt: 1, retryAfter: "3600", using: &generator) == 30)
        #expect(policy.delay(afterAttempt: 1, retryAfter: "soon", using: &generator) <= 0.1)
    }
}
