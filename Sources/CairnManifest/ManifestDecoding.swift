extension Manifest {
    /// Reads a manifest file's bytes with genblaze's rules (`json.loads` then `parse_manifest`).
    ///
    /// Defaults are filled, typed fields are coerced as pydantic's lax mode does, unknown keys are dropped (a step's
    /// unknown key is an error), and the original `schema_version` is kept so the hash can be reproduced.
    ///
    /// - Parameter bytes: The file's bytes (strict UTF-8 JSON, no byte order mark).
    /// - Returns: The manifest, with the stored (not recomputed) ``canonicalHash``.
    /// - Throws: ``ManifestError`` (its ``ManifestError/underlying`` is a ``JSONReadError`` for malformed JSON).
    public static func parse(_ bytes: some Collection<UInt8>) throws -> Manifest {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch let error as JSONReadError {
            throw ManifestError(.invalidJSON, kind: "JSONDecodeError", error.description, underlying: error)
        }
        return try Manifest(json: value)
    }

    /// Builds a manifest from an already-parsed JSON value with genblaze's `parse_manifest` rules.
    ///
    /// - Throws: ``ManifestError``.
    public init(json value: JSONValue) throws {
        guard case .object(let object) = value else {
            throw ManifestError(
                .notAnObject,
                kind: "ManifestError",
                "manifest must be a JSON object, got \(pythonTypeName(value)) — check that the file contains a "
                    + "single manifest, not a list or scalar"
            )
        }
        if object["run"] == nil, object["manifest_uri"] != nil {
            throw ManifestError(
                .pointerSidecar,
                kind: "PointerSidecarError",
                "this is a pointer sidecar (manifest_uri without run); fetch the full manifest from manifest_uri"
            )
        }
        var version = SchemaVersion.v1_0
        if let raw = object["schema_version"], isTruthy(raw) {
            guard case .string(let text) = raw, let known = SchemaVersion(rawValue: text) else {
                throw ManifestError(
                    .unsupportedSchemaVersion,
                    kind: "UnsupportedSchemaVersionError",
                    "Unsupported schema_version \(pythonRepr(raw)); this reader supports "
                        + SchemaVersion.allCases.map(\.rawValue).joined(separator: ", ")
                        + ". Upgrade genblaze-core before reading manifests emitted with newer schema versions."
                )
            }
            version = known
        }
        var decoder = ManifestDecoder(version: version)
        self = try decoder.manifest(object)
        self.unencodableField = decoder.unencodableField
        for step in run.steps where step.promptVisibility == .encrypted && (encryptionScheme ?? "").isEmpty {
            throw ManifestError(
                .encryptionSchemeMissing,
                kind: "ManifestError",
                "prompt_visibility='encrypted' requires encryption_scheme to be set"
            )
        }
    }
}

/// Python truthiness of a JSON value (for `data.get("schema_version") or "1.0"`).
private func isTruthy(_ value: JSONValue) -> Bool {
    switch value {
    case .null: false
    case .bool(let flag): flag
    case .integer(let integer): integer.isNegative || integer.isPositive
    case .float(let number): number != 0
    case .string(let text): !text.isEmpty
    case .unpairedSurrogateString(let units): !units.isEmpty
    case .array(let elements): !elements.isEmpty
    case .object(let object): !object.isEmpty
    }
}

private func pythonTypeName(_ value: JSONValue) -> String {
    switch value {
    case .null: "NoneType"
    case .bool: "bool"
    case .integer: "int"
    case .float: "float"
    case .string, .unpairedSurrogateString: "str"
    case .array: "list"
    case .object: "dict"
    }
}

private func pythonRepr(_ value: JSONValue) -> String {
    switch value {
    case .string(let text): "'\(text)'"
    case .float(let number): number.isFinite ? FloatFormatting.pythonRepr(number) : "\(number)"
    case .bool(let flag): flag ? "True" : "False"
    case .null: "None"
    default: (try? CanonicalJSON.string(value)) ?? value.kindName
    }
}

/// Decodes JSON into the model with pydantic lax coercions, tracking the field path for messages.
struct ManifestDecoder {
    let version: SchemaVersion
    var path: [String] = []
    var unencodableField: (path: String, hashed: Bool)?

    init(version: SchemaVersion) { self.version = version }

    func error(_ message: String, at key: String? = nil) -> ManifestError {
        .validation(key.map { path + [$0] } ?? path, message)
    }

