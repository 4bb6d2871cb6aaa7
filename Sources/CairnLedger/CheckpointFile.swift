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
enum CheckpointFile {
    static let name = "checkpoint"
    static let slotSize = 4096
    static let magic: [UInt8] = Array("CAIRNCP1".utf8)
    static let headerSize = 28  // magic 8, sequence 8, length 4, checksum 8

    struct Slot {
        var sequence: UInt64
        var note: String
    }

    /// Reads the valid slot with the highest sequence, or nil when neither slot is valid.
    static func read(directory: String) throws -> Slot? {
        let path = directory + "/" + name
        guard FileSystem.exists(path) else { return nil }
        let bytes = try FileSystem.readFile(path)
        var best: Slot?
        for slot in 0..<2 {
            let start = slot * slotSize
            guard bytes.count >= start + headerSize, Array(bytes[start..<start + 8]) == magic else { continue }
            let sequence = LogStorage.readUInt64(bytes, start + 8)
            let length = Int(LogStorage.readUInt32(bytes, start + 16))
            let checksum = LogStorage.readUInt64(bytes, start + 20)
            let bodyStart = start + headerSize
            guard length <= slotSize - headerSize, bytes.count >= bodyStart + length else { continue }
            let covered = Array(bytes[(start + 8)..<(start + 20)]) + Array(bytes[bodyStart..<(bodyStart + length)])
            guard XXH3.hash64(covered) == checksum else { continue }
            let note = String(decoding: bytes[bodyStart..<(bodyStart + length)], as: UTF8.self)
            if best == nil || sequence > best!.sequence { best = Slot(sequence: sequence, note: note) }
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
            let start = slot * slotSize
            guard start < bytes.count else { continue }
            let end = min(start + slotSize, bytes.count)
            if bytes[start..<end].allSatisfy({ $0 == 0 }) { continue }
            let place = "checkpoint slot \(slot) (bytes \(start)-\(end - 1) of \(path))"
            guard end - start == slotSize, Array(bytes[start..<start + 8]) == magic else {
                found.append("\(place) is not a whole slot starting with the checkpoint magic: damaged")
                continue
            }
            let length = Int(LogStorage.readUInt32(bytes, start + 16))
            let bodyStart = start + headerSize
            guard length <= slotSize - headerSize else {
                found.append("\(place) gives a note length of \(length) bytes, past the slot's end: damaged")
                continue
            }
            let covered = Array(bytes[(start + 8)..<(start + 20)]) + Array(bytes[bodyStart..<(bodyStart + length)])
            if XXH3.hash64(covered) != LogStorage.readUInt64(bytes, start + 20) {
                found.append(
                    "\(place) fails its checksum: damaged, or torn by a crash while it was written (the next append "
                        + "writes a new checkpoint)"
                )
            } else if let stray = bytes[(bodyStart + length)..<end].firstIndex(where: { $0 != 0 }) {
                found.append("\(place) has a non-zero byte after its note, at offset \(stray): damaged")
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
