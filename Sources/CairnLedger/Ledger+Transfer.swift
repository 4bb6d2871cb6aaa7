/// What ``Ledger/transfer(from:to:chunk:)`` copied.
public struct LedgerTransfer: Sendable, Hashable {
    /// The number of entries copied (the source's committed size when the copy began).
    public var entryCount: UInt64
    /// The root hash of the copied tree, the same in source and destination.
    public var rootHash: MerkleHash
    /// The tree size of the checkpoint copied (nil when the source had none).
    public var checkpointSize: UInt64?
}

extension Ledger {
    /// Copies a ledger from one storage to another (local files to PostgreSQL and back: `cairn ledger export` and
    /// `import`): every committed entry byte for byte, in order, in batches of `chunk`, and the latest checkpoint
    /// note verbatim (its signature still verifies, since the tree is the same). The destination must be empty;
    /// it is held exclusively for the whole copy, and the roots of both trees are compared before the checkpoint
    /// is written.
    ///
    /// - Throws: ``LedgerError`` `.invalidArgument` when the destination holds entries, `.corruptLog` when the
    ///   copied tree's root differs from the source's; any error of either storage.
    @discardableResult
    public static func transfer(
        from source: any LedgerStorage,
        to destination: any LedgerStorage,
        chunk: Int = 4096
    ) throws -> LedgerTransfer {
        let (size, checkpoint) = try source.withSharedAccess { () throws -> (UInt64, (UInt64, String)?) in
            let size = try source.committedSize()
            return (size, try source.checkpoint().map { ($0.sequence, $0.note) })
        }
        let checkpointSize = try checkpoint.map { try checkpointTreeSize($0.1, location: source.location) }
        if let checkpointSize, checkpointSize > size {
            throw LedgerError(
                .corruptLog,
                "\(source.location): the checkpoint covers \(checkpointSize) entries but the log holds \(size)"
            )
        }
        return try destination.withExclusiveAccess { () throws -> LedgerTransfer in
            let (existing, _) = try destination.recover()
            guard existing == 0, try destination.checkpoint() == nil else {
                throw LedgerError(
                    .invalidArgument,
                    "\(destination.location) already holds a ledger (\(existing) entries); copy into an empty one"
                )
            }
            var next: UInt64 = 0
            while next < size {
                let end = min(size, next + UInt64(max(1, chunk)))
                let payloads = try source.withSharedAccess { try source.entries(next..<end) }
                next = try destination.append(payloads)
                guard next == end else {
                    throw LedgerError(.io, "\(destination.location): append returned size \(next), not \(end)")
                }
            }
            let sourceRoot = try source.withSharedAccess { try source.root(size: size) }
            let copiedRoot = try destination.root(size: size)
            guard sourceRoot == copiedRoot else {
                throw LedgerError(
                    .corruptLog,
                    "the root of the copy in \(destination.location) differs from \(source.location)'s"
                )
            }
            if let checkpoint, !(try destination.replaceCheckpoint(checkpoint.1, expecting: nil)) {
                throw LedgerError(.io, "\(destination.location): a checkpoint appeared under the exclusive lock")
            }
            return LedgerTransfer(entryCount: size, rootHash: copiedRoot, checkpointSize: checkpointSize)
        }
    }

    /// The tree size a checkpoint note states (its second line).
    static func checkpointTreeSize(_ note: String, location: String) throws -> UInt64 {
        let lines = note.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 2, let size = UInt64(lines[1]) else {
            throw LedgerError(.corruptLog, "\(location): the checkpoint is not a tree checkpoint")
        }
        return size
    }
}
