import Foundation
import Testing
import _CairnTestSupport

@testable import CairnManifest

/// Hash invariants: operational fields never change the canonical hash; hashed fields always do.
@Suite(.timeLimit(.minutes(15)))
struct ManifestPropertyTests {
    static let seeds: [UInt64] = Array(1...25)

    /// A random valid manifest with every output sealed (sha256 valid), built through the model.
    func randomManifest(seed: UInt64, version: SchemaVersion = .v1_5) throws -> Manifest {
        var generator = RandomManifests(seed: seed)
        generator.forceIDs = true
        for _ in 0..<50 {
            var json = generator.manifest(allowBad: false)
            if case .object(var object) = json {
                object["schema_version"] = .string(version.rawValue)
                json = .object(object)
            }
            if var manifest = try? Manifest(json: json), (try? manifest.computeCanonicalHash()) != nil {
                // Naive timestamps cannot be written (as in genblaze); drop them.
                for index in manifest.run.steps.indices where manifest.run.steps[index].startedAt?.isoText == nil {
                    manifest.run.steps[index].startedAt = nil
                }
                return try manifest.sealed()
            }
        }
        throw TestFileError(path: "no valid manifest for seed \(seed)")
    }

    @Test("New identifiers are random lowercase UUID version 4 text, as Python's str(uuid.uuid4())")
    func newIdentifiers() {
        var seen: Set<String> = []
        for _ in 0..<1000 {
            let text = newIdentifier()
            let bytes = Array(text.utf8)
            #expect(bytes.count == 36)
            for (offset, byte) in bytes.enumerated() {
                if [8, 13, 18, 23].contains(offset) {
                    #expect(byte == UInt8(ascii: "-"))
                } else {
                    #expect((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66), "\(text)")
                }
            }
            #expect(bytes[14] == UInt8(ascii: "4"), "version nibble in \(text)")
            #expect("89ab".utf8.contains(bytes[19]), "variant nibble in \(text)")
            #expect(UUID(uuidString: text) != nil)
            seen.insert(text)
        }
        #expect(seen.count == 1000)
    }

    @Test("Operational fields never change the hash", arguments: seeds)
    func operationalFieldsAreNotHashed(seed: UInt64) throws {
        let manifest = try randomManifest(seed: seed)
        let hash = manifest.canonicalHash
        var changed = manifest
        changed.run.parentRunID = "parent-\(seed)"
        changed.run.status = .failed
        changed.run.runID = newIdentifier()
        changed.run.createdAt = Timestamp(year: 2001, month: 2, day: 3)
        changed.run.startedAt = .now()
        changed.run.completedAt = .now()
        changed.run.idempotencyKey = "key"
        changed.manifestURI = "s3://elsewhere"
        changed.signature = "sig"
        changed.transferFailures = ["x"]
        for index in changed.run.steps.indices {
            changed.run.steps[index].stepID = newIdentifier()
            changed.run.steps[index].runID = "other"
            changed.run.steps[index].status = .failed
            changed.run.steps[index].error = "boom"
            changed.run.steps[index].errorCode = .timeout
            changed.run.steps[index].retries = 9
            changed.run.steps[index].costUSD = 1.25
            changed.run.steps[index].startedAt = .now()
            changed.run.steps[index].stepIndex = 42
            changed.run.steps[index].providerPayload = ["raw": "response"]
            for assetIndex in changed.run.steps[index].assets.indices {
                changed.run.steps[index].assets[assetIndex].assetID = newIdentifier()
                if isValidSHA256(changed.run.steps[index].assets[assetIndex].sha256) {
                    changed.run.steps[index].assets[assetIndex].url = "https://moved.test/x"
                }
            }
            for assetIndex in changed.run.steps[index].inputs.indices {
                changed.run.steps[index].inputs[assetIndex].assetID = newIdentifier()
            }
        }
        #expect(try changed.computeCanonicalHash() == hash)
        // The writer keeps parent_run_id, and the written file verifies.
        let reread = try Manifest.parse(try changed.canonicalFileBytes())
        #expect(reread.run.parentRunID == "parent-\(seed)")
        #expect(try reread.verifyHash())
    }

