#if PostgreSQL
public import CairnLedger
import CairnCore
public import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// A ledger's entries, Merkle tree and checkpoint in PostgreSQL (`spec/postgres.md`), behind the same
/// ``LedgerStorage`` contract as the local files: `Ledger.open(objects:storage:root:)` runs a ledger on it.
///
/// Each instance owns one connection and the one-thread event loop group it runs on, and blocks the calling thread
/// for every statement (the protocol is synchronous; callers are on blocking-IO threads, never on Swift's
/// cooperative pool, which this type does not use). ``close()`` (or deinit) closes both.
///
/// Exclusive access is a session advisory lock on the ledger's schema; every append is one statement that moves the
/// head from the size the writer recovered to the new size and inserts the entries and tree nodes, so a database
/// serialises appends from any number of processes and hosts, and a retried append never lands twice.
public final class PostgresLedgerStorage: LedgerStorage {
    /// The ledger's location, `postgres://USER@HOST:PORT/DATABASE` (never a password).
    public var location: String { target.description }
    /// Where the ledger lives.
    public let target: PostgresLedgerLocation
    /// The schema version this build reads and writes (version 1 schemas are upgraded on open: spec/postgres.md).
    public static let schemaVersion = "2"
    /// The lowest level of the tree stored in `nodes`: a node below it covers fewer than 16 leaves and is computed from
    /// their leaf hashes in `entries` (at most 8 read).
    static let nodeFloor = 4

    /// The connection, its event loop group, and the mapping of failures onto ``PostgresLedgerError``.
    private let session: PostgresSession
    /// True inside ``withExclusiveAccess(_:)``.
    private var exclusive = false
    /// What the last ``recover()`` of the exclusive access in progress found (nil outside one).
    private var state: State?
    /// The committed size and peaks this instance last saw (kept across accesses).
    private var lastState: State?
    /// The schema-qualified table names.
    private let tables: Tables
    /// Committed tree nodes this instance wrote or read: a committed node never changes, so a checkpoint's root
    /// and proofs over recent entries need no round trip. Bounded: emptied when it grows past `nodeCacheLimit`.
    private var nodeCache: [NodeKey: MerkleHash] = [:]
    private let nodeCacheLimit = 1 << 16

    struct NodeKey: Hashable {
        var level: Int
        var index: UInt64
    }

    private func remember(_ hash: MerkleHash, level: Int, index: UInt64) {
        if nodeCache.count >= nodeCacheLimit { nodeCache.removeAll(keepingCapacity: true) }
        nodeCache[NodeKey(level: level, index: index)] = hash
    }

    struct State {
        var size: UInt64
        /// The perfect subtrees of the tree of `size` leaves, largest first.
        var peaks: [(level: Int, hash: MerkleHash)]
    }

    struct Tables {
        let meta: String
        let head: String
        let entries: String
        let nodes: String
        let checkpoint: String
        let append: String
        let lockKey: String
        init(schema: String) {
            meta = "\(schema).meta"
            head = "\(schema).head"
            entries = "\(schema).entries"
            nodes = "\(schema).nodes"
            checkpoint = "\(schema).checkpoint"
            append = "\(schema).append_batch"
            lockKey = "cairn-ledger:\(schema)"
        }
    }

    /// Connects to the ledger at `location` (password from `PGPASSWORD` or a passfile in `environment`), creates
    /// its tables in its schema if they do not exist yet, and checks the schema version.
    ///
    /// - Throws: ``PostgresLedgerError``: `.connection`, `.authentication`, `.server` (a missing database, no
    ///   right to create the schema), `.schemaVersion` (tables of a version this build does not know).
    public init(
        location: PostgresLedgerLocation,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        target = location
        tables = Tables(schema: location.schema)
        session = PostgresSession(
            target: location,
            environment: environment,
            applicationName: "cairn",
            owner: "storage"
        )
        do {
            try prepareSchema()
        } catch {
            close()
            throw error
        }
    }

    /// Opens the ledger named by a `postgres://` URL (see ``PostgresLedgerLocation/init(url:environment:)``).
    public convenience init(
        url: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        try self.init(location: PostgresLedgerLocation(url: url, environment: environment), environment: environment)
    }

    deinit { close() }

    /// Closes the connection and shuts the event loop group down. Further calls throw `.connection`.
    public func close() { session.close() }

