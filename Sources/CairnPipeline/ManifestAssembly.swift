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
    static let schemaVersion = "1.5"

    static func string(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
    static func integer(_ value: Int?) -> JSONValue { value.map { .integer(JSONInteger($0)) } ?? .null }
    static func float(_ value: Double?) -> JSONValue { value.map(JSONValue.float) ?? .null }

    static func asset(_ artifact: Artifact) -> JSONValue {
        var video: JSONValue = .null
        if let frameRate = artifact.frameRate {
            let resolution = artifact.width.flatMap { width in artifact.height.map { "\(width)x\($0)" } }
            video = .object(
                JSONObject([
                    ("bitrate", .null), ("codec", .null), ("color_space", .null), ("frame_rate", .float(frameRate)),
                    ("has_audio", .bool(false)), ("resolution", string(resolution)),
                ])
            )
        }
        var audio: JSONValue = .null
        if artifact.sampleRate != nil || artifact.channels != nil {
            audio = .object(
                JSONObject([
                    ("bitrate", .null), ("channels", integer(artifact.channels)), ("codec", .null),
                    ("sample_rate", integer(artifact.sampleRate)), ("word_timings", .null),
                ])
            )
        }
        return .object(
            JSONObject([
                ("asset_id", .string(UUID().uuidString.lowercased())),
                ("audio", audio),
                ("duration", float(artifact.duration)),
                ("height", integer(artifact.height)),
                ("media_type", .string(artifact.mediaType)),
                ("metadata", .object(JSONObject())),
                ("sha256", .string(artifact.sha256)),
                ("size_bytes", .integer(JSONInteger(Int(artifact.size)))),
                ("tracks", .null),
                ("url", .string("cairn:\(artifact.digest)")),
                ("video", video),
                ("width", integer(artifact.width)),
            ])
        )
    }

    static func step(_ step: StepResult, runID: String) -> JSONValue {
        var cairn: [(String, JSONValue)] = [
            ("attempts", .integer(JSONInteger(step.attempts))),
            ("fingerprint", .string(step.fingerprint)),
            ("provider_request_id", string(step.providerRequestID)),
            ("provider_response_id", string(step.providerResponseID)),
            (
                "records",
                .object(
                    JSONObject(step.records.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.description)) })
                )
            ),
            ("reused_from", string(step.reusedFrom)),
            ("run_output", .bool(step.isRunOutput)),
            ("stage", .string(step.stage)),
            ("step", .string(step.name)),
        ]
        for (key, value) in step.providerPayload.sorted(by: { $0.key < $1.key }) {
            cairn.append(("provider_" + key, .string(value)))
        }
        return .object(
            JSONObject([
                ("assets", .array(step.outputs.map(asset))),
                ("completed_at", string(step.completedAt.isEmpty ? nil : step.completedAt)),
                ("cost_usd", .null),
                ("error", string(step.error)),
                ("error_code", string(step.status == .succeeded ? nil : (step.errorCode ?? "unknown"))),
                ("inputs", .array(step.inputs.map(asset))),
                ("metadata", .object(JSONObject())),
                ("modality", .string(step.modality.rawValue)),
                ("model", .string(step.model)),
                ("model_hash", .null),
                ("model_version", string(step.modelVersion)),
                ("negative_prompt", string(step.negativePrompt)),
                ("params", .object(step.params)),
                ("prompt", string(step.prompt)),
                ("prompt_visibility", "public"),
                ("provider", .string(step.provider)),
                ("provider_payload", .object(JSONObject([("cairn", .object(JSONObject(cairn)))]))),
                ("retries", .integer(JSONInteger(max(0, step.attempts - 1)))),
                ("run_id", .string(runID)),
                ("seed", integer(step.seed)),
                ("started_at", string(step.startedAt)),
                ("status", .string(step.status.rawValue)),
                ("step_id", .string(UUID().uuidString.lowercased())),
                ("step_index", .integer(JSONInteger(step.index))),
                ("step_type", .string(step.stepType.rawValue)),
            ])
        )
    }

    /// The manifest as JSON, with its canonical hash filled in.
    static func manifest(for result: RunResult) throws -> (value: JSONValue, canonicalHash: String) {
        let steps = result.steps.map { step($0, runID: result.runID) }
        let run = JSONObject([
            ("completed_at", .string(result.completedAt)),
            ("created_at", .string(result.startedAt)),
            ("idempotency_key", .null),
            ("metadata", .object(result.metadata)),
            ("name", .string(result.name)),
            ("parent_run_id", string(result.parentRunID)),
            ("project_id", .null),
            ("run_id", .string(result.runID)),
            ("started_at", .string(result.startedAt)),
            ("status", .string(result.status.rawValue)),
            ("steps", .array(steps)),
            ("tenant_id", .null),
        ])
        let hash = try CanonicalJSON.sha256Hex(hashPayload(run: run))
        let manifest = JSONValue.object(
            JSONObject([
                ("canonical_hash", .string(hash)),
                ("encryption_scheme", .null),
                ("manifest_uri", .null),
                ("run", .object(run)),
                ("schema_version", .string(schemaVersion)),
                ("signature", .null),
                ("transfer_failures", .array([])),
            ])
        )
        return (manifest, hash)
    }

    /// genblaze's hash payload at schema 1.4/1.5: operational fields removed (reference section 3).
    static func hashPayload(run: JSONObject) -> JSONValue {
        var stripped = run
        for key in ["run_id", "status", "created_at", "started_at", "completed_at", "idempotency_key", "parent_run_id"]
        {
            _ = stripped.removeValue(forKey: key)
        }
        let stepKeys = [
            "step_id", "run_id", "status", "error", "error_code", "retries", "cost_usd", "started_at", "completed_at",
            "provider_payload", "step_index",
        ]
        func strip(_ asset: JSONValue) -> JSONValue {
            guard var object = asset.objectValue else { return asset }
            _ = object.removeValue(forKey: "asset_id")
            _ = object.removeValue(forKey: "url")
            return .object(object)
        }
        let steps: [JSONValue] = (run["steps"]?.arrayValue ?? []).map { value in
            guard var step = value.objectValue else { return value }
            for key in stepKeys { _ = step.removeValue(forKey: key) }
            step["assets"] = .array((step["assets"]?.arrayValue ?? []).map(strip))
            step["inputs"] = .array((step["inputs"]?.arrayValue ?? []).map(strip))
            return .object(step)
        }
        stripped["steps"] = .array(steps)
        return .object(JSONObject([("run", .object(stripped)), ("schema_version", .string(schemaVersion))]))
    }

    /// The artifacts a manifest marks as its run's outputs (steps with `run_output`), else the last step's assets.
    static func runOutputs(manifestBytes: [UInt8]) throws -> [Artifact] {
        let value = try JSONReader.parse(manifestBytes)
        let steps = value.objectValue?["run"]?.objectValue?["steps"]?.arrayValue ?? []
        var marked = steps.filter {
            $0.objectValue?["provider_payload"]?.objectValue?["cairn"]?.objectValue?["run_output"]?.boolValue == true
        }
        if marked.isEmpty, let last = steps.last { marked = [last] }
        return marked.flatMap { step in
            (step.objectValue?["assets"]?.arrayValue ?? []).compactMap(artifact(from:))
        }
    }

    static func artifact(from asset: JSONValue) -> Artifact? {
        guard let object = asset.objectValue, let sha256 = object["sha256"]?.stringValue else { return nil }
        var digest: Digest?
        if let url = object["url"]?.stringValue, url.hasPrefix("cairn:") {
            digest = try? Digest(parsing: String(url.dropFirst("cairn:".count)))
        }
        if digest == nil { digest = try? Digest(parsing: "sha256:" + sha256) }
        guard let digest else { return nil }
        func double(_ key: String, in object: JSONObject?) -> Double? {
            switch object?[key] {
            case .float(let value): value
            case .integer(let value): value.int.map(Double.init)
            default: nil
            }
        }
        return Artifact(
            digest: digest,
            sha256: sha256,
            mediaType: object["media_type"]?.stringValue ?? "application/octet-stream",
            size: Int64(object["size_bytes"]?.integerValue?.int ?? 0),
            width: object["width"]?.integerValue?.int,
            height: object["height"]?.integerValue?.int,
            duration: double("duration", in: object),
            frameRate: double("frame_rate", in: object["video"]?.objectValue),
            sampleRate: object["audio"]?.objectValue?["sample_rate"]?.integerValue?.int,
            channels: object["audio"]?.objectValue?["channels"]?.integerValue?.int
        )
    }
}
