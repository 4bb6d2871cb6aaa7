#if PostgreSQL
public import CairnLedger
import CairnCore
package import CairnStore
public import Foundation
import NIOCore
import PostgresNIO

/// A ledger's lineage index in PostgreSQL (`spec/postgres.md`, "Lineage index"): the tables and views of
/// `spec/index.md` in the ledger's schema, shared by every host that uses the ledger, so that each host no longer
/// indexes the whole log itself. `Ledger.open(objects:storage:root:index:)` with ``CairnLedger/LedgerIndexLocation``
/// `.postgres(location)` uses it.
///
/// Catch-up indexes batches of up to 2048 entries, one transaction each, with one multi-row statement (arrays,
/// `unnest`), holding the row lock of `index_meta`'s `indexed_entries` row: any number of processes and hosts catch
/// up at once and each entry is indexed exactly once. Queries are one statement each; ancestors and descendants are
/// one recursive query.
///
/// One connection (its own, not the storage's), used by one thread at a time (an internal lock serialises callers).
public final class PostgresLedgerIndex: LedgerIndexBackend, @unchecked Sendable {
    /// Where the index lives (the ledger's database and schema).
    public let target: PostgresLedgerLocation
    /// The index's location, for messages.
    public var location: String { "the index at \(target.description)" }
    /// The index schema version (that of `spec/index.md`: the same tables and views).
    public static let schemaVersion = "2"
    /// Entries per catch-up transaction.
    package static let batchSize = 2048
    /// Generations of ancestors per recursive query (a longer chain takes one more query per this many).
    package static let ancestorChunk = 4096

    // Invariant: `lock` guards every use of `session`.
    private let lock = NSLock()
    private let session: PostgresSession
    private let t: Tables

    struct Tables {
        let schema: String
        let meta: String
        let entries: String
        let runs: String
        let steps: String
        let digests: String
        let tags: String
        let lockKey: String
        init(schema: String) {
            self.schema = schema
            meta = "\(schema).index_meta"
            entries = "\(schema).index_entries"
            runs = "\(schema).run_rows"
            steps = "\(schema).step_rows"
            digests = "\(schema).digest_rows"
            tags = "\(schema).tags"
            lockKey = "cairn-index:\(schema)"
        }
    }

    /// Connects to the database of `location` (password from `PGPASSWORD` or a passfile in `environment`), creates
    /// the index's tables and views in its schema if they do not exist yet, and checks their schema version.
    ///
    /// - Throws: ``PostgresLedgerError``: `.connection`, `.authentication`, `.server`, `.schemaVersion`.
    public init(
        location: PostgresLedgerLocation,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        target = location
        t = Tables(schema: location.schema)
        session = PostgresSession(target: location, environment: environment)
        do {
            try prepareSchema()
        } catch {
            session.close()
            throw error
        }
    }

    /// Opens the index of the ledger named by a `postgres://` URL.
    public convenience init(
        url: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        try self.init(location: PostgresLedgerLocation(url: url, environment: environment), environment: environment)
    }

    /// Closes the connection. Further calls throw `.connection`.
    public func close() {
        lock.withLock { session.close() }
    }

    // MARK: Schema

    private func prepareSchema() throws {
        let purpose = "preparing the index in schema \(t.schema)"
        try session.transaction(purpose) {
            try session.run(purpose, "SELECT pg_advisory_xact_lock(hashtextextended(\(t.lockKey), 0))")
            let found = try session.run(
                purpose,
                """
                SELECT count(*) FROM information_schema.tables \
                WHERE table_schema = \(t.schema) AND table_name = 'index_meta'
                """
            )
            if try session.decode(purpose, { try found[0].decode(Int64.self) }) == 0 {
                for statement in Self.createStatements(t) {
                    try session.run(purpose, PostgresQuery(unsafeSQL: statement))
                }
            }
            let rows = try session.run(
                purpose,
                "SELECT value FROM \(unescaped: t.meta) WHERE key = 'schema_version'"
            )
            let version = try rows.first.map { row in try session.decode(purpose) { try row.decode(String.self) } }
            guard version == Self.schemaVersion else {
                throw PostgresLedgerError(
                    .schemaVersion,
                    purpose: purpose,
                    location: target.server,
                    detail: "schema \(t.schema) holds index tables of version \(version ?? "(none)"); this build "
                        + "reads version \(Self.schemaVersion) only: use a cairn that reads it, or drop the index's "
                        + "tables and views (derived data: the next open makes them again and re-indexes the log)"
                )
            }
        }
    }