    // MARK: Models

    mutating func manifest(_ object: JSONObject) throws -> Manifest {
        guard let runValue = object["run"] else { throw error("Field required", at: "run") }
        path.append("run")
        let run = try self.run(runValue)
        path.removeLast()
        return Manifest(
            schemaVersion: version.rawValue,
            run: run,
            canonicalHash: try string(object["canonical_hash"], "canonical_hash", hashed: false) ?? "",
            manifestURI: try string(object["manifest_uri"], "manifest_uri", hashed: false, optional: true),
            encryptionScheme: try string(
                object["encryption_scheme"],
                "encryption_scheme",
                hashed: false,
                optional: true
            ),
            signature: try string(object["signature"], "signature", hashed: false, optional: true),
            transferFailures: try list(object["transfer_failures"], "transfer_failures", optional: false) {
                decoder,
                value in
                try decoder.requiredString(value, nil, hashed: false)
            } ?? []
        )
    }

    mutating func run(_ value: JSONValue) throws -> Run {
        let object = try model(value, "Run", Self.runKeys)
        let legacy = version.hashesIdentifiers
        var run = Run(
            runID: try string(object["run_id"], "run_id", hashed: legacy) ?? newIdentifier(),
            tenantID: try string(object["tenant_id"], "tenant_id", hashed: true, optional: true),
            projectID: try string(object["project_id"], "project_id", hashed: true, optional: true),
            name: try string(object["name"], "name", hashed: true, optional: true),
            status: try enumeration(object["status"], "status") ?? .pending,
            steps: [],
            parentRunID: try string(object["parent_run_id"], "parent_run_id", hashed: false, optional: true),
            idempotencyKey: try string(object["idempotency_key"], "idempotency_key", hashed: false, optional: true),
            createdAt: try timestamp(object["created_at"], "created_at", optional: false) ?? .now(),
            startedAt: try timestamp(object["started_at"], "started_at", optional: true),
            completedAt: try timestamp(object["completed_at"], "completed_at", optional: true),
            metadata: try dictionary(object["metadata"], "metadata") ?? [:]
        )
        run.steps =
            try list(object["steps"], "steps", optional: false) { decoder, value in try decoder.step(value) } ?? []
        return run
    }

    static let runKeys = ModelKeys([
        "run_id", "tenant_id", "project_id", "name", "status", "steps", "parent_run_id", "idempotency_key",
        "created_at", "started_at", "completed_at", "metadata",
    ])
    static let stepKeys = ModelKeys([
        "step_id", "run_id", "provider", "model", "step_type", "model_version", "model_hash", "modality", "prompt",
        "negative_prompt", "prompt_visibility", "seed", "params", "status", "inputs", "assets", "provider_payload",
        "retries", "cost_usd", "error", "error_code", "started_at", "completed_at", "step_index", "metadata",
    ])
    static let assetKeys = ModelKeys([
        "asset_id", "url", "media_type", "sha256", "size_bytes", "width", "height", "duration", "video", "audio",
        "tracks", "metadata",
    ])
    static let trackKeys = ModelKeys(["kind", "codec", "label"])
    static let videoKeys = ModelKeys(["frame_rate", "codec", "bitrate", "color_space", "has_audio", "resolution"])
    static let audioKeys = ModelKeys(["sample_rate", "channels", "codec", "bitrate", "word_timings"])

