import CairnCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A torn tail that was found at the end of the log and cut off (never a complete record).
public struct TailCut: Sendable, Hashable, CustomStringConvertible {
    /// The byte offset in `entries.log` where the cut was made (the end of the last complete record).
    public var offset: UInt64
    /// How many bytes were removed.
    public var bytesRemoved: UInt64
    /// The number of complete entries that remain.
    public var entryCount: UInt64

    /// A one-line account of the cut.
    public var description: String {
        "cut a torn tail of \(bytesRemoved) bytes at offset \(offset) (after entry \(entryCount))"
    }
}

/// The on-disk ledger files (see spec/ledger.md): `entries.log` (framed records, the source of truth),
/// `entries.idx` (u64 start offset per entry), `tree.nodes` (RFC 9162 perfect-subtree hashes in post-order)
/// and `lock`. Derived files are reconciled with the log under the exclusive lock.
///
/// Not thread-safe; ``Ledger`` serialises access with a mutex and across processes with `flock`.
final class LogStorage {
    static let magic: [UInt8] = Array("CAIRNLG1".utf8)
    static let headerSize: UInt64 = 8
    static let recordHeaderSize: UInt64 = 12
    static let maxRecordSize: UInt64 = 64 << 20

    let directory: String
    let log: LedgerFile
    let offsets: LedgerFile
    let nodes: LedgerFile
    let lockFile: LedgerFile
    let checkpointFile: LedgerFile
    /// The state found by the last ``recover()`` of the exclusive access in progress (nil outside one).
    var state: State?

    init(directory: String) throws {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        lockFile = try LedgerFile(path: directory + "/lock", flags: O_RDWR | O_CREAT)
        checkpointFile = try LedgerFile(path: directory + "/" + CheckpointFile.name, flags: O_RDWR | O_CREAT)
        log = try LedgerFile(path: directory + "/entries.log", flags: O_RDWR | O_CREAT)
        offsets = try LedgerFile(path: directory + "/entries.idx", flags: O_RDWR | O_CREAT)
        nodes = try LedgerFile(path: directory + "/tree.nodes", flags: O_RDWR | O_CREAT)
    }

