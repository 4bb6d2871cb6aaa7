/// What genblaze's `Manifest.verification_report()` says about a manifest.
public struct VerificationReport: Sendable, Hashable {
    /// The stored canonical hash equals the recomputed one (exact string comparison).
    public var hashOK: Bool
    /// The recomputed canonical hash (lowercase hex).
    public var recomputedHash: String
    /// Output assets whose sha256 is not exactly 64 lowercase hex characters, in step order.
    public var unverifiedSHA256IDs: [String]
    /// Output assets with out-of-spec width, height, duration, media_type, video or audio metadata.
    public var invalidMetadataIDs: [String]

    /// Creates a report.
    public init(hashOK: Bool, recomputedHash: String, unverifiedSHA256IDs: [String], invalidMetadataIDs: [String]) {
        self.hashOK = hashOK
        self.recomputedHash = recomputedHash
        self.unverifiedSHA256IDs = unverifiedSHA256IDs
        self.invalidMetadataIDs = invalidMetadataIDs
    }

    /// genblaze's `verify()`: the hash matches and both lists are empty.
    public var isOK: Bool { hashOK && unverifiedSHA256IDs.isEmpty && invalidMetadataIDs.isEmpty }
}

extension Manifest {
    /// The parsed schema version, or nil when ``schemaVersion`` is not one genblaze knows.
    public var schemaVersionValue: SchemaVersion? { SchemaVersion(rawValue: schemaVersion) }

    /// The exact JSON value genblaze hashes: `{"schema_version", "run"}` with operational fields stripped per version.
    ///
    /// - Throws: ``ManifestError`` for an unknown schema version or an unencodable hashed string.
    public func hashPayload() throws -> JSONValue {
        guard let version = schemaVersionValue else {
            throw ManifestError(
                .unsupportedSchemaVersion,
                kind: "UnsupportedSchemaVersionError",
                "Unsupported schema_version '\(schemaVersion)'"
            )
        }
        if let field = unencodableField, field.hashed {
            throw ManifestError(
                .unencodableString,
                kind: "UnicodeEncodeError",
                "'utf-8' codec can't encode \(field.path): surrogates not allowed"
            )
        }
        var payload = JSONObject()
        payload.appendUnchecked("schema_version", .string(schemaVersion))
        payload.appendUnchecked("run", .object(try run.jsonObject(mode: .hash(version))))
        return .object(payload)
    }

    /// The canonical text genblaze hashes (the pre-image of ``computeCanonicalHash()``), as UTF-8 bytes.
    ///
    /// - Throws: ``ManifestError``.
    public func hashPreimage() throws -> [UInt8] {
        let payload = try hashPayload()
        do {
            return try CanonicalJSON.encode(payload)
        } catch let error as CanonicalJSONError {
            throw ManifestError.wrapping(error)
        }
    }

    /// Recomputes the canonical hash: lowercase hex SHA-256 of ``hashPreimage()``.
    ///
    /// - Throws: ``ManifestError``.
    public func computeCanonicalHash() throws -> String {
        CanonicalJSON.sha256Hex(ofBytes: try hashPreimage())
    }

    /// genblaze's `verify_hash()`: the stored hash equals the recomputed one.
    ///
    /// - Throws: ``ManifestError`` when the hash cannot be computed.
    public func verifyHash() throws -> Bool {
        try canonicalHash == computeCanonicalHash()
    }

    /// genblaze's `verification_report()`: hash check plus the output-asset checks.
    ///
    /// - Throws: ``ManifestError`` when the hash cannot be computed.
    public func verificationReport() throws -> VerificationReport {
        let recomputed = try computeCanonicalHash()
        var unverified: [String] = []
        var invalid: [String] = []
        for step in run.steps {
            for asset in step.assets {
                if !isValidSHA256(asset.sha256) { unverified.append(asset.assetID) }
                if !asset.hasValidMetadata { invalid.append(asset.assetID) }
            }
        }
        return VerificationReport(
            hashOK: recomputed == canonicalHash,
            recomputedHash: recomputed,
            unverifiedSHA256IDs: unverified,
            invalidMetadataIDs: invalid
        )
    }

