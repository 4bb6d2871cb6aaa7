public import CairnCore
public import CairnManifest
import CairnStore
import Foundation
import GRDB

/// One run as the index knows it (from its latest `manifest` entry).
public struct RunSummary: Sendable, Hashable {
    /// The run's ID.
    public var runID: String
    /// The run's name, if any.
    public var name: String?
    /// The parent run's ID, if any.
    public var parentRunID: String?
    /// The manifest's canonical hash (hex).
    public var canonicalHash: String
    /// The digest of the stored manifest bytes.
    public var manifestDigest: String
    /// The run's status, if stated.
    public var status: String?
    /// When the manifest entry was appended (RFC 3339).
    public var timestamp: String
    /// The index of the manifest entry in the log.
    public var entryIndex: UInt64

    /// A summary from its fields.
    package init(
        runID: String,
        name: String?,
        parentRunID: String?,
        canonicalHash: String,
        manifestDigest: String,
        status: String?,
        timestamp: String,
        entryIndex: UInt64
    ) {
        self.runID = runID
        self.name = name
        self.parentRunID = parentRunID
        self.canonicalHash = canonicalHash
        self.manifestDigest = manifestDigest
        self.status = status
        self.timestamp = timestamp
        self.entryIndex = entryIndex
    }

    /// Reads a row whose first eight columns are `LedgerIndex.runColumns`, in that order (by position: faster than by name).
    init(row: Row) {
        runID = row[0]
        name = row[1]
        parentRunID = row[2]
        canonicalHash = row[3]
        manifestDigest = row[4]
        status = row[5]
        timestamp = row[6]
        entryIndex = UInt64(row[7] as Int64)
    }
}

/// A run and the runs chained from it, recursively.
public struct LineageNode: Sendable, Hashable {
    /// The run.
    public var run: RunSummary
    /// Its child runs (runs whose `parent_run_id` is this run), oldest first.
    public var children: [LineageNode]
}

/// A step attempt or manifest step that produced or consumed a digest.
public struct DigestUse: Sendable, Hashable {
    /// The run's ID.
    public var runID: String
    /// The step's index, if known.
    public var stepIndex: Int?
    /// `produced` or `consumed`.
    public var role: String
    /// The media type recorded with the digest.
    public var mediaType: String?
    /// The log index of the entry that recorded the edge.
    public var entryIndex: UInt64

    /// A use from its fields.
    package init(runID: String, stepIndex: Int?, role: String, mediaType: String?, entryIndex: UInt64) {
        self.runID = runID
        self.stepIndex = stepIndex
        self.role = role
        self.mediaType = mediaType
        self.entryIndex = entryIndex
    }
}

extension Ledger {
    /// Indexes every entry appended since the index was last brought up to date.
    public func updateIndex() throws {
        let size = try self.size()
        try index.catchUp(
            size: size,
            read: { start, end in
                try self.core.withSharedLock { storage in try storage.entries(start..<end) }
            },
            store: store
        )
    }

    /// Deletes and rebuilds the index from the log; returns the number of entries indexed.
    @discardableResult
    public func reindex() throws -> UInt64 {
        try index.clear()
        try updateIndex()
        return try size()
    }

    /// Brings the index up to date, then asks it.
    private func query<T>(_ body: (any LedgerIndexBackend) throws -> T) throws -> T {
        try updateIndex()
        return try body(index)
    }

    /// The deepest parent chain ``ancestors(of:)`` follows.
    package static let maximumAncestorDepth = 1_000_000

    /// Runs with a manifest, newest first.
    public func runs(limit: Int? = nil) throws -> [RunSummary] {
        try query { try $0.runs(limit: limit) }
    }

    /// The run `runID`, if it has a manifest entry.
    public func run(_ runID: String) throws -> RunSummary? {
        try query { try $0.run(runID) }
    }

    /// The stored manifest bytes of run `runID`, or nil when the run has no manifest entry.
    public func manifestBytes(runID: String) throws -> [UInt8]? {
        guard let run = try run(runID), let digest = Digest(run.manifestDigest) else { return nil }
        return try store.read(digest)
    }

    /// Every receipt recorded for run `runID`, in log order.
    public func receipts(runID: String) throws -> [Receipt] {
        let seqs = try query { try $0.receiptIndexes(runID: runID) }
        return try seqs.compactMap { seq in
            if case .receipt(let receipt) = try entry(at: seq).entry { return receipt }
            return nil
        }
    }

    /// The tags on run `runID` (latest value per key), as canonical JSON text.
    public func tags(runID: String) throws -> [(key: String, value: String)] {
        try query { try $0.tags(runID: runID) }
    }

    /// The ancestors of `runID` by parent pointers, nearest first: one recursive query, one indexed lookup per
    /// generation (O(depth)). A parent with no manifest entry ends the chain; a cycle is cut at the first repeat.
    public func ancestors(of runID: String) throws -> [RunSummary] {
        try query { try $0.ancestors(of: runID, depth: Self.maximumAncestorDepth) }
    }

    /// The runs whose parent is `runID`, oldest first.
    public func children(of runID: String) throws -> [RunSummary] {
        try query { try $0.children(of: runID) }
    }

    /// The tree of runs descending from `runID` (nil when the run has no manifest entry).
    public func descendants(of runID: String) throws -> LineageNode? {
        try query { try $0.descendants(of: runID) }
    }

    /// The runs (and steps) that produced `digest`.
    public func runs(producing digest: Digest) throws -> [DigestUse] {
        try query { try $0.uses(of: digest.description, role: "produced") }
    }

    /// The runs (and steps) that consumed `digest`.
    public func runs(consuming digest: Digest) throws -> [DigestUse] {
        try query { try $0.uses(of: digest.description, role: "consumed") }
    }

    /// Runs named `name`, newest first.
    public func runs(named name: String) throws -> [RunSummary] {
        try query { try $0.runs(named: name) }
    }

    /// Runs whose latest value for tag `key` equals `value`, newest first.
    public func runs(taggedWith key: String, value: JSONValue) throws -> [RunSummary] {
        let text = String(decoding: try CanonicalJSON.encode(value), as: UTF8.self)
        return try query { try $0.runs(taggedWith: key, value: text) }
    }
}
