public import CairnManifest
import Foundation

/// An inclusion proof bundle (`cairn ledger prove --json`), checkable offline with nothing else (spec/ledger.md).
public struct InclusionBundle: Sendable, Hashable {
    /// The entry's leaf index.
    public var leafIndex: UInt64
    /// The size of the tree the audit path leads to.
    public var treeSize: UInt64
    /// The exact entry bytes.
    public var entry: [UInt8]
    /// `SHA-256(0x00 || entry)`.
    public var leafHash: MerkleHash
    /// The RFC 9162 audit path, leaf to root.
    public var auditPath: [MerkleHash]
    /// The root of the tree of `treeSize` entries.
    public var rootHash: MerkleHash
    /// The signed checkpoint (C2SP signed note) the proof is anchored to.
    public var checkpoint: String
    /// The checkpoint signer's verifier key (`name+id+key`); pin your own with `--key` to trust it.
    public var verifierKey: String
    /// When `treeSize` is below the checkpoint's size: the consistency proof from `treeSize` to it.
    public var consistency: [MerkleHash]?

    /// The bundle as a JSON object with the field names of spec/ledger.md.
    public var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("leaf_index", .integer(JSONInteger(Int(leafIndex)))),
            ("tree_size", .integer(JSONInteger(Int(treeSize)))),
            ("entry", .string(Data(entry).base64EncodedString())),
            ("leaf_hash", .string(leafHash.hex)),
            ("audit_path", .array(auditPath.map { .string($0.hex) })),
            ("root_hash", .string(rootHash.hex)),
            ("checkpoint", .string(checkpoint)),
            ("verifier_key", .string(verifierKey)),
        ]
        if let consistency { pairs.append(("consistency_path", .array(consistency.map { .string($0.hex) }))) }
        return .object(JSONObject(pairs))
    }
}

/// A consistency proof bundle (`cairn ledger consistency --json`).
public struct ConsistencyBundle: Sendable, Hashable {
    /// The older tree size.
    public var oldSize: UInt64
    /// The newer tree size.
    public var newSize: UInt64
    /// The root of the older tree.
    public var oldRoot: MerkleHash
    /// The root of the newer tree.
    public var newRoot: MerkleHash
    /// The RFC 9162 consistency proof.
    public var proof: [MerkleHash]
    /// The latest signed checkpoint, when `newSize` is its size.
    public var checkpoint: String?
    /// The checkpoint signer's verifier key.
    public var verifierKey: String?

    /// The bundle as a JSON object with the field names of spec/ledger.md.
    public var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("old_size", .integer(JSONInteger(Int(oldSize)))),
            ("new_size", .integer(JSONInteger(Int(newSize)))),
            ("old_root", .string(oldRoot.hex)),
            ("new_root", .string(newRoot.hex)),
            ("proof", .array(proof.map { .string($0.hex) })),
        ]
        if let checkpoint { pairs.append(("checkpoint", .string(checkpoint))) }
        if let verifierKey { pairs.append(("verifier_key", .string(verifierKey))) }
        return .object(JSONObject(pairs))
    }
}

/// What an offline proof check established.
public struct ProofCheck: Sendable, Hashable {
    /// `inclusion` or `consistency`.
    public var kind: String
    /// Every check passed.
    public var isValid: Bool
    /// What was checked, or what failed, one line each.
    public var findings: [String]
    /// The checkpoint's origin, when one was checked.
    public var origin: String?
    /// The key that verified the checkpoint (`name+id+key`).
    public var verifierKey: String?
    /// True when the key came from the bundle itself rather than from the caller.
    public var keyFromBundle: Bool
}