    /// The whole manifest as genblaze's `to_canonical_json()` writes it: canonical JSON of every field, with the
    /// canonical hash computed first when it is empty.
    ///
    /// - Throws: ``ManifestError`` for schema 1.6 (read-only), a naive timestamp, an unencodable string or nesting
    ///   deeper than canonical JSON allows.
    public func canonicalFileBytes() throws -> [UInt8] {
        guard let version = schemaVersionValue else {
            throw ManifestError(
                .unsupportedSchemaVersion,
                kind: "UnsupportedSchemaVersionError",
                "Unsupported schema_version '\(schemaVersion)'"
            )
        }
        guard version.isWritable else {
            throw ManifestError(
                .readOnlySchemaVersion,
                kind: "ManifestError",
                "schema_version '\(schemaVersion)' is read-supported only in this release; the maximum writable "
                    + "schema_version is '\(SchemaVersion.current.rawValue)'"
            )
        }
        if let field = unencodableField {
            throw ManifestError(
                .unencodableString,
                kind: "UnicodeEncodeError",
                "'utf-8' codec can't encode \(field.path): surrogates not allowed"
            )
        }
        let hash = canonicalHash.isEmpty ? try computeCanonicalHash() : canonicalHash
        var object = JSONObject()
        object.appendUnchecked("schema_version", .string(schemaVersion))
        object.appendUnchecked("run", .object(try run.jsonObject(mode: .full)))
        object.appendUnchecked("canonical_hash", .string(hash))
        object.appendUnchecked("manifest_uri", manifestURI.map(JSONValue.string) ?? .null)
        object.appendUnchecked("encryption_scheme", encryptionScheme.map(JSONValue.string) ?? .null)
        object.appendUnchecked("signature", signature.map(JSONValue.string) ?? .null)
        object.appendUnchecked("transfer_failures", .array(transferFailures.map(JSONValue.string)))
        do {
            return try CanonicalJSON.encode(.object(object))
        } catch let error as CanonicalJSONError {
            throw ManifestError.wrapping(error)
        }
    }

    /// The whole manifest as a JSON value with every field (genblaze's `model_dump`), timestamps as ISO text.
    ///
    /// - Throws: ``ManifestError`` for a naive timestamp.
    public func jsonValue() throws -> JSONValue {
        var object = JSONObject()
        object.appendUnchecked("schema_version", .string(schemaVersion))
        object.appendUnchecked("run", .object(try run.jsonObject(mode: .full)))
        object.appendUnchecked("canonical_hash", .string(canonicalHash))
        object.appendUnchecked("manifest_uri", manifestURI.map(JSONValue.string) ?? .null)
        object.appendUnchecked("encryption_scheme", encryptionScheme.map(JSONValue.string) ?? .null)
        object.appendUnchecked("signature", signature.map(JSONValue.string) ?? .null)
        object.appendUnchecked("transfer_failures", .array(transferFailures.map(JSONValue.string)))
        return .object(object)
    }
}

/// genblaze's `is_valid_sha256`: exactly 64 characters from `0-9a-f`.
public func isValidSHA256(_ value: String?) -> Bool {
    guard let value else { return false }
    var count = 0
    for byte in value.utf8 {
        guard (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) else { return false }
        count += 1
    }
    return count == 64
}

extension Asset {
    /// genblaze's `is_valid_asset_metadata`: positive dimensions, finite non-negative duration, a MIME-shaped
    /// media type, and in-range video and audio numbers.
    public var hasValidMetadata: Bool {
        func positive(_ value: JSONInteger?) -> Bool { value.map(\.isPositive) ?? true }
        func finiteNonNegative(_ value: Double?) -> Bool { value.map { $0.isFinite && $0 >= 0 } ?? true }
        guard positive(width), positive(height), finiteNonNegative(duration), isMediaTypeShaped(mediaType) else {
            return false
        }
        if let video, !finiteNonNegative(video.frameRate) || !positive(video.bitrate) { return false }
        if let audio, !positive(audio.sampleRate) || !positive(audio.channels) || !positive(audio.bitrate) {
            return false
        }
        return true
    }
}

