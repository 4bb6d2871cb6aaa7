/// What an asset whose bytes the byte source does not hold counts as.
public enum MissingAssetBytes: Sendable, Hashable {
    /// A failure: the source was named to hold every asset (`--store`, `--assets`, `--require-assets`).
    case fail
    /// Not checked, and no failure: the source was found by itself and need not hold assets that live elsewhere.
    case unchecked
}

/// One manifest file's full verdict: genblaze's checks plus asset byte checks, with genblaze-worded messages.
///
/// This is what `cairn verify` prints; any tool can produce the same verdict with
/// ``verify(bytes:hashOnly:byteSource:)``.
public struct ManifestVerdict: Sendable {
    /// One line of human output.
    public struct Line: Sendable, Hashable {
        /// True for `FAIL:`/`Error:` lines (stderr), false for `OK:` lines (stdout).
        public var isFailure: Bool
        /// The text.
        public var text: String
    }

    /// The schema version read from the file, if it could be read.
    public var schemaVersion: String?
    /// The `canonical_hash` stored in the file, if it could be read.
    public var storedHash: String?
    /// The recomputed canonical hash, nil when the file was refused.
    public var canonicalHash: String?
    /// Stored hash equals recomputed hash.
    public var hashOK: Bool
    /// genblaze's `Manifest.verify()`.
    public var verifyOK: Bool
    /// Output assets missing a valid sha256.
    public var unverifiedSHA256IDs: [String]
    /// Output assets with out-of-spec metadata.
    public var invalidMetadataIDs: [String]
    /// Asset byte checks (empty with `hashOnly` or when the file was refused).
    public var assets: [AssetByteCheck]
    /// Why the file was refused (unreadable JSON, schema, validation, hashing).
    public var error: ManifestError?
    /// Human output lines in genblaze's wording and order.
    public var lines: [Line]

    /// What a verdict amounts to.
    public enum Outcome: String, Sendable, Hashable {
        /// Every check passed.
        case verified
        /// The file was read, and a check failed: a hash mismatch, a missing or malformed output sha256, out-of-spec
        /// output metadata, or missing or mismatching asset bytes.
        case failed
        /// The file was refused: it cannot be read as a manifest (``error`` says why).
        case refused
    }

    /// Verified, failed (a failing check) or refused (``error`` is set).
    public var outcome: Outcome {
        if error != nil { return .refused }
        return lines.contains(where: \.isFailure) ? .failed : .verified
    }

    /// Every check passed.
    public var isVerified: Bool { outcome == .verified }

