import CairnCore
import CairnManifest
import CairnStore
import Foundation
import GRDB

/// The derived SQLite index of the ledger (`<store>/index.sqlite`, spec/index.md).
///
/// It is brought up to date lazily: every query first indexes the entries appended since the last one. It can be
/// deleted and rebuilt from the log at any time (``Ledger/reindex()``) and gives the same answers.
final class LedgerIndex: LedgerIndexBackend {
    let queue: DatabaseQueue
    let path: String
    var location: String { path }
    static let schemaVersion = 2

    init(path: String) throws {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(30)
            configuration.journalMode = .wal
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // IMMEDIATE: two processes opening an index of an older version must not both rebuild it.
                try db.inTransaction(.immediate) {
                    try Self.prepareSchema(db, path: path)
                    return .commit
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw Self.failure("cannot open the index", path: path, error)
        }
    }

    /// An index error naming the file, and saying so when its filesystem is full: SQLite reports a failed write
    /// there as a generic "disk I/O error".
    static func failure(_ what: String, path: String, _ error: any Error) -> LedgerError {
        var message = "\(what) \(path): \(error)"
        if let database = error as? DatabaseError,
            [.SQLITE_IOERR, .SQLITE_FULL].contains(database.resultCode),
            let free = freeBytes(onFilesystemOf: path), free < 1 << 20
        {
            message += " (the filesystem holding it has \(free) bytes free: free some space and run the command again)"
        }
        return LedgerError(.index, message)
    }

