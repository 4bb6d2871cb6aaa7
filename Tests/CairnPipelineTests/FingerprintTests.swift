import CairnCore
import CairnManifest
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnPipeline

@Suite(.timeLimit(.minutes(15)))
struct FingerprintTests {
    let vectors: [String: Any] = {
        let path = repositoryRoot() + "/spec/vectors/pipeline-fingerprints.json"
        let data = FileManager.default.contents(atPath: path) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }()

    func vector(_ name: String, _ key: String) -> String? {
        (vectors[name] as? [String: Any])?[key] as? String
    }

    func spec(seed: Int? = 7) -> StepSpec {
        StepSpec(
            name: "still",
            provider: SyntheticProvider(),
            model: "image-v1",
            modelVersion: nil,
            prompt: "product on white background",
            negativePrompt: nil,
            seed: seed,
            params: ["width": 96, "height": 64],
            modality: .image,
            stepType: .generate,
            inputFrom: nil
        )
    }

    var input: Artifact {
        let digest = ContentHasher.digest(of: Array("abc".utf8), algorithm: .sha256)
        return Artifact(digest: digest, sha256: digest.hex, size: 3, media: MediaMetadata(mediaType: "text/plain"))
    }

    @Test func fingerprintsMatchTheSpecVectors() throws {
        let root = try Fingerprint.stageContext(transform: nil, parentFingerprints: [])
        #expect(root == vector("stage_context_root", "fingerprint"))
        let parents = [String(repeating: "b", count: 64), String(repeating: "a", count: 64)]
        let withParents = try Fingerprint.stageContext(
            transform: .filter(mediaTypePrefix: "image/"),
            parentFingerprints: parents
        )
        #expect(withParents == vector("stage_context_with_parents", "fingerprint"))
        // Parent order does not matter.
        let reversed = try Fingerprint.stageContext(
            transform: .filter(mediaTypePrefix: "image/"),
            parentFingerprints: parents.reversed()
        )
        #expect(reversed == withParents)
        let preimage = Fingerprint.stepPreimage(
            provider: SyntheticProvider(),
            spec: spec(),
            prompt: spec().prompt,
            inputs: [input],
            stageContext: root
        )
        #expect(try CanonicalJSON.string(preimage) == vector("step", "preimage"))
        let step = try Fingerprint.step(
            provider: SyntheticProvider(),
            spec: spec(),
            prompt: spec().prompt,
            inputs: [input],
            stageContext: root
        )
        #expect(step == vector("step", "fingerprint"))
        #expect(try Fingerprint.stageOutput(context: root, steps: [step]) == vector("stage_output", "fingerprint"))
    }

    @Test func everyDeterminingFieldChangesTheStepFingerprint() throws {
        let root = try Fingerprint.stageContext(transform: nil, parentFingerprints: [])
        func print(
            _ spec: StepSpec,
            provider: any Provider = SyntheticProvider(),
            inputs: [Artifact]? = nil
        ) throws -> String {
            try Fingerprint.step(
                provider: provider,
                spec: spec,
                prompt: spec.prompt,
                inputs: inputs ?? [input],
                stageContext: root
            )
        }
        let base = try print(spec())
        var changed: [StepSpec] = []
        var copy = spec()
        copy.model = "image-v2"
        changed.append(copy)
        copy = spec()
        copy.prompt = "other"
        changed.append(copy)
        copy = spec()
        copy.params = ["width": 96, "height": 65]
        changed.append(copy)
        copy = spec()
        copy.modality = .video
        changed.append(copy)
        copy = spec()
        copy.stepType = .edit
        changed.append(copy)
        copy = spec()
        copy.modelVersion = "2"
        changed.append(copy)
        changed.append(spec(seed: 8))
        for variant in changed {
            #expect(try print(variant) != base)
        }
        #expect(try print(spec(), provider: SyntheticProvider(name: "other")) != base)
        #expect(try print(spec(), inputs: []) != base)
        #expect(try print(spec(), inputs: [input, input]) != base)
        // The step's name is not part of its identity.
        copy = spec()
        copy.name = "renamed"
        #expect(try print(copy) == base)
    }
}