    static func createStatements(_ t: Tables) -> [String] {
        let s = t.schema
        // Text compares bytewise, as in the SQLite index (BINARY): the same order and equality, and B-tree lookups
        // without locale rules.
        let text = "text COLLATE \"C\""
        return [
            "CREATE SCHEMA IF NOT EXISTS \(s)",
            "CREATE TABLE \(t.meta) (key text PRIMARY KEY, value text NOT NULL)",
            """
            CREATE TABLE \(t.entries) (seq bigint PRIMARY KEY, type \(text) NOT NULL, run_id \(text) NOT NULL, \
            timestamp \(text) NOT NULL)
            """,
            "CREATE INDEX index_entries_run ON \(t.entries) (run_id, type)",
            """
            CREATE TABLE \(t.runs) (run_id \(text) PRIMARY KEY, seq bigint NOT NULL, name \(text), \
            parent_run_id \(text), canonical_hash \(text) NOT NULL, manifest \(text) NOT NULL, status \(text), \
            timestamp \(text) NOT NULL, created_at \(text))
            """,
            "CREATE INDEX run_rows_parent ON \(t.runs) (parent_run_id)",
            "CREATE INDEX run_rows_name ON \(t.runs) (name)",
            "CREATE INDEX run_rows_seq ON \(t.runs) (seq)",
            """
            CREATE TABLE \(t.steps) (seq bigint NOT NULL, source \(text) NOT NULL, run_id \(text) NOT NULL, \
            step_index bigint, step_name \(text), attempt bigint, status \(text), provider \(text), model \(text), \
            fingerprint \(text), started_at \(text), finished_at \(text), step_id \(text), step_type \(text), \
            modality \(text))
            """,
            "CREATE INDEX step_rows_run ON \(t.steps) (run_id, step_index)",
            "CREATE INDEX step_rows_fingerprint ON \(t.steps) (fingerprint)",
            """
            CREATE TABLE \(t.digests) (seq bigint NOT NULL, source \(text) NOT NULL, digest \(text) NOT NULL, \
            role \(text) NOT NULL, run_id \(text) NOT NULL, step_index bigint, media_type \(text), \
            size_bytes bigint, position bigint NOT NULL)
            """,
            "CREATE INDEX digest_rows_digest ON \(t.digests) (digest, role)",
            "CREATE INDEX digest_rows_run ON \(t.digests) (run_id)",
            "CREATE INDEX digest_rows_entry ON \(t.digests) (seq, step_index, role)",
            """
            CREATE TABLE \(t.tags) (seq bigint NOT NULL, run_id \(text) NOT NULL, key \(text) NOT NULL, \
            value \(text) NOT NULL)
            """,
            "CREATE INDEX tags_key ON \(t.tags) (key, value)",
            "CREATE INDEX tags_run ON \(t.tags) (run_id)",
            """
            CREATE VIEW \(s).runs (run_id, parent_run_id, name, status, canonical_hash, created_at, recorded_at, \
            manifest_digest, entry_index) AS \
            SELECT run_id, parent_run_id, name, status, canonical_hash, created_at, timestamp, manifest, seq \
            FROM \(t.runs)
            """,
            """
            CREATE VIEW \(s).steps (run_id, step_index, step_id, provider, model, step_type, modality, status, \
            started_at, completed_at, entry_index) AS \
            SELECT run_id, step_index, step_id, provider, model, step_type, modality, status, started_at, \
            finished_at, seq FROM \(t.steps) WHERE source = 'manifest'
            """,
            """
            CREATE VIEW \(s).assets (run_id, step_index, role, position, digest, sha256, media_type, size_bytes, \
            entry_index) AS \
            SELECT run_id, step_index, CASE role WHEN 'consumed' THEN 'input' ELSE 'output' END, position, digest, \
            CASE WHEN digest LIKE 'sha256:%' THEN substr(digest, 8) END, media_type, size_bytes, seq \
            FROM \(t.digests) WHERE source = 'manifest'
            """,
            """
            CREATE VIEW \(s).edges (kind, from_id, to_id, run_id, step_index, entry_index) AS \
            SELECT 'parent'::text, parent_run_id, run_id, run_id, NULL::bigint, seq \
            FROM \(t.runs) WHERE parent_run_id IS NOT NULL \
            UNION ALL \
            SELECT DISTINCT 'derived'::text, i.digest, o.digest, i.run_id, i.step_index, i.seq \
            FROM \(t.digests) i JOIN \(t.digests) o \
            ON o.seq = i.seq AND o.step_index = i.step_index AND o.role = 'produced' \
            WHERE i.source = 'manifest' AND o.source = 'manifest' AND i.role = 'consumed'
            """,
            """
            INSERT INTO \(t.meta) VALUES ('schema_version', '\(schemaVersion)'), ('indexed_entries', '0')
            """,
        ]
    }

