import Crypto
import Foundation

/// An Ed25519 key that signs notes in the C2SP signed-note format (`c2sp.org/signed-note`).
///
/// Encoded as `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || 32-byte seed)>`, as Go's `sumdb/note` does.
package struct NoteSigner: Sendable {
    /// The key name (the checkpoint origin for a ledger key).
    package let name: String
    /// The key ID: the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`, big-endian.
    package let keyID: UInt32
    let privateKey: Curve25519.Signing.PrivateKey

    /// Makes a fresh random key named `name`.
    ///
    /// - Throws: ``LedgerError`` `.keyInvalid` when `name` is not a valid key name (empty, whitespace or `+`).
    package static func generate(name: String) throws -> NoteSigner {
        try NoteVerifier.checkName(name)
        return NoteSigner(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    init(name: String, privateKey: Curve25519.Signing.PrivateKey) {
        self.name = name
        self.privateKey = privateKey
        self.keyID = NoteVerifier.keyID(name: name, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Parses an encoded private key (`PRIVATE+KEY+name+id+base64`).
    package init(encoded: String) throws {
        let trimmed = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY" else {
            throw LedgerError(.keyInvalid, "private key is not PRIVATE+KEY+name+id+key")
        }
        try NoteVerifier.checkName(parts[2])
        guard let material = Data(base64Encoded: parts[4]), material.count == 33, material.first == 0x01 else {
            throw LedgerError(.keyInvalid, "private key material is not base64 of 0x01 || 32-byte Ed25519 seed")
        }
        let key: Curve25519.Signing.PrivateKey
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: material.dropFirst())
        } catch {
            throw LedgerError(.keyInvalid, "private key is not an Ed25519 seed", underlying: error)
        }
        self.init(name: parts[2], privateKey: key)
        guard String(format: "%08x", keyID) == parts[3] else {
            throw LedgerError(.keyInvalid, "private key id \(parts[3]) does not match its key")
        }
    }

    /// The encoded private key.
    package var encoded: String {
        let material = Data([0x01] + Array(privateKey.rawRepresentation)).base64EncodedString()
        return "PRIVATE+KEY+\(name)+\(String(format: "%08x", keyID))+\(material)"
    }

    /// The matching verifier key.
    package var verifier: NoteVerifier {
        NoteVerifier(name: name, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Signs `text` (which must end in a newline) and returns the signed note: text, blank line, signature line.
    package func sign(text: String) throws -> String {
        guard text.hasSuffix("\n"), !text.isEmpty else {
            throw LedgerError(.signatureInvalid, "note text must end with a newline")
        }
        let signature: Data
        do {
            signature = try privateKey.signature(for: Data(text.utf8))
        } catch {
            throw LedgerError(.signatureInvalid, "could not sign note", underlying: error)
        }
        var blob = withUnsafeBytes(of: keyID.bigEndian) { Array($0) }
        blob += Array(signature)
        return text + "\n" + "\u{2014} " + name + " " + Data(blob).base64EncodedString() + "\n"
    }
}

/// An Ed25519 verifier key in the signed-note format: `<name>+<key id hex>+<base64(0x01 || public key)>`.
public struct NoteVerifier: Sendable, Hashable {
    /// The key name.
    public let name: String
    /// The key ID: the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`, big-endian.
    public let keyID: UInt32
    /// The 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    init(name: String, publicKey: [UInt8]) {
        self.name = name
        self.publicKey = publicKey
        self.keyID = NoteVerifier.keyID(name: name, publicKey: publicKey)
    }

    /// Parses an encoded verifier key.
    public init(encoded: String) throws {
        let trimmed = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { throw LedgerError(.keyInvalid, "verifier key is not name+id+key") }
        try NoteVerifier.checkName(parts[0])
        guard let material = Data(base64Encoded: parts[2]), material.count == 33, material.first == 0x01 else {
            throw LedgerError(.keyInvalid, "verifier key material is not base64 of 0x01 || 32-byte Ed25519 key")
        }
        self.init(name: parts[0], publicKey: Array(material.dropFirst()))
        guard String(format: "%08x", keyID) == parts[1] else {
            throw LedgerError(.keyInvalid, "verifier key id \(parts[1]) does not match its key")
        }
    }

    /// The encoded verifier key.
    public var encoded: String {
        "\(name)+\(String(format: "%08x", keyID))+\(Data([0x01] + publicKey).base64EncodedString())"
    }

    static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        let digest = Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + publicKey))
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty, !name.contains("+"),
            !name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
        else {
            throw LedgerError(.keyInvalid, "key name \"\(name)\" is empty or holds whitespace or '+'")
        }
    }

    /// Checks `note` and returns its text when a signature by this key verifies.
    ///
    /// Signatures by other keys are ignored; a signature line with this key's name and ID that fails rejects the
    /// whole note.
    /// - Throws: ``LedgerError`` `.signatureInvalid` when the note is malformed, unsigned by this key, or forged.
    public func open(_ note: String) throws -> String {
        guard note.hasSuffix("\n"), let split = note.range(of: "\n\n", options: .backwards) else {
            throw LedgerError(.signatureInvalid, "note has no blank line before its signatures")
        }
        let text = String(note[note.startIndex..<note.index(after: split.lowerBound)])
        let signatureBlock = note[split.upperBound...]
        guard !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
            throw LedgerError(.signatureInvalid, "note contains control characters")
        }
        var verified = false
        for line in signatureBlock.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard line.hasPrefix("\u{2014} ") else {
                throw LedgerError(.signatureInvalid, "malformed signature line: \(line)")
            }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let blob = Data(base64Encoded: String(fields[1])), blob.count >= 4 else {
                throw LedgerError(.signatureInvalid, "malformed signature line: \(line)")
            }
            let bytes = Array(blob)
            let id = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
            guard String(fields[0]) == name, id == keyID else { continue }
            let key: Curve25519.Signing.PublicKey
            do {
                key = try Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
            } catch {
                throw LedgerError(.keyInvalid, "verifier key is not an Ed25519 public key", underlying: error)
            }
            guard bytes.count == 68, key.isValidSignature(Data(bytes[4...]), for: Data(text.utf8)) else {
                throw LedgerError(.signatureInvalid, "signature by \(name)+\(String(format: "%08x", keyID)) fails")
            }
            verified = true
        }
        guard verified else {
            throw LedgerError(
                .signatureInvalid,
                "note carries no signature by \(name)+\(String(format: "%08x", keyID))"
            )
        }
        return text
    }
}