/// Python `re.match(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.+-]*$", value)` with Unicode `\w`, where `$` also
/// matches before one final newline.
func isMediaTypeShaped(_ value: String) -> Bool {
    var scalars = Array(value.unicodeScalars)[...]
    if scalars.last == "\n" { scalars = scalars.dropLast() }
    func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
    func isWord(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" || isASCIIAlphanumeric(scalar) { return true }
        if scalar.isASCII { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return scalar.properties.numericType != nil
        }
    }
    guard let slash = scalars.firstIndex(of: "/") else { return false }
    let type = scalars[..<slash]
    let subtype = scalars[(slash + 1)...]
    guard let typeFirst = type.first, isASCIIAlphanumeric(typeFirst) else { return false }
    guard type.dropFirst().allSatisfy({ isWord($0) || $0 == "." || $0 == "-" }) else { return false }
    guard let subtypeFirst = subtype.first, isASCIIAlphanumeric(subtypeFirst) else { return false }
    return subtype.dropFirst().allSatisfy { isWord($0) || $0 == "." || $0 == "+" || $0 == "-" }
}

/// Which fields a dump keeps.
enum DumpMode {
    /// Every field (genblaze's `model_dump`).
    case full
    /// The hash payload of a schema version.
    case hash(SchemaVersion)

    var keepsIdentifiers: Bool {
        switch self {
        case .full: true
        case .hash(let version): version.hashesIdentifiers
        }
    }

    var isFull: Bool {
        if case .full = self { return true }
        return false
    }
}

private func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
private func optional(_ value: JSONInteger?) -> JSONValue { value.map(JSONValue.integer) ?? .null }
private func optional(_ value: Double?) -> JSONValue { value.map(JSONValue.float) ?? .null }
private func optional(_ value: Bool?) -> JSONValue { value.map(JSONValue.bool) ?? .null }

private func timestampValue(_ value: Timestamp?, _ field: String) throws -> JSONValue {
    guard let value else { return .null }
    guard let text = value.isoText else {
        throw ManifestError(
            .naiveTimestamp,
            kind: "TypeError",
            "normalize: naive datetime \(value.naiveISOText) in \(field) — attach a UTC offset"
        )
    }
    return .string(text)
}

extension Run {
    func jsonObject(mode: DumpMode) throws -> JSONObject {
        var object = JSONObject()
        if mode.keepsIdentifiers { object.appendUnchecked("run_id", .string(runID)) }
        object.appendUnchecked("tenant_id", optional(tenantID))
        object.appendUnchecked("project_id", optional(projectID))
        object.appendUnchecked("name", optional(name))
        object.appendUnchecked("steps", .array(try steps.map { .object(try $0.jsonObject(mode: mode)) }))
        object.appendUnchecked("metadata", .object(metadata))
        if mode.isFull {
            object.appendUnchecked("status", .string(status.rawValue))
            object.appendUnchecked("parent_run_id", optional(parentRunID))
            object.appendUnchecked("idempotency_key", optional(idempotencyKey))
            object.appendUnchecked("created_at", try timestampValue(createdAt, "run.created_at"))
            object.appendUnchecked("started_at", try timestampValue(startedAt, "run.started_at"))
            object.appendUnchecked("completed_at", try timestampValue(completedAt, "run.completed_at"))
        }
        return object
    }
}