    /// Drops the index's tables and views (tests; `cairn` rebuilds them on the next open).
    package func dropTables() throws {
        try lock.withLock {
            let s = t.schema
            try session.run(
                "dropping the index",
                PostgresQuery(
                    unsafeSQL: """
                        DROP VIEW IF EXISTS \(s).runs, \(s).steps, \(s).assets, \(s).edges; \
                        DROP TABLE IF EXISTS \(t.meta), \(t.entries), \(t.runs), \(t.steps), \(t.digests), \(t.tags)
                        """
                )
            )
        }
    }

    // MARK: Catch-up

    private func indexedCount(_ purpose: String, forUpdate: Bool = false) throws -> UInt64 {
        let rows = try session.run(
            purpose,
            PostgresQuery(
                unsafeSQL: "SELECT value FROM \(t.meta) WHERE key = 'indexed_entries'"
                    + (forUpdate ? " FOR UPDATE" : "")
            )
        )
        guard let row = rows.first,
            let count = UInt64(try session.decode(purpose, { try row.decode(String.self) }))
        else {
            throw LedgerError(.index, "\(location): index_meta has no indexed_entries count")
        }
        return count
    }

    package func indexedEntries() throws -> UInt64 {
        try lock.withLock { try indexedCount("reading the index's entry count") }
    }

    package func catchUp(size: UInt64, read: (UInt64, UInt64) throws -> [[UInt8]], store: any ObjectBackend) throws {
        try lock.withLock {
            let purpose = "bringing the index up to \(size) entries"
            if try indexedCount(purpose) >= size { return }
            while true {
                // The row lock on `indexed_entries` serialises catch-ups on every host: a second one waits here,
                // then reads the count the first committed and indexes only what is still missing.
                let more = try session.transaction(purpose) { () throws -> Bool in
                    let next = try indexedCount(purpose, forUpdate: true)
                    guard next < size else { return false }
                    let end = min(size, next + UInt64(Self.batchSize))
                    var rows = IndexRows()
                    for (offset, payload) in try read(next, end).enumerated() {
                        try rows.add(seq: next + UInt64(offset), payload: payload, store: store)
                    }
                    try insert(rows.latestManifestsOnly(), indexed: end, purpose: "indexing entries \(next)..<\(end)")
                    return end < size
                }
                if !more { return }
            }
        }
    }

