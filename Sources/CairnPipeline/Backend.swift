import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import _CairnSystem

extension Artifact {
    /// The artifact as a receipt names it: its digest and media type.
    var receiptArtifact: ReceiptArtifact { ReceiptArtifact(digest: digest, mediaType: mediaType) }
}

extension Receipt {
    /// The `error` of a failed attempt's receipt (spec/pipeline.md §5): `<code>: <message>`, the provider error
    /// code put in front of the message unless the message already starts with it. Without a code (a cancelled
    /// attempt) the message is kept as it is.
    static func errorText(_ message: String, code: String?) -> String {
        guard let code, !message.hasPrefix(code) else { return message }
        return "\(code): \(message)"
    }
}

/// Where runs are recorded: receipts and manifests (the ledger in production).
protocol RunJournal: Sendable {
    /// Appends one attempt's receipt; durable on return.
    func appendReceipt(_ receipt: Receipt) throws
    /// Builds the run's manifest, appends it, and returns it with its stored digest; durable on return.
    func appendRun(_ result: RunResult) throws -> RecordedManifest
    /// The outputs of a recorded run (its steps marked as run outputs), or nil when the run is unknown.
    func outputs(ofRun runID: String) throws -> [Artifact]?
    /// The newest run recorded under `name`, if any.
    func latestRun(named name: String) throws -> String?
}

/// The store, the journal and the step cache a pipeline runs against.
struct PipelineBackend: Sendable {
    let store: any ObjectBackend
    let journal: any RunJournal
    let cache: StepCache

    /// `root` is the local folder for derived data (the step cache, `<root>/pipeline/cache`).
    init(store: any ObjectBackend, root: String, journal: any RunJournal) {
        self.store = store
        self.journal = journal
        self.cache = StepCache(root: root + "/pipeline/cache")
    }

    init(store: ObjectStore) throws {
        self.init(store: store, root: store.root, journal: try makeLedgerJournal(store: store))
    }

    /// Puts `bytes` into the store and describes them.
    func ingest(bytes: [UInt8], output: ProviderOutput?) throws -> Artifact {
        let result = try store.put(bytes)
        let sha256 =
            result.digest.algorithm == .sha256
            ? result.digest.hex : ContentHasher.digest(of: bytes, algorithm: .sha256).hex
        return artifact(result, sha256: sha256, output: output, mediaType: output?.mediaType ?? "")
    }

    /// Puts the file at `path` into the store and describes it.
    func ingest(fileAt path: String, output: ProviderOutput) throws -> Artifact {
        let result = try store.put(fileAt: path)
        var sha256 = result.digest.hex
        if result.digest.algorithm != .sha256 {
            sha256 = ContentHasher.digest(of: try store.read(result.digest), algorithm: .sha256).hex
        }
        return artifact(result, sha256: sha256, output: output, mediaType: output.mediaType)
    }

    private func artifact(_ result: PutResult, sha256: String, output: ProviderOutput?, mediaType: String) -> Artifact {
        var media = output?.media ?? MediaMetadata(mediaType: mediaType)
        media.mediaType = mediaType
        return Artifact(digest: result.digest, sha256: sha256, size: result.size, media: media)
    }

    /// Whether every artifact is present and its bytes still hash to its digest.
    func areIntact(_ artifacts: [Artifact]) -> Bool {
        for artifact in artifacts {
            guard (try? store.read(artifact.digest, verify: true)) != nil else { return false }
        }
        return true
    }
}

/// A cached successful step: the outputs a fingerprint produced, and the run that produced them.
struct CachedStep: Sendable, Codable, Equatable {
    /// The entry format (spec/pipeline.md §4); ``StepCache/format`` for every entry this code writes.
    var format: String
    var pipeline: String
    var fingerprint: String
    var runID: String
    var step: String
    var outputs: [Artifact]

    /// An entry in the current format.
    init(pipeline: String, fingerprint: String, runID: String, step: String, outputs: [Artifact]) {
        self.format = StepCache.format
        self.pipeline = pipeline
        self.fingerprint = fingerprint
        self.runID = runID
        self.step = step
        self.outputs = outputs
    }

    enum CodingKeys: String, CodingKey {
        case format, pipeline, fingerprint, step, outputs
        case runID = "run_id"
    }
}

/// The step cache: `<store>/pipeline/cache/<pipeline-key>/<fingerprint>.json` (spec/pipeline.md, "Step cache").
///
/// Derived data: an entry is written only after the step's succeeded receipt is durable in the ledger, and every
/// hit is checked against the store (outputs present and intact) before it is used. Deleting the folder only
/// costs re-computation. Every entry names its format; an entry in any other format (or in the unversioned shape
/// written before formats were named) is a miss, never read as this one.
struct StepCache: Sendable {
    /// The format this code writes and the only one it reads.
    static let format = "cairn-step-cache/2"

    let root: String

    func directory(pipeline: String) -> String {
        root + "/" + ContentHasher.digest(of: Array(pipeline.utf8), algorithm: .sha256).hex.prefix(32)
    }

    func lookup(pipeline: String, fingerprint: String) -> CachedStep? {
        let path = directory(pipeline: pipeline) + "/" + fingerprint + ".json"
        guard let data = FileManager.default.contents(atPath: path),
            let version = try? JSONDecoder().decode(FormatField.self, from: data),
            version.format == Self.format,
            let entry = try? JSONDecoder().decode(CachedStep.self, from: data),
            entry.fingerprint == fingerprint, entry.pipeline == pipeline
        else { return nil }
        return entry
    }

    func remember(_ entry: CachedStep) throws {
        let directory = directory(pipeline: entry.pipeline)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(entry)
        // No fsync: the entry is derived from the (durable) receipt; a torn entry fails to decode and is a miss.
        try writeAtomically(data, to: directory + "/" + entry.fingerprint + ".json", sync: false)
    }

    /// Only an entry's `format` member, read before anything else so that no other field of an entry in another
    /// format is ever decoded as this format's.
    private struct FormatField: Decodable {
        var format: String?
    }
}

/// Publishes `data` at `path` atomically through the IO layer (a temporary file beside it, renamed into place;
/// synced, with its directory, when `sync` is true). On failure `path` is untouched.
func writeAtomically(_ data: Data, to path: String, sync: Bool = true) throws {
    do {
        try SystemCalls.publish([UInt8](data), at: path, sync: sync)
    } catch {
        throw PipelineError(.store, "cannot write \(path): \(error.errno)")
    }
}

extension AttemptStatus {
    /// The step status an attempt that ended this way gives its step.
    var stepStatus: StepStatus {
        switch self {
        case .succeeded: .succeeded
        case .failed: .failed
        case .cancelled: .cancelled
        }
    }
}
