// The JSON shapes `cairn` prints for ledger results (snake_case keys; an absent optional is `null`). Each type encodes
// itself, so a program linking CairnLedger gets the same JSON as the CLI with any `JSONEncoder`.

import CairnCore
public import CairnManifest
import Foundation

extension RunSummary: Encodable {
    private enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case name
        case parentRunID = "parent_run_id"
        case canonicalHash = "canonical_hash"
        case manifestDigest = "manifest"
        case status, timestamp
        case entryIndex = "entry_index"
    }

    /// `{run_id, name, parent_run_id, canonical_hash, manifest, status, timestamp, entry_index}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .runID)
        try container.encode(name, forKey: .name)
        try container.encode(parentRunID, forKey: .parentRunID)
        try container.encode(canonicalHash, forKey: .canonicalHash)
        try container.encode(manifestDigest, forKey: .manifestDigest)
        try container.encode(status, forKey: .status)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(entryIndex, forKey: .entryIndex)
    }
}

/// A run and its ancestors (parent first, then the parent's parent...): what `cairn lineage RUN_ID --json` prints.
package struct RunAncestry: Sendable, Hashable, Encodable {
    /// The run.
    package var run: RunSummary
    /// Its parent chain, nearest first.
    package var ancestors: [RunSummary]

    /// Creates a value.
    package init(run: RunSummary, ancestors: [RunSummary]) {
        self.run = run
        self.ancestors = ancestors
    }
}

extension LineageNode: Encodable {
    private enum CodingKeys: String, CodingKey { case children }

    /// The run's ``RunSummary`` fields plus `children`, the nodes chained from it.
    public func encode(to encoder: any Encoder) throws {
        try run.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(children, forKey: .children)
    }
}

extension DigestUse: Encodable {
    private enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case stepIndex = "step_index"
        case role
        case mediaType = "media_type"
        case entryIndex = "entry_index"
    }

    /// `{run_id, step_index, role, media_type, entry_index}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .runID)
        try container.encode(stepIndex, forKey: .stepIndex)
        try container.encode(role, forKey: .role)
        try container.encode(mediaType, forKey: .mediaType)
        try container.encode(entryIndex, forKey: .entryIndex)
    }
}

extension GCReport: Encodable {
    private enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run"
        case entriesScanned = "entries_scanned"
        case referenced
        case objectsSeen = "objects"
        case swept
        case sweptBytes = "swept_bytes"
        case keptYoung = "kept_young"
        case debrisRemoved = "debris_removed"
    }

    /// `{dry_run, entries_scanned, referenced, objects, swept, swept_bytes, kept_young, debris_removed}`; `swept`
    /// lists digests as `algo:hex`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(entriesScanned, forKey: .entriesScanned)
        try container.encode(referenced, forKey: .referenced)
        try container.encode(objectsSeen, forKey: .objectsSeen)
        try container.encode(swept.map(\.description), forKey: .swept)
        try container.encode(sweptBytes, forKey: .sweptBytes)
        try container.encode(keptYoung, forKey: .keptYoung)
        try container.encode(debrisRemoved, forKey: .debrisRemoved)
    }
}

extension ImportResult: Encodable {
    private enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case entryIndex = "entry_index"
        case manifestDigest = "manifest"
        case assetsStored = "assets_stored"
        case assetsMissing = "assets_missing"
    }

    /// `{run_id, entry_index, manifest, assets_stored, assets_missing}`; `assets_stored` is the number of asset files
    /// stored.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .runID)
        try container.encode(entry.index, forKey: .entryIndex)
        try container.encode(manifestDigest.description, forKey: .manifestDigest)
        try container.encode(assetsStored.count, forKey: .assetsStored)
        try container.encode(assetsMissing, forKey: .assetsMissing)
    }
}

extension LedgerVerification: Encodable {
    private enum CodingKeys: String, CodingKey {
        case ok, entries
        case rootHash = "root_hash"
        case checkpointSize = "checkpoint_size"
        case firstBadIndex = "first_bad_index"
        case problems
    }

    /// `{ok, entries, root_hash, checkpoint_size, first_bad_index, problems}`; problems are their descriptions.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isOK, forKey: .ok)
        try container.encode(entryCount, forKey: .entries)
        try container.encode(rootHash.hex, forKey: .rootHash)
        try container.encode(checkpoint?.size, forKey: .checkpointSize)
        try container.encode(firstBadIndex, forKey: .firstBadIndex)
        try container.encode(problems.map(\.description), forKey: .problems)
    }
}

extension ProofCheck: Encodable {
    private enum CodingKeys: String, CodingKey {
        case kind, ok, origin
        case verifierKey = "verifier_key"
        case keyFromBundle = "key_from_bundle"
        case findings
    }