    /// Inserts one batch's rows and moves `indexed_entries` to `indexed`, in one statement.
    private func insert(_ rows: IndexRows, indexed: UInt64, purpose: String) throws {
        let e = rows.entries
        let r = rows.runs
        let s = rows.steps
        let d = rows.digests
        let g = rows.tags
        func int(_ value: Int?) -> Int64? { value.map(Int64.init) }
        let statement: PostgresQuery = """
            WITH dm AS (DELETE FROM \(unescaped: t.steps) WHERE source = 'manifest' \
            AND run_id = ANY(\(r.map(\.runID))::text[])), \
            dd AS (DELETE FROM \(unescaped: t.digests) WHERE source = 'manifest' \
            AND run_id = ANY(\(r.map(\.runID))::text[])), \
            e AS (INSERT INTO \(unescaped: t.entries) (seq, type, run_id, timestamp) \
            SELECT * FROM unnest(\(e.map { Int64($0.seq) })::bigint[], \(e.map(\.type))::text[], \
            \(e.map(\.runID))::text[], \(e.map(\.timestamp))::text[]) \
            ON CONFLICT (seq) DO UPDATE SET type = excluded.type, run_id = excluded.run_id, \
            timestamp = excluded.timestamp), \
            r AS (INSERT INTO \(unescaped: t.runs) (run_id, seq, name, parent_run_id, canonical_hash, manifest, \
            status, timestamp, created_at) \
            SELECT * FROM unnest(\(r.map(\.runID))::text[], \(r.map { Int64($0.seq) })::bigint[], \
            \(NullableArray(r.map(\.name)))::text[], \(NullableArray(r.map(\.parentRunID)))::text[], \
            \(r.map(\.canonicalHash))::text[], \(r.map(\.manifest))::text[], \
            \(NullableArray(r.map(\.status)))::text[], \(r.map(\.timestamp))::text[], \
            \(NullableArray(r.map(\.createdAt)))::text[]) \
            ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq, name = excluded.name, \
            parent_run_id = excluded.parent_run_id, canonical_hash = excluded.canonical_hash, \
            manifest = excluded.manifest, status = excluded.status, timestamp = excluded.timestamp, \
            created_at = excluded.created_at), \
            s AS (INSERT INTO \(unescaped: t.steps) (seq, source, run_id, step_index, step_name, attempt, status, \
            provider, model, fingerprint, started_at, finished_at, step_id, step_type, modality) \
            SELECT * FROM unnest(\(s.map { Int64($0.seq) })::bigint[], \(s.map(\.source))::text[], \
            \(s.map(\.runID))::text[], \(NullableArray(s.map { int($0.stepIndex) }))::bigint[], \
            \(NullableArray(s.map(\.stepName)))::text[], \(NullableArray(s.map { int($0.attempt) }))::bigint[], \
            \(NullableArray(s.map(\.status)))::text[], \(NullableArray(s.map(\.provider)))::text[], \
            \(NullableArray(s.map(\.model)))::text[], \(NullableArray(s.map(\.fingerprint)))::text[], \
            \(NullableArray(s.map(\.startedAt)))::text[], \(NullableArray(s.map(\.finishedAt)))::text[], \
            \(NullableArray(s.map(\.stepID)))::text[], \(NullableArray(s.map(\.stepType)))::text[], \
            \(NullableArray(s.map(\.modality)))::text[])), \
            d AS (INSERT INTO \(unescaped: t.digests) (seq, source, digest, role, run_id, step_index, media_type, \
            size_bytes, position) \
            SELECT * FROM unnest(\(d.map { Int64($0.seq) })::bigint[], \(d.map(\.source))::text[], \
            \(d.map(\.digest))::text[], \(d.map(\.role))::text[], \(d.map(\.runID))::text[], \
            \(NullableArray(d.map { int($0.stepIndex) }))::bigint[], \(NullableArray(d.map(\.mediaType)))::text[], \
            \(NullableArray(d.map(\.sizeBytes)))::bigint[], \(d.map { Int64($0.position) })::bigint[])), \
            g AS (INSERT INTO \(unescaped: t.tags) (seq, run_id, key, value) \
            SELECT * FROM unnest(\(g.map { Int64($0.seq) })::bigint[], \(g.map(\.runID))::text[], \
            \(g.map(\.key))::text[], \(g.map(\.value))::text[])) \
            UPDATE \(unescaped: t.meta) SET value = \(String(indexed)) WHERE key = 'indexed_entries'
            """
        try session.run(purpose, statement)
    }

