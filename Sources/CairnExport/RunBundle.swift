import CairnCore
public import CairnLedger
public import CairnManifest
import Foundation

/// One self-contained file that proves a run offline (`cairn bundle`, spec/bundle.md): the manifest bytes, the run's
/// ledger entries with RFC 9162 inclusion proofs, the signed checkpoint they lead to, and the verifier key.
public enum RunBundle {
    /// The format name, the bundle's `format` member.
    public static let format = "cairn-bundle/1"

    /// Builds the bundle of run `runID`: canonical JSON and a final newline.
    ///
    /// - Throws: ``ExportError`` `.notFound` when the ledger has no manifest for the run; ledger and store errors.
    public static func make(ledger: Ledger, runID: String) throws -> [UInt8] {
        guard let run = try ledger.run(runID), let manifest = try ledger.manifestBytes(runID: runID) else {
            throw ExportError(.notFound, "no manifest for run \(runID) in the ledger")
        }
        let note = try ledger.checkpointNote()
        let checkpoint = try Checkpoint.open(signedNote: note, verifier: ledger.verifier)
        let indexes = [run.entryIndex] + (try ledger.receiptEntries(runID: runID)).map(\.index)
        let entries: [JSONValue] = try indexes.filter { $0 < checkpoint.size }.map { index in
            .object(
                JSONObject([
                    ("leaf_index", .integer(JSONInteger(Int(index)))),
                    ("entry", .string(Data(try ledger.entryBytes(at: index)).base64EncodedString())),
                    (
                        "audit_path",
                        .array(try ledger.inclusionProof(index: index, size: checkpoint.size).map { .string($0.hex) })
                    ),
                ])
            )
        }
        let value = JSONValue.object(
            JSONObject([
                ("format", .string(format)),
                ("run_id", .string(runID)),
                ("manifest", .string(Data(manifest).base64EncodedString())),
                ("entries", .array(entries)),
                ("checkpoint", .string(note)),
                ("verifier_key", .string(ledger.verifier.encoded)),
            ])
        )
        return try CanonicalJSON.encode(value) + [0x0A]
    }

