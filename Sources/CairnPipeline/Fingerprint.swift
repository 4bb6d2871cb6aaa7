import CairnCore
import CairnManifest

/// Step and stage fingerprints (spec/pipeline.md, "Fingerprints").
///
/// Each fingerprint is the lowercase hex SHA-256 of the canonical JSON (genblaze's rules, spec/canonical-json.md)
/// of a small object. The objects are listed in the spec; ``formatVersion`` is inside every one of them.
package enum Fingerprint {
    /// The fingerprint format; part of every fingerprint, so a format change misses every cache entry.
    package static let formatVersion = "cairn-fingerprint/1"

    /// The context a stage's steps run in: its transform and its parents' output fingerprints, sorted.
    static func stageContext(transform: StageTransform?, parentFingerprints: [String]) throws -> String {
        let transformValue: JSONValue =
            transform.map { .object(JSONObject([("name", .string($0.name)), ("version", .string($0.version))])) }
            ?? .null
        return try CanonicalJSON.sha256Hex(
            .object(
                JSONObject([
                    ("format", .string(formatVersion)),
                    ("kind", "stage"),
                    ("parents", .array(parentFingerprints.sorted().map(JSONValue.string))),
                    ("transform", transformValue),
                ])
            )
        )
    }

    /// A step's fingerprint: what determines its outputs.
    static func step(
        provider: any Provider,
        spec: StepSpec,
        prompt: String?,
        inputs: [Artifact],
        stageContext: String
    ) throws -> String {
        try CanonicalJSON.sha256Hex(
            stepPreimage(provider: provider, spec: spec, prompt: prompt, inputs: inputs, stageContext: stageContext)
        )
    }

    /// The object a step fingerprint hashes.
    static func stepPreimage(
        provider: any Provider,
        spec: StepSpec,
        prompt: String?,
        inputs: [Artifact],
        stageContext: String
    ) -> JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return .object(
            JSONObject([
                ("format", .string(formatVersion)),
                ("inputs", .array(inputs.map { .string($0.digest.description) })),
                ("kind", "step"),
                ("modality", .string(spec.modality.rawValue)),
                ("model", .string(spec.model)),
                ("model_version", optional(spec.modelVersion)),
                ("negative_prompt", optional(spec.negativePrompt)),
                ("params", .object(spec.params)),
                ("prompt", optional(prompt)),
                ("provider", .string(provider.name)),
                ("provider_version", .string(provider.version)),
                ("seed", spec.seed.map { .integer(JSONInteger($0)) } ?? .null),
                ("stage", .string(stageContext)),
                ("step_type", .string(spec.stepType.rawValue)),
            ])
        )
    }

    /// A stage's output fingerprint: its context and its steps' fingerprints in order.
    static func stageOutput(context: String, steps: [String]) throws -> String {
        try CanonicalJSON.sha256Hex(
            .object(
                JSONObject([
                    ("context", .string(context)),
                    ("format", .string(formatVersion)),
                    ("kind", "stage-output"),
                    ("steps", .array(steps.map(JSONValue.string))),
                ])
            )
        )
    }
}
