/// A cryptographic hash algorithm that names stored objects.
///
/// The raw value is the algorithm's name in a digest's text form (`sha256:…`, `blake2b-256:…`).
/// Both algorithms produce 32-byte digests.
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable, Codable {
    /// SHA-256 (FIPS 180-4).
    case sha256 = "sha256"
    /// BLAKE2b with a 32-byte output (RFC 7693), as `b2sum -l 256` computes it.
    case blake2b256 = "blake2b-256"

    /// The number of bytes in a digest of this algorithm (32 for both).
    package var byteCount: Int { 32 }

    /// The number of lowercase hexadecimal characters in a digest's text form (64 for both).
    package var hexCount: Int { byteCount * 2 }
}
