import CairnCore
import CairnManifest
import CairnStore
import Foundation
import GRDB

/// The derived SQLite index of the ledger (`<store>/index.sqlite`, spec/index.md).
///
/// It is brought up to date lazily: every query first indexes the entries appended since the last one. It can be
/// deleted and rebuilt from the log at any time (``Ledger/reindex()``) and gives the same answers.
final class LedgerIndex: Sendable {
    let queue: DatabaseQueue
    let path: String
    static let schemaVersion = 1

    init(path: String) throws {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(30)
            configuration.journalMode = .wal
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            try queue.write { db in try Self.createSchema(db) }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.index, "cannot open the index \(path): \(error)")
        }
    }

    static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS entries(
                    seq INTEGER PRIMARY KEY, type TEXT NOT NULL, run_id TEXT NOT NULL, timestamp TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS entries_run ON entries(run_id, type);
                CREATE TABLE IF NOT EXISTS runs(
                    run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT, parent_run_id TEXT,
                    canonical_hash TEXT NOT NULL, manifest TEXT NOT NULL, status TEXT, timestamp TEXT NOT NULL)
                    WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_run_id);
                CREATE INDEX IF NOT EXISTS runs_name ON runs(name);
                CREATE INDEX IF NOT EXISTS runs_seq ON runs(seq);
                CREATE TABLE IF NOT EXISTS steps(
                    seq INTEGER NOT NULL, source TEXT NOT NULL, run_id TEXT NOT NULL, step_index INTEGER,
                    step_name TEXT, attempt INTEGER, status TEXT, provider TEXT, model TEXT, fingerprint TEXT,
                    started_at TEXT, finished_at TEXT);
                CREATE INDEX IF NOT EXISTS steps_run ON steps(run_id, step_index);
                CREATE INDEX IF NOT EXISTS steps_fingerprint ON steps(fingerprint);
                CREATE TABLE IF NOT EXISTS edges(
                    seq INTEGER NOT NULL, source TEXT NOT NULL, digest TEXT NOT NULL, role TEXT NOT NULL,
                    run_id TEXT NOT NULL, step_index INTEGER, media_type TEXT);
                CREATE INDEX IF NOT EXISTS edges_digest ON edges(digest, role);
                CREATE INDEX IF NOT EXISTS edges_run ON edges(run_id);
                CREATE TABLE IF NOT EXISTS tags(
                    seq INTEGER NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS tags_key ON tags(key, value);
                CREATE INDEX IF NOT EXISTS tags_run ON tags(run_id);
                INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1'), ('indexed_entries', '0');
                """
        )
    }

    /// Indexes entries `[indexed, size)`, reading them through `entries` and manifest bodies from `store`.
    func catchUp(size: UInt64, read: (UInt64, UInt64) throws -> [[UInt8]], store: any ObjectBackend) throws {
        do {
            if try queue.read({ db in try Self.indexedCount(db) }) >= size { return }
            // IMMEDIATE: two processes catching up at once must not both read the count and then race to write.
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try Self.catchUp(db: db, size: size, read: read, store: store)
                    return .commit
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.index, "cannot update the index \(path): \(error)")
        }
    }

    private static func catchUp(
        db: Database,
        size: UInt64,
        read: (UInt64, UInt64) throws -> [[UInt8]],
        store: any ObjectBackend
    ) throws {
        var next = try Self.indexedCount(db)
        while next < size {
            let end = min(size, next + 2048)
            let payloads = try read(next, end)
            for (offset, payload) in payloads.enumerated() {
                try index(seq: next + UInt64(offset), payload: payload, db: db, store: store)
            }
            next = end
        }
        try db.execute(
            sql: "UPDATE meta SET value = ? WHERE key = 'indexed_entries'",
            arguments: [String(next)]
        )
    }

    /// Empties every table (the next ``catchUp`` rebuilds them from the log).
    func clear() throws {
        do {
            try queue.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM entries; DELETE FROM runs; DELETE FROM steps; DELETE FROM edges; DELETE FROM tags;
                        UPDATE meta SET value = '0' WHERE key = 'indexed_entries';
                        """
                )
            }
        } catch {
            throw LedgerError(.index, "cannot clear the index \(path): \(error)")
        }
    }

    static func indexedCount(_ db: Database) throws -> UInt64 {
        let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'indexed_entries'") ?? "0"
        return UInt64(text) ?? 0
    }

    static func index(seq: UInt64, payload: [UInt8], db: Database, store: any ObjectBackend) throws {
        let (entry, timestamp) = try LedgerEntry.decode(payload)
        let seqValue = Int64(seq)
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO entries(seq, type, run_id, timestamp) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [seqValue, entry.typeName, entry.runID, timestamp])
        switch entry {
        case .manifest(let record):
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO runs(run_id, seq, name, parent_run_id, canonical_hash, manifest, status,
                    timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    record.runID, seqValue, record.name, record.parentRunID, record.canonicalHash,
                    record.manifestDigest.description, record.status, timestamp,
                ]
            )
            try db.cachedStatement(
                sql: "DELETE FROM steps WHERE run_id = ? AND source = 'manifest'"
            ).execute(
                arguments: [record.runID]
            )
            try db.cachedStatement(
                sql: "DELETE FROM edges WHERE run_id = ? AND source = 'manifest'"
            ).execute(
                arguments: [record.runID]
            )
            // Steps and asset digests come from the manifest body when the store still has it.
            if case .present = (try? store.contains(record.manifestDigest)) ?? .absent,
                let body = try? store.read(record.manifestDigest),
                let outline = try? ManifestOutline(bytes: body)
            {
                for step in outline.steps {
                    let stepIndex = step.index
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO steps(seq, source, run_id, step_index, step_name, attempt, status, provider,
                            model, fingerprint, started_at, finished_at)
                            VALUES (?, 'manifest', ?, ?, ?, NULL, ?, ?, ?, NULL, ?, ?)
                            """
                    ).execute(
                        arguments: [
                            seqValue, record.runID, stepIndex, step.stepType, step.status, step.provider, step.model,
                            step.startedAt, step.completedAt,
                        ]
                    )
                    for (role, assets) in [("consumed", step.inputs), ("produced", step.outputs)] {
                        for asset in assets {
                            guard let digest = asset.digest else { continue }
                            try db.cachedStatement(
                                sql: """
                                    INSERT INTO edges(seq, source, digest, role, run_id, step_index, media_type)
                                    VALUES (?, 'manifest', ?, ?, ?, ?, ?)
                                    """
                            ).execute(
                                arguments: [
                                    seqValue, digest.description, role, record.runID, stepIndex, asset.mediaType,
                                ]
                            )
                        }
                    }
                }
            }
        case .receipt(let receipt):
            try db.cachedStatement(
                sql: """
                    INSERT INTO steps(seq, source, run_id, step_index, step_name, attempt, status, provider, model,
                    fingerprint, started_at, finished_at) VALUES (?, 'receipt', ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    seqValue, receipt.runID, receipt.stepIndex, receipt.stepName, receipt.attempt,
                    receipt.status.rawValue,
                    receipt.provider, receipt.fingerprint, receipt.startedAt, receipt.finishedAt,
                ]
            )
            for (role, list) in [("consumed", receipt.inputs), ("produced", receipt.outputs)] {
                for artifact in list {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO edges(seq, source, digest, role, run_id, step_index, media_type)
                            VALUES (?, 'receipt', ?, ?, ?, ?, ?)
                            """
                    ).execute(
                        arguments: [
                            seqValue, artifact.digest.description, role, receipt.runID, receipt.stepIndex,
                            artifact.mediaType,
                        ]
                    )
                }
            }
        case .tag(let tag):
            let value = String(decoding: try CanonicalJSON.encode(tag.value), as: UTF8.self)
            try db.cachedStatement(
                sql: "INSERT INTO tags(seq, run_id, key, value) VALUES (?, ?, ?, ?)"
            ).execute(
                arguments: [seqValue, tag.runID, tag.key, value]
            )
        }
    }
}
