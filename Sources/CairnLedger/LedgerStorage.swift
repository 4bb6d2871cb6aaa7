/// Where a ledger keeps its entries, its Merkle tree and its latest checkpoint: the contract every ledger storage
/// implements (`spec/backends.md`, "Ledger storage").
///
/// ``Ledger`` reaches its storage only through this protocol, so a second implementation (PostgreSQL, say) drops in
/// beside the local files of `spec/ledger.md` without changing the ledger. Every implementation passes the same
/// conformance suite (`LedgerStorageConformance` in the tests).
///
/// Access discipline: readers call ``withSharedAccess(_:)``; a writer calls ``withExclusiveAccess(_:)``, and inside it
/// first ``recover()``, then ``append(_:)`` and ``replaceCheckpoint(_:expecting:)``. The exclusive access excludes
/// every other writer, in this process and in any other (a file lock, a database lock). A single instance is used by
/// one thread at a time (``Ledger`` serialises its calls); the locks are what keep instances apart.
public protocol LedgerStorage: AnyObject {
    /// A short description of where the ledger is (a directory, a database), for messages.
    var location: String { get }

    /// Runs `body` holding the exclusive append lock.
    func withExclusiveAccess<R>(_ body: () throws -> R) throws -> R

    /// Runs `body` holding a shared lock: no writer commits while it runs.
    func withSharedAccess<R>(_ body: () throws -> R) throws -> R

    /// Brings the storage to a consistent state after a crash (exclusive access held): derived data is made to
    /// match the entries, and a torn last write is cut (never a complete entry). Returns the committed size and
    /// the cut, if one was made.
    ///
    /// - Throws: ``LedgerError`` `.corruptLog` when a complete entry fails its check (nothing is cut).
    func recover() throws -> (size: UInt64, cut: TailCut?)

    /// Appends `payloads` as the next entries, all or none, durably, with their Merkle tree nodes (exclusive access
    /// held, after ``recover()``). Returns the new committed size. When it throws, no entry of the batch is
    /// committed, now or after a later ``recover()``.
    func append(_ payloads: [[UInt8]]) throws -> UInt64

    /// The number of committed entries.
    func committedSize() throws -> UInt64

    /// The exact bytes of the committed entries in `range`.
    func entries(_ range: Range<UInt64>) throws -> [[UInt8]]

    /// The RFC 9162 hash of the perfect subtree at `level` (0: a leaf) and `index` (from the left), for subtrees
    /// within the committed entries.
    func node(level: Int, index: UInt64) throws -> MerkleHash

    /// The latest checkpoint (a signed note) and its sequence number (1 for the first), or nil when there is none.
    func checkpoint() throws -> (sequence: UInt64, note: String)?

    /// Stores `note` as the latest checkpoint if the current one has sequence `expected` (nil: there is none yet),
    /// giving it the next sequence number; returns false, storing nothing, when another checkpoint got there first.
    /// Exclusive access held.
    func replaceCheckpoint(_ note: String, expecting expected: UInt64?) throws -> Bool
}

extension LedgerStorage {
    /// The root hash of the first `size` entries.
    package func root(size: UInt64) throws -> MerkleHash {
        try Merkle.root(size: size, nodes: { try self.node(level: $0, index: $1) })
    }
}

/// A ledger storage that does a writer's whole commit in one call: take the exclusive access, find the end of the
/// log, append, and store the checkpoint of the new tree (`spec/backends.md`, clause L8). A storage whose every call
/// is a round trip to a server (PostgreSQL) does it in fewer trips than the separate calls; ``Ledger`` uses it when
/// the storage has it, and the separate calls otherwise.
package protocol CommittingLedgerStorage: LedgerStorage {
    /// Appends `payloads` at the end of the log, all or none, durably, and stores as the latest checkpoint the note
    /// `sign(size, root)` returns for the new tree (its sequence one past the current one). Takes the exclusive
    /// access itself; returns the new committed size. When it throws, no entry of the batch is committed, now or
    /// after a later ``recover()``.
    func commit(_ payloads: [[UInt8]], checkpoint sign: (UInt64, MerkleHash) throws -> String) throws -> UInt64
}
