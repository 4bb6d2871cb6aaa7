import CairnCore
public import CairnManifest
public import CairnStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an appended entry landed.
public struct LedgerEntryRef: Sendable, Hashable {
    /// The entry's 0-based index in the log (its leaf index in the Merkle tree).
    public var index: UInt64
    /// The RFC 9162 leaf hash of the entry's bytes.
    public var leafHash: MerkleHash
    /// The entry's timestamp (RFC 3339).
    public var timestamp: String
}

/// The append-only, tamper-evident ledger of a store: manifests, receipts and tags in an RFC 9162 Merkle tree
/// with signed checkpoints, plus a derived SQLite index for lineage queries.
///
/// The ledger lives in `<store>/ledger/` and its index in `<store>/index.sqlite` (spec/ledger.md,
/// spec/index.md). Any number of threads and processes may append at once: appends are serialised by a file lock
/// and group-committed, and each append returns only once its entry is durable.
public final class Ledger: Sendable {
    /// The objects: manifest bodies and artifacts.
    public let store: any ObjectBackend
    /// The folder the ledger and its index live in (`<root>/ledger`, `<root>/index.sqlite`).
    public let root: String
    /// The ledger directory, `<root>/ledger`.
    package let directory: String
    /// The key that verifies this ledger's checkpoints.
    public let verifier: NoteVerifier
    /// The torn tail cut when the ledger was opened, if there was one.
    public let recoveredTail: TailCut?
    let signer: NoteSigner
    let core: LedgerCore
    /// The lineage index: `<root>/index.sqlite`, or another backend (``LedgerIndexLocation``).
    package let index: any LedgerIndexBackend

    /// The ledger directory of a store.
    package static func directory(storeRoot: String) -> String { storeRoot + "/ledger" }

    /// Creates the ledger's signing key if it has none yet and returns its verifier key.
    ///
    /// `cairn init` calls this; ``open(store:)`` calls it too, so a store made without it gets a key on first use.
    /// - Parameters:
    ///   - storeRoot: the store's root directory.
    ///   - origin: the checkpoint origin and key name; default `cairn.local/<16 random hex digits>`.
    /// - Throws: ``LedgerError`` when the key cannot be written or an existing key is malformed.
    @discardableResult
    public static func initialize(storeRoot: String, origin: String? = nil) throws -> NoteVerifier {
        let directory = Self.directory(storeRoot: storeRoot)
        try FileSystem.makeDirectory(directory)
        return try loadOrCreateKey(directory: directory, origin: origin).verifier
    }

    static func loadOrCreateKey(directory: String, origin: String?) throws -> NoteSigner {
        let keyPath = directory + "/key"
        if !FileSystem.exists(keyPath) {
            let name =
                origin ?? "cairn.local/"
                + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let signer = try NoteSigner.generate(name: name)
            if try FileSystem.createExclusively(keyPath, with: Array((signer.encoded + "\n").utf8), mode: 0o600) {
                try FileSystem.replaceFile(
                    directory + "/key.pub",
                    with: Array((signer.verifier.encoded + "\n").utf8),
                    sync: true
                )
                return signer
            }
        }
        let text = String(decoding: try FileSystem.readFile(keyPath), as: UTF8.self)
        do {
            return try NoteSigner(encoded: text)
        } catch {
            throw LedgerError(.keyInvalid, "cannot read the ledger key \(keyPath)", underlying: error)
        }
    }

    /// Opens the ledger of `store`, creating it (and its key) on first use.
    ///
    /// Opening reconciles the log with its derived files and cuts a torn tail (reported in ``recoveredTail``);
    /// a complete record that fails its checksum is never cut: opening fails instead.
    /// - Throws: ``LedgerError`` (`.corruptLog`, `.io`, `.keyInvalid`, `.index`).
    public static func open(store: ObjectStore) throws -> Ledger {
        try Ledger(objects: store, storage: nil, root: store.root)
    }

    /// Opens the ledger kept in `root` (creating it and its key on first use) over the objects of `objects`,
    /// which may be any ``ObjectBackend``.
    ///
    /// - Throws: ``LedgerError`` (`.corruptLog`, `.io`, `.keyInvalid`, `.index`).
    public static func open(objects: any ObjectBackend, root: String) throws -> Ledger {
        try Ledger(objects: objects, storage: nil, root: root)
    }

    /// Opens a ledger whose entries, tree and checkpoint live in `storage` (any ``LedgerStorage``), over the
    /// objects of `objects`. `root` is a local folder for the signing key (`<root>/ledger/key`) and, by default,
    /// the derived index (`<root>/index.sqlite`); `index` puts the index elsewhere (with the `PostgreSQL` trait,
    /// `.postgres(location)`: the ledger's database, shared by every host).
    ///
    /// - Throws: ``LedgerError`` (`.corruptLog`, `.io`, `.keyInvalid`, `.index`), and the index's own errors.
    public static func open(
        objects: any ObjectBackend,
        storage: any LedgerStorage,
        root: String,
        index: LedgerIndexLocation = .localSQLite
    ) throws -> Ledger {
        try Ledger(objects: objects, storage: storage, root: root, index: index)
    }

