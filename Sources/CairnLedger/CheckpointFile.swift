import CairnCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The latest signed checkpoint, kept in two fixed 4 KiB slots overwritten in turn (spec/ledger.md).
///
/// A new checkpoint is one in-place `pwrite` into the older slot: no file creation or rename per batch (a rename over
/// an existing file costs a journal commit on ext4). A torn slot fails its checksum and the other slot still holds
/// the previous checkpoint.
package enum CheckpointFile {
    static let name = "checkpoint"
    static let slotSize = 4096
    static let magic: [UInt8] = Array("CAIRNCP1".utf8)
    static let headerSize = 28  // magic 8, sequence 8, length 4, checksum 8

    package struct Slot {
        var sequence: UInt64
        var note: String
    }

    /// One slot as it is on disk.
    package enum Found {
        /// Zero bytes, or past the end of the file: never written.
        case empty
        /// A checkpoint that passes its checksum, and what is wrong around it (bytes after the note that are not
        /// zero, a slot cut short) when something is.
        case checkpoint(Slot, flaw: String?)
        /// Neither zeros nor a checkpoint: a flipped bit, or a write torn by a power loss.
        case damaged(String)
    }

    /// Decodes slot `slot` of the checkpoint file's `bytes`.
    package static func inspect(_ bytes: [UInt8], slot: Int) -> Found {
        let start = slot * slotSize
        guard start < bytes.count else { return .empty }
        let end = min(start + slotSize, bytes.count)
        if bytes[start..<end].allSatisfy({ $0 == 0 }) { return .empty }
        guard end - start >= headerSize, Array(bytes[start..<start + 8]) == magic else {
            return .damaged("does not start with the checkpoint magic")
        }
        let sequence = LogStorage.readUInt64(bytes, start + 8)
        let length = Int(LogStorage.readUInt32(bytes, start + 16))
        let bodyStart = start + headerSize
        guard length <= slotSize - headerSize, end >= bodyStart + length else {
            return .damaged("gives a note length of \(length) bytes, past the slot's end")
        }
        let covered = Array(bytes[(start + 8)..<(start + 20)]) + Array(bytes[bodyStart..<(bodyStart + length)])
        guard XXH3.hash64(covered) == LogStorage.readUInt64(bytes, start + 20) else {
            return .damaged("fails its checksum")
        }
        let note = String(decoding: bytes[bodyStart..<(bodyStart + length)], as: UTF8.self)
        var flaw: String?
        if end - start < slotSize {
            flaw = "is cut short (\(end - start) of \(slotSize) bytes)"
        } else if let stray = bytes[(bodyStart + length)..<end].firstIndex(where: { $0 != 0 }) {
            flaw = "has a non-zero byte after its note, at offset \(stray)"
        }
        return .checkpoint(Slot(sequence: sequence, note: note), flaw: flaw)
    }

    /// Reads the valid slot with the highest sequence, or nil when neither slot is valid.
    static func read(directory: String) throws -> Slot? {
        let path = directory + "/" + name
        guard FileSystem.exists(path) else { return nil }
        let bytes = try FileSystem.readFile(path)
        var best: Slot?
        for slot in 0..<2 {
            guard case .checkpoint(let found, _) = inspect(bytes, slot: slot) else { continue }
            if best == nil || found.sequence > best!.sequence { best = found }
        }
        return best
    }

    /// What is wrong with the slots that hold neither a whole checkpoint nor zeros (a flipped bit, a torn write),
    /// one message per slot; empty when both are sound. ``read(directory:)`` skips such a slot and uses the other,
    /// so only this check makes the damage visible.
    static func damage(directory: String) -> [String] {
        let path = directory + "/" + name
        guard FileSystem.exists(path), let bytes = try? FileSystem.readFile(path) else { return [] }
        var found: [String] = []
        if bytes.count > 2 * slotSize {
            found.append("\(path) is \(bytes.count) bytes, more than its two \(slotSize)-byte checkpoint slots")
        }
        for slot in 0..<2 {
            let place = "checkpoint slot \(slot) (from byte \(slot * slotSize) of \(path))"
            switch inspect(bytes, slot: slot) {
            case .empty, .checkpoint(_, flaw: nil): break
            case .checkpoint(_, flaw: let flaw?): found.append("\(place) \(flaw): damaged")
            case .damaged(let reason):
                found.append(
                    "\(place) \(reason): damaged, or torn by a crash while it was written (the next append writes "
                        + "a new checkpoint)"
                )
            }
        }
        return found
    }

    /// Writes `note` as checkpoint `sequence` into its slot (`sequence % 2`; one `pwrite`, not synced: derived data).
    /// The caller has read the current sequence, under the exclusive lock, and passes the next one.
    static func write(note: String, sequence: UInt64, file: LedgerFile) throws {
        let body = Array(note.utf8)
        guard body.count <= slotSize - headerSize else {
            throw LedgerError(.invalidArgument, "checkpoint note of \(body.count) bytes does not fit a slot")
        }
        var slot = magic
        withUnsafeBytes(of: sequence.littleEndian) { slot.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(body.count).littleEndian) { slot.append(contentsOf: $0) }
        let checksum = XXH3.hash64(Array(slot[8..<20]) + body)
        withUnsafeBytes(of: checksum.littleEndian) { slot.append(contentsOf: $0) }
        slot += body
        slot += [UInt8](repeating: 0, count: slotSize - slot.count)
        try file.write(slot, at: UInt64(Int(sequence % 2) * slotSize))
    }
}