/// A transparency-log checkpoint in the C2SP `tlog-checkpoint` format: origin, tree size, base64 root hash.
public struct Checkpoint: Sendable, Hashable {
    /// The log's origin line (names the store's ledger).
    public var origin: String
    /// The number of entries in the tree.
    public var size: UInt64
    /// The RFC 9162 root hash of the first `size` entries.
    public var rootHash: MerkleHash
    /// Extension lines after the root hash, if any.
    public var extensions: [String]

    /// Creates a checkpoint.
    package init(origin: String, size: UInt64, rootHash: MerkleHash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The checkpoint body: `origin\nsize\nbase64(root)\n` plus extension lines.
    public var text: String {
        var text = "\(origin)\n\(size)\n\(Data(rootHash.bytes).base64EncodedString())\n"
        for line in extensions { text += line + "\n" }
        return text
    }

    /// Parses a checkpoint body (the text of a signed note).
    package init(parsing text: String) throws {
        guard text.hasSuffix("\n") else { throw LedgerError(.signatureInvalid, "checkpoint does not end in newline") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3, !lines[0].isEmpty else {
            throw LedgerError(.signatureInvalid, "checkpoint needs origin, size and root hash lines")
        }
        guard let size = UInt64(lines[1]), String(size) == lines[1] else {
            throw LedgerError(.signatureInvalid, "checkpoint size \"\(lines[1])\" is not a decimal number")
        }
        guard let raw = Data(base64Encoded: lines[2]), let root = MerkleHash(bytes: raw) else {
            throw LedgerError(.signatureInvalid, "checkpoint root hash is not base64 of 32 bytes")
        }
        self.init(origin: lines[0], size: size, rootHash: root, extensions: Array(lines[3...]))
    }

    /// Opens a signed checkpoint note with `verifier` and parses it.
    ///
    /// - Throws: ``LedgerError`` `.signatureInvalid` if the signature fails or the origin is not the key's name.
    public static func open(signedNote: String, verifier: NoteVerifier) throws -> Checkpoint {
        let text = try verifier.open(signedNote)
        let checkpoint = try Checkpoint(parsing: text)
        guard checkpoint.origin == verifier.name else {
            throw LedgerError(
                .signatureInvalid,
                "checkpoint origin \"\(checkpoint.origin)\" is not the key name \"\(verifier.name)\""
            )
        }
        return checkpoint
    }
}