    /// The local ledger storage of `spec/ledger.md` in `directory` (created on first use): `entries.log`,
    /// `entries.idx`, `tree.nodes`, `checkpoint` and `lock`.
    public static func localStorage(directory: String) throws -> any LedgerStorage {
        try LogStorage(directory: directory)
    }

    private init(
        objects: any ObjectBackend,
        storage: (any LedgerStorage)?,
        root: String,
        index location: LedgerIndexLocation = .localSQLite
    ) throws {
        self.store = objects
        self.root = root
        directory = Self.directory(storeRoot: root)
        try FileSystem.makeDirectory(directory)
        let storage = try storage ?? LogStorage(directory: directory)
        let signer = try Self.loadOrCreateKey(directory: directory, origin: nil)
        self.signer = signer
        verifier = signer.verifier
        // The sequence of the checkpoint this process last saw, so that a commit reads the checkpoint once (in the
        // compare-and-swap). Used only under the exclusive lock.
        let known = LastCheckpoint()
        let writeCheckpoint: (any LedgerStorage, UInt64) throws -> Void = { storage, size in
            let checkpoint = Checkpoint(origin: signer.name, size: size, rootHash: try storage.root(size: size))
            let note = try signer.sign(text: checkpoint.text)
            if !(try storage.replaceCheckpoint(note, expecting: known.sequence)) {
                // Another process wrote one since: read it, and swap again (the exclusive access is held, so no
                // other writer can move it in between).
                known.sequence = try storage.checkpoint()?.sequence
                guard try storage.replaceCheckpoint(note, expecting: known.sequence) else {
                    throw LedgerError(.io, "\(storage.location): the checkpoint changed under the exclusive lock")
                }
            }
            known.sequence = (known.sequence ?? 0) + 1
        }
        core = LedgerCore(
            storage: storage,
            afterCommit: writeCheckpoint,
            sign: { size, root in
                try signer.sign(text: Checkpoint(origin: signer.name, size: size, rootHash: root).text)
            }
        )
        recoveredTail = try core.withExclusiveLock { storage in
            let (size, cut) = try storage.recover()
            let current = ((try? storage.checkpoint()) ?? nil).flatMap {
                try? Checkpoint.open(signedNote: $0.note, verifier: signer.verifier)
            }
            if current?.size != size || cut != nil {
                try writeCheckpoint(storage, size)
            }
            return cut
        }
        index = try location.open(root)
    }

    // MARK: Appending

    /// Appends pre-encoded entries as one batch (one durable write) and returns their refs.
    func append(_ entries: [LedgerEntry]) throws -> [LedgerEntryRef] {
        let timestamp = Timestamp.millisecondText(Date())
        let payloads = try entries.map { try $0.encoded(timestamp: timestamp) }
        let first = try core.append(payloads)
        return payloads.enumerated().map { offset, payload in
            LedgerEntryRef(index: first + UInt64(offset), leafHash: Merkle.leafHash(payload), timestamp: timestamp)
        }
    }

    /// Stores `bytes` (a genblaze manifest) as an object and appends a `manifest` entry; durable on return.
    ///
    /// The run fields (`run.run_id`, `run.parent_run_id`, `run.name`, `run.status`) and `canonical_hash` are read
    /// from the manifest JSON. This does not verify the canonical hash; ``importManifest(bytes:assetsDirectory:)`` does.
    /// - Throws: ``LedgerError`` `.manifestMalformed` when the bytes are not JSON or lack a run ID or canonical
    ///   hash; store errors.
    @discardableResult
    public func appendManifest(bytes: [UInt8]) throws -> LedgerEntryRef {
        let record = try Self.manifestRecord(bytes: bytes, digest: try store.put(bytes).digest)
        return try append([.manifest(record)])[0]
    }

    /// Stores several manifests and appends their entries as one batch (one durable write).
    @discardableResult
    public func appendManifests(bytes manifests: [[UInt8]]) throws -> [LedgerEntryRef] {
        let records = try manifests.map { try Self.manifestRecord(bytes: $0, digest: try store.put($0).digest) }
        return try append(records.map { .manifest($0) })
    }

