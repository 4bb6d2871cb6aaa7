package import CairnCore

/// What the layers above read from a stored manifest, without the model's validation: the run's identity and
/// links, each step's summary, the assets it consumed and produced, and every digest the manifest refers to.
///
/// The ledger, its index and garbage collection read manifests they stored earlier, of any schema version, through
/// this one reading; none of them walks manifest JSON by hand. An outline is lenient where the model is strict
/// (a missing optional field is nil), and strict where the ledger depends on it: the text must be a JSON object
/// with a `run` object.
package struct ManifestOutline: Sendable, Hashable {
    /// An asset a step consumed (`inputs`) or produced (`assets`), by its declared SHA-256.
    package struct AssetReference: Sendable, Hashable {
        /// The declared `sha256` as a digest (`sha256:<hex>`), or nil when missing or malformed.
        package var digest: Digest?
        /// The declared media type.
        package var mediaType: String?
        /// The declared `size_bytes`, when it is an integer.
        package var sizeBytes: Int64?
    }

    /// One step's summary.
    package struct Step: Sendable, Hashable {
        /// `step_index`, or the step's position when absent.
        package var index: Int
        package var stepID: String?
        package var stepType: String?
        package var modality: String?
        package var status: String?
        package var provider: String?
        package var model: String?
        package var startedAt: String?
        package var completedAt: String?
        /// `inputs`, in order.
        package var inputs: [AssetReference]
        /// `assets` (outputs), in order.
        package var outputs: [AssetReference]
        /// Every string anywhere under `provider_payload` that parses strictly as a digest (provider records:
        /// request and response bodies, stdout, stderr).
        package var payloadDigests: [Digest]
    }

    /// `run.run_id`.
    package var runID: String?
    /// `run.parent_run_id`.
    package var parentRunID: String?
    /// `run.name`.
    package var name: String?
    /// `run.status`.
    package var status: String?
    /// `run.created_at`, as written.
    package var createdAt: String?
    /// The stored `canonical_hash`.
    package var canonicalHash: String?
    /// `run.steps`, in order.
    package var steps: [Step]

    /// Every digest the manifest refers to: each step's inputs and outputs (by SHA-256) and provider records.
    /// Garbage collection keeps every one of them.
    package var referencedDigests: Set<Digest> {
        var digests: Set<Digest> = []
        for step in steps {
            for asset in step.inputs + step.outputs { if let digest = asset.digest { digests.insert(digest) } }
            digests.formUnion(step.payloadDigests)
        }
        return digests
    }

    /// Reads the outline of a manifest file's bytes.
    ///
    /// - Throws: ``ManifestError`` (`.invalidJSON` for malformed JSON, `.notAnObject` when the text is not an object
    ///   with a `run` object).
    package init(bytes: some Collection<UInt8>) throws {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw ManifestError(
                .invalidJSON,
                kind: "JSONDecodeError",
                "manifest is not JSON: \(error)",
                underlying: error
            )
        }
        guard let top = value.objectValue, let run = top["run"]?.objectValue else {
            throw ManifestError(.notAnObject, kind: "ManifestError", "manifest has no run object")
        }
        runID = run["run_id"]?.stringValue
        parentRunID = run["parent_run_id"]?.stringValue
        name = run["name"]?.stringValue
        status = run["status"]?.stringValue
        createdAt = run["created_at"]?.stringValue
        canonicalHash = top["canonical_hash"]?.stringValue
        steps = []
        for (position, stepValue) in (run["steps"]?.arrayValue ?? []).enumerated() {
            guard let step = stepValue.objectValue else { continue }
            steps.append(
                Step(
                    index: step["step_index"]?.integerValue?.int ?? position,
                    stepID: step["step_id"]?.stringValue,
                    stepType: step["step_type"]?.stringValue,
                    modality: step["modality"]?.stringValue,
                    status: step["status"]?.stringValue,
                    provider: step["provider"]?.stringValue,
                    model: step["model"]?.stringValue,
                    startedAt: step["started_at"]?.stringValue,
                    completedAt: step["completed_at"]?.stringValue,
                    inputs: Self.assetReferences(step["inputs"]),
                    outputs: Self.assetReferences(step["assets"]),
                    payloadDigests: step["provider_payload"].map(Self.digests(in:)) ?? []
                )
            )
        }
    }

    /// The assets listed in a step's `inputs` or `assets` value (objects only; anything else lists nothing).
    ///
    /// A static function rather than one nested in the initialiser's loop: Swift 6.3's optimizer aborts on the
    /// nested form in release builds (an ownership verification failure in CopyPropagation).
    static func assetReferences(_ list: JSONValue?) -> [AssetReference] {
        var references: [AssetReference] = []
        for item in list?.arrayValue ?? [] {
            guard let fields = item.objectValue else { continue }
            var size: Int64? = nil
            if let bytes = fields["size_bytes"]?.integerValue?.int { size = Int64(bytes) }
            references.append(
                AssetReference(
                    digest: fields["sha256"]?.stringValue.flatMap { Digest("sha256:" + $0) },
                    mediaType: fields["media_type"]?.stringValue,
                    sizeBytes: size
                )
            )
        }
        return references
    }

    /// Every string in `value`, at any depth, that parses strictly as a digest, in document order.
    static func digests(in value: JSONValue) -> [Digest] {
        var found: [Digest] = []
        var pending = [value]
        while let next = pending.popLast() {
            switch next {
            case .string(let text):
                if let digest = Digest(text) { found.append(digest) }
            case .array(let items):
                pending.append(contentsOf: items.reversed())
            case .object(let object):
                pending.append(contentsOf: object.map(\.value).reversed())
            default:
                break
            }
        }
        return found
    }
}