    mutating func step(_ value: JSONValue) throws -> Step {
        let object = try model(value, "Step", Self.stepKeys)
        if let key = object.unknownKeys.first { throw error("Extra inputs are not permitted", at: key) }
        let legacy = version.hashesIdentifiers
        guard let modelValue = object["model"] else { throw error("Field required", at: "model") }
        var step = Step(
            stepID: try string(object["step_id"], "step_id", hashed: legacy) ?? newIdentifier(),
            runID: try string(object["run_id"], "run_id", hashed: legacy, optional: true),
            provider: try string(object["provider"], "provider", hashed: true, optional: true),
            model: try requiredString(modelValue, "model", hashed: true),
            stepType: try enumeration(object["step_type"], "step_type") ?? .generate,
            modelVersion: try string(object["model_version"], "model_version", hashed: true, optional: true),
            modelHash: try string(object["model_hash"], "model_hash", hashed: true, optional: true),
            modality: try enumeration(object["modality"], "modality") ?? .image,
            prompt: try string(object["prompt"], "prompt", hashed: true, optional: true),
            negativePrompt: try string(object["negative_prompt"], "negative_prompt", hashed: true, optional: true),
            promptVisibility: try enumeration(object["prompt_visibility"], "prompt_visibility") ?? .public,
            seed: try integer(object["seed"], "seed", optional: true),
            params: try dictionary(object["params"], "params") ?? [:],
            status: try enumeration(object["status"], "status") ?? .pending,
            providerPayload: try dictionary(object["provider_payload"], "provider_payload") ?? [:],
            retries: try integer(object["retries"], "retries", optional: false) ?? 0,
            costUSD: try number(object["cost_usd"], "cost_usd", optional: true),
            error: try string(object["error"], "error", hashed: false, optional: true),
            errorCode: try enumeration(object["error_code"], "error_code", optional: true),
            startedAt: try timestamp(object["started_at"], "started_at", optional: true),
            completedAt: try timestamp(object["completed_at"], "completed_at", optional: true),
            stepIndex: try integer(object["step_index"], "step_index", optional: true),
            metadata: try dictionary(object["metadata"], "metadata") ?? [:]
        )
        step.inputs =
            try list(object["inputs"], "inputs", optional: false) { decoder, value in try decoder.asset(value) } ?? []
        step.assets =
            try list(object["assets"], "assets", optional: false) { decoder, value in try decoder.asset(value) } ?? []
        if step.provider == nil && step.stepType != .ingest && step.stepType != .import {
            throw error(
                "Value error, Step.provider is required when step_type='\(step.stepType.rawValue)'; only "
                    + "['import', 'ingest'] step types may have provider=None."
            )
        }
        return step
    }

    mutating func asset(_ value: JSONValue) throws -> Asset {
        let object = try model(value, "Asset", Self.assetKeys)
        let legacy = version.hashesIdentifiers
        guard let urlValue = object["url"] else { throw error("Field required", at: "url") }
        guard let mediaTypeValue = object["media_type"] else { throw error("Field required", at: "media_type") }
        let url = try requiredString(urlValue, "url", hashed: legacy || version.marksURLOnlyAssets)
        let sizeBytes = try integer(object["size_bytes"], "size_bytes", optional: true)
        if let sizeBytes, sizeBytes.isNegative {
            throw error("Input should be greater than or equal to 0", at: "size_bytes")
        }
        var asset = Asset(
            assetID: try string(object["asset_id"], "asset_id", hashed: legacy) ?? newIdentifier(),
            url: url,
            mediaType: try requiredString(mediaTypeValue, "media_type", hashed: true),
            sha256: try string(object["sha256"], "sha256", hashed: true, optional: true),
            sizeBytes: sizeBytes,
            width: try integer(object["width"], "width", optional: true),
            height: try integer(object["height"], "height", optional: true),
            duration: try number(object["duration"], "duration", optional: true),
            metadata: try dictionary(object["metadata"], "metadata") ?? [:]
        )
        if let videoValue = object["video"], !videoValue.isNull {
            path.append("video")
            asset.video = try video(videoValue)
            path.removeLast()
        }
        if let audioValue = object["audio"], !audioValue.isNull {
            path.append("audio")
            asset.audio = try audio(audioValue)
            path.removeLast()
        }
        asset.tracks = try list(object["tracks"], "tracks", optional: true) { decoder, value in
            let track = try decoder.model(value, "Track", Self.trackKeys)
            guard let kind = track["kind"] else { throw decoder.error("Field required", at: "kind") }
            return Track(
                kind: try decoder.requiredString(kind, "kind", hashed: true),
                codec: try decoder.string(track["codec"], "codec", hashed: true, optional: true),
                label: try decoder.string(track["label"], "label", hashed: true, optional: true)
            )
        }
        return asset
    }

    mutating func video(_ value: JSONValue) throws -> VideoMetadata {
        let object = try model(value, "VideoMetadata", Self.videoKeys)
        return VideoMetadata(
            frameRate: try number(object["frame_rate"], "frame_rate", optional: true),
            codec: try string(object["codec"], "codec", hashed: true, optional: true),
            bitrate: try integer(object["bitrate"], "bitrate", optional: true),
            colorSpace: try string(object["color_space"], "color_space", hashed: true, optional: true),
            hasAudio: try boolean(object["has_audio"], "has_audio"),
            resolution: try string(object["resolution"], "resolution", hashed: true, optional: true)
        )
    }

