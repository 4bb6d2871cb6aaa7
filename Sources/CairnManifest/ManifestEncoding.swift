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
        let version = try hashableVersion()
        var payload = JSONObject(reservingCapacity: 2)
        payload.appendUnchecked("run", .object(try run.jsonObject(mode: .hash(version))))
        payload.appendUnchecked("schema_version", .string(schemaVersion))
        return .object(payload)
    }

    /// The schema version whose hashing rules apply, after checking that the payload can be encoded.
    private func hashableVersion() throws -> SchemaVersion {
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
        return version
    }

    /// The canonical text genblaze hashes (the pre-image of ``computeCanonicalHash()``), as UTF-8 bytes.
    ///
    /// - Throws: ``ManifestError``.
    public func hashPreimage() throws -> [UInt8] {
        let version = try hashableVersion()
        do {
            return try CanonicalSink.encode { sink in
                try sink.field("run", object: { try run.emit(into: &$0, mode: .hash(version)) })
                try sink.field("schema_version", .string(schemaVersion))
            }
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

// MARK: - Emitting model objects

/// Where a model object's fields go, always in Unicode code point order of their keys.
///
/// One emitter per model type writes either a ``JSONObject`` tree (``ObjectSink``) or canonical JSON bytes
/// directly (``CanonicalSink``, the hash pre-image), so both always hold the same fields.
protocol ModelFieldSink {
    /// A field with a plain JSON value.
    mutating func field(_ key: String, _ value: JSONValue) throws
    /// A field whose value is a model object written by `body`.
    mutating func field(_ key: String, object body: (inout Self) throws -> Void) throws
    /// A field whose value is an array of model objects, each written by `body`.
    mutating func field<Items: Collection>(
        _ key: String,
        objects items: Items,
        _ body: (Items.Element, inout Self) throws -> Void
    ) throws
}

/// Builds a ``JSONObject``.
struct ObjectSink: ModelFieldSink {
    var object = JSONObject(reservingCapacity: 16)

    mutating func field(_ key: String, _ value: JSONValue) {
        object.appendUnchecked(key, value)
    }

    mutating func field(_ key: String, object body: (inout ObjectSink) throws -> Void) throws {
        var child = ObjectSink()
        try body(&child)
        object.appendUnchecked(key, .object(child.object))
    }

    mutating func field<Items: Collection>(
        _ key: String,
        objects items: Items,
        _ body: (Items.Element, inout ObjectSink) throws -> Void
    ) throws {
        var array: [JSONValue] = []
        array.reserveCapacity(items.count)
        for item in items {
            var child = ObjectSink()
            try body(item, &child)
            array.append(.object(child.object))
        }
        object.appendUnchecked(key, .array(array))
    }
}

/// Writes canonical JSON bytes of model objects as their fields arrive (they arrive sorted, so nothing is sorted).
struct CanonicalSink: ModelFieldSink {
    var writer = CanonicalWriter()
    /// Nesting depth of the object being written (the root object is 0), for ``CanonicalJSON/maxDepth``.
    private var depth = 0
    private var needsComma = false

    /// Writes a whole object whose fields `body` emits.
    static func encode(_ body: (inout CanonicalSink) throws -> Void) throws -> [UInt8] {
        var sink = CanonicalSink()
        sink.writer.bytes.append(UInt8(ascii: "{"))
        try body(&sink)
        sink.writer.bytes.append(UInt8(ascii: "}"))
        return sink.writer.bytes
    }

    private mutating func key(_ key: String) {
        if needsComma { writer.bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        writer.writeString(key)
        writer.bytes.append(UInt8(ascii: ":"))
    }

    private mutating func nestedObject(_ body: (inout CanonicalSink) throws -> Void) throws {
        depth += 1
        if depth > CanonicalJSON.maxDepth { throw CanonicalWriter.tooDeep }
        writer.bytes.append(UInt8(ascii: "{"))
        needsComma = false
        try body(&self)
        writer.bytes.append(UInt8(ascii: "}"))
        needsComma = true
        depth -= 1
    }

    mutating func field(_ key: String, _ value: JSONValue) throws {
        self.key(key)
        try writer.write(value, depth: depth + 1)
    }

    mutating func field(_ key: String, object body: (inout CanonicalSink) throws -> Void) throws {
        self.key(key)
        try nestedObject(body)
    }

    mutating func field<Items: Collection>(
        _ key: String,
        objects items: Items,
        _ body: (Items.Element, inout CanonicalSink) throws -> Void
    ) throws {
        self.key(key)
        depth += 1
        writer.bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { writer.bytes.append(UInt8(ascii: ",")) }
            first = false
            try nestedObject { try body(item, &$0) }
        }
        writer.bytes.append(UInt8(ascii: "]"))
        depth -= 1
    }
}

extension Run {
    func jsonObject(mode: DumpMode) throws -> JSONObject {
        var sink = ObjectSink()
        try emit(into: &sink, mode: mode)
        return sink.object
    }

    func emit(into sink: inout some ModelFieldSink, mode: DumpMode) throws {
        let full = mode.isFull
        if full {
            try sink.field("completed_at", try timestampValue(completedAt, "run.completed_at"))
            try sink.field("created_at", try timestampValue(createdAt, "run.created_at"))
            try sink.field("idempotency_key", optional(idempotencyKey))
        }
        try sink.field("metadata", .object(metadata))
        try sink.field("name", optional(name))
        if full { try sink.field("parent_run_id", optional(parentRunID)) }
        try sink.field("project_id", optional(projectID))
        if mode.keepsIdentifiers { try sink.field("run_id", .string(runID)) }
        if full {
            try sink.field("started_at", try timestampValue(startedAt, "run.started_at"))
            try sink.field("status", .string(status.rawValue))
        }
        try sink.field("steps", objects: steps) { step, sink in try step.emit(into: &sink, mode: mode) }
        try sink.field("tenant_id", optional(tenantID))
    }
}

extension Step {
    func emit(into sink: inout some ModelFieldSink, mode: DumpMode) throws {
        let full = mode.isFull
        let identifiers = mode.keepsIdentifiers
        try sink.field("assets", objects: assets) { asset, sink in try asset.emit(into: &sink, mode: mode) }
        if full {
            try sink.field("completed_at", try timestampValue(completedAt, "step.completed_at"))
            try sink.field("cost_usd", optional(costUSD))
            try sink.field("error", optional(error))
            try sink.field("error_code", optional(errorCode?.rawValue))
        }
        try sink.field("inputs", objects: inputs) { asset, sink in try asset.emit(into: &sink, mode: mode) }
        try sink.field("metadata", .object(metadata))
        try sink.field("modality", .string(modality.rawValue))
        try sink.field("model", .string(model))
        try sink.field("model_hash", optional(modelHash))
        try sink.field("model_version", optional(modelVersion))
        try sink.field("negative_prompt", optional(negativePrompt))
        try sink.field("params", .object(params))
        try sink.field("prompt", optional(prompt))
        try sink.field("prompt_visibility", .string(promptVisibility.rawValue))
        try sink.field("provider", optional(provider))
        if full {
            try sink.field("provider_payload", .object(providerPayload))
            try sink.field("retries", .integer(retries))
        }
        if identifiers { try sink.field("run_id", optional(runID)) }
        try sink.field("seed", optional(seed))
        if full {
            try sink.field("started_at", try timestampValue(startedAt, "step.started_at"))
            try sink.field("status", .string(status.rawValue))
        }
        if identifiers { try sink.field("step_id", .string(stepID)) }
        if full { try sink.field("step_index", optional(stepIndex)) }
        try sink.field("step_type", .string(stepType.rawValue))
    }
}

extension Asset {
    func emit(into sink: inout some ModelFieldSink, mode: DumpMode) throws {
        let identifiers = mode.keepsIdentifiers
        var marksURLOnly = false
        if case .hash(let version) = mode, version.marksURLOnlyAssets, !isValidSHA256(sha256) { marksURLOnly = true }
        if identifiers { try sink.field("asset_id", .string(assetID)) }
        if marksURLOnly { try sink.field("asset_integrity", "url_only_unverified") }
        if let audio {
            try sink.field("audio", object: { try audio.emit(into: &$0) })
        } else {
            try sink.field("audio", .null)
        }
        try sink.field("duration", optional(duration))
        try sink.field("height", optional(height))
        try sink.field("media_type", .string(mediaType))
        try sink.field("metadata", .object(metadata))
        try sink.field("sha256", optional(sha256))
        try sink.field("size_bytes", optional(sizeBytes))
        if let tracks {
            try sink.field("tracks", objects: tracks) { track, sink in try track.emit(into: &sink) }
        } else {
            try sink.field("tracks", .null)
        }
        if marksURLOnly { try sink.field("unverified_asset_url", .string(try AssetURL.canonical(url))) }
        if identifiers { try sink.field("url", .string(url)) }
        if let video {
            try sink.field("video", object: { try video.emit(into: &$0) })
        } else {
            try sink.field("video", .null)
        }
        try sink.field("width", optional(width))
    }
}

extension VideoMetadata {
    func emit(into sink: inout some ModelFieldSink) throws {
        try sink.field("bitrate", optional(bitrate))
        try sink.field("codec", optional(codec))
        try sink.field("color_space", optional(colorSpace))
        try sink.field("frame_rate", optional(frameRate))
        try sink.field("has_audio", optional(hasAudio))
        try sink.field("resolution", optional(resolution))
    }
}

extension AudioMetadata {
    func emit(into sink: inout some ModelFieldSink) throws {
        try sink.field("bitrate", optional(bitrate))
        try sink.field("channels", optional(channels))
        try sink.field("codec", optional(codec))
        try sink.field("sample_rate", optional(sampleRate))
        if let wordTimings {
            try sink.field("word_timings", objects: wordTimings) { timing, sink in
                try sink.field("confidence", optional(timing.confidence))
                try sink.field("end", .float(timing.end))
                try sink.field("start", .float(timing.start))
                try sink.field("word", .string(timing.word))
            }
        } else {
            try sink.field("word_timings", .null)
        }
    }
}

extension Track {
    func emit(into sink: inout some ModelFieldSink) throws {
        try sink.field("codec", optional(codec))
        try sink.field("kind", .string(kind))
        try sink.field("label", optional(label))
    }
}
