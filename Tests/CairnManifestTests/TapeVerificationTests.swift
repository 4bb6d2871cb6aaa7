import Foundation
import Testing
import _CairnTestSupport

@testable import CairnManifest

/// Which path verified a manifest.
enum TapePath: Equatable {
    /// ``TapeVerification`` took the manifest (and agreed with the model).
    case taken
    /// ``TapeVerification`` left the manifest to the model.
    case declined
}

/// Verifies `bytes` from the tape and through the model; records an issue when the tape path takes a manifest and
/// its outcome differs from the model's, or the model refuses it.
@discardableResult
func compareTapeVerification(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> TapePath {
    guard let fast = try? Manifest.withTape(bytes, { TapeVerification.outcome($0) }) else {
        return .declined
    }
    // Without the asset list (a hash-only verdict), the rest is the same.
    let unlisted = try? Manifest.withTape(bytes, { TapeVerification.outcome($0, listsAssets: false) })
    var expectedUnlisted = fast
    expectedUnlisted.assets = []
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(unlisted?.sameIDs(given: text) == expectedUnlisted.sameIDs(given: text), sourceLocation: sourceLocation)
    do {
        let manifest = try Manifest.parse(bytes)
        let model = TapeVerification.Outcome(
            schemaVersion: manifest.schemaVersion,
            storedHash: manifest.canonicalHash,
            report: try manifest.verificationReport(),
            assets: try manifest.checkAssetBytes(using: nil)
        )
        // Asset ids the file lacks are random on both paths.
        #expect(fast.sameIDs(given: text) == model.sameIDs(given: text), "\(text)", sourceLocation: sourceLocation)
    } catch {
        Issue.record(
            "the tape path took a manifest the model refuses (\(error)): \(String(decoding: bytes, as: UTF8.self))",
            sourceLocation: sourceLocation
        )
    }
    return .taken
}

extension TapeVerification.Outcome {
    /// The outcome with every asset id that `input` does not contain (one made up) replaced by `"<made up>"`.
    func sameIDs(given input: String) -> Self {
        func fixed(_ id: String) -> String { input.contains(id) ? id : "<made up>" }
        var outcome = self
        outcome.report.unverifiedSHA256IDs = report.unverifiedSHA256IDs.map(fixed)
        outcome.report.invalidMetadataIDs = report.invalidMetadataIDs.map(fixed)
        outcome.assets = assets.map { check in
            var check = check
            check.assetID = fixed(check.assetID)
            return check
        }
        return outcome
    }
}

/// The tape path of verification (``TapeVerification``) against the model path it stands in for.
@Suite(.timeLimit(.minutes(15)))
struct TapeVerificationTests {
    @Test("Every genblaze vector is verified from the tape, with the model's outcome")
    func vectors() throws {
        let cases = genblazeVectorsRoot + "/cases"
        let names = try FileManager.default.contentsOfDirectory(atPath: cases).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 15)
        for name in names.sorted() {
            #expect(compareTapeVerification(try readBytes(cases + "/" + name)) == .taken, "\(name)")
        }
    }

    @Test(
        "Random manifests: the tape path agrees with the model whenever it takes one",
        arguments: [1, 2, 3] as [UInt64]
    )
    func randomManifests(seed: UInt64) {
        var generator = RandomManifests(seed: seed)
        var writer = LooseJSONWriter(rng: SeededGenerator(seed: seed ^ 7))
        var taken = 0
        var rewrittenTaken = 0
        let count = slowTestsEnabled ? 20_000 : 600
        for index in 0..<count {
            let bytes = Array(writer.text(generator.manifest(allowBad: index % 4 == 0)).utf8)
            if compareTapeVerification(bytes) == .taken { taken += 1 }
            // The same manifest as the model writes it: every value has its model type, so most take the tape path.
            if let rewritten = try? Manifest.parse(bytes).canonicalFileBytes(),
                compareTapeVerification(rewritten) == .taken
            {
                rewrittenTaken += 1
            }
        }
        // Random files are full of coercions and refusals, so only some take the tape path as written.
        #expect(taken >= count / 40, "seed \(seed): \(taken) of \(count) taken")
        #expect(rewrittenTaken >= count / 4, "seed \(seed): \(rewrittenTaken) of \(count) rewritten files taken")
    }

    @Test("Manifests that need pydantic's coercions or refusals are left to the model")
    func declines() throws {
        let step = #""provider":"p","model":"m""#
        let samples = [
            // A coerced string, bool or non-integral number.
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"seed":"5"}]}}"#,
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"seed":true}]}}"#,
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"seed":1.5}]}}"#,
            #"{"schema_version":"1.5","run":{"created_at":1700000000,"steps":[]}}"#,
            // Refusals.
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"x":1}]}}"#,
            #"{"schema_version":"1.5","run":{"steps":[{"model":"m"}]}}"#,
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"prompt_visibility":"encrypted"}]}}"#,
            #"{"schema_version":"2.0","run":{}}"#,
            #"{"manifest_uri":"x"}"#,
            // An unpaired surrogate in hashed text.
            #"{"schema_version":"1.5","run":{"name":"a\ud800"}}"#,
            // An asset with word timings, or a null id.
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"assets":[{"asset_id":null,"url":"u","media_type":"a/b"}]}]}}"#,
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"assets":[{"asset_id":"a","url":"u","media_type":"a/b","audio":{"word_timings":[]}}]}]}}"#,
            // A legacy run without its hashed id.
            #"{"schema_version":"1.3","run":{"steps":[]}}"#,
        ]
        for text in samples {
            #expect(compareTapeVerification(Array(text.utf8)) == .declined, "\(text)")
        }
        // The verdict is still the model's: refused where it refuses, verified where it verifies.
        let refused = try ManifestVerdict.verify(bytes: Array(samples[4].utf8))
        #expect(refused.error?.code == .validation)
        let coerced = try ManifestVerdict.verify(bytes: Array(samples[0].utf8))
        #expect(coerced.error == nil && coerced.canonicalHash?.count == 64)
    }

    @Test("Nested models, url-only assets and integral floats are written from the tape")
    func takenShapes() {
        let step = #""provider":"p","model":"m","step_id":"s","run_id":"r""#
        let asset =
            #"{"asset_id":"a","url":"https://H.test/x?sig=1","media_type":"video/mp4","width":1280.0,"duration":8,"#
            + #""video":{"frame_rate":24,"has_audio":false,"bitrate":0},"audio":{"channels":2,"word_timings":null},"#
            + #""tracks":[{"kind":"video","codec":"h264"},{"kind":"audio"}]}"#
        let samples = [
            #"{"schema_version":"1.5","run":{"steps":[{\#(step),"assets":[\#(asset)],"inputs":[\#(asset)]}]}}"#,
            #"{"schema_version":"1.6","run":{"steps":[{\#(step),"assets":[\#(asset)]}]}}"#,
            #"{"schema_version":"1.2","run":{"run_id":"r","steps":[{\#(step),"assets":[\#(asset)]}]}}"#,
            #"{"run":{"run_id":"r","metadata":{"b":1,"a":[1.5,{"z":null}]},"steps":[]}}"#,
        ]
        for text in samples {
            #expect(compareTapeVerification(Array(text.utf8)) == .taken, "\(text)")
        }
    }
}