    mutating func audio(_ value: JSONValue) throws -> AudioMetadata {
        let object = try model(value, "AudioMetadata", Self.audioKeys)
        var audio = AudioMetadata(
            sampleRate: try integer(object["sample_rate"], "sample_rate", optional: true),
            channels: try integer(object["channels"], "channels", optional: true),
            codec: try string(object["codec"], "codec", hashed: true, optional: true),
            bitrate: try integer(object["bitrate"], "bitrate", optional: true)
        )
        audio.wordTimings = try list(object["word_timings"], "word_timings", optional: true) { decoder, value in
            try decoder.wordTiming(value)
        }
        return audio
    }

    mutating func wordTiming(_ value: JSONValue) throws -> WordTiming {
        // genblaze builds these with WordTiming(**item): strict bounds even on a tolerant load.
        guard case .object(let object) = value else {
            throw ManifestError(
                .validation,
                kind: "TypeError",
                "genblaze_core.models.asset.WordTiming() argument after ** must be a mapping, not "
                    + pythonTypeName(value)
            )
        }
        guard let wordValue = object["word"] else { throw error("Field required", at: "word") }
        guard let startValue = object["start"] else { throw error("Field required", at: "start") }
        guard let endValue = object["end"] else { throw error("Field required", at: "end") }
        let word = try requiredString(wordValue, "word", hashed: true)
        guard let start = try number(startValue, "start", optional: false),
            let end = try number(endValue, "end", optional: false)
        else { throw error("Input should be a valid number") }
        let confidence = try number(object["confidence"], "confidence", optional: true)
        for (name, number) in [("start", start), ("end", end)] {
            guard number.isFinite else { throw error("Input should be a finite number", at: name) }
            guard number >= 0 else { throw error("Input should be greater than or equal to 0", at: name) }
        }
        if let confidence {
            guard confidence.isFinite else { throw error("Input should be a finite number", at: "confidence") }
            guard confidence >= 0 else {
                throw error("Input should be greater than or equal to 0", at: "confidence")
            }
            guard confidence <= 1 else { throw error("Input should be less than or equal to 1", at: "confidence") }
        }
        guard end >= start else {
            throw error(
                "Value error, WordTiming.end (\(FloatFormatting.pythonRepr(end))) must be >= start "
                    + "(\(FloatFormatting.pythonRepr(start)))"
            )
        }
        return WordTiming(word: word, start: start, end: end, confidence: confidence)
    }

    // MARK: Field coercions (pydantic lax mode)

    func model(_ value: JSONValue, _ name: String, _ keys: ModelKeys) throws -> ModelFields {
        guard case .object(let object) = value else {
            throw error("Input should be a valid dictionary or instance of \(name)")
        }
        return ModelFields(object, keys: keys)
    }

    mutating func list<T>(
        _ value: JSONValue?,
        _ key: String,
        optional: Bool,
        _ element: (inout ManifestDecoder, JSONValue) throws -> T
    ) throws -> [T]? {
        guard let value else { return nil }
        if value.isNull {
            if optional { return nil }
            throw error("Input should be a valid list", at: key)
        }
        guard case .array(let elements) = value else { throw error("Input should be a valid list", at: key) }
        path.append(key)
        defer { path.removeLast() }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for (index, item) in elements.enumerated() {
            path.append(String(index))
            result.append(try element(&self, item))
            path.removeLast()
        }
        return result
    }

    func dictionary(_ value: JSONValue?, _ key: String) throws -> JSONObject? {
        guard let value else { return nil }
        guard case .object(let object) = value else { throw error("Input should be a valid dictionary", at: key) }
        return object
    }

    /// A string field; `nil` when absent (the caller applies the default) or null and optional.
    mutating func string(
        _ value: JSONValue?,
        _ key: String,
        hashed: Bool,
        optional: Bool = false
    ) throws -> String? {
        guard let value else { return nil }
        if value.isNull {
            if optional { return nil }
            throw error("Input should be a valid string", at: key)
        }
        return try requiredString(value, key, hashed: hashed)
    }

    mutating func requiredString(_ value: JSONValue, _ key: String?, hashed: Bool) throws -> String {
        switch value {
        case .string(let text):
            return text
        case .unpairedSurrogateString(let units):
            if unencodableField == nil || (hashed && unencodableField?.hashed == false) {
                unencodableField = ((key.map { path + [$0] } ?? path).joined(separator: "."), hashed)
            }
            return String(decoding: units, as: UTF16.self)
        default:
            throw error("Input should be a valid string", at: key)
        }
    }