    // MARK: Framing

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 12)
        appendFrame(payload, to: &out)
        return out
    }

    static func appendFrame(_ payload: [UInt8], to out: inout [UInt8]) {
        let length = UInt32(payload.count)
        withUnsafeBytes(of: length.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: XXH3.hash64(payload).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    static func readUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[at + i]) << (8 * UInt32(i)) }
        return value
    }

    static func readUInt64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        return value
    }

    /// The outcome of reading one record at an offset.
    enum RecordRead {
        case record(payload: [UInt8], end: UInt64)
        /// The record runs past the end of the file or its header is incomplete: a torn write.
        case incomplete
        /// A complete-length record whose checksum or length field is wrong.
        case corrupt(String)
        case endOfFile
    }

    func readRecord(at offset: UInt64, fileSize: UInt64) throws -> RecordRead {
        try Reader(file: log).readRecord(at: offset, fileSize: fileSize)
    }

    /// Reads framed records from a log file.
    struct Reader {
        let file: LedgerFile

        func readRecord(at offset: UInt64, fileSize: UInt64) throws -> RecordRead {
            if offset == fileSize { return .endOfFile }
            if fileSize - offset < LogStorage.recordHeaderSize { return .incomplete }
            let header = try file.read(at: offset, count: Int(LogStorage.recordHeaderSize))
            let length = UInt64(LogStorage.readUInt32(header, 0))
            let checksum = LogStorage.readUInt64(header, 4)
            if length == 0 || length > LogStorage.maxRecordSize {
                return .corrupt("record length \(length) is out of range")
            }
            if offset + LogStorage.recordHeaderSize + length > fileSize { return .incomplete }
            let payload = try file.read(at: offset + LogStorage.recordHeaderSize, count: Int(length))
            guard XXH3.hash64(payload) == checksum else { return .corrupt("checksum mismatch") }
            return .record(payload: payload, end: offset + LogStorage.recordHeaderSize + length)
        }
    }

    /// True when every byte of the log from `offset` on is zero (a size extended but never written).
    func isZeroFilled(from offset: UInt64, fileSize: UInt64) throws -> Bool {
        var position = offset
        while position < fileSize {
            let chunk = try log.read(at: position, count: Int(min(1 << 20, fileSize - position)))
            if chunk.contains(where: { $0 != 0 }) { return false }
            position += UInt64(chunk.count)
        }
        return true
    }

    // MARK: Derived files

    /// Number of nodes stored for a tree of `leaves` leaves: `2n - popcount(n)`.
    static func nodeCount(leaves: UInt64) -> UInt64 { 2 * leaves - UInt64(leaves.nonzeroBitCount) }

    /// Position (in 32-byte slots) of the perfect subtree `(level, index)` in `tree.nodes`.
    static func nodePosition(level: Int, index: UInt64) -> UInt64 {
        let lastLeaf = ((index + 1) << UInt64(level)) - 1
        return nodeCount(leaves: lastLeaf) + UInt64(level)
    }

    /// The largest leaf count whose node count fits in `nodeSlots`.
    static func leafCount(nodeSlots: UInt64) -> UInt64 {
        var lo: UInt64 = 0
        var hi = nodeSlots
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if nodeCount(leaves: mid) <= nodeSlots { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    func node(level: Int, index: UInt64) throws -> MerkleHash {
        let bytes = try nodes.read(at: Self.nodePosition(level: level, index: index) * 32, count: 32)
        guard bytes.count == 32 else {
            throw LedgerError(.io, "tree.nodes is shorter than node (\(level), \(index)) needs")
        }
        return MerkleHash(unchecked: bytes)
    }

    func offset(ofEntry index: UInt64) throws -> UInt64 {
        let bytes = try offsets.read(at: index * 8, count: 8)
        guard bytes.count == 8 else { throw LedgerError(.notFound, "entry \(index) is past the end of entries.idx") }
        return Self.readUInt64(bytes, 0)
    }

    /// The number of entries covered by the derived files (readers use this as the committed size).
    func committedSize() throws -> UInt64 {
        min(try offsets.size() / 8, Self.leafCount(nodeSlots: try nodes.size() / 32))
    }

    /// The peaks (perfect subtrees, largest first) of the tree of `size` leaves.
    func peaks(size: UInt64) throws -> [(level: Int, hash: MerkleHash)] {
        var result: [(Int, MerkleHash)] = []
        var start: UInt64 = 0
        for level in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(level)) != 0 {
            result.append((level, try node(level: level, index: start >> UInt64(level))))
            start += UInt64(1) << UInt64(level)
        }
        return result
    }

    // MARK: Reconcile and append (exclusive lock held)

    /// The state after reconciling: entry count and the log's end offset.
    struct State {
        var size: UInt64
        var logEnd: UInt64
    }

    /// Brings the derived files in line with the log, cutting a torn tail. Exclusive lock must be held.
    ///
    /// - Returns: the state and the tail cut, if one was made.
    /// - Throws: ``LedgerError`` `.corruptLog` when a complete record fails its checksum (nothing is cut).
    func reconcile() throws -> (State, TailCut?) {
        var logSize = try log.size()
        if logSize < Self.headerSize {
            // A new log, or one torn while its header was written.
            try log.truncate(to: 0)
            try log.write(Self.magic, at: 0)
            try log.syncData()
            try offsets.truncate(to: 0)
            try nodes.truncate(to: 0)
            logSize = Self.headerSize
        } else if try log.read(at: 0, count: 8) != Self.magic {
            throw LedgerError(.corruptLog, "\(log.path) does not start with the ledger magic")
        }
        // Trust the derived files up to the last entry whose offset, record and leaf hash agree with the log.
        var count = min(try offsets.size() / 8, Self.leafCount(nodeSlots: try nodes.size() / 32))
        var logEnd = Self.headerSize
        var steps = 0
        while count > 0 {
            steps += 1
            if steps > 64 {
                count = 0
                break
            }
            let start = try offset(ofEntry: count - 1)
            if start >= Self.headerSize, start < logSize,
                case .record(let payload, let end) = try readRecord(at: start, fileSize: logSize),
                try node(level: 0, index: count - 1) == Merkle.leafHash(payload)
            {
                logEnd = end
                break
            }
            count -= 1
        }
        if try offsets.size() != count * 8 { try offsets.truncate(to: count * 8) }
        if try nodes.size() != Self.nodeCount(leaves: count) * 32 {
            try nodes.truncate(to: Self.nodeCount(leaves: count) * 32)
        }
        guard logEnd < logSize else { return (State(size: count, logEnd: logEnd), nil) }
        // Index complete records past the derived files; stop at a torn tail.
        var payloads: [[UInt8]] = []
        var starts: [UInt64] = []
        var position = logEnd
        var cut: TailCut?
        scan: while true {
            switch try readRecord(at: position, fileSize: logSize) {
            case .endOfFile:
                break scan
            case .record(let payload, let end):
                payloads.append(payload)
                starts.append(position)
                position = end
            case .incomplete:
                cut = TailCut(offset: position, bytesRemoved: logSize - position, entryCount: 0)
                break scan
            case .corrupt(let reason):
                if try isZeroFilled(from: position, fileSize: logSize) {
                    cut = TailCut(offset: position, bytesRemoved: logSize - position, entryCount: 0)
                    break scan
                }
                let index = count + UInt64(payloads.count)
                throw LedgerError(.corruptLog, "\(log.path): entry \(index) at offset \(position): \(reason)")
            }
        }
        if var tail = cut {
            try log.truncate(to: tail.offset)
            try log.syncData()
            tail.entryCount = count + UInt64(payloads.count)
            cut = tail
        }
        let state = try appendDerived(payloads: payloads, starts: starts, size: count)
        return (State(size: state, logEnd: position), cut)
    }

    /// Appends offsets and tree nodes for `payloads` (entries `size...`). Returns the new size.
    @discardableResult
    func appendDerived(payloads: [[UInt8]], starts: [UInt64], size: UInt64) throws -> UInt64 {
        guard !payloads.isEmpty else { return size }
        var stack = try peaks(size: size)
        var nodeBytes = [UInt8]()
        nodeBytes.reserveCapacity(payloads.count * 64)
        var offsetBytes = [UInt8]()
        offsetBytes.reserveCapacity(payloads.count * 8)
        for (payload, start) in zip(payloads, starts) {
            withUnsafeBytes(of: start.littleEndian) { offsetBytes.append(contentsOf: $0) }
            let leaf = Merkle.leafHash(payload)
            leaf.withBytes { nodeBytes.append(contentsOf: $0) }
            stack.append((0, leaf))
            while stack.count >= 2, stack[stack.count - 1].level == stack[stack.count - 2].level {
                let right = stack.removeLast()
                let left = stack.removeLast()
                let parent = Merkle.nodeHash(left.hash, right.hash)
                parent.withBytes { nodeBytes.append(contentsOf: $0) }
                stack.append((left.level + 1, parent))
            }
        }
        try nodes.write(nodeBytes, at: Self.nodeCount(leaves: size) * 32)
        try offsets.write(offsetBytes, at: size * 8)
        return size + UInt64(payloads.count)
    }

    /// Appends `payloads` durably: one write and one `fdatasync` of the log, then the derived files.
    /// Exclusive lock must be held and `state` fresh from ``reconcile()``.
    func append(_ payloads: [[UInt8]], state: State) throws -> State {
        var buffer = [UInt8]()
        buffer.reserveCapacity(payloads.reduce(0) { $0 + $1.count + 12 })
        var starts: [UInt64] = []
        var position = state.logEnd
        for payload in payloads {
            guard !payload.isEmpty, UInt64(payload.count) <= Self.maxRecordSize else {
                throw LedgerError(.invalidEntry, "entry of \(payload.count) bytes is empty or too large")
            }
            starts.append(position)
            Self.appendFrame(payload, to: &buffer)
            position += UInt64(payload.count) + Self.recordHeaderSize
        }
        try log.write(buffer, at: state.logEnd)
        do {
            try log.syncData()
        } catch {
            // Not durable, so not acknowledged: take the bytes back, so a later open does not adopt entries whose
            // append failed (after a failed fdatasync the page cache is no promise of what is on disk).
            try? log.truncate(to: state.logEnd)
            throw error
        }
        let size = try appendDerived(payloads: payloads, starts: starts, size: state.size)
        return State(size: size, logEnd: position)
    }

    /// The exact bytes of entries `range` (below the committed size), read with two sequential reads.
    func entries(_ range: Range<UInt64>) throws -> [[UInt8]] {
        guard let first = range.first else { return [] }
        let offsetBytes = try offsets.read(at: first * 8, count: range.count * 8)
        guard offsetBytes.count == range.count * 8 else {
            throw LedgerError(.notFound, "entries \(range) are past the end of entries.idx")
        }
        let starts = (0..<range.count).map { Self.readUInt64(offsetBytes, $0 * 8) }
        let fileSize = try log.size()
        let lastHeader = try log.read(at: starts[starts.count - 1], count: Int(Self.recordHeaderSize))
        guard lastHeader.count == Int(Self.recordHeaderSize) else {
            throw LedgerError(.corruptLog, "\(log.path): entry \(range.upperBound - 1) is incomplete")
        }
        let end = starts[starts.count - 1] + Self.recordHeaderSize + UInt64(Self.readUInt32(lastHeader, 0))
        guard end <= fileSize, starts[0] < end else {
            throw LedgerError(.corruptLog, "\(log.path): entries \(range) run past the end of the log")
        }
        let blob = try log.read(at: starts[0], count: Int(end - starts[0]))
        var result: [[UInt8]] = []
        result.reserveCapacity(range.count)
        for (i, start) in starts.enumerated() {
            let at = Int(start - starts[0])
            let index = first + UInt64(i)
            guard at + Int(Self.recordHeaderSize) <= blob.count else {
                throw LedgerError(.corruptLog, "\(log.path): entry \(index) at offset \(start) is incomplete")
            }
            let length = Int(Self.readUInt32(blob, at))
            let checksum = Self.readUInt64(blob, at + 4)
            let payloadStart = at + Int(Self.recordHeaderSize)
            guard length > 0, payloadStart + length <= blob.count else {
                throw LedgerError(.corruptLog, "\(log.path): entry \(index) at offset \(start) is incomplete")
            }
            let payload = Array(blob[payloadStart..<(payloadStart + length)])
            guard XXH3.hash64(payload) == checksum else {
                throw LedgerError(.corruptLog, "\(log.path): entry \(index) at offset \(start): checksum mismatch")
            }
            result.append(payload)
        }
        return result
    }

    /// The exact bytes of entry `index` (below the committed size).
    func entry(_ index: UInt64) throws -> [UInt8] {
        let start = try offset(ofEntry: index)
        let fileSize = try log.size()
        switch try readRecord(at: start, fileSize: fileSize) {
        case .record(let payload, _):
            return payload
        case .corrupt(let reason):
            throw LedgerError(.corruptLog, "\(log.path): entry \(index) at offset \(start): \(reason)")
        case .incomplete, .endOfFile:
            throw LedgerError(.corruptLog, "\(log.path): entry \(index) at offset \(start) is incomplete")
        }
    }
}