extension Step {
    func jsonObject(mode: DumpMode) throws -> JSONObject {
        var object = JSONObject()
        if mode.keepsIdentifiers {
            object.appendUnchecked("step_id", .string(stepID))
            object.appendUnchecked("run_id", optional(runID))
        }
        object.appendUnchecked("provider", optional(provider))
        object.appendUnchecked("model", .string(model))
        object.appendUnchecked("step_type", .string(stepType.rawValue))
        object.appendUnchecked("model_version", optional(modelVersion))
        object.appendUnchecked("model_hash", optional(modelHash))
        object.appendUnchecked("modality", .string(modality.rawValue))
        object.appendUnchecked("prompt", optional(prompt))
        object.appendUnchecked("negative_prompt", optional(negativePrompt))
        object.appendUnchecked("prompt_visibility", .string(promptVisibility.rawValue))
        object.appendUnchecked("seed", optional(seed))
        object.appendUnchecked("params", .object(params))
        object.appendUnchecked("inputs", .array(try inputs.map { .object(try $0.jsonObject(mode: mode)) }))
        object.appendUnchecked("assets", .array(try assets.map { .object(try $0.jsonObject(mode: mode)) }))
        object.appendUnchecked("metadata", .object(metadata))
        if mode.isFull {
            object.appendUnchecked("status", .string(status.rawValue))
            object.appendUnchecked("provider_payload", .object(providerPayload))
            object.appendUnchecked("retries", .integer(retries))
            object.appendUnchecked("cost_usd", optional(costUSD))
            object.appendUnchecked("error", optional(error))
            object.appendUnchecked("error_code", optional(errorCode?.rawValue))
            object.appendUnchecked("started_at", try timestampValue(startedAt, "step.started_at"))
            object.appendUnchecked("completed_at", try timestampValue(completedAt, "step.completed_at"))
            object.appendUnchecked("step_index", optional(stepIndex))
        }
        return object
    }
}

extension Asset {
    func jsonObject(mode: DumpMode) throws -> JSONObject {
        var object = JSONObject()
        if mode.keepsIdentifiers {
            object.appendUnchecked("asset_id", .string(assetID))
            object.appendUnchecked("url", .string(url))
        }
        object.appendUnchecked("media_type", .string(mediaType))
        object.appendUnchecked("sha256", optional(sha256))
        object.appendUnchecked("size_bytes", optional(sizeBytes))
        object.appendUnchecked("width", optional(width))
        object.appendUnchecked("height", optional(height))
        object.appendUnchecked("duration", optional(duration))
        object.appendUnchecked("video", video.map { .object($0.jsonObject()) } ?? .null)
        object.appendUnchecked("audio", audio.map { .object($0.jsonObject()) } ?? .null)
        object.appendUnchecked("tracks", tracks.map { .array($0.map { .object($0.jsonObject()) }) } ?? .null)
        object.appendUnchecked("metadata", .object(metadata))
        if case .hash(let version) = mode, version.marksURLOnlyAssets, !isValidSHA256(sha256) {
            object.appendUnchecked("asset_integrity", "url_only_unverified")
            object.appendUnchecked("unverified_asset_url", .string(try AssetURL.canonical(url)))
        }
        return object
    }
}

extension VideoMetadata {
    func jsonObject() -> JSONObject {
        var object = JSONObject()
        object.appendUnchecked("frame_rate", optional(frameRate))
        object.appendUnchecked("codec", optional(codec))
        object.appendUnchecked("bitrate", optional(bitrate))
        object.appendUnchecked("color_space", optional(colorSpace))
        object.appendUnchecked("has_audio", optional(hasAudio))
        object.appendUnchecked("resolution", optional(resolution))
        return object
    }
}

extension AudioMetadata {
    func jsonObject() -> JSONObject {
        var object = JSONObject()
        object.appendUnchecked("sample_rate", optional(sampleRate))
        object.appendUnchecked("channels", optional(channels))
        object.appendUnchecked("codec", optional(codec))
        object.appendUnchecked("bitrate", optional(bitrate))
        object.appendUnchecked(
            "word_timings",
            wordTimings.map { timings in
                .array(
                    timings.map { timing in
                        var entry = JSONObject()
                        entry.appendUnchecked("word", .string(timing.word))
                        entry.appendUnchecked("start", .float(timing.start))
                        entry.appendUnchecked("end", .float(timing.end))
                        entry.appendUnchecked("confidence", optional(timing.confidence))
                        return .object(entry)
                    }
                )
            } ?? .null
        )
        return object
    }
}

extension Track {
    func jsonObject() -> JSONObject {
        var object = JSONObject()
        object.appendUnchecked("kind", .string(kind))
        object.appendUnchecked("codec", optional(codec))
        object.appendUnchecked("label", optional(label))
        return object
    }
}