    // MARK: Connection

    @discardableResult
    private func run(_ purpose: String, _ query: PostgresQuery) throws -> [PostgresRow] {
        try session.run(purpose, query)
    }

    @discardableResult
    private func runPipelined(_ purpose: String, _ queries: [PostgresQuery]) throws -> [[PostgresRow]] {
        try session.runPipelined(purpose, queries)
    }

    private func send(_ query: PostgresQuery) { session.send(query) }

    private func decode<T>(_ purpose: String, _ body: () throws -> T) throws -> T { try session.decode(purpose, body) }

    // MARK: Schema

    /// Creates the tables if needed (under a transaction advisory lock, so that two first opens do not race) and
    /// refuses a schema version this build does not know.
    private func prepareSchema() throws {
        let t = tables
        let schema = target.schema
        let purpose = "preparing schema \(schema)"
        try run(purpose, "BEGIN")
        do {
            try run(purpose, "SELECT pg_advisory_xact_lock(hashtextextended(\(t.lockKey), 0))")
            let found = try run(
                purpose,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = \(schema) AND table_name = 'meta'"
            )
            let exists = try decode(purpose) { try found[0].decode(Int64.self) } > 0
            if !exists {
                for statement in Self.createStatements(t, schema: schema) {
                    try run(purpose, PostgresQuery(unsafeSQL: statement))
                }
                try run(purpose, "INSERT INTO \(unescaped: t.meta) VALUES ('schema_version', \(Self.schemaVersion))")
            }
            let rows = try run(purpose, "SELECT value FROM \(unescaped: t.meta) WHERE key = 'schema_version'")
            var version = try rows.first.map { row in try decode(purpose) { try row.decode(String.self) } }
            if version == "1" {
                // Version 1 also stored nodes below the floor. This build never reads them, but a version 1 build
                // reading what this one writes would miss them: the version moves on, so such a build refuses it.
                try run(purpose, PostgresQuery(unsafeSQL: Self.appendFunction(t)))
                try run(
                    purpose,
                    "UPDATE \(unescaped: t.meta) SET value = \(Self.schemaVersion) WHERE key = 'schema_version'"
                )
                version = Self.schemaVersion
            }
            guard version == Self.schemaVersion else {
                throw PostgresLedgerError(
                    .schemaVersion,
                    purpose: purpose,
                    location: target.server,
                    detail: "schema \(schema) holds ledger tables of version \(version ?? "(none)"); "
                        + "this build reads versions 1 and \(Self.schemaVersion) only"
                )
            }
            try run(purpose, "COMMIT")
        } catch {
            _ = try? run(purpose, "ROLLBACK")
            throw error
        }
    }

