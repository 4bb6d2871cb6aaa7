import Testing

@testable import CairnManifest

/// The schema tables decide what every dump holds: these tests read the tables and check the dumps against them,
/// so a row and the code that writes its field cannot drift apart.
@Suite("Manifest schema tables", .timeLimit(.minutes(15)))
struct ManifestSchemaTests {
    /// A manifest whose every optional field holds a value, with one url-only asset (no sha256).
    static func fullManifest(schemaVersion: String) -> Manifest {
        let timings = [WordTiming(word: "hi", start: 0, end: 0.5, confidence: 0.9)]
        var audio = AudioMetadata(sampleRate: 48_000, channels: 2, codec: "aac", bitrate: 128_000)
        audio.wordTimings = timings
        let asset = Asset(
            assetID: "a-1",
            url: "file:///tmp/out.mp4",
            mediaType: "video/mp4",
            sha256: String(repeating: "ab", count: 32),
            sizeBytes: 10,
            width: 64,
            height: 48,
            duration: 1.5,
            video: VideoMetadata(
                frameRate: 24,
                codec: "h264",
                bitrate: 1_000,
                colorSpace: "bt709",
                hasAudio: true,
                resolution: "64x48"
            ),
            audio: audio,
            tracks: [Track(kind: "video", codec: "h264", label: "main")],
            metadata: ["k": .string("v")]
        )
        let urlOnly = Asset(assetID: "a-2", url: "https://example.com/in.png", mediaType: "image/png")
        let step = Step(
            stepID: "s-1",
            runID: "r-1",
            provider: "p",
            model: "m",
            modelVersion: "1",
            modelHash: "h",
            prompt: "a cat",
            negativePrompt: "a dog",
            seed: 7,
            params: ["steps": .integer(20)],
            status: .succeeded,
            inputs: [urlOnly],
            assets: [asset],
            providerPayload: ["id": .string("x")],
            retries: 1,
            costUSD: 0.25,
            error: "none",
            errorCode: .timeout,
            startedAt: .now(),
            completedAt: .now(),
            stepIndex: 0,
            metadata: ["n": .integer(1)]
        )
        let run = Run(
            runID: "r-1",
            tenantID: "t",
            projectID: "p",
            name: "n",
            status: .completed,
            steps: [step],
            parentRunID: "r-0",
            idempotencyKey: "i",
            startedAt: .now(),
            completedAt: .now(),
            metadata: ["m": .bool(true)]
        )
        return Manifest(
            schemaVersion: schemaVersion,
            run: run,
            canonicalHash: "c",
            manifestURI: "u",
            encryptionScheme: "e",
            signature: "s",
            transferFailures: ["f"]
        )
    }

    /// The keys a dump in `mode` must hold for an object of a model, by its table.
    static func expectedKeys<Key>(_ schema: ModelSchema<Key>, _ mode: DumpMode, markers: Bool = false) -> [String] {
        schema.emissionOrder.filter { mode.keeps($0.dump, urlOnlyMarkers: markers) }.map(\.name.description)
    }

    static func object(_ value: JSONValue?) throws -> JSONObject {
        guard case .object(let object)? = value else { throw Unexpected(value: value) }
        return object
    }

    static func firstElement(_ value: JSONValue?) throws -> JSONValue? {
        guard case .array(let items)? = value, let first = items.first else { throw Unexpected(value: value) }
        return first
    }

    struct Unexpected: Error, CustomStringConvertible {
        let value: JSONValue?
        var description: String { "unexpected JSON shape: \(String(describing: value))" }
    }

    @Test("Tables list every key once; emission order is code point order")
    func tables() {
        func check<Key>(_ schema: ModelSchema<Key>) {
            let names = schema.emissionOrder.map(\.name.description)
            #expect(names == names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) })
            #expect(Set(names).count == Key.table.count)
            #expect(schema.fields.count == Key.table.count)
        }
        check(ManifestKey.schema)
        check(RunKey.schema)
        check(StepKey.schema)
        check(AssetKey.schema)
        check(TrackKey.schema)
        check(VideoKey.schema)
        check(AudioKey.schema)
        check(WordTimingKey.schema)
    }

