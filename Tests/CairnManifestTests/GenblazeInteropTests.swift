import Foundation
import Testing
import _CairnTestSupport

@testable import CairnManifest

/// The Python with genblaze-core installed (`$CAIRN_GENBLAZE_PYTHON`, set by scripts/test.sh), if usable.
let genblazePython: String? = {
    guard let path = ProcessInfo.processInfo.environment["CAIRN_GENBLAZE_PYTHON"], !path.isEmpty,
        FileManager.default.isExecutableFile(atPath: path)
    else { return nil }
    return path
}()

/// True on CI, where a missing genblaze must fail the interop tests instead of skipping them.
let runningOnCI = ProcessInfo.processInfo.environment["CI"] == "true"

/// Asks genblaze for its verdict on many files in one Python process (`scripts/genblaze_verdict.py --batch`).
func genblazeVerdicts(_ files: [String], python: String) throws -> [JSONObject] {
    let result = try runProcess(
        python,
        [genblazeVerdictScript, "--batch"],
        stdin: Data(files.joined(separator: "\n").utf8)
    )
    guard result.status == 0 else {
        throw TestFileError(path: "genblaze batch verifier failed: \(result.stderrText)")
    }
    return try result.stdoutText.split(separator: "\n").map { line in
        try JSONReader.parse(Array(line.utf8)).objectValue ?? [:]
    }
}

/// Manifests Cairn writes in several shapes, for genblaze to check.
func cairnWrittenManifests() throws -> [(String, Manifest)] {
    let hex = String(repeating: "ab", count: 32)
    let first = StepBuilder(provider: "stability", model: "sdxl-turbo")
        .prompt("a teal bicycle")
        .seed(77)
        .params(["steps": 4, "cfg": 2.0])
        .asset(
            url: "file:///tmp/out.png",
            mediaType: "image/png",
            sha256: hex,
            sizeBytes: 4096,
            width: 512,
            height: 512
        )
        .build()
    let second = StepBuilder(provider: "local", model: "upscaler")
        .stepType(.upscale)
        .inputAsset(url: "file:///tmp/out.png", mediaType: "image/png", sha256: hex, sizeBytes: 4096)
        .asset(url: "file:///tmp/big.png", mediaType: "image/png", sha256: String(repeating: "cd", count: 32))
        .build()
    let multiStep = RunBuilder(name: "multi").status(.completed).addStep(first).addStep(second).build()

    let unicode = RunBuilder(name: "caf\u{E9} cafe\u{301} \u{212B}")
        .meta(["e\u{301}": "NFD key", "\u{E9}": "NFC key", "line\u{2028}sep": "\u{1F600}\t\"q\"\\"])
        .addStep(
            StepBuilder(provider: "p", model: "m").prompt("q\u{307}\u{323} \u{F900} \u{FB01}\u{0}\u{1}")
                .asset(url: "https://h.test/\u{E9}.png?X-Amz-Signature=s", mediaType: "image/p\u{F1}g", sha256: hex)
                .build()
        )
        .build()

    let floats = RunBuilder(name: "floats")
        .addStep(
            StepBuilder(provider: "p", model: "m")
                .params([
                    "a": 0.1, "b": .float(1.0 / 3.0), "c": 3e-8, "d": 4e-12, "e": -4e-12, "f": 2e17, "g": 0.00024414062,
                    "h": .float(.nan), "i": .float(.infinity), "j": 1e16, "k": 5.0, "l": 123_456_789.123_456_789,
                    "m": 0.00048828125,
                ])
                .asset(
                    Asset(
                        url: "file:///tmp/a.wav",
                        mediaType: "audio/wav",
                        sha256: hex,
                        duration: 1.0 / 7.0,
                        audio: AudioMetadata(
                            sampleRate: 48000,
                            channels: 2,
                            wordTimings: [WordTiming(word: "hi", start: 0.1, end: 0.35, confidence: 0.9)]
                        )
                    )
                )
                .build()
        )
        .build()

    let bigInts = RunBuilder(name: "bigints")
        .addStep(
            StepBuilder(provider: "p", model: "m")
                .seed(JSONInteger(decimalText: "18446744073709551615")!)
                .params([
                    "huge": .integer(JSONInteger(decimalText: "123456789012345678901234567890123456789")!),
                    "neg": .integer(JSONInteger(decimalText: "-98765432109876543210")!),
                    "min": .integer(JSONInteger(Int.min)),
                ])
                .asset(url: "s3://b/k.mp4", mediaType: "video/mp4", sha256: hex, sizeBytes: 12_345_678_901)
                .build()
        )
        .build()

    var nestedParams: JSONValue = ["leaf": [1, 2.5, "x", nil, true]]
    for level in 0..<40 { nestedParams = ["level\(level)": nestedParams, "n": .integer(JSONInteger(level))] }
    let nested = RunBuilder(name: "nested")
        .addStep(
            StepBuilder(provider: "p", model: "m").params(nestedParams.objectValue ?? [:])
                .asset(
                    Asset(
                        url: "file:///tmp/v.mp4",
                        mediaType: "video/mp4",
                        sha256: hex,
                        video: VideoMetadata(frameRate: 29.97, codec: "h264", bitrate: 8_000_000, hasAudio: true),
                        tracks: [Track(kind: "video", codec: "h264"), Track(kind: "audio", label: "gen")]
                    )
                )
                .build()
        )
        .build()

    let parent = RunBuilder(name: "child").parent(multiStep.runID).addStep(first).build()
    let empty = RunBuilder().build()
    let ingest = RunBuilder(name: "ingest")
        .addStep(
            StepBuilder(provider: nil, model: "upload").stepType(.ingest).meta(["source": "upload"])
                .asset(url: "file:///tmp/in.png", mediaType: "image/png", sha256: hex).build()
        )
        .build()
    return try [
        ("multi_step", Manifest.from(run: multiStep)),
        ("unicode", Manifest.from(run: unicode)),
        ("floats", Manifest.from(run: floats)),
        ("big_ints", Manifest.from(run: bigInts)),
        ("nested_params", Manifest.from(run: nested)),
        ("parent_set", Manifest.from(run: parent)),
        ("empty_run", Manifest.from(run: empty)),
        ("ingest", Manifest.from(run: ingest)),
    ]
}

