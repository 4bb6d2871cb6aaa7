import CairnCore
import CairnManifest
package import CairnStore

/// The rows that log entries make in the index tables of spec/index.md, as values: what a batched index backend
/// (PostgreSQL) inserts with one statement per batch. Each entry is read exactly as `LedgerIndex` reads it.
package struct IndexRows: Sendable {
    /// An `entries` row.
    package struct Entry: Sendable, Hashable {
        package var seq: UInt64
        package var type: String
        package var runID: String
        package var timestamp: String
    }

    /// A `run_rows` row (one per `manifest` entry; the latest per run wins).
    package struct Run: Sendable, Hashable {
        package var runID: String
        package var seq: UInt64
        package var name: String?
        package var parentRunID: String?
        package var canonicalHash: String
        package var manifest: String
        package var status: String?
        package var timestamp: String
        package var createdAt: String?
    }

    /// A `step_rows` row: a receipt, or one step of a manifest.
    package struct Step: Sendable, Hashable {
        package var seq: UInt64
        package var source: String
        package var runID: String
        package var stepIndex: Int?
        package var stepName: String?
        package var attempt: Int?
        package var status: String?
        package var provider: String?
        package var model: String?
        package var fingerprint: String?
        package var startedAt: String?
        package var finishedAt: String?
        package var stepID: String?
        package var stepType: String?
        package var modality: String?
    }

    /// A `digest_rows` row.
    package struct DigestRow: Sendable, Hashable {
        package var seq: UInt64
        package var source: String
        package var digest: String
        package var role: String
        package var runID: String
        package var stepIndex: Int?
        package var mediaType: String?
        package var sizeBytes: Int64?
        package var position: Int
    }

    /// A `tags` row.
    package struct Tag: Sendable, Hashable {
        package var seq: UInt64
        package var runID: String
        package var key: String
        package var value: String
    }

    package var entries: [Entry] = []
    /// Every manifest entry's run row, in log order (a run may appear more than once).
    package var runs: [Run] = []
    package var steps: [Step] = []
    package var digests: [DigestRow] = []
    package var tags: [Tag] = []

    package init() {}

    /// Adds the rows of entry `seq` (its exact bytes `payload`), reading a manifest's body from `store` when the
    /// store has it. An unreadable store or a body that does not read as a manifest is an error, never "no steps".
    package mutating func add(seq: UInt64, payload: [UInt8], store: any ObjectBackend) throws {
        let (entry, timestamp) = try LedgerEntry.decode(payload)
        entries.append(Entry(seq: seq, type: entry.typeName, runID: entry.runID, timestamp: timestamp))
        switch entry {
        case .manifest(let record):
            var outline: ManifestOutline?
            switch try store.contains(record.manifestDigest) {
            case .present: outline = try ManifestOutline(bytes: try store.read(record.manifestDigest))
            case .absent: outline = nil
            }
            runs.append(
                Run(
                    runID: record.runID,
                    seq: seq,
                    name: record.name,
                    parentRunID: record.parentRunID,
                    canonicalHash: record.canonicalHash,
                    manifest: record.manifestDigest.description,
                    status: record.status,
                    timestamp: timestamp,
                    createdAt: outline?.createdAt
                )
            )
            for step in outline?.steps ?? [] {
                steps.append(
                    Step(
                        seq: seq,
                        source: "manifest",
                        runID: record.runID,
                        stepIndex: step.index,
                        stepName: step.stepType,
                        attempt: nil,
                        status: step.status,
                        provider: step.provider,
                        model: step.model,
                        fingerprint: nil,
                        startedAt: step.startedAt,
                        finishedAt: step.completedAt,
                        stepID: step.stepID,
                        stepType: step.stepType,
                        modality: step.modality
                    )
                )
                for (role, assets) in [("consumed", step.inputs), ("produced", step.outputs)] {
                    for (position, asset) in assets.enumerated() {
                        guard let digest = asset.digest else { continue }
                        digests.append(
                            DigestRow(
                                seq: seq,
                                source: "manifest",
                                digest: digest.description,
                                role: role,
                                runID: record.runID,
                                stepIndex: step.index,
                                mediaType: asset.mediaType,
                                sizeBytes: asset.sizeBytes,
                                position: position
                            )
                        )
                    }
                }
            }
        case .receipt(let receipt):
            steps.append(
                Step(
                    seq: seq,
                    source: "receipt",
                    runID: receipt.runID,
                    stepIndex: receipt.stepIndex,
                    stepName: receipt.stepName,
                    attempt: receipt.attempt,
                    status: receipt.status.rawValue,
                    provider: receipt.provider,
                    model: nil,
                    fingerprint: receipt.fingerprint,
                    startedAt: receipt.startedAt,
                    finishedAt: receipt.finishedAt,
                    stepID: nil,
                    stepType: nil,
                    modality: nil
                )
            )
            for (role, list) in [("consumed", receipt.inputs), ("produced", receipt.outputs)] {
                for (position, artifact) in list.enumerated() {
                    digests.append(
                        DigestRow(
                            seq: seq,
                            source: "receipt",
                            digest: artifact.digest.description,
                            role: role,
                            runID: receipt.runID,
                            stepIndex: receipt.stepIndex,
                            mediaType: artifact.mediaType,
                            sizeBytes: nil,
                            position: position
                        )
                    )
                }
            }
        case .tag(let tag):
            let value = String(decoding: try CanonicalJSON.encode(tag.value), as: UTF8.self)
            tags.append(Tag(seq: seq, runID: tag.runID, key: tag.key, value: value))
        }
    }

    /// The rows as one batch leaves them: a run's latest manifest in the batch replaces its earlier ones, with
    /// only that manifest's steps and digests (receipt and tag rows all stay). The runs are in log order.
    package func latestManifestsOnly() -> IndexRows {
        var latest: [String: UInt64] = [:]
        for run in runs { latest[run.runID] = run.seq }
        var result = self
        result.runs = runs.filter { latest[$0.runID] == $0.seq }
        result.steps = steps.filter { $0.source != "manifest" || latest[$0.runID] == $0.seq }
        result.digests = digests.filter { $0.source != "manifest" || latest[$0.runID] == $0.seq }
        return result
    }
}
