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

    /// Reads a row whose first eight columns are `Ledger.runColumns`, in that order (by position: faster than by name).
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

    private func query<T>(_ body: (Database) throws -> T) throws -> T {
        try updateIndex()
        do {
            return try index.queue.read(body)
        } catch {
            throw LedgerError(.index, "index query failed: \(error)")
        }
    }

    /// The deepest parent chain ``ancestors(of:)`` follows.
    package static let maximumAncestorDepth = 1_000_000

    private static let runColumns = "run_id, name, parent_run_id, canonical_hash, manifest, status, timestamp, seq"

    /// Runs with a manifest, newest first.
    public func runs(limit: Int? = nil) throws -> [RunSummary] {
        try query { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.runColumns) FROM run_rows ORDER BY seq DESC LIMIT ?",
                arguments: [limit ?? -1]
            ).map(RunSummary.init(row:))
        }
    }

    /// The run `runID`, if it has a manifest entry.
    public func run(_ runID: String) throws -> RunSummary? {
        try query { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.runColumns) FROM run_rows WHERE run_id = ?", arguments: [runID])
                .map(RunSummary.init(row:))
        }
    }

    /// The stored manifest bytes of run `runID`, or nil when the run has no manifest entry.
    public func manifestBytes(runID: String) throws -> [UInt8]? {
        guard let run = try run(runID), let digest = Digest(run.manifestDigest) else { return nil }
        return try store.read(digest)
    }

    /// Every receipt recorded for run `runID`, in log order.
    public func receipts(runID: String) throws -> [Receipt] {
        let seqs = try query { db in
            try Int64.fetchAll(
                db,
                sql: "SELECT seq FROM entries WHERE run_id = ? AND type = 'receipt' ORDER BY seq",
                arguments: [runID]
            )
        }
        return try seqs.compactMap { seq in
            if case .receipt(let receipt) = try entry(at: UInt64(seq)).entry { return receipt }
            return nil
        }
    }

    /// The tags on run `runID` (latest value per key), as canonical JSON text.
    public func tags(runID: String) throws -> [(key: String, value: String)] {
        try query { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT key, value FROM tags t WHERE run_id = ? AND seq = (
                      SELECT MAX(seq) FROM tags u WHERE u.run_id = t.run_id AND u.key = t.key) ORDER BY key
                    """,
                arguments: [runID]
            ).map { (key: $0["key"], value: $0["value"]) }
        }
    }

    /// The ancestors of `runID` by parent pointers, nearest first: one recursive query, one indexed lookup per
    /// generation (O(depth)). A parent with no manifest entry ends the chain; a cycle is cut at the first repeat.
    public func ancestors(of runID: String) throws -> [RunSummary] {
        try query { db in
            // One recursive query walks the parent pointers (a primary-key lookup per generation in the
            // WITHOUT ROWID runs table). A cycle is cut below at the first repeated run; the depth bound only keeps
            // a cyclic walk finite.
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    WITH RECURSIVE up(\(Self.runColumns), depth) AS (
                      SELECT \(Self.runColumns), 1 FROM run_rows
                      WHERE run_id = (SELECT parent_run_id FROM run_rows WHERE run_id = ?)
                      UNION ALL
                      SELECT r.run_id, r.name, r.parent_run_id, r.canonical_hash, r.manifest, r.status, r.timestamp,
                      r.seq, up.depth + 1 FROM run_rows r JOIN up ON r.run_id = up.parent_run_id WHERE up.depth < ?)
                    SELECT \(Self.runColumns) FROM up
                    """,
                arguments: [runID, Self.maximumAncestorDepth]
            )
            var result: [RunSummary] = []
            var seen: Set<String> = [runID]
            while let row = try rows.next() {
                let summary = RunSummary(row: row)
                guard seen.insert(summary.runID).inserted else { break }
                result.append(summary)
            }
            return result
        }
    }

    /// The runs whose parent is `runID`, oldest first.
    public func children(of runID: String) throws -> [RunSummary] {
        try query { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.runColumns) FROM run_rows WHERE parent_run_id = ? ORDER BY seq",
                arguments: [runID]
            ).map(RunSummary.init(row:))
        }
    }

    /// The tree of runs descending from `runID` (nil when the run has no manifest entry).
    public func descendants(of runID: String) throws -> LineageNode? {
        try query { db in
            var seen: Set<String> = []
            func node(_ id: String) throws -> LineageNode? {
                guard seen.insert(id).inserted,
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT \(Self.runColumns) FROM run_rows WHERE run_id = ?",
                        arguments: [id]
                    )
                else { return nil }
                let childIDs = try String.fetchAll(
                    db,
                    sql: "SELECT run_id FROM run_rows WHERE parent_run_id = ? ORDER BY seq",
                    arguments: [id]
                )
                return LineageNode(run: RunSummary(row: row), children: try childIDs.compactMap(node))
            }
            return try node(runID)
        }
    }

    private func uses(of digest: Digest, role: String) throws -> [DigestUse] {
        try query { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT run_id, step_index, role, media_type, MIN(seq) AS seq FROM digest_rows
                    WHERE digest = ? AND role = ? GROUP BY run_id, step_index ORDER BY seq
                    """,
                arguments: [digest.description, role]
            ).map {
                DigestUse(
                    runID: $0["run_id"],
                    stepIndex: $0["step_index"],
                    role: $0["role"],
                    mediaType: $0["media_type"],
                    entryIndex: UInt64($0["seq"] as Int64)
                )
            }
        }
    }

    /// The runs (and steps) that produced `digest`.
    public func runs(producing digest: Digest) throws -> [DigestUse] { try uses(of: digest, role: "produced") }

    /// The runs (and steps) that consumed `digest`.
    public func runs(consuming digest: Digest) throws -> [DigestUse] { try uses(of: digest, role: "consumed") }

    /// Runs named `name`, newest first.
    public func runs(named name: String) throws -> [RunSummary] {
        try query { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.runColumns) FROM run_rows WHERE name = ? ORDER BY seq DESC",
                arguments: [name]
            ).map(RunSummary.init(row:))
        }
    }

    /// Runs whose latest value for tag `key` equals `value`, newest first.
    public func runs(taggedWith key: String, value: JSONValue) throws -> [RunSummary] {
        let text = String(decoding: try CanonicalJSON.encode(value), as: UTF8.self)
        return try query { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.runColumns) FROM run_rows r WHERE EXISTS (
                      SELECT 1 FROM tags t WHERE t.run_id = r.run_id AND t.key = ? AND t.value = ? AND t.seq = (
                        SELECT MAX(seq) FROM tags u WHERE u.run_id = t.run_id AND u.key = t.key))
                    ORDER BY seq DESC
                    """,
                arguments: [key, text]
            ).map(RunSummary.init(row:))
        }
    }
}
