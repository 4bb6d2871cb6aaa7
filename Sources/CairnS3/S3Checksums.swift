import CairnCore
import Crypto
import Foundation

/// The integrity headers of `spec/s3.md` ("Put").
enum S3Checksums {
    /// The header the server checks a body against, and the body's hex SHA-256 for the signature:
    /// `x-amz-checksum-sha256` (base64 of the digest) when the body's sha256 digest is known, `Content-MD5`
    /// otherwise.
    static func integrity(
        _ bytes: [UInt8],
        digest: CairnCore.Digest?
    ) -> (header: (name: String, value: String), sha256: String) {
        if let digest, digest.algorithm == .sha256 {
            return (("x-amz-checksum-sha256", Data(digest.bytes).base64EncodedString()), digest.hex)
        }
        let md5 = Data(Insecure.MD5.hash(data: bytes)).base64EncodedString()
        return (("Content-MD5", md5), SigV4Signer.hex(SHA256.hash(data: bytes)))
    }
}