extension LogStorage: LedgerStorage {
    var location: String { directory }

    func withExclusiveAccess<R>(_ body: () throws -> R) throws -> R {
        try lockFile.lock(exclusive: true)
        defer {
            state = nil
            lockFile.unlock()
        }
        // A ledger removed (or removed and made again) under this process: appends to the files it still has open
        // would be acknowledged and lost, and its lock would no longer exclude other writers. Nothing is appended.
        for file in [lockFile, log] where try !file.isStillAtItsPath() {
            throw LedgerError(
                .io,
                "\(file.path) was removed or replaced while this process had the ledger open: nothing more is "
                    + "appended; check the store and run the command again"
            )
        }
        return try body()
    }

    func withSharedAccess<R>(_ body: () throws -> R) throws -> R {
        try lockFile.lock(exclusive: false)
        defer { lockFile.unlock() }
        return try body()
    }

    func recover() throws -> (size: UInt64, cut: TailCut?) {
        let (found, cut) = try reconcile()
        state = found
        return (found.size, cut)
    }

    func append(_ payloads: [[UInt8]]) throws -> UInt64 {
        guard let current = state else {
            throw LedgerError(.invalidArgument, "\(directory): append without recover() in the exclusive access")
        }
        state = nil
        let after = try append(payloads, state: current)
        state = after
        return after.size
    }

    func checkpoint() throws -> (sequence: UInt64, note: String)? {
        try CheckpointFile.read(directory: directory).map { ($0.sequence, $0.note) }
    }

    func replaceCheckpoint(_ note: String, expecting expected: UInt64?) throws -> Bool {
        guard try CheckpointFile.read(directory: directory)?.sequence == expected else { return false }
        try CheckpointFile.write(note: note, sequence: (expected ?? 0) + 1, file: checkpointFile)
        return true
    }
}
