// cairn-s3-bench: times S3ObjectBackend's puts and gets against the server in CAIRN_S3_ENDPOINT/CAIRN_S3_BUCKET,
// for Benchmarks/compare/s3.sh (which runs boto3 doing the same requests beside it).
//
//   cairn-s3-bench LARGE_MIB LARGE_COUNT SMALL_BYTES SMALL_COUNT
//
// Prints one JSON object: put_mb_s (LARGE_COUNT puts of LARGE_MIB MiB each, from memory, one PUT each with
// If-None-Match and x-amz-checksum-sha256), get_mb_s (verified reads of the same objects), small_puts_s
// (SMALL_COUNT sequential puts of SMALL_BYTES bytes). Every object is new (distinct bytes) under a fresh prefix.
import Foundation

#if S3
import CairnCore
import CairnS3
import CairnStore

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
guard arguments.count == 4, let endpoint = ProcessInfo.processInfo.environment["CAIRN_S3_ENDPOINT"],
    let bucket = ProcessInfo.processInfo.environment["CAIRN_S3_BUCKET"]
else {
    FileHandle.standardError.write(
        Data(
            "usage: cairn-s3-bench LARGE_MIB LARGE_COUNT SMALL_BYTES SMALL_COUNT (with CAIRN_S3_ENDPOINT, CAIRN_S3_BUCKET)\n"
                .utf8
        )
    )
    exit(2)
}
let (largeMiB, largeCount, smallBytes, smallCount) = (arguments[0], arguments[1], arguments[2], arguments[3])
let prefix = "cairn-bench/\(UInt64.random(in: 0...UInt64.max))"
let configuration = S3BackendConfiguration(
    location: S3Location(bucket: bucket, prefix: prefix, endpoint: endpoint),
    // One PUT per large object, as boto3's put_object makes.
    multipartThreshold: Int.max,
    readChunkSize: largeMiB << 20
)
let backend = try S3ObjectBackend(configuration: configuration)
defer { backend.shutdown() }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

var large = [UInt8](repeating: 0, count: largeMiB << 20)
var state: UInt64 = 0x9E37_79B9_7F4A_7C15
for index in large.indices {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    large[index] = UInt8(truncatingIfNeeded: state >> 33)
}
var inputs: [[UInt8]] = []
for index in 0..<largeCount {
    var bytes = large
    withUnsafeBytes(of: UInt64(index).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    inputs.append(bytes)
}
var digests: [Digest] = []
let putTime = try seconds {
    for bytes in inputs { digests.append(try backend.put(bytes).digest) }
}
var total = 0
let getTime = try seconds {
    for digest in digests { total += try backend.read(digest, verify: true).count }
}
precondition(total == largeCount * (largeMiB << 20))
let small = (0..<smallCount).map { index in
    Array("small object \(index) ".utf8) + [UInt8](repeating: 7, count: max(0, smallBytes - 24))
}
let smallTime = try seconds {
    for bytes in small { _ = try backend.put(bytes) }
}
let megabytes = Double(largeCount * (largeMiB << 20)) / 1e6
print(
    "{\"put_mb_s\": \(megabytes / putTime), \"get_mb_s\": \(megabytes / getTime), \"small_puts_s\": \(Double(smallCount) / smallTime)}"
)
#else
FileHandle.standardError.write(Data("cairn-s3-bench: built without S3 support; build with --traits S3\n".utf8))
exit(2)
#endif
