// Small, dependency-free encoders for the media the synthetic provider makes: PNG, animated PNG and WAV.
//
// PNG image data is compressed with zlib "stored" (uncompressed) deflate blocks, which every decoder accepts;
// chunk CRCs are CRC-32 (ISO 3309) and the zlib trailer is Adler-32, both computed here.

/// CRC-32 as used by PNG and zlib (reflected polynomial 0xEDB88320).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = (value & 1) != 0 ? (0xEDB8_8320 ^ (value >> 1)) : (value >> 1)
        }
        return value
    }

    /// The CRC-32 of `bytes`, continuing from `crc` (start with 0).
    static func checksum(_ bytes: some Sequence<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        var value = ~crc
        for byte in bytes {
            value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8)
        }
        return ~value
    }
}

/// Adler-32, the zlib stream trailer.
enum Adler32 {
    /// The Adler-32 of `bytes`.
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var low: UInt32 = 1
        var high: UInt32 = 0
        for byte in bytes {
            low = (low + UInt32(byte)) % 65521
            high = (high + low) % 65521
        }
        return (high << 16) | low
    }
}

/// Appends big- and little-endian integers to a byte array.
extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF),
        ])
    }

    mutating func appendBigEndian(_ value: UInt16) {
        append(contentsOf: [UInt8(value >> 8), UInt8(value & 0xFF)])
    }

    mutating func appendLittleEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24),
        ])
    }

    mutating func appendLittleEndian(_ value: UInt16) {
        append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8)])
    }
}

/// A zlib stream (RFC 1950) holding `data` in stored deflate blocks (RFC 1951, BTYPE=00).
func zlibStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]  // CM=8 (deflate), CINFO=7; FLEVEL=0; FCHECK makes 0x7801 divisible by 31.
    let blockLimit = 65_535
    var offset = 0
    repeat {
        let length = Swift.min(blockLimit, data.count - offset)
        let isFinal = offset + length >= data.count
        out.append(isFinal ? 0x01 : 0x00)
        out.appendLittleEndian(UInt16(length))
        out.appendLittleEndian(~UInt16(length))
        out.append(contentsOf: data[offset..<(offset + length)])
        offset += length
    } while offset < data.count
    out.appendBigEndian(Adler32.checksum(data))
    return out
}

/// An 8-bit RGB raster, row-major.
struct RGBImage: Sendable, Equatable {
    var width: Int
    var height: Int
    var pixels: [UInt8]  // width * height * 3

    init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The scanlines with PNG filter type 0 (None) before each row.
    var filteredScanlines: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((width * 3 + 1) * height)
        for row in 0..<height {
            out.append(0)
            out.append(contentsOf: pixels[(row * width * 3)..<((row + 1) * width * 3)])
        }
        return out
    }
}

/// Writes PNG and APNG files.
enum PNGWriter {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBigEndian(UInt32(data.count))
        let typeBytes = Array(type.utf8)
        out.append(contentsOf: typeBytes)
        out.append(contentsOf: data)
        out.appendBigEndian(CRC32.checksum(data, continuing: CRC32.checksum(typeBytes)))
        return out
    }

    static func header(width: Int, height: Int) -> [UInt8] {
        var ihdr: [UInt8] = []
        ihdr.appendBigEndian(UInt32(width))
        ihdr.appendBigEndian(UInt32(height))
        ihdr.append(contentsOf: [8, 2, 0, 0, 0])  // bit depth 8, colour type 2 (RGB), deflate, filter 0, no interlace
        return chunk("IHDR", ihdr)
    }

    /// A still PNG.
    static func png(_ image: RGBImage) -> [UInt8] {
        signature + header(width: image.width, height: image.height)
            + chunk("IDAT", zlibStored(image.filteredScanlines)) + chunk("IEND", [])
    }

    /// An animated PNG (APNG): every frame full size, shown for `delay` (numerator/denominator seconds), looping.
    static func apng(_ frames: [RGBImage], delayNumerator: UInt16, delayDenominator: UInt16) -> [UInt8] {
        precondition(!frames.isEmpty)
        let width = frames[0].width
        let height = frames[0].height
        var out = signature + header(width: width, height: height)
        var actl: [UInt8] = []
        actl.appendBigEndian(UInt32(frames.count))
        actl.appendBigEndian(UInt32(0))  // loop forever
        out += chunk("acTL", actl)
        var sequence: UInt32 = 0
        for (index, frame) in frames.enumerated() {
            var fctl: [UInt8] = []
            fctl.appendBigEndian(sequence)
            sequence += 1
            fctl.appendBigEndian(UInt32(width))
            fctl.appendBigEndian(UInt32(height))
            fctl.appendBigEndian(UInt32(0))  // x offset
            fctl.appendBigEndian(UInt32(0))  // y offset
            fctl.appendBigEndian(delayNumerator)
            fctl.appendBigEndian(delayDenominator)
            fctl.append(contentsOf: [0, 0])  // dispose op none, blend op source
            out += chunk("fcTL", fctl)
            let data = zlibStored(frame.filteredScanlines)
            if index == 0 {
                out += chunk("IDAT", data)  // the default image is the first frame
            } else {
                var fdat: [UInt8] = []
                fdat.appendBigEndian(sequence)
                sequence += 1
                fdat.append(contentsOf: data)
                out += chunk("fdAT", fdat)
            }
        }
        return out + chunk("IEND", [])
    }
}

/// Writes RIFF/WAVE files with 16-bit PCM samples.
enum WAVWriter {
    static func wav(samples: [Int16], sampleRate: Int, channels: Int) -> [UInt8] {
        let dataSize = UInt32(samples.count * 2)
        var out: [UInt8] = Array("RIFF".utf8)
        out.appendLittleEndian(36 + dataSize)
        out += Array("WAVE".utf8)
        out += Array("fmt ".utf8)
        out.appendLittleEndian(UInt32(16))
        out.appendLittleEndian(UInt16(1))  // PCM
        out.appendLittleEndian(UInt16(channels))
        out.appendLittleEndian(UInt32(sampleRate))
        out.appendLittleEndian(UInt32(sampleRate * channels * 2))  // byte rate
        out.appendLittleEndian(UInt16(channels * 2))  // block align
        out.appendLittleEndian(UInt16(16))  // bits per sample
        out += Array("data".utf8)
        out.appendLittleEndian(dataSize)
        out.reserveCapacity(out.count + samples.count * 2)
        for sample in samples {
            out.appendLittleEndian(UInt16(bitPattern: sample))
        }
        return out
    }
}

/// SplitMix64: a tiny deterministic generator for synthetic media (not an identity, not cryptographic).
struct SplitMix64: Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 56) }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// FNV-1a 64, used to turn prompts, seeds and input bytes into a generator state.
func fnv1a64(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var hash = seed
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    return hash
}