    func enumeration<E: RawRepresentable>(
        _ value: JSONValue?,
        _ key: String,
        optional: Bool = false
    ) throws -> E? where E.RawValue == String {
        guard let value else { return nil }
        if optional && value.isNull { return nil }
        if case .string(let text) = value, let result = E(rawValue: text) { return result }
        throw error("Input should be a valid enumeration member", at: key)
    }

    func boolean(_ value: JSONValue?, _ key: String) throws -> Bool? {
        guard let value else { return nil }
        switch value {
        case .null: return nil
        case .bool(let flag): return flag
        case .integer(let integer):
            if integer.int == 0 { return false }
            if integer.int == 1 { return true }
        case .float(let number):
            if number == 0 { return false }
            if number == 1 { return true }
        case .string(let text):
            switch text.lowercased() {
            case "0", "off", "f", "false", "n", "no": return false
            case "1", "on", "t", "true", "y", "yes": return true
            default: break
            }
        default: break
        }
        throw error("Input should be a valid boolean", at: key)
    }

    func integer(_ value: JSONValue?, _ key: String, optional: Bool) throws -> JSONInteger? {
        guard let value else { return nil }
        switch value {
        case .null:
            if optional { return nil }
        case .integer(let integer):
            return integer
        case .bool(let flag):
            return JSONInteger(flag ? 1 : 0)
        case .float(let number):
            guard number.isFinite else { throw error("Input should be a finite number", at: key) }
            guard number.rounded(.towardZero) == number else {
                throw error("Input should be a valid integer, got a number with a fractional part", at: key)
            }
            guard number.magnitude < 9.223_372_036_854_775_808e18 else {
                throw error("Unable to parse input string as an integer, exceeded maximum size", at: key)
            }
            return JSONInteger(Int(number))
        case .string(let text):
            if let integer = laxIntegerText(text) { return integer }
            throw error("Input should be a valid integer, unable to parse string as an integer", at: key)
        default:
            break
        }
        throw error("Input should be a valid integer", at: key)
    }

    func number(_ value: JSONValue?, _ key: String, optional: Bool) throws -> Double? {
        guard let value else { return nil }
        switch value {
        case .null:
            if optional { return nil }
        case .integer(let integer):
            return integer.doubleValue
        case .float(let number):
            return number
        case .bool(let flag):
            return flag ? 1 : 0
        case .string(let text):
            if let number = laxNumberText(text) { return number }
            throw error("Input should be a valid number, unable to parse string as a number", at: key)
        default:
            break
        }
        throw error("Input should be a valid number", at: key)
    }

    func timestamp(_ value: JSONValue?, _ key: String, optional: Bool) throws -> Timestamp? {
        guard let value else { return nil }
        switch value {
        case .null:
            if optional { return nil }
        case .integer(let integer):
            if let result = Timestamp(unixNumber: integer.doubleValue) { return result }
        case .float(let number):
            if let result = Timestamp(unixNumber: number) { return result }
        case .string(let text):
            if let result = Timestamp(isoText: text) { return result }
            if let number = Double(text), let result = Timestamp(unixNumber: number) { return result }
        default:
            break
        }
        throw error("Input should be a valid datetime", at: key)
    }
}

/// pydantic's integer-from-string: trimmed, optional sign, digits with single underscores, optional `.0...`.
func laxIntegerText(_ text: String) -> JSONInteger? {
    var bytes = Array(text.utf8)[...]
    while let first = bytes.first, isASCIISpace(first) { bytes.removeFirst() }
    while let last = bytes.last, isASCIISpace(last) { bytes.removeLast() }
    var negative = false
    if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
        negative = first == UInt8(ascii: "-")
        bytes.removeFirst()
    }
    if let dot = bytes.firstIndex(of: UInt8(ascii: ".")) {
        let fraction = bytes[(dot + 1)...]
        guard !fraction.isEmpty, fraction.allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
        bytes = bytes[..<dot]
    }
    guard let digits = digitsRemovingUnderscores(bytes) else { return nil }
    return JSONInteger(negative: negative, digits: digits[...])
}

