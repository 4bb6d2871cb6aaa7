// The JSON shape `cairn run --json` prints for each run (snake_case keys; an absent optional is left out).

import CairnCore
import CairnManifest

extension RunResult: Encodable {
    private enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case name, status
        case parentRunID = "parent_run_id"
        case canonicalHash = "canonical_hash"
        case manifestDigest = "manifest_digest"
        case steps, outputs
        case stoppedStages = "stopped_stages"
        case error
    }

    /// `{run_id, name, status, parent_run_id?, canonical_hash?, manifest_digest?, steps, outputs, stopped_stages,
    /// error?}`; each step is `{name, stage, status, attempts, reused_from?, fingerprint, outputs, error?}` and each
    /// output `{digest, media_type, size}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .runID)
        try container.encode(name, forKey: .name)
        try container.encode(status.rawValue, forKey: .status)
        try container.encodeIfPresent(parentRunID, forKey: .parentRunID)
        try container.encodeIfPresent(manifest?.canonicalHash, forKey: .canonicalHash)
        try container.encodeIfPresent(manifest?.digest.description, forKey: .manifestDigest)
        try container.encode(steps.map(StepRecord.init), forKey: .steps)
        try container.encode(outputs.map(OutputRecord.init), forKey: .outputs)
        try container.encode(stoppedStages, forKey: .stoppedStages)
        try container.encodeIfPresent(error, forKey: .error)
    }

    /// A step as a run result prints it.
    private struct StepRecord: Encodable {
        var name: String
        var stage: String
        var status: String
        var attempts: Int
        var reused_from: String?
        var fingerprint: String
        var outputs: [OutputRecord]
        var error: String?

        init(_ step: StepResult) {
            name = step.name
            stage = step.stage
            status = step.status.rawValue
            attempts = step.attempts
            reused_from = step.reusedFrom
            fingerprint = step.fingerprint
            outputs = step.outputs.map(OutputRecord.init)
            error = step.error
        }
    }

    /// An output as a run result prints it.
    private struct OutputRecord: Encodable {
        var digest: String
        var media_type: String
        var size: Int64

        init(_ artifact: Artifact) {
            digest = artifact.digest.description
            media_type = artifact.mediaType
            size = artifact.size
        }
    }
}