    @Test("Hash payloads and full dumps hold exactly the fields their tables keep", arguments: ["1.0", "1.5", "1.6"])
    func dumps(schemaVersion: String) throws {
        let manifest = Self.fullManifest(schemaVersion: schemaVersion)
        let version = try #require(SchemaVersion(rawValue: schemaVersion))
        for mode in [DumpMode.full, DumpMode.hash(version)] {
            let root = try Self.object(mode.isFull ? try manifest.jsonValue() : try manifest.hashPayload())
            #expect(root.keys == Self.expectedKeys(ManifestKey.schema, mode))
            let run = try Self.object(root["run"])
            #expect(run.keys == Self.expectedKeys(RunKey.schema, mode))
            let step = try Self.object(try Self.firstElement(run["steps"]))
            #expect(step.keys == Self.expectedKeys(StepKey.schema, mode))
            let output = try Self.object(try Self.firstElement(step["assets"]))
            #expect(output.keys == Self.expectedKeys(AssetKey.schema, mode))
            let input = try Self.object(try Self.firstElement(step["inputs"]))
            let markers = !mode.isFull && version.marksURLOnlyAssets
            #expect(input.keys == Self.expectedKeys(AssetKey.schema, mode, markers: markers))
            #expect(try Self.object(output["video"]).keys == Self.expectedKeys(VideoKey.schema, mode))
            let audio = try Self.object(output["audio"])
            #expect(audio.keys == Self.expectedKeys(AudioKey.schema, mode))
            let timing = try Self.object(try Self.firstElement(audio["word_timings"]))
            #expect(timing.keys == Self.expectedKeys(WordTimingKey.schema, mode))
            let track = try Self.object(try Self.firstElement(output["tracks"]))
            #expect(track.keys == Self.expectedKeys(TrackKey.schema, mode))
        }
    }

    @Test("Absent fields read as their table's defaults")
    func defaults() throws {
        let text = #"{"run":{"steps":[{"provider":"p","model":"m","assets":[{"url":"u","media_type":"a/b"}]}]}}"#
        let manifest = try Manifest.parse(Array(text.utf8))
        let step = try #require(manifest.run.steps.first)
        #expect(manifest.schemaVersion == "1.0")
        #expect(manifest.canonicalHash == "")
        #expect(manifest.transferFailures == [])
        #expect(manifest.run.status == .pending)
        #expect(step.stepType == .generate)
        #expect(step.modality == .image)
        #expect(step.promptVisibility == .public)
        #expect(step.status == .pending)
        #expect(step.retries == 0)
        #expect(step.inputs == [])
        #expect(step.params == [:])
        #expect(step.errorCode == nil)
        #expect(step.stepID.count == 36)
        let asset = try #require(step.assets.first)
        #expect(asset.assetID.count == 36)
        #expect(asset.tracks == nil)
        #expect(asset.video == nil)
    }

    @Test("Required fields and null in a non-nullable field are refused with genblaze's words")
    func refusals() throws {
        let cases: [(String, String)] = [
            (#"{"run":{"steps":[{"provider":"p"}]}}"#, "Field required"),
            (#"{"run":{"steps":[{"provider":"p","model":"m","retries":null}]}}"#, "Input should be a valid integer"),
            (#"{"run":{"steps":[{"provider":"p","model":"m","status":null}]}}"#, "valid enumeration member"),
            (#"{"run":{"steps":[{"provider":"p","model":"m","assets":null}]}}"#, "Input should be a valid list"),
            (#"{"run":{"steps":[{"provider":"p","model":"m","assets":[{"url":"u"}]}]}}"#, "Field required"),
            (
                #"{"run":{"steps":[{"provider":"p","model":"m","assets":[{"url":"u","media_type":"a/b","size_bytes":-1}]}]}}"#,
                "greater than or equal to 0"
            ),
        ]
        for (text, words) in cases {
            do {
                _ = try Manifest.parse(Array(text.utf8))
                Issue.record("accepted \(text)")
            } catch let error as ManifestError {
                #expect(error.description.contains(words), "\(text): \(error)")
            }
        }
    }
}