    @Test("Changing any hashed field changes the hash", arguments: seeds)
    func hashedFieldsAreHashed(seed: UInt64) throws {
        let manifest = try randomManifest(seed: seed)
        let hash = manifest.canonicalHash
        var mutations: [(String, (inout Manifest) -> Void)] = [
            ("schema_version", { $0.schemaVersion = "1.4" }),
            ("name", { $0.run.name = ($0.run.name ?? "") + "!" }),
            ("tenant", { $0.run.tenantID = "tenant-\(seed)" }),
            ("project", { $0.run.projectID = "project-\(seed)" }),
            ("run metadata", { $0.run.metadata["tag\(seed)"] = 1 }),
            ("add step", { $0.run.steps.append(Step(provider: "p", model: "m")) }),
        ]
        if !manifest.run.steps.isEmpty {
            mutations += [
                ("provider", { $0.run.steps[0].provider = "other" }),
                ("model", { $0.run.steps[0].model += "-v2" }),
                ("prompt", { $0.run.steps[0].prompt = ($0.run.steps[0].prompt ?? "") + "." }),
                ("negative", { $0.run.steps[0].negativePrompt = "neg\(seed)" }),
                ("seed", { $0.run.steps[0].seed = JSONInteger(Int(seed) + 1_000_000) }),
                ("params int->float", { $0.run.steps[0].params["k"] = .integer(30) }),
                ("modality", { $0.run.steps[0].modality = $0.run.steps[0].modality == .text ? .image : .text }),
                ("step type", { $0.run.steps[0].stepType = $0.run.steps[0].stepType == .mix ? .edit : .mix }),
                (
                    "visibility",
                    {
                        $0.run.steps[0].promptVisibility =
                            $0.run.steps[0].promptVisibility == .private ? .public : .private
                    }
                ),
                ("model version", { $0.run.steps[0].modelVersion = "v\(seed)" }),
                ("step metadata", { $0.run.steps[0].metadata["m\(seed)"] = "x" }),
                ("input", { $0.run.steps[0].inputs.append(Asset(url: "u", mediaType: "image/png")) }),
                ("output", { $0.run.steps[0].assets.append(Asset(url: "u", mediaType: "image/png")) }),
            ]
            if !manifest.run.steps[0].assets.isEmpty {
                mutations += [
                    ("sha256", { $0.run.steps[0].assets[0].sha256 = String(repeating: "e", count: 64) }),
                    ("media type", { $0.run.steps[0].assets[0].mediaType += "x" }),
                    ("size", { $0.run.steps[0].assets[0].sizeBytes = JSONInteger(Int(seed) + 77_777) }),
                    ("width", { $0.run.steps[0].assets[0].width = JSONInteger(Int(seed) + 99_999) }),
                    ("duration", { $0.run.steps[0].assets[0].duration = Double(seed) + 0.5 }),
                    (
                        "tracks nil->[]",
                        { $0.run.steps[0].assets[0].tracks = $0.run.steps[0].assets[0].tracks == nil ? [] : nil }
                    ),
                    ("asset metadata", { $0.run.steps[0].assets[0].metadata["k\(seed)"] = 2 }),
                ]
            }
        }
        for (name, mutate) in mutations {
            var changed = manifest
            mutate(&changed)
            #expect(try changed.computeCanonicalHash() != hash, "\(name) (seed \(seed))")
        }
    }

    @Test("Legacy schemas hash ids and urls; 1.6 hashes URL-only markers", arguments: Array(seeds.prefix(8)))
    func versionPolicies(seed: UInt64) throws {
        let legacy = try randomManifest(seed: seed, version: .v1_3)
        var changed = legacy
        changed.run.runID = newIdentifier()
        #expect(try changed.computeCanonicalHash() != legacy.canonicalHash)
        changed = legacy
        changed.run.parentRunID = "p"
        #expect(try changed.computeCanonicalHash() == legacy.canonicalHash)

        var urlOnly = try randomManifest(seed: seed, version: .v1_6)
        urlOnly.run.steps.append(
            Step(
                provider: "p",
                model: "m",
                assets: [Asset(url: "https://a.test/x.png?b=2&a=1", mediaType: "image/png")]
            )
        )
        let before = try urlOnly.computeCanonicalHash()
        urlOnly.run.steps[urlOnly.run.steps.count - 1].assets[0].url = "https://A.test/x.png?a=1&b=2&X-Amz-Date=9#f"
        #expect(try urlOnly.computeCanonicalHash() == before, "credential params, case and order do not matter")
        urlOnly.run.steps[urlOnly.run.steps.count - 1].assets[0].url = "https://a.test/y.png?a=1&b=2"
        #expect(try urlOnly.computeCanonicalHash() != before, "the path does")
    }

    @Test("Canonical output is stable under key reordering and re-parsing", arguments: seeds)
    func canonicalStability(seed: UInt64) throws {
        var generator = RandomManifests(seed: seed &* 7919)
        var writer = LooseJSONWriter(rng: SeededGenerator(seed: seed))
        for _ in 0..<20 {
            let value = generator.any(depth: 0)
            let canonical = try CanonicalJSON.encode(value)
            // Reordered, re-spaced, re-escaped text of the same value encodes to the same bytes.
            let loose = writer.text(value)
            #expect(try CanonicalJSON.encode(try JSONReader.parse(Array(loose.utf8))) == canonical, "\(loose)")
            // Canonical text is a fixed point.
            #expect(try CanonicalJSON.encode(try JSONReader.parse(canonical)) == canonical)
        }
        // And a whole manifest file: parse, write, parse, write is stable.
        let manifest = try randomManifest(seed: seed)
        let written = try manifest.canonicalFileBytes()
        #expect(try Manifest.parse(written).canonicalFileBytes() == written)
    }

    @Test("Builders stamp run ids and indexes; parent never changes the hash")
    func builders() throws {
        let step = StepBuilder(provider: "p", model: "m").prompt("x").seed(1).build()
        let run = RunBuilder(name: "r").runID("run-1").addStep(step).addStep(step).build()
        #expect(run.steps.map(\.runID) == ["run-1", "run-1"])
        #expect(run.steps.map(\.stepIndex) == [0, 1])
        let child = RunBuilder(name: "r").runID("run-2").parent("run-1").addStep(step).addStep(step).build()
        #expect(try Manifest.from(run: run).canonicalHash == Manifest.from(run: child).canonicalHash)
        #expect(child.parentRunID == "run-1")
    }
}
