// Same-run manifest benchmark helper for compare/manifest.sh.
//   ManifestCompare hashes SECONDS FILE...   ManifestVerdict.verify(hashOnly: true) (what `cairn verify --hash-only`
//                                            runs per file) over the files, round robin, for SECONDS;
//                                            prints {"hashes_per_second", "files", "iterations", "hash_ok"}
//   ManifestCompare verify SECONDS FILE...   the same with the full verdict (what `cairn verify` runs per file)
//   ManifestCompare model SECONDS FILE...    the full report through the model: Manifest.parse + verificationReport
//   ManifestCompare write-large STEPS OUT    writes a Cairn manifest with STEPS steps (schema 1.5) to OUT
//   ManifestCompare reader SECONDS FILE      JSONReader.parse on FILE for SECONDS; prints {"megabytes_per_second"}
//   ManifestCompare preimage SECONDS FILE... parses each file once, then computeCanonicalHash() over them, round
//                                            robin, for SECONDS; prints {"preimages_per_second", "megabytes_per_second"}
import CairnManifest
import Foundation

func elapsed(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// Runs `round` again and again until `seconds` have passed; `round` returns how many items it did.
func timed(for seconds: Double, _ round: () throws -> Int) rethrows -> (items: Int, seconds: Double) {
    var items = 0
    let start = DispatchTime.now()
    while elapsed(since: start) < seconds { items += try round() }
    return (items, elapsed(since: start))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ManifestCompare: \(message)\n".utf8))
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    fail(
        "usage: hashes|verify|model SECONDS FILE... | write-large STEPS OUT | reader SECONDS FILE | preimage SECONDS FILE..."
    )
}

switch arguments[1] {
case "hashes", "verify", "model":
    guard let seconds = Double(arguments[2]) else { fail("bad SECONDS") }
    let files = arguments.dropFirst(3).map { path -> [UInt8] in
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        return [UInt8](data)
    }
    guard !files.isEmpty else { fail("no files") }
    let mode = arguments[1]
    var okCount = 0
    let (iterations, total) = try timed(for: seconds) {
        for bytes in files {
            let hashOK =
                switch mode {
                case "hashes": try ManifestVerdict.verify(bytes: bytes, hashOnly: true).hashOK
                case "verify": try ManifestVerdict.verify(bytes: bytes).hashOK
                default: try Manifest.parse(bytes).verificationReport().hashOK
                }
            if hashOK { okCount += 1 }
        }
        return files.count
    }
    print(
        "{\"hashes_per_second\": \(Double(iterations) / total), \"files\": \(files.count), \"iterations\": \(iterations), \"hash_ok\": \(okCount)}"
    )
case "write-large":
    guard let steps = Int(arguments[2]), arguments.count >= 4 else { fail("usage: write-large STEPS OUT") }
    var run = Run(name: "large", status: .completed)
    for index in 0..<steps {
        let hex = String(repeating: String(format: "%02x", index % 256), count: 32)
        run.steps.append(
            StepBuilder(provider: "stability", model: "sdxl-turbo")
                .prompt("step \(index): a teal bicycle leaning on a brick wall, caf\u{E9}")
                .seed(JSONInteger(index))
                .params(["steps": 4, "cfg": 2.5, "scheduler": "euler", "size": [1024, 1024]])
                .meta(["upstream_id": "sync"])
                .status(.succeeded)
                .asset(
                    url: "file:///tmp/out-\(index).png",
                    mediaType: "image/png",
                    sha256: hex,
                    sizeBytes: 4096,
                    width: 1024,
                    height: 1024
                )
                .build()
        )
    }
    let bytes = try Manifest.from(run: run).canonicalFileBytes()
    try Data(bytes).write(to: URL(fileURLWithPath: arguments[3]))
    print("{\"bytes\": \(bytes.count), \"steps\": \(steps)}")
case "reader":
    guard let seconds = Double(arguments[2]), arguments.count >= 4,
        let data = FileManager.default.contents(atPath: arguments[3])
    else { fail("usage: reader SECONDS FILE") }
    let bytes = [UInt8](data)
    let (iterations, total) = try timed(for: seconds) {
        _ = try JSONReader.parse(bytes)
        return 1
    }
    print(
        "{\"megabytes_per_second\": \(Double(bytes.count * iterations) / total / 1e6), \"iterations\": \(iterations)}"
    )
case "preimage":
    guard let seconds = Double(arguments[2]) else { fail("bad SECONDS") }
    let manifests = arguments.dropFirst(3).map { path -> Manifest in
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        guard let manifest = try? Manifest.parse([UInt8](data)) else { fail("cannot parse \(path)") }
        return manifest
    }
    guard !manifests.isEmpty else { fail("no files") }
    // Pre-image bytes per round, to report throughput; files whose hash cannot be computed are skipped.
    let hashable = manifests.filter { (try? $0.hashPreimage()) != nil }
    guard !hashable.isEmpty else { fail("no file has a computable hash") }
    let roundBytes = hashable.reduce(0) { $0 + ((try? $1.hashPreimage().count) ?? 0) }
    var checksum = 0
    let (iterations, total) = try timed(for: seconds) {
        for index in hashable.indices {
            checksum &+= Int(try hashable[index].computeCanonicalHash().utf8.first ?? 0)
        }
        return hashable.count
    }
    let rounds = iterations / hashable.count
    print(
        "{\"preimages_per_second\": \(Double(iterations) / total), \"megabytes_per_second\": \(Double(roundBytes * rounds) / total / 1e6), \"files\": \(hashable.count), \"iterations\": \(iterations), \"checksum\": \(checksum)}"
    )
case "asseturl":
    // ManifestCompare asseturl SECONDS: AssetURL.canonical over ten typical asset URLs, round robin;
    // prints {"nanoseconds_per_url"}.
    guard let seconds = Double(arguments[2]) else { fail("bad SECONDS") }
    let urls = [
        "https://dev.example.test/o.png",
        "https://Dev.Example.TEST/o2.png?Expires=9&x=1#f",
        "https://dev.example.test/in.png?X-Amz-Signature=q&id=5",
        "https://bucket.s3.us-east-1.amazonaws.com/outputs/run-42/image_0001.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
            + "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef0123456789",
        "https://acct.blob.core.windows.net/container/video.mp4?sv=2022-11-02&ss=b&srt=o&sp=r"
            + "&se=2026-01-01T00:00:00Z&st=2025-12-31T00:00:00Z&spr=https&sig=abc%2Bdef%3D",
        "https://storage.googleapis.com/bucket/audio.wav?GoogleAccessId=svc%40proj.iam.gserviceaccount.com"
            + "&Expires=1700000000&Signature=abc%2B%2F%3D",
        "https://d111111abcdef8.cloudfront.net/images/cat.jpg?Expires=1700000000&Signature=abc~def"
            + "&Key-Pair-Id=K2JCJMDEHXQW5F",
        "file:///tmp/outputs/image.png",
        "https://cdn.example.com:8443/v1/assets/7f3a/render.webp?width=1024&height=768&format=webp",
        "https://replicate.delivery/pbxt/abc123/out-0.png",
    ]
    var checksum = 0
    let (iterations, total) = try timed(for: seconds) {
        for url in urls { checksum &+= try AssetURL.canonical(url).utf8.count }
        return urls.count
    }
    print(
        "{\"nanoseconds_per_url\": \(total / Double(iterations) * 1e9), \"iterations\": \(iterations), \"checksum\": \(checksum)}"
    )
default:
    fail("unknown mode \(arguments[1])")
}