extension Ledger {
    /// Builds the inclusion bundle for entry `index`, anchored to the latest checkpoint.
    ///
    /// - Parameter size: the tree size for the audit path; default the checkpoint's size. A smaller size adds the
    ///   consistency proof from it to the checkpoint.
    public func inclusionBundle(index: UInt64, size: UInt64? = nil) throws -> InclusionBundle {
        let note = try checkpointNote()
        let checkpoint = try Checkpoint.open(signedNote: note, verifier: verifier)
        let treeSize = size ?? checkpoint.size
        guard treeSize <= checkpoint.size else {
            throw LedgerError(.invalidArgument, "size \(treeSize) is past the latest checkpoint (\(checkpoint.size))")
        }
        guard index < treeSize else {
            throw LedgerError(.invalidArgument, "entry \(index) is not in the tree of size \(treeSize)")
        }
        let entry = try entryBytes(at: index)
        return InclusionBundle(
            leafIndex: index,
            treeSize: treeSize,
            entry: entry,
            leafHash: Merkle.leafHash(entry),
            auditPath: try inclusionProof(index: index, size: treeSize),
            rootHash: try rootHash(size: treeSize),
            checkpoint: note,
            verifierKey: verifier.encoded,
            consistency: treeSize < checkpoint.size
                ? try consistencyProof(oldSize: treeSize, newSize: checkpoint.size) : nil
        )
    }

    /// The entry index of run `runID`'s latest manifest entry.
    public func manifestEntryIndex(runID: String) throws -> UInt64 {
        guard let run = try run(runID) else { throw LedgerError(.notFound, "no manifest entry for run \(runID)") }
        return run.entryIndex
    }

    /// Builds the consistency bundle between two tree sizes (the checkpoint is included when `newSize` is its size).
    public func consistencyBundle(oldSize: UInt64, newSize: UInt64) throws -> ConsistencyBundle {
        guard oldSize <= newSize else {
            throw LedgerError(.invalidArgument, "old size \(oldSize) is larger than new size \(newSize)")
        }
        let note = try checkpointNote()
        let checkpoint = try Checkpoint.open(signedNote: note, verifier: verifier)
        guard newSize <= checkpoint.size else {
            throw LedgerError(.invalidArgument, "size \(newSize) is past the latest checkpoint (\(checkpoint.size))")
        }
        return ConsistencyBundle(
            oldSize: oldSize,
            newSize: newSize,
            oldRoot: try rootHash(size: oldSize),
            newRoot: try rootHash(size: newSize),
            proof: try consistencyProof(oldSize: oldSize, newSize: newSize),
            checkpoint: newSize == checkpoint.size ? note : nil,
            verifierKey: newSize == checkpoint.size ? verifier.encoded : nil
        )
    }
}

