import Crypto

/// One entry of the log, by index, with its exact bytes.
package struct IndexedEntry: Sendable, Hashable {
    /// The entry's index (its leaf index in the Merkle tree).
    package var index: UInt64
    /// The entry's exact bytes (canonical JSON).
    package var bytes: [UInt8]
}

extension Ledger {
    /// Every `receipt` entry of run `runID`, in log order, with its index and exact bytes.
    package func receiptEntries(runID: String) throws -> [IndexedEntry] {
        try updateIndex()
        return try index.receiptIndexes(runID: runID).map { IndexedEntry(index: $0, bytes: try entryBytes(at: $0)) }
    }

    /// Signs `message` with the ledger's Ed25519 key (the key that signs its checkpoints): a 64-byte signature
    /// that ``verifier`` checks.
    package func sign(message: [UInt8]) throws -> [UInt8] {
        try signer.sign(message: message)
    }
}

extension NoteSigner {
    /// A plain Ed25519 signature of `message` (not a signed note).
    package func sign(message: [UInt8]) throws -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: message))
        } catch {
            throw LedgerError(.signatureInvalid, "could not sign", underlying: error)
        }
    }
}

extension NoteVerifier {
    /// True when `signature` is a valid Ed25519 signature of `message` by this key.
    package func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
