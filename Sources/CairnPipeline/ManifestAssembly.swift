import CairnCore
import CairnManifest
import Foundation

/// Builds the genblaze manifest (schema 1.5) of a run (spec/pipeline.md, "Manifests").
///
/// Every genblaze field is written, with genblaze's defaults, so that genblaze's own `verify` accepts the file and
/// re-hashes it to the same canonical hash. Cairn's own facts about a step (name, stage, fingerprint, attempts,
/// reuse, provider ids, record digests) go into `provider_payload`, which genblaze does not hash; the object
/// digest of each asset is its `url` (`cairn:<digest>`), also unhashed.
enum ManifestAssembly {
    static func asset(_ artifact: Artifact) -> Asset {
        var video: VideoMetadata? = nil
        if let frameRate = artifact.media.frameRate {
            let resolution = artifact.media.width.flatMap { width in artifact.media.height.map { "\(width)x\($0)" } }
            video = VideoMetadata(frameRate: frameRate, hasAudio: false, resolution: resolution)
        }
        var audio: AudioMetadata? = nil
        if artifact.media.sampleRate != nil || artifact.media.channels != nil {
            audio = AudioMetadata(
                sampleRate: artifact.media.sampleRate.map { JSONInteger($0) },
                channels: artifact.media.channels.map { JSONInteger($0) }
            )
        }
        return Asset(
            url: "cairn:\(artifact.digest)",
            mediaType: artifact.mediaType,
            sha256: artifact.sha256,
            sizeBytes: JSONInteger(Int(artifact.size)),
            width: artifact.media.width.map { JSONInteger($0) },
            height: artifact.media.height.map { JSONInteger($0) },
            duration: artifact.media.duration,
            video: video,
            audio: audio
        )
    }

    static func step(_ step: StepResult, runID: String) -> Step {
        var cairn: [(String, JSONValue)] = [
            ("attempts", .integer(JSONInteger(step.attempts))),
            ("fingerprint", .string(step.fingerprint)),
            ("provider_request_id", step.providerRequestID.map(JSONValue.string) ?? .null),
            ("provider_response_id", step.providerResponseID.map(JSONValue.string) ?? .null),
            (
                "records",
                .object(
                    JSONObject(step.records.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.description)) })
                )
            ),
            ("reused_from", step.reusedFrom.map(JSONValue.string) ?? .null),
            ("run_output", .bool(step.isRunOutput)),
            ("stage", .string(step.stage)),
            ("step", .string(step.name)),
        ]
        for (key, value) in step.providerPayload.sorted(by: { $0.key < $1.key }) {
            cairn.append(("provider_" + key, .string(value)))
        }
        var errorCode: ProviderErrorCode? = nil
        if step.status != .succeeded {
            errorCode = step.errorCode.flatMap(ProviderErrorCode.init(rawValue:)) ?? .unknown
        }
        return Step(
            runID: runID,
            provider: step.provider,
            model: step.model,
            stepType: step.stepType,
            modelVersion: step.modelVersion,
            modality: step.modality,
            prompt: step.prompt,
            negativePrompt: step.negativePrompt,
            seed: step.seed.map { JSONInteger($0) },
            params: step.params,
            status: step.status,
            inputs: step.inputs.map(asset),
            assets: step.outputs.map(asset),
            providerPayload: ["cairn": .object(JSONObject(cairn))],
            retries: JSONInteger(max(0, step.attempts - 1)),
            error: step.error,
            errorCode: errorCode,
            startedAt: Timestamp(isoText: step.startedAt),
            completedAt: Timestamp(isoText: step.completedAt),
            stepIndex: JSONInteger(step.index)
        )
    }

    /// The run's manifest, sealed (its canonical hash filled in).
    static func manifest(for result: RunResult) throws -> Manifest {
        let started = Timestamp(isoText: result.startedAt) ?? .now()
        let run = Run(
            runID: result.runID,
            name: result.name,
            status: result.status,
            steps: result.steps.map { step($0, runID: result.runID) },
            parentRunID: result.parentRunID,
            createdAt: started,
            startedAt: started,
            completedAt: Timestamp(isoText: result.completedAt),
            metadata: result.metadata
        )
        return try Manifest.from(run: run)
    }

    /// The artifacts a manifest marks as its run's outputs (steps with `run_output`), else the last step's assets.
    static func runOutputs(manifestBytes: [UInt8]) throws -> [Artifact] {
        let steps = try Manifest.parse(manifestBytes).run.steps
        var marked = steps.filter {
            $0.providerPayload["cairn"]?.objectValue?["run_output"]?.boolValue == true
        }
        if marked.isEmpty, let last = steps.last { marked = [last] }
        return marked.flatMap { $0.assets.compactMap(artifact(from:)) }
    }

    static func artifact(from asset: Asset) -> Artifact? {
        guard let sha256 = asset.sha256 else { return nil }
        var digest: Digest?
        if asset.url.hasPrefix("cairn:") {
            digest = try? Digest(parsing: String(asset.url.dropFirst("cairn:".count)))
        }
        if digest == nil { digest = try? Digest(parsing: "sha256:" + sha256) }
        guard let digest else { return nil }
        return Artifact(digest: digest, sha256: sha256, size: Int64(asset.sizeBytes?.int ?? 0), media: asset.media)
    }
}