    /// Reads the ledger fields of a genblaze manifest's JSON.
    static func manifestRecord(bytes: [UInt8], digest: Digest) throws -> ManifestRecord {
        let outline: ManifestOutline
        do {
            outline = try ManifestOutline(bytes: bytes)
        } catch let error as ManifestError where error.code == .invalidJSON {
            throw LedgerError(.manifestMalformed, "manifest is not JSON: \(error.underlying.map { "\($0)" } ?? "")")
        } catch {
            throw LedgerError(.manifestMalformed, "manifest has no run.run_id")
        }
        guard let runID = outline.runID else {
            throw LedgerError(.manifestMalformed, "manifest has no run.run_id")
        }
        guard let hash = outline.canonicalHash else {
            throw LedgerError(.manifestMalformed, "manifest of run \(runID) has no canonical_hash")
        }
        return ManifestRecord(
            runID: runID,
            parentRunID: outline.parentRunID,
            name: outline.name,
            canonicalHash: hash,
            manifestDigest: digest,
            status: outline.status
        )
    }

    /// Appends a `receipt` entry for one step attempt; durable on return.
    @discardableResult
    public func appendReceipt(_ receipt: Receipt) throws -> LedgerEntryRef {
        try append([.receipt(receipt)])[0]
    }

    /// Appends several receipts as one batch (one durable write); durable on return.
    @discardableResult
    public func appendReceipts(_ receipts: [Receipt]) throws -> [LedgerEntryRef] {
        try append(receipts.map { .receipt($0) })
    }

    /// Appends a `tag` entry: metadata on a run after the fact (`selected=true`, `iteration_tag=...`).
    @discardableResult
    public func appendTag(runID: String, key: String, value: JSONValue) throws -> LedgerEntryRef {
        try append([.tag(TagRecord(runID: runID, key: key, value: value))])[0]
    }

    // MARK: Reading

    /// The number of committed entries.
    public func size() throws -> UInt64 {
        try core.withSharedLock { try $0.committedSize() }
    }

    /// The exact bytes of entry `index`.
    ///
    /// - Throws: ``LedgerError`` `.notFound` past the end, `.corruptLog` when the record fails its checksum.
    public func entryBytes(at index: UInt64) throws -> [UInt8] {
        try core.withSharedLock { storage in
            guard index < (try storage.committedSize()) else {
                throw LedgerError(.notFound, "entry \(index) is past the end of the ledger")
            }
            return try storage.entries(index..<(index + 1))[0]
        }
    }

    /// The decoded entry `index` and its timestamp.
    public func entry(at index: UInt64) throws -> (entry: LedgerEntry, timestamp: String) {
        try LedgerEntry.decode(try entryBytes(at: index))
    }

    /// Calls `body` with every committed entry's index and bytes, in order, from `start`.
    public func forEachEntry(from start: UInt64 = 0, _ body: (UInt64, [UInt8]) throws -> Void) throws {
        let size = try self.size()
        var next = start
        while next < size {
            let end = min(size, next + 4096)
            let chunk = try core.withSharedLock { storage in try storage.entries(next..<end) }
            for (offset, bytes) in chunk.enumerated() { try body(next + UInt64(offset), bytes) }
            next = end
        }
    }

    /// The latest signed checkpoint (a C2SP signed note).
    public func checkpointNote() throws -> String {
        try core.withSharedLock { storage in
            guard let latest = try storage.checkpoint() else {
                throw LedgerError(.notFound, "\(storage.location) holds no valid checkpoint")
            }
            return latest.note
        }
    }

    /// The latest checkpoint, after checking its signature with this ledger's key.
    public func checkpoint() throws -> Checkpoint {
        try Checkpoint.open(signedNote: try checkpointNote(), verifier: verifier)
    }

    /// The root hash of the first `size` entries.
    public func rootHash(size: UInt64) throws -> MerkleHash {
        try core.withSharedLock { storage in
            guard size <= (try storage.committedSize()) else {
                throw LedgerError(.invalidArgument, "tree size \(size) is larger than the ledger")
            }
            return try storage.root(size: size)
        }
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries (O(log n) reads).
    public func inclusionProof(index: UInt64, size: UInt64) throws -> [MerkleHash] {
        try core.withSharedLock { storage in
            guard size <= (try storage.committedSize()) else {
                throw LedgerError(.invalidArgument, "tree size \(size) is larger than the ledger")
            }
            return try Merkle.inclusionProof(index: index, size: size) { try storage.node(level: $0, index: $1) }
        }
    }

    /// The consistency proof from the tree of `oldSize` entries to the tree of `newSize` (O(log n) reads).
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws -> [MerkleHash] {
        try core.withSharedLock { storage in
            guard newSize <= (try storage.committedSize()) else {
                throw LedgerError(.invalidArgument, "tree size \(newSize) is larger than the ledger")
            }
            return try Merkle.consistencyProof(oldSize: oldSize, newSize: newSize) {
                try storage.node(level: $0, index: $1)
            }
        }
    }
}

/// The sequence of the latest checkpoint a ledger wrote or read; touched only under the exclusive lock.
private final class LastCheckpoint: @unchecked Sendable {
    var sequence: UInt64? = nil
}