    /// `{kind, ok, origin, verifier_key, key_from_bundle, findings}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(isValid, forKey: .ok)
        try container.encode(origin, forKey: .origin)
        try container.encode(verifierKey, forKey: .verifierKey)
        try container.encode(keyFromBundle, forKey: .keyFromBundle)
        try container.encode(findings, forKey: .findings)
    }
}

/// The latest checkpoint as published: the parsed checkpoint, its signed note and the key that verifies it.
public struct PublishedCheckpoint: Sendable, Hashable, Encodable {
    /// The parsed checkpoint.
    public var checkpoint: Checkpoint
    /// The signed note (C2SP), as stored.
    public var note: String
    /// The verifier key (`name+id+base64`).
    public var verifierKey: String

    /// Creates a value.
    public init(checkpoint: Checkpoint, note: String, verifierKey: String) {
        self.checkpoint = checkpoint
        self.note = note
        self.verifierKey = verifierKey
    }

    private enum CodingKeys: String, CodingKey {
        case origin
        case treeSize = "tree_size"
        case rootHash = "root_hash"
        case note = "checkpoint"
        case verifierKey = "verifier_key"
    }

    /// `{origin, tree_size, root_hash, checkpoint, verifier_key}` (`checkpoint` is the signed note).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(checkpoint.origin, forKey: .origin)
        try container.encode(checkpoint.size, forKey: .treeSize)
        try container.encode(checkpoint.rootHash.hex, forKey: .rootHash)
        try container.encode(note, forKey: .note)
        try container.encode(verifierKey, forKey: .verifierKey)
    }
}

extension Ledger {
    /// The latest checkpoint, its signed note and the ledger's verifier key.
    ///
    /// - Throws: ``LedgerError`` when the checkpoint cannot be read or does not verify.
    public func publishedCheckpoint() throws -> PublishedCheckpoint {
        let note = try checkpointNote()
        return PublishedCheckpoint(checkpoint: try checkpoint(), note: note, verifierKey: verifier.encoded)
    }
}

/// What the ledger holds about one run: its summary, manifest, receipts and tags (what `cairn show RUN_ID --json`
/// prints).
///
/// Its JSON is a ``JSONValue`` rather than an `Encodable` encoding because it embeds the stored manifest and tag
/// values as they are, integers of any size included.
public struct RunRecord: Sendable {
    /// The run's summary, nil when the ledger has receipts but no manifest for it.
    public var summary: RunSummary?
    /// The stored manifest bytes, if any.
    public var manifest: [UInt8]?
    /// The run's receipts, in log order.
    public var receipts: [Receipt]
    /// The run's tags, each value the JSON text as stored.
    public var tags: [(key: String, value: String)]

    /// Creates a value.
    public init(
        summary: RunSummary?,
        manifest: [UInt8]?,
        receipts: [Receipt],
        tags: [(key: String, value: String)]
    ) {
        self.summary = summary
        self.manifest = manifest
        self.receipts = receipts
        self.tags = tags
    }

    /// `{run, manifest, receipts, tags}`: the summary (or null), the manifest as JSON (or null), each receipt in the
    /// entry format without `type`, `v` and `timestamp`, and the tags as an object.
    ///
    /// - Throws: A `JSONReader` error when the stored manifest or a tag value is not JSON.
    public func jsonValue() throws -> JSONValue {
        let summaryValue = try summary.map { try JSONReader.parse(Array(try JSONEncoder().encode($0))) } ?? .null
        let manifestValue = try manifest.map { try JSONReader.parse($0) } ?? .null
        let tagValues = try tags.map { (key: $0.key, value: try JSONReader.parse($0.value)) }
        return .object(
            JSONObject([
                ("run", summaryValue), ("manifest", manifestValue),
                ("receipts", .array(receipts.map(\.jsonValue))),
                ("tags", .object(JSONObject(tagValues.map { ($0.key, $0.value) }))),
            ])
        )
    }
}

extension Ledger {
    /// The run's summary, manifest bytes, receipts and tags.
    ///
    /// - Returns: nil when the ledger has neither a manifest nor a receipt for the run.
    /// - Throws: ``LedgerError`` when the index or the store cannot be read.
    public func runRecord(_ runID: String) throws -> RunRecord? {
        let record = RunRecord(
            summary: try run(runID),
            manifest: try manifestBytes(runID: runID),
            receipts: try receipts(runID: runID),
            tags: try tags(runID: runID)
        )
        return record.summary != nil || !record.receipts.isEmpty ? record : nil
    }
}

extension Receipt {
    /// The receipt in the entry format of spec/ledger.md, without `type`, `v` and `timestamp`.
    public var jsonValue: JSONValue {
        guard var object = LedgerEntry.receipt(self).jsonValue(timestamp: "").objectValue else { return .null }
        for key in ["type", "v", "timestamp"] { _ = object.removeValue(forKey: key) }
        return .object(object)
    }
}