    static func createStatements(_ t: Tables, schema: String) -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            "CREATE TABLE \(t.meta) (key text PRIMARY KEY, value text NOT NULL)",
            "CREATE TABLE \(t.head) (id int PRIMARY KEY CHECK (id = 1), size bigint NOT NULL CHECK (size >= 0))",
            """
            CREATE TABLE \(t.entries) (idx bigint PRIMARY KEY CHECK (idx >= 0), \
            leaf bytea NOT NULL CHECK (length(leaf) = 32), \
            payload bytea NOT NULL CHECK (length(payload) BETWEEN 1 AND 67108864))
            """,
            """
            CREATE TABLE \(t.nodes) (level smallint NOT NULL CHECK (level BETWEEN 0 AND 63), \
            idx bigint NOT NULL CHECK (idx >= 0), hash bytea NOT NULL CHECK (length(hash) = 32), \
            PRIMARY KEY (level, idx))
            """,
            """
            CREATE TABLE \(t.checkpoint) (id int PRIMARY KEY CHECK (id = 1), \
            sequence bigint NOT NULL CHECK (sequence >= 1), note text NOT NULL)
            """,
            "INSERT INTO \(t.head) VALUES (1, 0)",
            appendFunction(t),
        ]
    }

    /// The append as a PL/pgSQL function (spec/postgres.md, "Append"): the server parses and plans its statements
    /// once per session, where a statement sent whole is parsed and planned at every commit.
    static func appendFunction(_ t: Tables) -> String {
        """
        CREATE OR REPLACE FUNCTION \(t.append)(p_old bigint, p_new bigint, p_idx bigint[], p_leaf bytea[], p_payload bytea[], \
        p_level smallint[], p_nidx bigint[], p_hash bytea[], p_note text, p_locking boolean) \
        RETURNS integer LANGUAGE plpgsql AS $fn$
        BEGIN
            IF p_locking THEN
                PERFORM pg_advisory_xact_lock(hashtextextended('\(t.lockKey)', 0));
            END IF;
            UPDATE \(t.head) SET size = p_new WHERE id = 1 AND size = p_old;
            IF NOT FOUND THEN
                RETURN 0;
            END IF;
            INSERT INTO \(t.entries) (idx, leaf, payload) SELECT * FROM unnest(p_idx, p_leaf, p_payload);
            INSERT INTO \(t.nodes) (level, idx, hash) SELECT * FROM unnest(p_level, p_nidx, p_hash);
            IF p_note IS NOT NULL THEN
                INSERT INTO \(t.checkpoint) AS c (id, sequence, note) VALUES (1, 1, p_note)
                ON CONFLICT (id) DO UPDATE SET sequence = c.sequence + 1, note = EXCLUDED.note;
            END IF;
            RETURN 1;
        END
        $fn$
        """
    }

    /// Drops this ledger's schema and everything in it (tests and `cairn` tools that made a throwaway ledger).
    package func dropSchema() throws {
        try run("dropping schema \(target.schema)", PostgresQuery(unsafeSQL: "DROP SCHEMA \(target.schema) CASCADE"))
    }

    /// The process ID of this instance's server session (tests break the connection with it).
    package func backendProcessID() throws -> Int32 {
        let purpose = "reading the session's process ID"
        let rows = try run(purpose, "SELECT pg_backend_pid()")
        return try decode(purpose) { try rows[0].decode(Int32.self) }
    }

    /// Runs one SQL statement as given (tests: damage, terminate a session); `{schema}` becomes the schema name.
    package func execute(unsafeSQL sql: String) throws {
        let text = sql.replacingOccurrences(of: "{schema}", with: target.schema)
        try run("running a statement", PostgresQuery(unsafeSQL: text))
    }

    // MARK: LedgerStorage

    public func withExclusiveAccess<R>(_ body: () throws -> R) throws -> R {
        let purpose = "taking the ledger's append lock"
        try run(purpose, "SELECT pg_advisory_lock(hashtextextended(\(tables.lockKey), 0))")
        exclusive = true
        defer {
            exclusive = false
            state = nil
            // A broken connection released the session lock with it.
            send("SELECT pg_advisory_unlock(hashtextextended(\(tables.lockKey), 0))")
        }
        return try body()
    }

    /// Readers run in one read-only snapshot: every read inside sees the same committed state, and no commit
    /// becomes visible while it runs.
    public func withSharedAccess<R>(_ body: () throws -> R) throws -> R {
        let purpose = "opening a read snapshot"
        try run(purpose, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let result = try body()
            send("COMMIT")
            return result
        } catch {
            send("ROLLBACK")
            throw error
        }
    }

    public func recover() throws -> (size: UInt64, cut: TailCut?) {
        let t = tables
        let purpose = "recovering the ledger"
        let rows = try run(
            purpose,
            """
            SELECT size, (SELECT max(idx) FROM \(unescaped: t.entries)), \
            (SELECT max(idx) FROM \(unescaped: t.nodes) WHERE level = \(Int16(Self.nodeFloor))) \
            FROM \(unescaped: t.head) WHERE id = 1
            """
        )
        guard let row = rows.first else {
            throw LedgerError(.corruptLog, "\(location): the head row is missing")
        }
        let (size, lastEntry, lastFloor) = try decode(purpose) { try row.decode((Int64, Int64?, Int64?).self) }
        // Entries, nodes and head move in one transaction, so they always agree; anything else is damage.
        let floorNodes = size >> Int64(Self.nodeFloor)
        guard lastEntry.map({ $0 + 1 }) ?? 0 == size, lastFloor.map({ $0 + 1 }) ?? 0 == floorNodes else {
            throw LedgerError(
                .corruptLog,
                "\(location): the head says \(size) entries but entries end at \(lastEntry.map { "\($0)" } ?? "none") "
                    + "and level-\(Self.nodeFloor) nodes at \(lastFloor.map { "\($0)" } ?? "none") "
                    + "(expected \(floorNodes == 0 ? "none" : "\(floorNodes - 1)"))"
            )
        }
        let committed = UInt64(size)
        // The log only grows and a committed entry never changes: at the size this instance last left it, the
        // peaks are the ones it already holds.
        if let known = lastState, known.size == committed {
            state = known
            return (committed, nil)
        }
        let found = try peaks(size: committed)
        var start: UInt64 = 0
        for peak in found {
            remember(peak.hash, level: peak.level, index: start >> UInt64(peak.level))
            start += UInt64(1) << UInt64(peak.level)
        }
        state = State(size: committed, peaks: found)
        lastState = state
        return (committed, nil)
    }

    /// The peaks of the tree of `size` leaves, largest first, read with one statement.
    private func peaks(size: UInt64) throws -> [(level: Int, hash: MerkleHash)] {
        var wanted: [(level: Int, index: UInt64)] = []
        var start: UInt64 = 0
        for level in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(level)) != 0 {
            wanted.append((level, start >> UInt64(level)))
            start += UInt64(1) << UInt64(level)
        }
        guard !wanted.isEmpty else { return [] }
        // Peaks at or above the floor are rows of `nodes`; the ones below cover the last `size mod 16` leaves, read
        // from `entries` in the same statement (level -1 marks a leaf).
        let stored = wanted.filter { $0.level >= Self.nodeFloor }
        let levels = stored.map { Int16($0.level) }
        let indexes = stored.map { Int64($0.index) }
        let tail = Int64(size) - Int64(size % (UInt64(1) << UInt64(Self.nodeFloor)))
        let purpose = "reading the tree's peaks"
        let rows = try run(
            purpose,
            """
            SELECT n.level, n.idx, n.hash FROM \(unescaped: tables.nodes) n \
            JOIN unnest(\(levels)::smallint[], \(indexes)::bigint[]) AS w(level, idx) \
            ON n.level = w.level AND n.idx = w.idx \
            UNION ALL SELECT CAST(-1 AS smallint), idx, leaf FROM \(unescaped: tables.entries) \
            WHERE idx >= \(tail) AND idx < \(Int64(size)) ORDER BY 1 DESC, 2
            """
        )
        var found: [(level: Int, hash: MerkleHash)] = []
        var leaves: [MerkleHash] = []
        for row in rows {
            let (level, _, hash) = try decode(purpose) { try row.decode((Int16, Int64, ByteBuffer).self) }
            if level < 0 {
                leaves.append(try merkleHash(hash, purpose))
            } else {
                found.append((level: Int(level), hash: try merkleHash(hash, purpose)))
            }
        }
        guard found.map(\.level) == stored.map(\.level), leaves.count == Int(Int64(size) - tail) else {
            throw LedgerError(.corruptLog, "\(location): tree nodes of the peaks of \(size) entries are missing")
        }
        // The peaks below the floor, largest first, each folded from its leaves (a perfect subtree's hash is the
        // root over its leaves).
        var offset = 0
        for peak in wanted where peak.level < Self.nodeFloor {
            let width = 1 << peak.level
            found.append((level: peak.level, hash: Merkle.root(ofLeaves: Array(leaves[offset..<offset + width]))))
            offset += width
        }
        return found
    }

    private func merkleHash(_ buffer: ByteBuffer, _ what: String) throws -> MerkleHash {
        guard let hash = MerkleHash(bytes: buffer.readableBytesView) else {
            throw LedgerError(.corruptLog, "\(location): a stored hash is not 32 bytes (\(what))")
        }
        return hash
    }

    public func append(_ payloads: [[UInt8]]) throws -> UInt64 {
        guard exclusive, let current = state else {
            throw LedgerError(.invalidArgument, "\(location): append without recover() in the exclusive access")
        }
        state = nil
        try Self.check(payloads)
        guard !payloads.isEmpty else {
            state = current
            return current.size
        }
        let plan = Plan(payloads, after: current)
        try send(plan, statement: appendStatement(plan, checkpoint: nil))
        finish(plan)
        return plan.newSize
    }

    private static func check(_ payloads: [[UInt8]]) throws {
        for payload in payloads where payload.isEmpty || payload.count > 64 << 20 {
            throw LedgerError(.invalidEntry, "entry of \(payload.count) bytes is empty or too large")
        }
    }

    /// A batch placed after a known state: its leaves, every perfect subtree it completes (as the local ledger
    /// computes them), and the peaks and root of the tree it makes.
    struct Plan {
        var oldSize: UInt64
        var newSize: UInt64
        var leafHashes: [MerkleHash] = []
        var indexes: [Int64] = []
        var bodies: [[UInt8]]
        var nodeLevels: [Int16] = []
        var nodeIndexes: [Int64] = []
        var nodeHashes: [MerkleHash] = []
        var peaks: [(level: Int, hash: MerkleHash)]

        init(_ payloads: [[UInt8]], after current: State) {
            oldSize = current.size
            newSize = current.size + UInt64(payloads.count)
            bodies = payloads
            peaks = current.peaks
            leafHashes.reserveCapacity(payloads.count)
            indexes.reserveCapacity(payloads.count)
            for (offset, payload) in payloads.enumerated() {
                let index = current.size + UInt64(offset)
                let leaf = Merkle.leafHash(payload)
                leafHashes.append(leaf)
                indexes.append(Int64(index))
                peaks.append((0, leaf))
                while peaks.count >= 2, peaks[peaks.count - 1].level == peaks[peaks.count - 2].level {
                    let right = peaks.removeLast()
                    let left = peaks.removeLast()
                    let parent = Merkle.nodeHash(left.hash, right.hash)
                    let level = left.level + 1
                    if level >= PostgresLedgerStorage.nodeFloor {
                        nodeLevels.append(Int16(level))
                        nodeIndexes.append(Int64(index >> UInt64(level)))
                        nodeHashes.append(parent)
                    }
                    peaks.append((level, parent))
                }
            }
        }

        /// The RFC 9162 root of the new tree: its peaks folded from the smallest.
        var root: MerkleHash {
            var hash = peaks[peaks.count - 1].hash
            for peak in peaks.dropLast().reversed() { hash = Merkle.nodeHash(peak.hash, hash) }
            return hash
        }
    }

    /// The append statement of `plan` (spec/postgres.md): one call of the schema's `append_batch` function, so one
    /// transaction and one commit. The head moves from the plan's old size to its new size only if it is still at
    /// the old one, and the entries, nodes and (given a note; nil writes none) the checkpoint are written only if it
    /// moved. Sent again after an unknown outcome, it writes nothing a second time.
    ///
    /// `locking` first takes a transaction advisory lock on the ledger's key: the statement then waits for any
    /// writer holding the exclusive access, and commits without one of its own.
    private func appendStatement(_ plan: Plan, checkpoint note: String?, locking: Bool = false) -> PostgresQuery {
        """
        SELECT \(unescaped: tables.append)(\(Int64(plan.oldSize)), \(Int64(plan.newSize)), \
        \(plan.indexes)::bigint[], \(ByteaArray(plan.leafHashes))::bytea[], \(ByteaArray(plan.bodies))::bytea[], \
        \(plan.nodeLevels)::smallint[], \(plan.nodeIndexes)::bigint[], \(ByteaArray(plan.nodeHashes))::bytea[], \
        \(note)::text, \(locking))
        """
    }

    /// Whether the first column of an append statement's row says the head moved.
    private func moved(_ rows: [PostgresRow], _ purpose: String) throws -> Bool {
        guard let cell = rows.first?.first else {
            throw PostgresLedgerError(.server, purpose: purpose, location: target.server, detail: "no row came back")
        }
        return try decode(purpose) { try cell.decode(Int32.self) } == 1
    }

    /// Sends `plan`'s statement (exclusive access held) until its outcome is known; returns once the batch is
    /// committed at `[oldSize, newSize)`, or throws having committed nothing.
    private func send(_ plan: Plan, statement: PostgresQuery) throws {
        let purpose = "appending \(plan.newSize - plan.oldSize) entries at index \(plan.oldSize)"
        var landed: Bool
        do {
            landed = try moved(try run(purpose, statement), purpose)
        } catch let error as PostgresLedgerError where error.code == .connection {
            // The commit's outcome is unknown. Reconnect and take the lock again: the old session's lock is
            // released only when its backend has ended, so by then the statement has committed or never will.
            try run(
                "taking the append lock again after \(error)",
                "SELECT pg_advisory_lock(hashtextextended(\(tables.lockKey), 0))"
            )
            landed = try moved(try run(purpose, statement), purpose)
        }
        // Either an earlier send of this statement committed (the batch is at [old, new)), or the log moved.
        if !landed, !(try self.landed(plan.leafHashes, at: plan.oldSize)) {
            throw PostgresLedgerError(
                .lostExclusive,
                purpose: purpose,
                location: target.server,
                detail: "the log is no longer at \(plan.oldSize) entries: another writer appended without the lock"
            )
        }
    }

    /// Records a committed plan: its nodes are now as permanent as the entries.
    private func finish(_ plan: Plan) {
        for ((level, index), hash) in zip(zip(plan.nodeLevels, plan.nodeIndexes), plan.nodeHashes) {
            remember(hash, level: Int(level), index: UInt64(index))
        }
        lastState = State(size: plan.newSize, peaks: plan.peaks)
        // Inside an exclusive access the next append follows this one without another recover().
        state = exclusive ? lastState : nil
    }

    /// A writer's whole commit (spec/postgres.md, "Commit"): the append statement also stores the signed checkpoint
    /// of the new tree, so entries, tree and checkpoint commit in one transaction. When the log is where this
    /// instance's last commit left it, that statement, taking a transaction lock on the ledger's key itself, is the
    /// whole commit: one round trip. Otherwise (the first commit, another writer in between, a broken connection)
    /// it takes the exclusive access, reads the end of the log and sends the statement for that position.
    package func commit(
        _ payloads: [[UInt8]],
        checkpoint sign: (UInt64, MerkleHash) throws -> String
    ) throws -> UInt64 {
        try Self.check(payloads)
        var unknown: Plan?
        if let known = lastState, !payloads.isEmpty, !exclusive {
            let plan = Plan(payloads, after: known)
            let statement = appendStatement(plan, checkpoint: try sign(plan.newSize, plan.root), locking: true)
            let purpose = "appending \(payloads.count) entries at index \(plan.oldSize)"
            do {
                if try moved(try run(purpose, statement), purpose) {
                    finish(plan)
                    return plan.newSize
                }
                // Another writer appended since this instance's last commit: the locked path finds the end.
            } catch let error as PostgresLedgerError where error.code == .connection {
                // The outcome is unknown: the locked path finds out whether the batch landed.
                unknown = plan
            }
        }
        return try withExclusiveAccess {
            let (size, _) = try recover()
            guard let current = state else {
                throw LedgerError(.invalidArgument, "\(location): no recovered state in the exclusive access")
            }
            if let unknown, size >= unknown.newSize, try landed(unknown.leafHashes, at: unknown.oldSize) {
                // The burst committed (with its checkpoint) before the connection broke.
                return unknown.newSize
            }
            guard !payloads.isEmpty else { return current.size }
            let plan = Plan(payloads, after: current)
            try send(plan, statement: appendStatement(plan, checkpoint: try sign(plan.newSize, plan.root)))
            finish(plan)
            return plan.newSize
        }
    }

    /// True when entries `[start, start + leaves.count)` exist with exactly these leaf hashes (in order).
    private func landed(_ leaves: [MerkleHash], at start: UInt64) throws -> Bool {
        let purpose = "checking whether a batch at index \(start) landed"
        let rows = try run(
            purpose,
            """
            SELECT leaf FROM \(unescaped: tables.entries) WHERE idx >= \(Int64(start)) \
            AND idx < \(Int64(start) + Int64(leaves.count)) ORDER BY idx
            """
        )
        let found = try rows.map { row in
            try merkleHash(try decode(purpose) { try row.decode(ByteBuffer.self) }, purpose)
        }
        return found == leaves
    }

    public func committedSize() throws -> UInt64 {
        let purpose = "reading the ledger size"
        let rows = try run(purpose, "SELECT size FROM \(unescaped: tables.head) WHERE id = 1")
        guard let row = rows.first else { throw LedgerError(.corruptLog, "\(location): the head row is missing") }
        return UInt64(try decode(purpose) { try row.decode(Int64.self) })
    }

    public func entries(_ range: Range<UInt64>) throws -> [[UInt8]] {
        guard !range.isEmpty else { return [] }
        let purpose = "reading entries \(range.lowerBound)..<\(range.upperBound)"
        let rows = try run(
            purpose,
            """
            SELECT idx, leaf, payload FROM \(unescaped: tables.entries) \
            WHERE idx >= \(Int64(range.lowerBound)) AND idx < \(Int64(range.upperBound)) ORDER BY idx
            """
        )
        guard rows.count == range.count else {
            throw LedgerError(.notFound, "\(location): entries \(range) are past the end of the ledger")
        }
        var result: [[UInt8]] = []
        result.reserveCapacity(rows.count)
        for (offset, row) in rows.enumerated() {
            let (index, leaf, payload) = try decode(purpose) { try row.decode((Int64, ByteBuffer, ByteBuffer).self) }
            let bytes = Array(payload.readableBytesView)
            guard UInt64(index) == range.lowerBound + UInt64(offset),
                Merkle.leafHash(bytes).bytes == Array(leaf.readableBytesView)
            else {
                throw LedgerError(.corruptLog, "\(location): entry \(index) does not match its leaf hash")
            }
            result.append(bytes)
        }
        return result
    }

    public func node(level: Int, index: UInt64) throws -> MerkleHash {
        if let cached = nodeCache[NodeKey(level: level, index: index)] { return cached }
        let purpose = "reading tree node (\(level), \(index))"
        if level < Self.nodeFloor {
            // Below the floor a node is folded from its (at most 8) leaf hashes.
            let start = Int64(index << UInt64(level))
            let width = 1 << level
            let rows = try run(
                purpose,
                """
                SELECT leaf FROM \(unescaped: tables.entries) WHERE idx >= \(start) \
                AND idx < \(start + Int64(width)) ORDER BY idx
                """
            )
            guard rows.count == width else {
                throw LedgerError(
                    .notFound,
                    "\(location): tree node (\(level), \(index)) is past the end of the ledger"
                )
            }
            let leaves = try rows.map { row in
                try merkleHash(try decode(purpose) { try row.decode(ByteBuffer.self) }, purpose)
            }
            let hash = Merkle.root(ofLeaves: leaves)
            remember(hash, level: level, index: index)
            return hash
        }
        let rows = try run(
            purpose,
            "SELECT hash FROM \(unescaped: tables.nodes) WHERE level = \(Int16(level)) AND idx = \(Int64(index))"
        )
        guard let row = rows.first else {
            throw LedgerError(.notFound, "\(location): tree node (\(level), \(index)) is not stored")
        }
        let hash = try merkleHash(try decode(purpose) { try row.decode(ByteBuffer.self) }, purpose)
        remember(hash, level: level, index: index)
        return hash
    }

    public func checkpoint() throws -> (sequence: UInt64, note: String)? {
        let purpose = "reading the checkpoint"
        let rows = try run(purpose, "SELECT sequence, note FROM \(unescaped: tables.checkpoint) WHERE id = 1")
        guard let row = rows.first else { return nil }
        let (sequence, note) = try decode(purpose) { try row.decode((Int64, String).self) }
        return (UInt64(sequence), note)
    }

    public func replaceCheckpoint(_ note: String, expecting expected: UInt64?) throws -> Bool {
        let purpose = "replacing the checkpoint"
        // The checkpoint is derived data (re-signed by the next writer when it is behind the log), as in the local
        // ledger, which does not sync it: its commit does not wait for a WAL flush of its own. The WAL is
        // sequential, so the next durable append flushes it too.
        let statement: PostgresQuery
        if let expected {
            statement = """
                UPDATE \(unescaped: tables.checkpoint) SET sequence = sequence + 1, note = \(note) \
                WHERE id = 1 AND sequence = \(Int64(expected)) RETURNING sequence
                """
        } else {
            statement = """
                INSERT INTO \(unescaped: tables.checkpoint) VALUES (1, 1, \(note)) \
                ON CONFLICT (id) DO NOTHING RETURNING sequence
                """
        }
        let results = try runPipelined(
            purpose,
            ["SET synchronous_commit TO off", statement, "SET synchronous_commit TO on"]
        )
        let rows = results[1]
        return rows.count == 1
    }
}
extension PostgresLedgerStorage: CommittingLedgerStorage {}
#endif