/// Offline checks of proof bundles: no ledger, no store, only the bundle (and optionally a pinned key).
public enum ProofVerifier {
    /// Checks an inclusion or consistency bundle given as JSON bytes.
    ///
    /// - Parameters:
    ///   - bytes: the bundle JSON.
    ///   - key: a verifier key to pin (`name+id+key`); without it the bundle's own key is used and reported so.
    /// - Throws: ``LedgerError`` `.proofInvalid` when the JSON is not a bundle; failed checks are reported.
    public static func check(bundle bytes: [UInt8], key: String? = nil) throws -> ProofCheck {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw LedgerError(.proofInvalid, "proof bundle is not JSON: \(error)")
        }
        guard let object = value.objectValue else { throw LedgerError(.proofInvalid, "proof bundle is not an object") }
        func uint(_ name: String) throws -> UInt64 {
            guard let text = object[name]?.integerValue?.decimalText, let number = UInt64(text) else {
                throw LedgerError(.proofInvalid, "proof bundle field \"\(name)\" is not a non-negative integer")
            }
            return number
        }
        func hash(_ name: String) throws -> MerkleHash {
            guard let text = object[name]?.stringValue, let hash = MerkleHash(hex: text) else {
                throw LedgerError(.proofInvalid, "proof bundle field \"\(name)\" is not 64 hex digits")
            }
            return hash
        }
        func hashes(_ name: String) throws -> [MerkleHash] {
            guard let list = object[name]?.arrayValue else {
                throw LedgerError(.proofInvalid, "proof bundle field \"\(name)\" is not an array")
            }
            return try list.map {
                guard let text = $0.stringValue, let hash = MerkleHash(hex: text) else {
                    throw LedgerError(.proofInvalid, "proof bundle field \"\(name)\" holds a value that is not a hash")
                }
                return hash
            }
        }
        var findings: [String] = []
        var valid = true
        func fail(_ text: String) {
            valid = false
            findings.append("FAIL: " + text)
        }
        // The checkpoint, when present, is opened with the pinned key or the bundle's own key.
        let keyText = key ?? object["verifier_key"]?.stringValue
        var checkpoint: Checkpoint?
        var verifierKey: String?
        if let note = object["checkpoint"]?.stringValue {
            if let keyText {
                do {
                    let verifier = try NoteVerifier(encoded: keyText)
                    verifierKey = verifier.encoded
                    checkpoint = try Checkpoint.open(signedNote: note, verifier: verifier)
                    findings.append(
                        "ok: checkpoint signature by \(verifier.name)+\(String(format: "%08x", verifier.keyID))"
                    )
                } catch {
                    fail("checkpoint: \(error)")
                }
            } else {
                fail("no verifier key in the bundle and none given")
            }
        }
        let kind: String
        if object["leaf_index"] != nil {
            kind = "inclusion"
            let index = try uint("leaf_index")
            let size = try uint("tree_size")
            guard let entryText = object["entry"]?.stringValue, let entry = Data(base64Encoded: entryText) else {
                throw LedgerError(.proofInvalid, "proof bundle field \"entry\" is not base64")
            }
            let leaf = Merkle.leafHash(Array(entry))
            if leaf != (try hash("leaf_hash")) { fail("leaf_hash is not SHA-256(0x00 || entry)") }
            let root = try hash("root_hash")
            if Merkle.verifyInclusion(
                index: index,
                size: size,
                leafHash: leaf,
                proof: try hashes("audit_path"),
                root: root
            ) {
                findings.append("ok: entry \(index) is included in the tree of size \(size)")
            } else {
                fail("audit path does not lead from the entry to root_hash")
            }
            if let checkpoint {
                if checkpoint.size == size {
                    if checkpoint.rootHash != root { fail("root_hash is not the checkpoint's root") }
                } else if object["consistency_path"] != nil, checkpoint.size > size {
                    let path = try hashes("consistency_path")
                    if Merkle.verifyConsistency(
                        oldSize: size,
                        newSize: checkpoint.size,
                        oldRoot: root,
                        newRoot: checkpoint.rootHash,
                        proof: path
                    ) {
                        findings.append("ok: tree of size \(size) is a prefix of the checkpoint (\(checkpoint.size))")
                    } else {
                        fail("consistency path does not lead from root_hash to the checkpoint's root")
                    }
                } else {
                    fail("tree_size \(size) does not match the checkpoint size \(checkpoint.size)")
                }
            } else if object["checkpoint"] == nil {
                fail("bundle has no checkpoint")
            }
        } else if object["old_size"] != nil {
            kind = "consistency"
            let oldSize = try uint("old_size")
            let newSize = try uint("new_size")
            let newRoot = try hash("new_root")
            if Merkle.verifyConsistency(
                oldSize: oldSize,
                newSize: newSize,
                oldRoot: try hash("old_root"),
                newRoot: newRoot,
                proof: try hashes("proof")
            ) {
                findings.append("ok: tree of size \(oldSize) is a prefix of the tree of size \(newSize)")
            } else {
                fail("consistency proof does not verify")
            }
            if let checkpoint, checkpoint.size != newSize || checkpoint.rootHash != newRoot {
                fail("new_size/new_root do not match the checkpoint")
            }
        } else {
            throw LedgerError(.proofInvalid, "bundle has neither leaf_index nor old_size")
        }
        return ProofCheck(
            kind: kind,
            isValid: valid,
            findings: findings,
            origin: checkpoint?.origin,
            verifierKey: verifierKey,
            keyFromBundle: key == nil
        )
    }
}
