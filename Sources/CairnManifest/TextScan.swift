/// Byte scans over UTF-8 text, eight bytes at a time.
enum TextScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// A byte that JSON text must escape (`"`, `\` or below 0x20) was found.
    static let foundEscape: UInt8 = 1
    /// A byte at or above 0xCC was found: the text holds a scalar from U+0300 on, which NFC may change.
    static let foundNFCCandidate: UInt8 = 2

    /// ``foundEscape`` and ``foundNFCCandidate`` bits for one byte.
    @inline(__always)
    static func classify(_ byte: UInt8) -> UInt8 {
        (byte < 0x20 || byte == 0x22 || byte == 0x5C ? foundEscape : 0) | (byte >= 0xCC ? foundNFCCandidate : 0)
    }

    /// High bit set in every byte lane of `word` that may be zero: exact for the lowest such lane, while a lane
    /// above a zero lane may be flagged too (a borrow), so the result is nonzero exactly when some lane is zero.
    @inline(__always)
    private static func zeroLanes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & highs
    }

    /// Nonzero exactly when a byte lane of `word` is `"`, `\` or below 0x20; the lowest flagged lane is always a real
    /// one (only lanes above it may be flagged by a borrow).
    @inline(__always)
    static func escapeLanes(_ word: UInt64) -> UInt64 {
        // Lanes below 0x20: subtracting 0x20 borrows (a borrow only starts at a lane below 0x20); lanes that are `"`
        // or `\`: the XOR makes them zero. Lanes with the high bit set are masked out by ~word.
        let below = (word &- 0x2020_2020_2020_2020) & ~word & highs
        return below | zeroLanes(word ^ 0x2222_2222_2222_2222) | zeroLanes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
    }

    /// Where a JSON string reader must stop and look: ``escapeLanes(_:)`` plus every non-ASCII lane. The lowest
    /// flagged lane is always a real one.
    @inline(__always)
    static func readerStopLanes(_ word: UInt64) -> UInt64 {
        escapeLanes(word) | (word & highs)
    }

    /// High bit set in exactly the byte lanes of `word` at or above 0xCC (no carries cross lanes).
    @inline(__always)
    static func nfcCandidateLanes(_ word: UInt64) -> UInt64 {
        ((word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x3434_3434_3434_3434) & word & highs
    }

    /// Scalar ranges (from U+0300 on) that NFC never changes: each scalar is assigned, has canonical combining
    /// class 0, is its own NFC, and is never a non-first scalar of a canonical decomposition, so it cannot combine
    /// with what precedes it (NFC quick check Yes). Text made only of these and of scalars below U+0300 is NFC.
    /// Covers common scripts, symbols, CJK, kana, Hangul syllables and emoji; `CanonicalWriterTests` checks each
    /// scalar against Foundation. Sorted and disjoint.
    static let nfcInertRanges: [ClosedRange<UInt32>] = [
        0x03A3...0x0482, 0x0488...0x052F, 0x0531...0x0556, 0x0559...0x058A, 0x05D0...0x05EA, 0x061B...0x064A,
        0x0660...0x066F, 0x0671...0x06D5, 0x0900...0x093B, 0x0E01...0x0E37, 0x10D0...0x10FF, 0x1E00...0x1F15,
        0x2002...0x2064, 0x20A0...0x20C1, 0x2190...0x2328, 0x232B...0x2429, 0x2460...0x2ADB, 0x2FF0...0x3029,
        0x3030...0x303F, 0x3041...0x3096, 0x309B...0x30FF, 0x3220...0xA48C, 0xAC00...0xD7A3, 0xE000...0xF8FF,
        0xFDF0...0xFE19, 0xFF01...0xFFBE, 0x1F1E6...0x1F202, 0x1F300...0x1F6D8, 0x1F900...0x1FA57,
        0x20000...0x2A6DF,
    ]

    /// True when NFC cannot change the text in `utf8` (valid UTF-8): every scalar is below U+0300 or in
    /// ``nfcInertRanges``. False means normalization must run (it may still change nothing).
    static func isNFCInert(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = utf8.count
        while index < count {
            let lead = utf8[index]
            if lead < 0xC0 {
                index += 1
                continue
            }
            let scalar: UInt32
            if lead < 0xE0 {
                scalar = UInt32(lead & 0x1F) << 6 | UInt32(utf8[index + 1] & 0x3F)
                index += 2
            } else if lead < 0xF0 {
                scalar =
                    UInt32(lead & 0x0F) << 12 | UInt32(utf8[index + 1] & 0x3F) << 6 | UInt32(utf8[index + 2] & 0x3F)
                index += 3
            } else {
                scalar =
                    UInt32(lead & 0x07) << 18 | UInt32(utf8[index + 1] & 0x3F) << 12
                    | UInt32(utf8[index + 2] & 0x3F) << 6 | UInt32(utf8[index + 3] & 0x3F)
                index += 4
            }
            if scalar >= 0x300 && !isInert(scalar) { return false }
        }
        return true
    }

    private static func isInert(_ scalar: UInt32) -> Bool {
        let ranges = nfcInertRanges
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < scalar {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].contains(scalar)
    }

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}