    /// Verifies a manifest file's bytes.
    ///
    /// Check order follows genblaze's CLI: hash mismatch, then (unless `hashOnly`) missing or malformed output
    /// sha256, out-of-spec output metadata, and finally asset bytes when `byteSource` is given. Every failing check
    /// adds a line; the first line is the one genblaze prints.
    ///
    /// - Parameters:
    ///   - bytes: The manifest file.
    ///   - hashOnly: Check only the canonical hash (genblaze's `--hash-only`).
    ///   - byteSource: Where to find asset bytes, or nil to leave them unchecked.
    ///   - missingBytes: What an asset whose bytes `byteSource` does not have is: a failure (``MissingAssetBytes/fail``,
    ///     for sources the user named) or unchecked (``MissingAssetBytes/unchecked``, for a store found by itself,
    ///     which need not hold assets that live elsewhere).
    /// - Returns: The verdict; an unreadable or refused file is a verdict with ``error`` set, never a throw.
    /// - Throws: Only what `byteSource` throws for unreadable bytes.
    public static func verify(
        bytes: some Collection<UInt8>,
        hashOnly: Bool = false,
        byteSource: (any AssetByteSource)? = nil,
        missingBytes: MissingAssetBytes = .fail
    ) throws -> ManifestVerdict {
        // Most files are verified straight from the tape; the rest go through the model.
        var names: (schemaVersion: String?, storedHash: String?) = (nil, nil)
        let read: TapeVerification.Outcome
        do {
            read = try Manifest.withTape(bytes) { tape in
                if let outcome = TapeVerification.outcome(tape, listsAssets: !hashOnly) { return outcome }
                // Named in the verdict even when the manifest is refused.
                if tape.kind(0) == .object {
                    if let version = tape.member(of: 0, "schema_version"), tape.kind(version) == .string {
                        names.schemaVersion = tape.text(version)
                    }
                    if let stored = tape.member(of: 0, "canonical_hash"), tape.kind(stored) == .string {
                        names.storedHash = tape.text(stored)
                    }
                }
                let manifest = try Manifest(tape: tape)
                return TapeVerification.Outcome(
                    schemaVersion: manifest.schemaVersion,
                    storedHash: manifest.canonicalHash,
                    report: try manifest.verificationReport(),
                    assets: hashOnly ? [] : try manifest.checkAssetBytes(using: nil)
                )
            }
        } catch let error as ManifestError {
            return ManifestVerdict(
                schemaVersion: names.schemaVersion,
                storedHash: names.storedHash,
                hashOK: false,
                verifyOK: false,
                unverifiedSHA256IDs: [],
                invalidMetadataIDs: [],
                assets: [],
                error: error,
                lines: [Line(isFailure: true, text: "Error: \(error.kind): \(error.message)")]
            )
        }
        let report = read.report
        var verdict = ManifestVerdict(
            schemaVersion: read.schemaVersion,
            storedHash: read.storedHash,
            canonicalHash: report.recomputedHash,
            hashOK: report.hashOK,
            verifyOK: report.isOK,
            unverifiedSHA256IDs: report.unverifiedSHA256IDs,
            invalidMetadataIDs: report.invalidMetadataIDs,
            assets: [],
            lines: []
        )
        if !report.hashOK {
            verdict.lines.append(Line(isFailure: true, text: "FAIL: manifest hash mismatch."))
        }
        if hashOnly {
            if report.hashOK {
                verdict.lines.append(
                    Line(
                        isFailure: false,
                        text: "OK: manifest hash verified. Asset bytes were not fetched or compared."
                    )
                )
            }
            return verdict
        }
        if !report.unverifiedSHA256IDs.isEmpty {
            verdict.lines.append(
                Line(
                    isFailure: true,
                    text: "FAIL: \(report.unverifiedSHA256IDs.count) output asset(s) missing or malformed sha256."
                )
            )
        }
        if !report.invalidMetadataIDs.isEmpty {
            verdict.lines.append(
                Line(
                    isFailure: true,
                    text:
                        "FAIL: \(report.invalidMetadataIDs.count) output asset(s) carry out-of-spec numeric/media_type "
                        + "metadata (e.g. width=0, or a malformed media_type)."
                )
            )
        }
        verdict.assets = try lookUpAssetBytes(read.assets, using: byteSource)
        var notFound = 0
        if missingBytes == .unchecked {
            for index in verdict.assets.indices where verdict.assets[index].status == .missing {
                verdict.assets[index].status = .unchecked
                notFound += 1
            }
        }
        for check in verdict.assets where check.status == .mismatch || check.status == .missing {
            let label = "FAIL: asset \(check.assetID.prefix(8)) (\(redactedURL(check.url)))"
            switch check.status {
            case .mismatch:
                verdict.lines.append(
                    Line(
                        isFailure: true,
                        text: "\(label): sha256 mismatch: manifest declares \(check.sha256 ?? ""), bytes at "
                            + "\(check.location ?? "?") hash to \(check.actualSHA256 ?? "")"
                    )
                )
            case .missing:
                verdict.lines.append(
                    Line(
                        isFailure: true,
                        text: "\(label): bytes missing: no object or file with sha256 \(check.sha256 ?? "")"
                    )
                )
            case .ok, .unchecked:
                break
            }
        }
        if !verdict.lines.contains(where: \.isFailure) {
            let matched = verdict.assets.filter { $0.status == .ok }.count
            if byteSource == nil || (matched == 0 && missingBytes == .unchecked) {
                verdict.lines.append(
                    Line(
                        isFailure: false,
                        text: """
                            OK: manifest hash verified; all output assets declare sha256 and carry in-spec metadata. \
                            Asset bytes were not fetched or compared; add --assets DIR or --store PATH to verify the \
                            media itself.
                            """
                    )
                )
            } else {
                verdict.lines.append(
                    Line(
                        isFailure: false,
                        text:
                            "OK: manifest hash verified; all output assets declare sha256 and carry in-spec metadata; "
                            + "\(matched) asset(s) found and matched their declared sha256"
                            + (notFound == 0
                                ? "."
                                : "; \(notFound) asset(s) not found there: their bytes were not fetched or compared.")
                    )
                )
            }
        }
        return verdict
    }
}

extension ManifestVerdict: Encodable {
    private enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case storedHash = "stored_hash"
        case canonicalHash = "canonical_hash"
        case hashOK = "hash_ok"
        case verifyOK = "verify_ok"
        case unverifiedSHA256IDs = "unverified_sha256_ids"
        case invalidMetadataIDs = "invalid_metadata_ids"
        case assets, error
    }

    /// `{schema_version, stored_hash, canonical_hash, hash_ok, verify_ok, unverified_sha256_ids,
    /// invalid_metadata_ids, assets, error}` (docs/verify.md); `error` is `"Kind: message"` or null.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(storedHash, forKey: .storedHash)
        try container.encode(canonicalHash, forKey: .canonicalHash)
        try container.encode(hashOK, forKey: .hashOK)
        try container.encode(verifyOK, forKey: .verifyOK)
        try container.encode(unverifiedSHA256IDs, forKey: .unverifiedSHA256IDs)
        try container.encode(invalidMetadataIDs, forKey: .invalidMetadataIDs)
        try container.encode(assets, forKey: .assets)
        try container.encode(error.map { "\($0.kind): \($0.message)" }, forKey: .error)
    }
}

extension AssetByteCheck: Encodable {
    private enum CodingKeys: String, CodingKey {
        case assetID = "asset_id"
        case role
        case stepIndex = "step_index"
        case sha256, status
        case actualSHA256 = "actual_sha256"
        case location
    }

    /// `{asset_id, role, step_index, sha256, status, actual_sha256, location}`; the last two, and a missing
    /// `sha256`, are left out when absent. The url is not included.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(assetID, forKey: .assetID)
        try container.encode(role, forKey: .role)
        try container.encode(stepIndex, forKey: .stepIndex)
        try container.encodeIfPresent(sha256, forKey: .sha256)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(actualSHA256, forKey: .actualSHA256)
        try container.encodeIfPresent(location, forKey: .location)
    }
}
