import Foundation
import Testing
import _CairnTestSupport

@testable import CairnManifest

/// A long property test over reader + canonicalizer + model: random and mutated inputs must give a value or a typed
/// error, never a crash or a hang. Short by default; `CAIRN_SLOW_TESTS=1` runs about a minute.
@Suite(.timeLimit(.minutes(15)))
struct ManifestFuzzTests {
    /// Runs every layer on `bytes` and checks that only typed errors come out, and that verifying from the tape
    /// agrees with the model.
    func exercise(_ bytes: [UInt8]) {
        do {
            let value = try JSONReader.parse(bytes)
            typed { _ = try CanonicalJSON.encode(value) }
            let manifest = try Manifest(json: value)
            typed { _ = try manifest.verificationReport() }
            typed { _ = try manifest.canonicalFileBytes() }
            typed { _ = try ManifestVerdict.verify(bytes: bytes) }
        } catch is JSONReadError {
            return
        } catch is ManifestError {
        } catch {
            Issue.record("untyped error \(type(of: error)): \(error)")
        }
        compareTapeVerification(bytes)
    }

    /// Runs `body`; a Cairn error is an answer, anything else is recorded as a failure.
    func typed(_ body: () throws -> Void) {
        do {
            try body()
        } catch is ManifestError {
        } catch is CanonicalJSONError {
        } catch is JSONReadError {
        } catch {
            Issue.record("untyped error \(type(of: error)): \(error)")
        }
    }

    func mutate(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        let interesting: [[UInt8]] = [
            Array("{".utf8), Array("[".utf8), Array("]".utf8), Array("}".utf8), Array("\"".utf8), Array("\\u".utf8),
            Array("\\ud800".utf8), Array("1e999".utf8), Array("NaN".utf8), Array("-".utf8), Array(",".utf8),
            Array(":".utf8), [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF], [0x00], Array("null".utf8),
            Array(String(repeating: "9", count: 30).utf8), Array(String(repeating: "[", count: 2000).utf8),
        ]
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else {
                bytes = interesting.randomElement(using: &rng)!
                continue
            }
            let position = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.remove(at: position)
            case 2: bytes.insert(contentsOf: interesting.randomElement(using: &rng)!, at: position)
            case 3: bytes = Array(bytes[..<position])
            default:
                let end = min(bytes.count, position + Int.random(in: 1...64, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &rng))
            }
        }
        return bytes
    }

    @Test("Random and mutated manifests give values or typed errors")
    func fuzz() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["CAIRN_FUZZ_SEED"] ?? "") ?? 0xC0FFEE
        let budget: TimeInterval = slowTestsEnabled ? 60 : 2
        var rng = SeededGenerator(seed: seed)
        var generator = RandomManifests(seed: seed)
        var writer = LooseJSONWriter(rng: SeededGenerator(seed: seed ^ 1))
        var corpus: [[UInt8]] = []
        let cases = genblazeVectorsRoot + "/cases"
        for name in try FileManager.default.contentsOfDirectory(atPath: cases) {
            corpus.append(try readBytes(cases + "/" + name))
        }
        #expect(corpus.count >= 15, "the genblaze vectors seed the corpus")
        let start = Date()
        var iterations = 0
        while Date().timeIntervalSince(start) < budget {
            let base: [UInt8]
            if corpus.isEmpty || Bool.random(using: &rng) {
                base = Array(writer.text(generator.manifest(allowBad: true)).utf8)
            } else {
                base = corpus.randomElement(using: &rng)!
            }
            exercise(base)
            exercise(mutate(base, using: &rng))
            iterations += 1
        }
        #expect(iterations > 10, "seed \(seed)")
    }

    @Test("Huge and deep inputs are typed errors or values, quickly")
    func hostileShapes() {
        exercise(Array(String(repeating: "[", count: 5_000_000).utf8))
        exercise(
            Array(
                ("{\"run\":{\"metadata\":" + String(repeating: "{\"a\":", count: 500) + "1"
                    + String(repeating: "}", count: 502)).utf8
            )
        )
        exercise(Array(("[" + String(repeating: "1,", count: 1_000_000) + "1]").utf8))
        exercise(Array(("\"" + String(repeating: "\\ud800", count: 100_000) + "\"").utf8))
        exercise(Array(("{" + (0..<50_000).map { "\"k\($0 % 1000)\":\($0)" }.joined(separator: ",") + "}").utf8))
        exercise(Array(String(repeating: "9", count: 4301).utf8))
    }

    @Test("Unknown schema versions and refused shapes are typed")
    func refusedShapes() throws {
        let samples: [(String, ManifestError.Code)] = [
            (#"{"schema_version":"2.0","run":{}}"#, .unsupportedSchemaVersion),
            (#"{"schema_version":1.5,"run":{}}"#, .unsupportedSchemaVersion),
            (#"[1]"#, .notAnObject),
            (#"{"manifest_uri":"x"}"#, .pointerSidecar),
            (#"{"canonical_hash":"x"}"#, .validation),
            (#"{"run":{"steps":[{"model":"m"}]}}"#, .validation),
            (#"{"run":{"steps":[{"provider":"p","model":"m","seed":1.5}]}}"#, .validation),
            (#"{"run":{"steps":[{"provider":"p","model":"m","prompt":5}]}}"#, .validation),
            (
                #"{"run":{"steps":[{"provider":"p","model":"m","prompt_visibility":"encrypted"}]}}"#,
                .encryptionSchemeMissing
            ),
            (
                #"{"run":{"steps":[{"provider":"p","model":"m","assets":[{"url":"u","media_type":"a/b","size_bytes":-1}]}]}}"#,
                .validation
            ),
            (
                "{\"schema_version\":\"1.5\",\"run\":{\"metadata\":{\"a\":" + String(repeating: "[", count: 120)
                    + String(repeating: "]", count: 120) + "}}}", .tooDeep
            ),
        ]
        for (text, code) in samples {
            let error = #expect(throws: ManifestError.self, "\(text)") {
                _ = try Manifest.parse(Array(text.utf8)).computeCanonicalHash()
            }
            #expect(error?.code == code, "\(text): \(String(describing: error))")
        }
        // A hashed unpaired surrogate fails at hashing; an unhashed one does not.
        let hashed = try Manifest.parse(Array(#"{"run":{"name":"a\ud800"}}"#.utf8))
        #expect((#expect(throws: ManifestError.self) { try hashed.computeCanonicalHash() })?.code == .unencodableString)
        let unhashed = try Manifest.parse(
            Array(#"{"schema_version":"1.5","run":{"parent_run_id":"a\ud800","x":"\udc00"}}"#.utf8)
        )
        _ = try unhashed.computeCanonicalHash()
    }
}
