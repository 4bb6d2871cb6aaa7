package import CairnStore

/// What a ``Ledger`` needs from its derived lineage index (spec/index.md): incremental catch-up from the log, a clear
/// for `reindex`, and the queries of `Ledger+Queries.swift`. The local SQLite file (`LedgerIndex`) and a PostgreSQL
/// schema (`CairnPostgres.PostgresLedgerIndex`) implement it; every implementation passes the same conformance suite
/// (`LedgerIndexConformance` in the tests): the same entries give the same answers to every query.
///
/// An implementation is used by many threads at once (a ``Ledger`` is `Sendable`) and by many processes, on one host
/// or on several, catching up on one log at once: ``catchUp(size:read:store:)`` indexes each entry exactly once
/// however many callers race.
package protocol LedgerIndexBackend: AnyObject, Sendable {
    /// Where the index is (a file, a database schema), for messages.
    var location: String { get }

    /// Indexes entries `[indexed, size)`, reading their bytes through `read(start, end)` and manifest bodies from
    /// `store`. Returns once at least `size` entries are indexed (by this caller or a concurrent one).
    func catchUp(size: UInt64, read: (UInt64, UInt64) throws -> [[UInt8]], store: any ObjectBackend) throws

    /// Empties the index (the next ``catchUp(size:read:store:)`` rebuilds it from the log).
    func clear() throws

    /// How many log entries the index covers (`indexed_entries`).
    func indexedEntries() throws -> UInt64

    /// Runs with a manifest, newest first, at most `limit` (nil: all).
    func runs(limit: Int?) throws -> [RunSummary]

    /// The run `runID`, if it has a manifest entry.
    func run(_ runID: String) throws -> RunSummary?

    /// The log indexes of run `runID`'s `receipt` entries, ascending.
    func receiptIndexes(runID: String) throws -> [UInt64]

    /// The tags on run `runID` (latest value per key, canonical JSON text), by key (bytewise order).
    func tags(runID: String) throws -> [(key: String, value: String)]

    /// The ancestors of `runID` by parent pointers, nearest first, at most `depth` of them: a parent with no
    /// manifest entry ends the chain; a cycle is cut before the first run seen twice (`runID` included).
    func ancestors(of runID: String, depth: Int) throws -> [RunSummary]

    /// The runs whose parent is `runID`, oldest first.
    func children(of runID: String) throws -> [RunSummary]

    /// The tree of runs descending from `runID` (nil when it has no manifest entry); children oldest first, a run
    /// reached a second time (a parent cycle) left out.
    func descendants(of runID: String) throws -> LineageNode?

    /// The steps that `produced` or `consumed` (`role`) `digest` (`algo:hex`): one per (run, step), from its earliest
    /// entry, in log order.
    func uses(of digest: String, role: String) throws -> [DigestUse]

    /// Runs named `name`, newest first.
    func runs(named name: String) throws -> [RunSummary]

    /// Runs whose latest value for tag `key` is `value` (canonical JSON text), newest first.
    func runs(taggedWith key: String, value: String) throws -> [RunSummary]

    /// The number of rows in each internal table (`entries`, `run_rows`, `step_rows`, `digest_rows`, `tags`): the
    /// conformance suite compares them to find an entry indexed twice.
    func rowCounts() throws -> [String: Int]
}

/// Where a ledger keeps its lineage index: the local SQLite file `<root>/index.sqlite` (``localSQLite``, the
/// default), or, with the `PostgreSQL` trait, the ledger's PostgreSQL database (`CairnPostgres`'s
/// `LedgerIndexLocation.postgres(_:)`), shared by every host that uses the ledger.
public struct LedgerIndexLocation: Sendable {
    /// Opens the index for a ledger whose local folder is the argument.
    package let open: @Sendable (_ root: String) throws -> any LedgerIndexBackend

    /// An index opened by `open(root)`.
    package init(open: @escaping @Sendable (_ root: String) throws -> any LedgerIndexBackend) {
        self.open = open
    }

    /// The SQLite file `<root>/index.sqlite` of spec/index.md, one per host.
    public static let localSQLite = LedgerIndexLocation { root in try LedgerIndex(path: root + "/index.sqlite") }

    /// An index already open (tests, tools that share one instance).
    package static func backend(_ backend: any LedgerIndexBackend) -> LedgerIndexLocation {
        LedgerIndexLocation { _ in backend }
    }
}

extension LineageNode {
    /// The tree under `root` from `rows` (every run below it, any order; each with its parent pointer): children in
    /// log order, a run reached twice left out, as the SQLite index's walk builds it.
    package static func tree(root: RunSummary, rows: [RunSummary]) -> LineageNode {
        var children: [String: [RunSummary]] = [:]
        for row in rows {
            if let parent = row.parentRunID { children[parent, default: []].append(row) }
        }
        var seen: Set<String> = []
        func node(_ run: RunSummary) -> LineageNode? {
            guard seen.insert(run.runID).inserted else { return nil }
            let below = (children[run.runID] ?? []).sorted { $0.entryIndex < $1.entryIndex }
            return LineageNode(run: run, children: below.compactMap(node))
        }
        return node(root) ?? LineageNode(run: root, children: [])
    }
}

extension Ledger {
    /// The SQLite index at `path` (spec/index.md), opened on its own: tests open several instances on one file.
    package static func sqliteIndex(path: String) throws -> any LedgerIndexBackend {
        try LedgerIndex(path: path)
    }
}