@Suite(
    .enabled(if: genblazePython != nil || runningOnCI, "CAIRN_GENBLAZE_PYTHON is not set (run scripts/test.sh)"),
    .timeLimit(.minutes(15))
)
struct GenblazeInteropTests {
    func python() throws -> String {
        guard let genblazePython else {
            Issue.record("CI=true but CAIRN_GENBLAZE_PYTHON is missing: genblaze interop cannot be skipped on CI")
            throw TestFileError(path: "CAIRN_GENBLAZE_PYTHON")
        }
        return genblazePython
    }

    @Test("Manifests Cairn writes verify in genblaze (scripts/genblaze_verdict.py) with the same hash")
    func cairnWrittenManifestsVerifyInGenblaze() throws {
        let python = try python()
        let directory = try TemporaryDirectory(prefix: "cairn-interop")
        for (name, manifest) in try cairnWrittenManifests() {
            let path = directory.appending("\(name).json")
            try Data(try manifest.canonicalFileBytes()).write(to: URL(fileURLWithPath: path))
            let result = try runProcess(python, [genblazeVerdictScript, "--json", path])
            #expect(result.status == 0, "\(name): \(result.stderrText)")
            let verdict = try JSONReader.parse(Array(result.stdout)).objectValue ?? [:]
            #expect(verdict["hash_ok"] == true, "\(name): \(result.stdoutText)")
            #expect(verdict["verify_ok"] == true, "\(name): \(result.stdoutText)")
            #expect(verdict["recomputed_hash"]?.stringValue == manifest.canonicalHash, "\(name)")
            // And Cairn reads back what it wrote, with the same hash.
            let reread = try Manifest.parse(try readBytes(path))
            #expect(try reread.verificationReport().isOK, "\(name)")
            #expect(reread.run.parentRunID == manifest.run.parentRunID)
        }
    }

    @Test("Random manifests: Cairn's verdict equals genblaze's (differential)")
    func differentialAgainstGenblaze() throws {
        let python = try python()
        let count = slowTestsEnabled ? 3000 : 300
        let seed = UInt64(ProcessInfo.processInfo.environment["CAIRN_FUZZ_SEED"] ?? "") ?? 0x6A09_E667
        var generator = RandomManifests(seed: seed)
        var writer = LooseJSONWriter(rng: SeededGenerator(seed: seed ^ 0xFFFF))
        let directory = try TemporaryDirectory(prefix: "cairn-diff")
        // CAIRN_DIFF_KEEP=DIR keeps the generated files there for debugging.
        let keep = ProcessInfo.processInfo.environment["CAIRN_DIFF_KEEP"]
        var files: [String] = []
        for index in 0..<count {
            let path = (keep ?? directory.path) + "/m\(index).json"
            let text = writer.text(generator.manifest(allowBad: index % 3 == 0))
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            files.append(path)
        }
        let verdicts = try genblazeVerdicts(files, python: python)
        try #require(verdicts.count == files.count)
        var refusedBoth = 0
        for (path, theirs) in zip(files, verdicts) {
            let bytes = try readBytes(path)
            let ours = try ManifestVerdict.verify(bytes: bytes)
            if keep != nil, let preimage = try? Manifest.parse(bytes).hashPreimage() {
                try Data(preimage).write(to: URL(fileURLWithPath: path + ".cairn.txt"))
            }
            if let error = theirs["error"] {
                #expect(ours.error != nil, "seed \(seed) \(path): genblaze refused (\(error)) but Cairn accepted")
                refusedBoth += ours.error != nil ? 1 : 0
                continue
            }
            guard ours.error == nil else {
                Issue.record("seed \(seed) \(path): Cairn refused (\(ours.error!)) but genblaze accepted")
                continue
            }
            #expect(ours.canonicalHash == theirs["recomputed_hash"]?.stringValue, "seed \(seed) \(path)")
            #expect(ours.hashOK == theirs["hash_ok"]?.boolValue, "seed \(seed) \(path)")
            #expect(ours.verifyOK == theirs["verify_ok"]?.boolValue, "seed \(seed) \(path)")
            #expect(
                ours.unverifiedSHA256IDs.count == theirs["unverified_sha256_ids"]?.arrayValue?.count,
                "seed \(seed) \(path)"
            )
            #expect(
                ours.invalidMetadataIDs.count == theirs["invalid_metadata_ids"]?.arrayValue?.count,
                "seed \(seed) \(path)"
            )
        }
        // The generator must exercise both sides.
        #expect(refusedBoth > 0)
        #expect(refusedBoth < count / 2)
    }
}
