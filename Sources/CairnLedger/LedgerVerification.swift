import CairnCore
public import CairnStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outcome of recomputing a ledger from its log (`cairn ledger verify`).
public struct LedgerVerification: Sendable {
    /// One problem found, with the entry index it concerns when there is one.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The first entry index concerned, if the problem is tied to an entry.
        public var index: UInt64?
        /// What is wrong.
        public var message: String

        /// `entry N: message`, or the message alone.
        public var description: String { index.map { "entry \($0): \(message)" } ?? message }
    }

    /// Complete, well-framed entries in the log.
    public var entryCount: UInt64
    /// The recomputed root over all entries.
    public var rootHash: MerkleHash
    /// The latest checkpoint, when its signature verified.
    public var checkpoint: Checkpoint?
    /// Everything found wrong, first problem first.
    public var problems: [Problem]

    /// True when nothing was found wrong.
    public var isOK: Bool { problems.isEmpty }
    /// The index of the first bad entry, if any problem names one.
    public var firstBadIndex: UInt64? { problems.compactMap(\.index).min() }
}

extension Ledger {
    /// Recomputes every leaf and the whole tree from `entries.log`, compares them with the stored tree and
    /// offsets, checks that every manifest entry's body is in the store, and checks the latest checkpoint's
    /// signature (with `key.pub`) and root. Reads only; needs no lock
    /// and no write access, and works on a log that ``open(store:)`` would refuse.
    ///
    /// - Throws: ``LedgerError`` only when the files cannot be read at all; problems are reported, not thrown.
    ///
    /// `objects` is where manifest bodies are looked up: by default the local store at `storeRoot`; pass the store's
    /// backend when its objects live elsewhere (an S3 bucket).
    public static func verify(storeRoot: String, objects: (any ObjectBackend)? = nil) throws -> LedgerVerification {
        let directory = Self.directory(storeRoot: storeRoot)
        var problems: [LedgerVerification.Problem] = []
        let log = try LedgerFile(path: directory + "/entries.log", flags: O_RDONLY)
        // Manifest bodies are looked up in the store beside the ledger (a ledger copied alone checks without them).
        let store: (any ObjectBackend)? = objects ?? (try? ObjectStore(at: storeRoot))
        let logSize = try log.size()
        let storedNodes = try? LedgerFile(path: directory + "/tree.nodes", flags: O_RDONLY)
        let storedOffsets = try? LedgerFile(path: directory + "/entries.idx", flags: O_RDONLY)
        if try logSize < LogStorage.headerSize || log.read(at: 0, count: 8) != LogStorage.magic {
            problems.append(.init(index: nil, message: "entries.log does not start with the ledger magic"))
        }
        var stack: [(level: Int, hash: MerkleHash)] = []
        var count: UInt64 = 0
        var position = LogStorage.headerSize
        var nodeSlot: UInt64 = 0
        var treeMismatchReported = false
        var rootsBySize: [UInt64: MerkleHash] = [:]
        var checkpointSize: UInt64?
        var checkpoint: Checkpoint?
        // The checkpoint is checked against the public key only.
        do {
            let verifier = try NoteVerifier(
                encoded: String(decoding: try FileSystem.readFile(directory + "/key.pub"), as: UTF8.self)
            )
            guard let note = try CheckpointFile.read(directory: directory)?.note else {
                throw LedgerError(.notFound, "no valid checkpoint in \(directory)/\(CheckpointFile.name)")
            }
            let opened = try Checkpoint.open(signedNote: note, verifier: verifier)
            checkpoint = opened
            checkpointSize = opened.size
        } catch {
            problems.append(.init(index: nil, message: "latest checkpoint does not verify: \(error)"))
        }
        problems += CheckpointFile.damage(directory: directory).map { .init(index: nil, message: $0) }
        func compareStored(_ hash: MerkleHash, entry: UInt64) throws {
            defer { nodeSlot += 1 }
            guard let storedNodes, !treeMismatchReported else { return }
            let bytes = try storedNodes.read(at: nodeSlot * 32, count: 32)
            if bytes != hash.bytes {
                treeMismatchReported = true
                problems.append(
                    .init(
                        index: entry,
                        message: bytes.count < 32
                            ? "tree.nodes ends before this entry"
                            : "leaf or tree hash differs from the stored tree (entry altered, dropped or reordered)"
                    )
                )
            }
        }
        let reader = LogStorage.Reader(file: log)
        scan: while position < logSize {
            switch try reader.readRecord(at: position, fileSize: logSize) {
            case .endOfFile:
                break scan
            case .incomplete:
                problems.append(
                    .init(index: count, message: "torn tail of \(logSize - position) bytes at offset \(position)")
                )
                break scan
            case .corrupt(let reason):
                problems.append(.init(index: count, message: "\(reason) at offset \(position)"))
                break scan
            case .record(let payload, let end):
                if let storedOffsets {
                    let stored = try storedOffsets.read(at: count * 8, count: 8)
                    if stored.count == 8, LogStorage.readUInt64(stored, 0) != position, !treeMismatchReported {
                        problems.append(.init(index: count, message: "entries.idx offset differs from the log"))
                        treeMismatchReported = true
                    }
                }
                do {
                    if case .manifest(let record) = try LedgerEntry.decode(payload).entry, let store {
                        // A manifest's body is the run's record: gone, its steps are gone from every query.
                        switch try store.contains(record.manifestDigest) {
                        case .present: break
                        case .absent:
                            problems.append(
                                .init(
                                    index: count,
                                    message: "the manifest body \(record.manifestDigest) of run \(record.runID) is "
                                        + "not in the store"
                                )
                            )
                        }
                    }
                } catch let error as StoreError {
                    problems.append(.init(index: count, message: "cannot check the manifest body: \(error)"))
                } catch {
                    problems.append(.init(index: count, message: "not a valid entry: \(error)"))
                }
                let leaf = Merkle.leafHash(payload)
                try compareStored(leaf, entry: count)
                stack.append((0, leaf))
                while stack.count >= 2, stack[stack.count - 1].level == stack[stack.count - 2].level {
                    let right = stack.removeLast()
                    let left = stack.removeLast()
                    let parent = Merkle.nodeHash(left.hash, right.hash)
                    try compareStored(parent, entry: count)
                    stack.append((left.level + 1, parent))
                }
                count += 1
                position = end
                if count == checkpointSize {
                    rootsBySize[count] = Self.fold(stack)
                }
            }
        }
        let root = Self.fold(stack)
        if let checkpoint {
            if checkpoint.size == 0 {
                if checkpoint.rootHash != Merkle.emptyRoot {
                    problems.append(.init(index: nil, message: "checkpoint of size 0 has a non-empty root"))
                }
            } else if let recomputed = rootsBySize[checkpoint.size] {
                if recomputed != checkpoint.rootHash {
                    problems.append(
                        .init(
                            index: nil,
                            message: "checkpoint root for \(checkpoint.size) entries differs from the recomputed root"
                        )
                    )
                }
            } else {
                problems.append(
                    .init(
                        index: count,
                        message: "checkpoint covers \(checkpoint.size) entries but the log holds only \(count)"
                    )
                )
            }
        }
        return LedgerVerification(entryCount: count, rootHash: root, checkpoint: checkpoint, problems: problems)
    }

    static func fold(_ stack: [(level: Int, hash: MerkleHash)]) -> MerkleHash {
        guard var root = stack.last?.hash else { return Merkle.emptyRoot }
        for item in stack.dropLast().reversed() { root = Merkle.nodeHash(item.hash, root) }
        return root
    }
}