    /// The bytes an unprivileged writer may still use on the filesystem holding `path`'s directory.
    static func freeBytes(onFilesystemOf path: String) -> UInt64? {
        var info = statvfs()
        let directory = (path as NSString).deletingLastPathComponent
        guard statvfs(directory.isEmpty ? "." : directory, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// The schema version an existing database declares: nil for an empty database, 0 for one without a
    /// readable `meta.schema_version` (not an index this code wrote).
    static func storedSchemaVersion(_ db: Database) throws -> Int? {
        let objects = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
        if objects == 0 { return nil }
        guard try db.tableExists("meta") else { return 0 }
        let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'")
        return text.flatMap { Int($0) } ?? 0
    }

    /// Creates the schema in an empty database, keeps a current one, rebuilds one of an older version (the index is
    /// derived: its rows are indexed again from the log) and refuses one of a newer version, which this code would
    /// misread.
    static func prepareSchema(_ db: Database, path: String) throws {
        switch try storedSchemaVersion(db) {
        case nil:
            try createSchema(db)
        case schemaVersion?:
            return
        case let version? where version > schemaVersion:
            throw LedgerError(
                .index,
                "the index \(path) has schema version \(version), newer than this cairn's \(schemaVersion): "
                    + "use a newer cairn, or delete the file to rebuild it from the log"
            )
        default:
            try dropEverything(db)
            try createSchema(db)
        }
    }

    /// Drops every view, table and index (an index of an older schema version, about to be rebuilt).
    static func dropEverything(_ db: Database) throws {
        let objects = try Row.fetchAll(
            db,
            sql: """
                SELECT type, name FROM sqlite_master
                WHERE type IN ('view', 'table') AND name NOT LIKE 'sqlite_%' ORDER BY type = 'table'
                """
        )
        for object in objects {
            let kind: String = object["type"] == "view" ? "VIEW" : "TABLE"
            let name: String = object["name"]
            try db.execute(sql: "DROP \(kind) IF EXISTS \(name.quotedDatabaseIdentifier)")
        }
    }

    /// The tables (`meta`, `entries`, `run_rows`, `step_rows`, `digest_rows`, `tags`) hold what the queries of
    /// Ledger+Queries.swift need and may change with any version; the views (`runs`, `steps`, `assets`, `edges`)
    /// are the documented query surface of spec/index.md, whose columns keep their names, order and meaning.
    static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE entries(
                    seq INTEGER PRIMARY KEY, type TEXT NOT NULL, run_id TEXT NOT NULL, timestamp TEXT NOT NULL);
                CREATE INDEX entries_run ON entries(run_id, type);
                CREATE TABLE run_rows(
                    run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT, parent_run_id TEXT,
                    canonical_hash TEXT NOT NULL, manifest TEXT NOT NULL, status TEXT, timestamp TEXT NOT NULL,
                    created_at TEXT)
                    WITHOUT ROWID;
                CREATE INDEX run_rows_parent ON run_rows(parent_run_id);
                CREATE INDEX run_rows_name ON run_rows(name);
                CREATE INDEX run_rows_seq ON run_rows(seq);
                CREATE TABLE step_rows(
                    seq INTEGER NOT NULL, source TEXT NOT NULL, run_id TEXT NOT NULL, step_index INTEGER,
                    step_name TEXT, attempt INTEGER, status TEXT, provider TEXT, model TEXT, fingerprint TEXT,
                    started_at TEXT, finished_at TEXT, step_id TEXT, step_type TEXT, modality TEXT);
                CREATE INDEX step_rows_run ON step_rows(run_id, step_index);
                CREATE INDEX step_rows_fingerprint ON step_rows(fingerprint);
                CREATE TABLE digest_rows(
                    seq INTEGER NOT NULL, source TEXT NOT NULL, digest TEXT NOT NULL, role TEXT NOT NULL,
                    run_id TEXT NOT NULL, step_index INTEGER, media_type TEXT, size_bytes INTEGER,
                    position INTEGER NOT NULL);
                CREATE INDEX digest_rows_digest ON digest_rows(digest, role);
                CREATE INDEX digest_rows_run ON digest_rows(run_id);
                CREATE INDEX digest_rows_entry ON digest_rows(seq, step_index, role);
                CREATE TABLE tags(
                    seq INTEGER NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
                CREATE INDEX tags_key ON tags(key, value);
                CREATE INDEX tags_run ON tags(run_id);

                CREATE VIEW runs(
                    run_id, parent_run_id, name, status, canonical_hash, created_at, recorded_at, manifest_digest,
                    entry_index) AS
                    SELECT run_id, parent_run_id, name, status, canonical_hash, created_at, timestamp, manifest, seq
                    FROM run_rows;
                CREATE VIEW steps(
                    run_id, step_index, step_id, provider, model, step_type, modality, status, started_at,
                    completed_at, entry_index) AS
                    SELECT run_id, step_index, step_id, provider, model, step_type, modality, status, started_at,
                    finished_at, seq
                    FROM step_rows WHERE source = 'manifest';
                CREATE VIEW assets(
                    run_id, step_index, role, position, digest, sha256, media_type, size_bytes, entry_index) AS
                    SELECT run_id, step_index, CASE role WHEN 'consumed' THEN 'input' ELSE 'output' END, position,
                    digest, CASE WHEN digest LIKE 'sha256:%' THEN substr(digest, 8) END, media_type, size_bytes, seq
                    FROM digest_rows WHERE source = 'manifest';
                CREATE VIEW edges(kind, from_id, to_id, run_id, step_index, entry_index) AS
                    SELECT 'parent', parent_run_id, run_id, run_id, NULL, seq
                    FROM run_rows WHERE parent_run_id IS NOT NULL
                    UNION ALL
                    SELECT DISTINCT 'derived', i.digest, o.digest, i.run_id, i.step_index, i.seq
                    FROM digest_rows i JOIN digest_rows o
                    ON o.seq = i.seq AND o.step_index = i.step_index AND o.role = 'produced'
                    WHERE i.source = 'manifest' AND o.source = 'manifest' AND i.role = 'consumed';

                INSERT INTO meta(key, value) VALUES ('schema_version', '\(schemaVersion)'), ('indexed_entries', '0');
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
            throw Self.failure("cannot update the index", path: path, error)
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
                        DELETE FROM entries; DELETE FROM run_rows; DELETE FROM step_rows; DELETE FROM digest_rows;
                        DELETE FROM tags;
                        UPDATE meta SET value = '0' WHERE key = 'indexed_entries';
                        """
                )
            }
        } catch {
            throw Self.failure("cannot clear the index", path: path, error)
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
            // Steps, asset digests and `created_at` come from the manifest body when the store still has it.
            // An unreadable store or a body that does not read as a manifest is an error, never "no steps". A body
            // removed from the store (GC never removes one) leaves the run without steps here, and `ledger verify`
            // names it.
            var outline: ManifestOutline?
            switch try store.contains(record.manifestDigest) {
            case .present: outline = try ManifestOutline(bytes: try store.read(record.manifestDigest))
            case .absent: outline = nil
            }
            try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO run_rows(run_id, seq, name, parent_run_id, canonical_hash, manifest,
                    status, timestamp, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    record.runID, seqValue, record.name, record.parentRunID, record.canonicalHash,
                    record.manifestDigest.description, record.status, timestamp, outline?.createdAt,
                ]
            )
            try db.cachedStatement(
                sql: "DELETE FROM step_rows WHERE run_id = ? AND source = 'manifest'"
            ).execute(
                arguments: [record.runID]
            )
            try db.cachedStatement(
                sql: "DELETE FROM digest_rows WHERE run_id = ? AND source = 'manifest'"
            ).execute(
                arguments: [record.runID]
            )
            if let outline {
                for step in outline.steps {
                    let stepIndex = step.index
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO step_rows(seq, source, run_id, step_index, step_name, attempt, status, provider,
                            model, fingerprint, started_at, finished_at, step_id, step_type, modality)
                            VALUES (?, 'manifest', ?, ?, ?, NULL, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
                            """
                    ).execute(
                        arguments: [
                            seqValue, record.runID, stepIndex, step.stepType, step.status, step.provider, step.model,
                            step.startedAt, step.completedAt, step.stepID, step.stepType, step.modality,
                        ]
                    )
                    for (role, assets) in [("consumed", step.inputs), ("produced", step.outputs)] {
                        for (position, asset) in assets.enumerated() {
                            guard let digest = asset.digest else { continue }
                            try db.cachedStatement(
                                sql: """
                                    INSERT INTO digest_rows(seq, source, digest, role, run_id, step_index, media_type,
                                    size_bytes, position) VALUES (?, 'manifest', ?, ?, ?, ?, ?, ?, ?)
                                    """
                            ).execute(
                                arguments: [
                                    seqValue, digest.description, role, record.runID, stepIndex, asset.mediaType,
                                    asset.sizeBytes, position,
                                ]
                            )
                        }
                    }
                }
            }
        case .receipt(let receipt):
            try db.cachedStatement(
                sql: """
                    INSERT INTO step_rows(seq, source, run_id, step_index, step_name, attempt, status, provider,
                    model, fingerprint, started_at, finished_at) VALUES (?, 'receipt', ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    seqValue, receipt.runID, receipt.stepIndex, receipt.stepName, receipt.attempt,
                    receipt.status.rawValue,
                    receipt.provider, receipt.fingerprint, receipt.startedAt, receipt.finishedAt,
                ]
            )
            for (role, list) in [("consumed", receipt.inputs), ("produced", receipt.outputs)] {
                for (position, artifact) in list.enumerated() {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO digest_rows(seq, source, digest, role, run_id, step_index, media_type,
                            size_bytes, position) VALUES (?, 'receipt', ?, ?, ?, ?, ?, NULL, ?)
                            """
                    ).execute(
                        arguments: [
                            seqValue, artifact.digest.description, role, receipt.runID, receipt.stepIndex,
                            artifact.mediaType, position,
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

    // MARK: Queries

    /// The columns ``RunSummary/init(row:)`` reads, in its order.
    static let runColumns = "run_id, name, parent_run_id, canonical_hash, manifest, status, timestamp, seq"

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch {
            throw LedgerError(.index, "index query failed: \(error)")
        }
    }

    func indexedEntries() throws -> UInt64 {
        try read { db in try Self.indexedCount(db) }
    }

    func runs(limit: Int?) throws -> [RunSummary] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.runColumns) FROM run_rows ORDER BY seq DESC LIMIT ?",
                arguments: [limit ?? -1]
            ).map(RunSummary.init(row:))
        }
    }

    func run(_ runID: String) throws -> RunSummary? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.runColumns) FROM run_rows WHERE run_id = ?", arguments: [runID])
                .map(RunSummary.init(row:))
        }
    }

    func receiptIndexes(runID: String) throws -> [UInt64] {
        try read { db in
            try Int64.fetchAll(
                db,
                sql: "SELECT seq FROM entries WHERE run_id = ? AND type = 'receipt' ORDER BY seq",
                arguments: [runID]
            ).map { UInt64($0) }
        }
    }

    func tags(runID: String) throws -> [(key: String, value: String)] {
        try read { db in
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

    func ancestors(of runID: String, depth: Int) throws -> [RunSummary] {
        try read { db in
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
                arguments: [runID, depth]
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

    func children(of runID: String) throws -> [RunSummary] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.runColumns) FROM run_rows WHERE parent_run_id = ? ORDER BY seq",
                arguments: [runID]
            ).map(RunSummary.init(row:))
        }
    }

    func descendants(of runID: String) throws -> LineageNode? {
        try read { db in
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

    func uses(of digest: String, role: String) throws -> [DigestUse] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT run_id, step_index, role, media_type, MIN(seq) AS seq FROM digest_rows
                    WHERE digest = ? AND role = ? GROUP BY run_id, step_index ORDER BY seq
                    """,
                arguments: [digest, role]
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

    func runs(named name: String) throws -> [RunSummary] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.runColumns) FROM run_rows WHERE name = ? ORDER BY seq DESC",
                arguments: [name]
            ).map(RunSummary.init(row:))
        }
    }

    func runs(taggedWith key: String, value: String) throws -> [RunSummary] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.runColumns) FROM run_rows r WHERE EXISTS (
                      SELECT 1 FROM tags t WHERE t.run_id = r.run_id AND t.key = ? AND t.value = ? AND t.seq = (
                        SELECT MAX(seq) FROM tags u WHERE u.run_id = t.run_id AND u.key = t.key))
                    ORDER BY seq DESC
                    """,
                arguments: [key, value]
            ).map(RunSummary.init(row:))
        }
    }

    func rowCounts() throws -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for table in ["entries", "run_rows", "step_rows", "digest_rows", "tags"] {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }
}