/// pydantic's float-from-string: trimmed, decimal or `inf`/`nan` forms, single underscores between digits.
func laxNumberText(_ text: String) -> Double? {
    var bytes = Array(text.utf8)[...]
    while let first = bytes.first, isASCIISpace(first) { bytes.removeFirst() }
    while let last = bytes.last, isASCIISpace(last) { bytes.removeLast() }
    guard !bytes.isEmpty else { return nil }
    var cleaned: [UInt8] = []
    for (offset, byte) in zip(bytes.indices, bytes) {
        if byte == UInt8(ascii: "_") {
            let before = offset > bytes.startIndex ? bytes[offset - 1] : 0
            let after = offset + 1 < bytes.endIndex ? bytes[offset + 1] : 0
            guard isDigit(before), isDigit(after) else { return nil }
            continue
        }
        cleaned.append(byte)
    }
    let body = String(decoding: cleaned, as: UTF8.self)
    let lower = body.lowercased()
    for special in ["inf", "infinity", "nan"] {
        if lower == special || lower == "+" + special { return special == "nan" ? .nan : .infinity }
        if lower == "-" + special { return special == "nan" ? .nan : -.infinity }
    }
    // Only plain decimal forms: no hex, no payloads.
    guard
        cleaned.allSatisfy({
            isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
                || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
        })
    else { return nil }
    return Double(body)
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

private func isASCIISpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
}

private func digitsRemovingUnderscores(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
    guard let first = bytes.first, isDigit(first), let last = bytes.last, isDigit(last) else { return nil }
    var digits: [UInt8] = []
    var previousUnderscore = false
    for byte in bytes {
        if byte == UInt8(ascii: "_") {
            if previousUnderscore { return nil }
            previousUnderscore = true
            continue
        }
        guard isDigit(byte) else { return nil }
        previousUnderscore = false
        digits.append(byte)
    }
    return digits
}

extension Timestamp {
    /// A Unix time in seconds (or milliseconds when its magnitude exceeds 2e10, as pydantic decides), in UTC.
    init?(unixNumber: Double) {
        guard unixNumber.isFinite else { return nil }
        let seconds = unixNumber.magnitude > 2e10 ? unixNumber / 1000 : unixNumber
        let micro = (seconds * 1_000_000).rounded()
        guard micro.magnitude < 2.5e17 else { return nil }
        self.init(unixMicroseconds: Int64(micro))
    }

    /// Parses ISO 8601 text as pydantic accepts it: `YYYY-MM-DD`, optionally `T`/`t`/space and
    /// `HH:MM[:SS[.ffffff]]`, and an optional `Z`/`z`/`±HH:MM`/`±HHMM`/`±HH` offset (none: a naive time).
    ///
    /// Returns nil for anything else.
    public init?(isoText text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
            let day = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year, month), year >= 1 else { return nil }
        if index == bytes.count {
            self.init(year: year, month: month, day: day, utcOffsetSeconds: nil)
            return
        }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " "), UInt8(ascii: "_")].contains(bytes[index])
        else { return nil }
        index += 1
        guard let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2), hour < 24, minute < 60 else {
            return nil
        }
        var second = 0
        var microsecond = 0
        if expect(UInt8(ascii: ":")) {
            guard let parsed = number(2), parsed < 60 else { return nil }
            second = parsed
            if index < bytes.count && (bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",")) {
                index += 1
                var digits = 0
                var fraction = 0
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                    if digits < 6 { fraction = fraction * 10 + Int(bytes[index] - 0x30) }
                    digits += 1
                    index += 1
                }
                guard digits >= 1 else { return nil }
                for _ in digits..<max(6, digits) where digits < 6 { fraction *= 10 }
                microsecond = fraction
            }
        }
        var offset: Int? = nil
        if index < bytes.count {
            if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
                index += 1
                offset = 0
            } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard let hours = number(2) else { return nil }
                var minutes = 0
                if index < bytes.count {
                    _ = expect(UInt8(ascii: ":"))
                    guard let parsed = number(2) else { return nil }
                    minutes = parsed
                }
                guard hours < 24, minutes < 60 else { return nil }
                offset = sign * (hours * 3600 + minutes * 60)
            } else {
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        self.init(
            year: year,
            month: month,
            day: day,
            hour: hour,
            minute: minute,
            second: second,
            microsecond: microsecond,
            utcOffsetSeconds: offset
        )
    }
}

private func daysInMonth(_ year: Int, _ month: Int) -> Int {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
}