    package func clear() throws {
        try lock.withLock {
            let purpose = "clearing the index"
            try session.transaction(purpose) {
                _ = try indexedCount(purpose, forUpdate: true)
                try session.run(
                    purpose,
                    PostgresQuery(
                        unsafeSQL: "TRUNCATE \(t.entries), \(t.runs), \(t.steps), \(t.digests), \(t.tags)"
                    )
                )
                try session.run(purpose, "UPDATE \(unescaped: t.meta) SET value = '0' WHERE key = 'indexed_entries'")
            }
        }
    }

    // MARK: Queries

    private static let runColumns = "run_id, name, parent_run_id, canonical_hash, manifest, status, timestamp, seq"

    private func query(_ purpose: String, _ statement: PostgresQuery) throws -> [PostgresRow] {
        try lock.withLock { try session.run(purpose, statement) }
    }

    private func summaries(_ purpose: String, _ statement: PostgresQuery) throws -> [RunSummary] {
        try query(purpose, statement).map { row in
            let (runID, name, parent, hash, manifest, status, timestamp, seq) = try session.decode(purpose) {
                try row.decode((String, String?, String?, String, String, String?, String, Int64).self)
            }
            return RunSummary(
                runID: runID,
                name: name,
                parentRunID: parent,
                canonicalHash: hash,
                manifestDigest: manifest,
                status: status,
                timestamp: timestamp,
                entryIndex: UInt64(seq)
            )
        }
    }

    /// The runs `inner` selects (its columns: ``runColumns`` then `ord`), in `ord` order, sent back as one row of
    /// eight arrays: one result row instead of one per run spares the client a message per run (a 1,000-run walk).
    private func aggregatedSummaries(_ purpose: String, _ inner: PostgresQuery) throws -> [RunSummary] {
        // The aggregates read the sorted subquery in its order (PostgreSQL's documented behaviour for a sorted
        // subquery): one sort instead of one per array.
        var statement: PostgresQuery = """
            SELECT array_agg(run_id), array_agg(name), array_agg(parent_run_id), array_agg(canonical_hash), \
            array_agg(manifest), array_agg(status), array_agg(timestamp), array_agg(seq) FROM (
            """
        statement.sql += inner.sql
        statement.sql += " ORDER BY ord) q"
        statement.binds = inner.binds
        let rows = try query(purpose, statement)
        guard let row = rows.first else { return [] }
        let columns = try session.decode(purpose) {
            try row.decode(
                (ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?, ByteBuffer?)
                    .self
            )
        }
        guard let ids = columns.0 else { return [] }
        func texts(_ buffer: ByteBuffer?) throws -> [String?] {
            try BinaryArray.elements(buffer, location: location).map { $0.map { String(buffer: $0) } }
        }
        let runIDs = try texts(ids)
        let names = try texts(columns.1)
        let parents = try texts(columns.2)
        let hashes = try texts(columns.3)
        let manifests = try texts(columns.4)
        let statuses = try texts(columns.5)
        let timestamps = try texts(columns.6)
        let seqs = try BinaryArray.elements(columns.7, location: location).map { element -> Int64? in
            var element = element
            return element?.readInteger(as: Int64.self)
        }
        let count = runIDs.count
        guard [names, parents, hashes, manifests, statuses, timestamps].allSatisfy({ $0.count == count }),
            seqs.count == count
        else {
            throw LedgerError(.index, "\(location): \(purpose): the result's arrays differ in length")
        }
        return try (0..<count).map { i in
            guard let runID = runIDs[i], let hash = hashes[i], let manifest = manifests[i],
                let timestamp = timestamps[i], let seq = seqs[i]
            else {
                throw LedgerError(.index, "\(location): \(purpose): a NOT NULL column came back NULL")
            }
            return RunSummary(
                runID: runID,
                name: names[i],
                parentRunID: parents[i],
                canonicalHash: hash,
                manifestDigest: manifest,
                status: statuses[i],
                timestamp: timestamp,
                entryIndex: UInt64(seq)
            )
        }
    }

    package func runs(limit: Int?) throws -> [RunSummary] {
        try summaries(
            "listing runs",
            "SELECT \(unescaped: Self.runColumns) FROM \(unescaped: t.runs) ORDER BY seq DESC LIMIT \(limit.map(Int64.init))"
        )
    }