    /// Verifies a bundle with nothing else: no store, no ledger.
    ///
    /// - Parameters:
    ///   - bytes: the bundle file.
    ///   - key: a verifier key to pin (`name+id+base64`); without it the bundle's own key is used and the report
    ///     says so (``VerificationReport/keyFromInput``).
    ///   - assets: where to find asset bytes to check (nil: asset bytes are not checked).
    /// - Throws: ``ExportError`` `.malformed` when the bytes are not a bundle at all (not JSON, a member missing or
    ///   of the wrong type, another format); every other failure is a finding.
    public static func verify(
        bytes: [UInt8],
        key: String? = nil,
        assets: (any AssetByteSource)? = nil
    ) throws -> VerificationReport {
        let object = try BundleFields(bytes: bytes)
        var report = VerificationReport(kind: "bundle", keyFromInput: key == nil)
        let runID = try object.string("run_id")
        report.runID = runID
        guard try object.string("format") == format else {
            throw ExportError(.malformed, "bundle format is \"\(try object.string("format"))\", not \(format)")
        }
        // The file is in canonical form: no byte of it can change without changing a value checked below.
        var canonical = try CanonicalJSON.encode(.object(object.object))
        canonical.append(0x0A)
        if canonical == bytes {
            report.pass("bundle", "canonical JSON")
        } else {
            let common = min(canonical.count, bytes.count)
            let first = (0..<common).first { canonical[$0] != bytes[$0] } ?? common
            report.fail("bundle", "not in canonical form (first difference at byte \(first))")
        }

        // The key and the checkpoint.
        let bundleKey = try object.string("verifier_key")
        let pinned: NoteVerifier?
        do {
            pinned = try key.map { try NoteVerifier(encoded: $0) }
        } catch {
            throw ExportError(.malformed, "the key to pin is not a verifier key: \(error)")
        }
        var checkpoint: Checkpoint?
        do {
            let bundleVerifier = try NoteVerifier(encoded: bundleKey)
            if bundleVerifier.encoded != bundleKey { report.fail("verifier_key", "not in canonical form") }
            let verifier = pinned ?? bundleVerifier
            if key != nil && verifier != bundleVerifier {
                report.fail("verifier_key", "the bundle's key is not the pinned key \(verifier.encoded)")
            }
            let note = try object.string("checkpoint")
            if let problem = signatureEncodingProblem(note) { report.fail("checkpoint", problem) }
            checkpoint = try Checkpoint.open(signedNote: note, verifier: verifier)
            report.pass(
                "checkpoint",
                "signed by \(verifier.name)+\(String(format: "%08x", verifier.keyID)): tree size "
                    + "\(checkpoint?.size ?? 0)" + (key == nil ? " (key taken from the bundle)" : "")
            )
        } catch let error as ExportError {
            throw error
        } catch {
            report.fail("checkpoint", "\(error)")
        }

        // The entries: each included in the checkpoint's tree.
        let manifestBytes = try object.base64("manifest")
        let list = try object.array("entries")
        guard !list.isEmpty else { throw ExportError(.malformed, "bundle has no entries") }
        var seen: Set<UInt64> = []
        var manifestRecord: ManifestRecord?
        for (position, item) in list.enumerated() {
            let subject = "entries[\(position)]"
            let fields = try BundleFields(value: item, context: subject)
            let index = try fields.uint("leaf_index")
            let entry = try fields.base64("entry")
            let path = try fields.hashes("audit_path")
            if !seen.insert(index).inserted { report.fail(subject, "entry \(index) appears twice") }
            if let checkpoint {
                if index < checkpoint.size,
                    Merkle.verifyInclusion(
                        index: index,
                        size: checkpoint.size,
                        leafHash: Merkle.leafHash(entry),
                        proof: path,
                        root: checkpoint.rootHash
                    )
                {
                    report.pass(subject, "entry \(index) is in the signed tree of size \(checkpoint.size)")
                } else {
                    report.fail(subject, "entry \(index): the audit path does not lead to the checkpoint's root")
                }
            }
            let decoded: LedgerEntry
            do {
                decoded = try LedgerEntry.decode(entry).entry
            } catch {
                report.fail(subject, "entry \(index) is not a ledger entry: \(error)")
                continue
            }
            if decoded.runID != runID { report.fail(subject, "entry \(index) is about run \(decoded.runID)") }
            switch decoded {
            case .manifest(let record) where position == 0:
                manifestRecord = record
            case .receipt where position > 0:
                break
            default:
                report.fail(
                    subject,
                    "entry \(index) is a \(decoded.typeName) entry where a "
                        + (position == 0 ? "manifest" : "receipt") + " entry belongs"
                )
            }
        }

        // The manifest: the bytes the manifest entry names, and a valid genblaze manifest of this run.
        if let record = manifestRecord {
            let digest = ContentHasher.digest(of: manifestBytes, algorithm: record.manifestDigest.algorithm)
            if digest == record.manifestDigest {
                report.pass("manifest", "bytes are \(digest), as the manifest entry records")
            } else {
                report.fail("manifest", "bytes hash to \(digest), the manifest entry records \(record.manifestDigest)")
            }
            let verdict = try ManifestVerdict.verify(
                bytes: manifestBytes,
                hashOnly: false,
                byteSource: assets,
                missingBytes: .fail
            )
            for line in verdict.lines {
                if line.isFailure { report.fail("manifest", line.text) } else { report.pass("manifest", line.text) }
            }
            if verdict.canonicalHash != nil, verdict.storedHash != record.canonicalHash {
                report.fail("manifest", "canonical hash differs from the manifest entry's \(record.canonicalHash)")
            }
            if let parsed = try? Manifest.parse(manifestBytes), parsed.run.runID != runID {
                report.fail("manifest", "is the manifest of run \(parsed.run.runID), not \(runID)")
            }
        }
        return report
    }

    /// Why a signed note's signature lines are not in canonical base64, or nil.
    static func signatureEncodingProblem(_ note: String) -> String? {
        for line in note.split(separator: "\n") where line.hasPrefix("\u{2014} ") {
            guard let field = line.split(separator: " ").last else { continue }
            guard let blob = Data(base64Encoded: String(field)), blob.base64EncodedString() == field else {
                return "a signature is not canonical base64"
            }
        }
        return nil
    }
}

/// Strict reads of a bundle's members: every value in exactly one encoding.
struct BundleFields {
    var object: JSONObject
    var context: String

    init(bytes: [UInt8]) throws {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw ExportError(.malformed, "bundle is not JSON: \(error)")
        }
        try self.init(value: value, context: "bundle")
    }

    init(value: JSONValue, context: String) throws {
        guard let object = value.objectValue else { throw ExportError(.malformed, "\(context) is not an object") }
        self.object = object
        self.context = context
    }

    private func missing(_ name: String, _ what: String) -> ExportError {
        ExportError(.malformed, "\(context) member \"\(name)\" is missing or not \(what)")
    }

    func string(_ name: String) throws -> String {
        guard let text = object[name]?.stringValue else { throw missing(name, "a string") }
        return text
    }

    func array(_ name: String) throws -> [JSONValue] {
        guard let list = object[name]?.arrayValue else { throw missing(name, "an array") }
        return list
    }

    func uint(_ name: String) throws -> UInt64 {
        guard let text = object[name]?.integerValue?.decimalText, let number = UInt64(text) else {
            throw missing(name, "a non-negative integer")
        }
        return number
    }

    func base64(_ name: String) throws -> [UInt8] {
        let text = try string(name)
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else {
            throw missing(name, "canonical base64")
        }
        return Array(data)
    }

    func hashes(_ name: String) throws -> [MerkleHash] {
        try array(name).map {
            guard let text = $0.stringValue, let hash = MerkleHash(hex: text), hash.hex == text else {
                throw missing(name, "a list of 64 lowercase hex digits")
            }
            return hash
        }
    }
}