    package func run(_ runID: String) throws -> RunSummary? {
        try summaries(
            "reading run \(runID)",
            "SELECT \(unescaped: Self.runColumns) FROM \(unescaped: t.runs) WHERE run_id = \(runID)"
        ).first
    }

    package func receiptIndexes(runID: String) throws -> [UInt64] {
        let purpose = "listing the receipts of run \(runID)"
        return try query(
            purpose,
            """
            SELECT seq FROM \(unescaped: t.entries) WHERE run_id = \(runID) AND type = 'receipt' ORDER BY seq
            """
        ).map { row in UInt64(try session.decode(purpose) { try row.decode(Int64.self) }) }
    }

    package func tags(runID: String) throws -> [(key: String, value: String)] {
        let purpose = "reading the tags of run \(runID)"
        return try query(
            purpose,
            """
            SELECT key, value FROM \(unescaped: t.tags) t WHERE run_id = \(runID) AND seq = (
              SELECT max(seq) FROM \(unescaped: t.tags) u WHERE u.run_id = t.run_id AND u.key = t.key)
            ORDER BY key COLLATE "C"
            """
        ).map { row in
            let (key, value) = try session.decode(purpose) { try row.decode((String, String).self) }
            return (key: key, value: value)
        }
    }

    package func ancestors(of runID: String, depth: Int) throws -> [RunSummary] {
        var result: [RunSummary] = []
        var seen: Set<String> = [runID]
        var from = runID
        while result.count < depth {
            let want = min(Self.ancestorChunk, depth - result.count)
            // One recursive query: a primary-key lookup per generation. The bound keeps a cyclic walk finite; the
            // cycle is cut below, at the first repeated run.
            let rows = try aggregatedSummaries(
                "walking the ancestors of run \(runID)",
                """
                WITH RECURSIVE up(\(unescaped: Self.runColumns), depth) AS (
                  SELECT \(unescaped: Self.runColumns), 1::bigint FROM \(unescaped: t.runs)
                  WHERE run_id = (SELECT parent_run_id FROM \(unescaped: t.runs) WHERE run_id = \(from))
                  UNION ALL
                  SELECT r.run_id, r.name, r.parent_run_id, r.canonical_hash, r.manifest, r.status, r.timestamp,
                  r.seq, up.depth + 1 FROM \(unescaped: t.runs) r JOIN up ON r.run_id = up.parent_run_id
                  WHERE up.depth < \(Int64(want)))
                SELECT \(unescaped: Self.runColumns), depth AS ord FROM up
                """
            )
            for row in rows {
                guard seen.insert(row.runID).inserted else { return result }
                result.append(row)
            }
            guard rows.count == want, let last = rows.last else { return result }
            from = last.runID
        }
        return result
    }

    package func children(of runID: String) throws -> [RunSummary] {
        try summaries(
            "listing the children of run \(runID)",
            """
            SELECT \(unescaped: Self.runColumns) FROM \(unescaped: t.runs) WHERE parent_run_id = \(runID) ORDER BY seq
            """
        )
    }

    package func descendants(of runID: String) throws -> LineageNode? {
        // One recursive query finds every run below; UNION (not UNION ALL) ends a walk round a parent cycle.
        let rows = try aggregatedSummaries(
            "walking the descendants of run \(runID)",
            """
            WITH RECURSIVE down(\(unescaped: Self.runColumns)) AS (
              SELECT \(unescaped: Self.runColumns) FROM \(unescaped: t.runs) WHERE run_id = \(runID)
              UNION
              SELECT r.run_id, r.name, r.parent_run_id, r.canonical_hash, r.manifest, r.status, r.timestamp, r.seq
              FROM \(unescaped: t.runs) r JOIN down ON r.parent_run_id = down.run_id)
            SELECT \(unescaped: Self.runColumns), seq AS ord FROM down
            """
        )
        guard let root = rows.first(where: { $0.runID == runID }) else { return nil }
        return LineageNode.tree(root: root, rows: rows)
    }

    package func uses(of digest: String, role: String) throws -> [DigestUse] {
        let purpose = "finding the runs that \(role) \(digest)"
        return try query(
            purpose,
            """
            SELECT run_id, step_index, role, media_type, seq FROM (
              SELECT DISTINCT ON (run_id, step_index) run_id, step_index, role, media_type, seq
              FROM \(unescaped: t.digests) WHERE digest = \(digest) AND role = \(role)
              ORDER BY run_id, step_index, seq, position) u
            ORDER BY seq, run_id COLLATE "C", step_index
            """
        ).map { row in
            let (runID, step, role, mediaType, seq) = try session.decode(purpose) {
                try row.decode((String, Int64?, String, String?, Int64).self)
            }
            return DigestUse(
                runID: runID,
                stepIndex: step.map { Int($0) },
                role: role,
                mediaType: mediaType,
                entryIndex: UInt64(seq)
            )
        }
    }

    package func runs(named name: String) throws -> [RunSummary] {
        try summaries(
            "listing runs named \(name)",
            """
            SELECT \(unescaped: Self.runColumns) FROM \(unescaped: t.runs) WHERE name = \(name) ORDER BY seq DESC
            """
        )
    }

    package func runs(taggedWith key: String, value: String) throws -> [RunSummary] {
        try summaries(
            "listing runs tagged \(key)",
            """
            SELECT \(unescaped: Self.runColumns) FROM \(unescaped: t.runs) r WHERE EXISTS (
              SELECT 1 FROM \(unescaped: t.tags) t WHERE t.run_id = r.run_id AND t.key = \(key)
              AND t.value = \(value) AND t.seq = (
                SELECT max(seq) FROM \(unescaped: t.tags) u WHERE u.run_id = t.run_id AND u.key = t.key))
            ORDER BY seq DESC
            """
        )
    }

    package func rowCounts() throws -> [String: Int] {
        let purpose = "counting the index's rows"
        let rows = try query(
            purpose,
            """
            SELECT (SELECT count(*) FROM \(unescaped: t.entries)), (SELECT count(*) FROM \(unescaped: t.runs)),
            (SELECT count(*) FROM \(unescaped: t.steps)), (SELECT count(*) FROM \(unescaped: t.digests)),
            (SELECT count(*) FROM \(unescaped: t.tags))
            """
        )
        let (entries, runs, steps, digests, tags) = try session.decode(purpose) {
            try rows[0].decode((Int64, Int64, Int64, Int64, Int64).self)
        }
        return [
            "entries": Int(entries), "run_rows": Int(runs), "step_rows": Int(steps), "digest_rows": Int(digests),
            "tags": Int(tags),
        ]
    }
}

/// Reads PostgreSQL's binary array format (one dimension): `ndim`, a has-NULL flag, the element type, the size
/// and lower bound, then each element as a length (-1: NULL) and its bytes.
enum BinaryArray {
    static func elements(_ buffer: ByteBuffer?, location: String) throws -> [ByteBuffer?] {
        guard var buffer else { return [] }
        func bad() -> LedgerError { LedgerError(.index, "\(location): a malformed array came back from the server") }
        guard let dimensions = buffer.readInteger(as: Int32.self), buffer.readInteger(as: Int32.self) != nil,
            buffer.readInteger(as: UInt32.self) != nil
        else { throw bad() }
        if dimensions == 0 { return [] }
        guard dimensions == 1, let count = buffer.readInteger(as: Int32.self), count >= 0,
            buffer.readInteger(as: Int32.self) != nil
        else { throw bad() }
        var result: [ByteBuffer?] = []
        result.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = buffer.readInteger(as: Int32.self) else { throw bad() }
            if length < 0 {
                result.append(nil)
                continue
            }
            guard let element = buffer.readSlice(length: Int(length)) else { throw bad() }
            result.append(element)
        }
        return result
    }
}

extension LedgerIndexLocation {
    /// The lineage index in the PostgreSQL database and schema of `location` (`spec/postgres.md`, "Lineage index"),
    /// shared by every host that uses the ledger; password from `PGPASSWORD` or a passfile in `environment`.
    public static func postgres(
        _ location: PostgresLedgerLocation,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> LedgerIndexLocation {
        LedgerIndexLocation { _ in try PostgresLedgerIndex(location: location, environment: environment) }
    }
}
#endif
