extension Manifest {
    /// Reads a manifest file's bytes with genblaze's rules (`json.loads` then `parse_manifest`).
    ///
    /// Defaults are filled, typed fields are coerced as pydantic's lax mode does, unknown keys are dropped (a step's
    /// unknown key is an error), and the original `schema_version` is kept so the hash can be reproduced. The model
    /// is built straight from the checked bytes: a field's text is copied out once, when its value is built.
    ///
    /// - Parameter bytes: The file's bytes (strict UTF-8 JSON, no byte order mark).
    /// - Returns: The manifest, with the stored (not recomputed) ``canonicalHash``.
    /// - Throws: ``ManifestError`` (its ``ManifestError/underlying`` is a ``JSONReadError`` for malformed JSON).
    public static func parse(_ bytes: some Collection<UInt8>) throws -> Manifest {
        try withTape(bytes) { tape in try Manifest(tape: tape) }
    }

    /// Builds a manifest from an already-parsed JSON value with genblaze's `parse_manifest` rules.
    ///
    /// - Throws: ``ManifestError``.
    public init(json value: JSONValue) throws {
        let text: [UInt8]
        do {
            text = try value.jsonText()
        } catch let error as JSONReadError {
            throw ManifestError(.invalidJSON, kind: "JSONDecodeError", error.description, underlying: error)
        }
        self = try Manifest.parse(text)
    }

    /// Reads `bytes` into a tape (a `JSONDecodeError` becomes a ``ManifestError``) and calls `body` with it.
    static func withTape<Result>(
        _ bytes: some Collection<UInt8>,
        _ body: (JSONTape) throws -> Result
    ) throws
        -> Result
    {
        do {
            return try JSONTape.parse(bytes, body)
        } catch let error as JSONReadError {
            throw ManifestError(.invalidJSON, kind: "JSONDecodeError", error.description, underlying: error)
        }
    }

    /// The most JSON values (tape nodes) a manifest may hold: model fields keep node indices in 32 bits. That is
    /// about 2 GB of JSON text, far beyond any manifest.
    static let maxValues = Int(Int32.max) - 1

    /// Builds a manifest from the root node of a tape with genblaze's `parse_manifest` rules.
    init(tape: JSONTape, maxValues: Int = Manifest.maxValues) throws {
        guard tape.nodes.count <= maxValues else {
            throw ManifestError(
                .validation,
                kind: "ManifestError",
                "manifest has \(tape.nodes.count) JSON values, more than this reader accepts (\(maxValues))"
            )
        }
        guard tape.kind(0) == .object else {
            throw ManifestError(
                .notAnObject,
                kind: "ManifestError",
                "manifest must be a JSON object, got \(pythonTypeName(tape.kind(0))) — check that the file contains "
                    + "a single manifest, not a list or scalar"
            )
        }
        let object = ModelFields<ManifestKey>(tape, object: 0)
        if object[.run] == nil, object[.manifestUri] != nil {
            throw ManifestError(
                .pointerSidecar,
                kind: "PointerSidecarError",
                "this is a pointer sidecar (manifest_uri without run); fetch the full manifest from manifest_uri"
            )
        }
        var version = SchemaVersion.v1_0
        if let raw = object[.schemaVersion], isTruthy(tape, raw) {
            guard tape.kind(raw) == .string, let known = SchemaVersion(rawValue: tape.text(raw)) else {
                throw ManifestError(
                    .unsupportedSchemaVersion,
                    kind: "UnsupportedSchemaVersionError",
                    "Unsupported schema_version \(pythonRepr(tape.value(raw))); this reader supports "
                        + SchemaVersion.allCases.map(\.rawValue).joined(separator: ", ")
                        + ". Upgrade genblaze-core before reading manifests emitted with newer schema versions."
                )
            }
            version = known
        }
        var decoder = ManifestDecoder(version: version, tape: tape)
        self = try decoder.manifest(object)
        self.unencodableField = decoder.unencodableField
        if (encryptionScheme ?? "").isEmpty
            && run.steps.indices.contains(where: { run.steps[$0].promptVisibility == .encrypted })
        {
            throw ManifestError(
                .encryptionSchemeMissing,
                kind: "ManifestError",
                "prompt_visibility='encrypted' requires encryption_scheme to be set"
            )
        }
    }
}

/// Python truthiness of a JSON value (for `data.get("schema_version") or "1.0"`).
private func isTruthy(_ tape: JSONTape, _ node: Int) -> Bool {
    switch tape.kind(node) {
    case .null, .isFalse: false
    case .isTrue, .nan, .infinity, .negativeInfinity: true
    case .integer: tape.body(node).contains { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }
    case .float: tape.double(node) != 0
    case .string: !tape.body(node).isEmpty
    case .array, .object: tape.count(node) > 0
    }
}

private func pythonTypeName(_ kind: JSONTape.Kind) -> String {
    switch kind {
    case .null: "NoneType"
    case .isTrue, .isFalse: "bool"
    case .integer: "int"
    case .float, .nan, .infinity, .negativeInfinity: "float"
    case .string: "str"
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

/// Decodes the nodes of a tape into the model with pydantic lax coercions, tracking the field path for messages.
///
/// Fields are node indices into ``tape``; nil means the key is absent.
struct ManifestDecoder {
    let version: SchemaVersion
    let tape: JSONTape
    var path: [String] = []
    var unencodableField: (path: String, hashed: Bool)?

    init(version: SchemaVersion, tape: JSONTape) {
        self.version = version
        self.tape = tape
        path.reserveCapacity(8)
    }

    func error(_ message: String, at key: String? = nil) -> ManifestError {
        .validation(key.map { path + [$0] } ?? path, message)
    }

    // MARK: Models

    mutating func manifest(_ object: ModelFields<ManifestKey>) throws -> Manifest {
        guard let runValue = object[.run] else { throw error("Field required", at: "run") }
        path.append("run")
        let run = try self.run(runValue)
        path.removeLast()
        return Manifest(
            schemaVersion: version.rawValue,
            run: run,
            canonicalHash: try string(object[.canonicalHash], "canonical_hash", hashed: false) ?? "",
            manifestURI: try string(object[.manifestUri], "manifest_uri", hashed: false, optional: true),
            encryptionScheme: try string(
                object[.encryptionScheme],
                "encryption_scheme",
                hashed: false,
                optional: true
            ),
            signature: try string(object[.signature], "signature", hashed: false, optional: true),
            transferFailures: try list(object[.transferFailures], "transfer_failures", optional: false) {
                decoder,
                value in
                try decoder.requiredString(value, nil, hashed: false)
            } ?? []
        )
    }

    mutating func run(_ value: Int) throws -> Run {
        let object = try model(value, "Run", RunKey.self)
        let legacy = version.hashesIdentifiers
        let runID = try string(object[.runId], "run_id", hashed: legacy) ?? newIdentifier()
        let tenantID = try string(object[.tenantId], "tenant_id", hashed: true, optional: true)
        let projectID = try string(object[.projectId], "project_id", hashed: true, optional: true)
        let name = try string(object[.name], "name", hashed: true, optional: true)
        let status = try enumeration(object[.status], "status") ?? RunStatus.pending
        let parentRunID = try string(object[.parentRunId], "parent_run_id", hashed: false, optional: true)
        let idempotencyKey = try string(object[.idempotencyKey], "idempotency_key", hashed: false, optional: true)
        let createdAt = try timestamp(object[.createdAt], "created_at", optional: false) ?? .now()
        let startedAt = try timestamp(object[.startedAt], "started_at", optional: true)
        let completedAt = try timestamp(object[.completedAt], "completed_at", optional: true)
        let metadata = try dictionary(object[.metadata], "metadata") ?? [:]
        let steps =
            try list(object[.steps], "steps", optional: false) { decoder, value in try decoder.step(value) } ?? []
        return Run(
            runID: runID,
            tenantID: tenantID,
            projectID: projectID,
            name: name,
            status: status,
            steps: steps,
            parentRunID: parentRunID,
            idempotencyKey: idempotencyKey,
            createdAt: createdAt,
            startedAt: startedAt,
            completedAt: completedAt,
            metadata: metadata
        )
    }

    mutating func step(_ value: Int) throws -> Step {
        let object = try model(value, "Step", StepKey.self)
        if let key = object.firstUnknownKey { throw error("Extra inputs are not permitted", at: tape.text(key)) }
        let legacy = version.hashesIdentifiers
        guard let modelValue = object[.model] else { throw error("Field required", at: "model") }
        // Fields are read in genblaze's order (the first bad one is reported), and the step is built once.
        let stepID = try string(object[.stepId], "step_id", hashed: legacy) ?? newIdentifier()
        let runID = try string(object[.runId], "run_id", hashed: legacy, optional: true)
        let provider = try string(object[.provider], "provider", hashed: true, optional: true)
        let model = try requiredString(modelValue, "model", hashed: true)
        let stepType = try enumeration(object[.stepType], "step_type") ?? StepType.generate
        let modelVersion = try string(object[.modelVersion], "model_version", hashed: true, optional: true)
        let modelHash = try string(object[.modelHash], "model_hash", hashed: true, optional: true)
        let modality = try enumeration(object[.modality], "modality") ?? Modality.image
        let prompt = try string(object[.prompt], "prompt", hashed: true, optional: true)
        let negativePrompt = try string(object[.negativePrompt], "negative_prompt", hashed: true, optional: true)
        let promptVisibility =
            try enumeration(object[.promptVisibility], "prompt_visibility") ?? PromptVisibility.public
        let seed = try integer(object[.seed], "seed", optional: true)
        let params = try dictionary(object[.params], "params") ?? [:]
        let status = try enumeration(object[.status], "status") ?? StepStatus.pending
        let providerPayload = try dictionary(object[.providerPayload], "provider_payload") ?? [:]
        let retries = try integer(object[.retries], "retries", optional: false) ?? 0
        let costUSD = try number(object[.costUsd], "cost_usd", optional: true)
        let errorText = try string(object[.error], "error", hashed: false, optional: true)
        let errorCode: ProviderErrorCode? = try enumeration(object[.errorCode], "error_code", optional: true)
        let startedAt = try timestamp(object[.startedAt], "started_at", optional: true)
        let completedAt = try timestamp(object[.completedAt], "completed_at", optional: true)
        let stepIndex = try integer(object[.stepIndex], "step_index", optional: true)
        let metadata = try dictionary(object[.metadata], "metadata") ?? [:]
        let inputs =
            try list(object[.inputs], "inputs", optional: false) { decoder, value in try decoder.asset(value) } ?? []
        let assets =
            try list(object[.assets], "assets", optional: false) { decoder, value in try decoder.asset(value) } ?? []
        if provider == nil && stepType != .ingest && stepType != .import {
            throw error(
                "Value error, Step.provider is required when step_type='\(stepType.rawValue)'; only "
                    + "['import', 'ingest'] step types may have provider=None."
            )
        }
        return Step(
            stepID: stepID,
            runID: runID,
            provider: provider,
            model: model,
            stepType: stepType,
            modelVersion: modelVersion,
            modelHash: modelHash,
            modality: modality,
            prompt: prompt,
            negativePrompt: negativePrompt,
            promptVisibility: promptVisibility,
            seed: seed,
            params: params,
            status: status,
            inputs: inputs,
            assets: assets,
            providerPayload: providerPayload,
            retries: retries,
            costUSD: costUSD,
            error: errorText,
            errorCode: errorCode,
            startedAt: startedAt,
            completedAt: completedAt,
            stepIndex: stepIndex,
            metadata: metadata
        )
    }

    mutating func asset(_ value: Int) throws -> Asset {
        let object = try model(value, "Asset", AssetKey.self)
        let legacy = version.hashesIdentifiers
        guard let urlValue = object[.url] else { throw error("Field required", at: "url") }
        guard let mediaTypeValue = object[.mediaType] else { throw error("Field required", at: "media_type") }
        let url = try requiredString(urlValue, "url", hashed: legacy || version.marksURLOnlyAssets)
        let sizeBytes = try integer(object[.sizeBytes], "size_bytes", optional: true)
        if let sizeBytes, sizeBytes.isNegative {
            throw error("Input should be greater than or equal to 0", at: "size_bytes")
        }
        // Fields are read in genblaze's order (the first bad one is reported), and the asset is built once.
        let assetID = try string(object[.assetId], "asset_id", hashed: legacy) ?? newIdentifier()
        let mediaType = try requiredString(mediaTypeValue, "media_type", hashed: true)
        let sha256 = try string(object[.sha256], "sha256", hashed: true, optional: true)
        let width = try integer(object[.width], "width", optional: true)
        let height = try integer(object[.height], "height", optional: true)
        let duration = try number(object[.duration], "duration", optional: true)
        let metadata = try dictionary(object[.metadata], "metadata") ?? [:]
        var video: VideoMetadata? = nil
        if let videoValue = object[.video], !tape.isNull(videoValue) {
            path.append("video")
            video = try self.video(videoValue)
            path.removeLast()
        }
        var audio: AudioMetadata? = nil
        if let audioValue = object[.audio], !tape.isNull(audioValue) {
            path.append("audio")
            audio = try self.audio(audioValue)
            path.removeLast()
        }
        let tracks = try list(object[.tracks], "tracks", optional: true) { decoder, value in
            let track = try decoder.model(value, "Track", TrackKey.self)
            guard let kind = track[.kind] else { throw decoder.error("Field required", at: "kind") }
            return Track(
                kind: try decoder.requiredString(kind, "kind", hashed: true),
                codec: try decoder.string(track[.codec], "codec", hashed: true, optional: true),
                label: try decoder.string(track[.label], "label", hashed: true, optional: true)
            )
        }
        return Asset(
            assetID: assetID,
            url: url,
            mediaType: mediaType,
            sha256: sha256,
            sizeBytes: sizeBytes,
            width: width,
            height: height,
            duration: duration,
            video: video,
            audio: audio,
            tracks: tracks,
            metadata: metadata
        )
    }

    mutating func video(_ value: Int) throws -> VideoMetadata {
        let object = try model(value, "VideoMetadata", VideoKey.self)
        return VideoMetadata(
            frameRate: try number(object[.frameRate], "frame_rate", optional: true),
            codec: try string(object[.codec], "codec", hashed: true, optional: true),
            bitrate: try integer(object[.bitrate], "bitrate", optional: true),
            colorSpace: try string(object[.colorSpace], "color_space", hashed: true, optional: true),
            hasAudio: try boolean(object[.hasAudio], "has_audio"),
            resolution: try string(object[.resolution], "resolution", hashed: true, optional: true)
        )
    }

    mutating func audio(_ value: Int) throws -> AudioMetadata {
        let object = try model(value, "AudioMetadata", AudioKey.self)
        var audio = AudioMetadata(
            sampleRate: try integer(object[.sampleRate], "sample_rate", optional: true),
            channels: try integer(object[.channels], "channels", optional: true),
            codec: try string(object[.codec], "codec", hashed: true, optional: true),
            bitrate: try integer(object[.bitrate], "bitrate", optional: true)
        )
        audio.wordTimings = try list(object[.wordTimings], "word_timings", optional: true) { decoder, value in
            try decoder.wordTiming(value)
        }
        return audio
    }

    mutating func wordTiming(_ value: Int) throws -> WordTiming {
        // genblaze builds these with WordTiming(**item): strict bounds even on a tolerant load.
        guard tape.kind(value) == .object else {
            throw ManifestError(
                .validation,
                kind: "TypeError",
                "genblaze_core.models.asset.WordTiming() argument after ** must be a mapping, not "
                    + pythonTypeName(tape.kind(value))
            )
        }
        let object = ModelFields<WordTimingKey>(tape, object: value)
        guard let wordValue = object[.word] else { throw error("Field required", at: "word") }
        guard let startValue = object[.start] else { throw error("Field required", at: "start") }
        guard let endValue = object[.end] else { throw error("Field required", at: "end") }
        let word = try requiredString(wordValue, "word", hashed: true)
        guard let start = try number(startValue, "start", optional: false),
            let end = try number(endValue, "end", optional: false)
        else { throw error("Input should be a valid number") }
        let confidence = try number(object[.confidence], "confidence", optional: true)
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

    func model<Key: ModelKey>(_ value: Int, _ name: String, _ keys: Key.Type) throws -> ModelFields<Key> {
        guard tape.kind(value) == .object else {
            throw error("Input should be a valid dictionary or instance of \(name)")
        }
        return ModelFields(tape, object: value)
    }

    mutating func list<T>(
        _ value: Int?,
        _ key: String,
        optional: Bool,
        _ element: (inout ManifestDecoder, Int) throws -> T
    ) throws -> [T]? {
        guard let value else { return nil }
        if tape.isNull(value) {
            if optional { return nil }
            throw error("Input should be a valid list", at: key)
        }
        guard tape.kind(value) == .array else { throw error("Input should be a valid list", at: key) }
        path.append(key)
        defer { path.removeLast() }
        var result: [T] = []
        result.reserveCapacity(tape.count(value))
        var child = value + 1
        var index = 0
        while index < tape.count(value) {
            path.append(String(index))
            result.append(try element(&self, child))
            path.removeLast()
            child = tape.next(after: child)
            index += 1
        }
        return result
    }

    func dictionary(_ value: Int?, _ key: String) throws -> JSONObject? {
        guard let value else { return nil }
        guard tape.kind(value) == .object else { throw error("Input should be a valid dictionary", at: key) }
        return tape.object(value)
    }

    /// A string field; `nil` when absent (the caller applies the default) or null and optional.
    mutating func string(
        _ value: Int?,
        _ key: String,
        hashed: Bool,
        optional: Bool = false
    ) throws -> String? {
        guard let value else { return nil }
        if tape.isNull(value) {
            if optional { return nil }
            throw error("Input should be a valid string", at: key)
        }
        return try requiredString(value, key, hashed: hashed)
    }

    mutating func requiredString(_ value: Int, _ key: String?, hashed: Bool) throws -> String {
        guard tape.kind(value) == .string else { throw error("Input should be a valid string", at: key) }
        if !tape.nodes[value].escaped { return String(decoding: tape.body(value), as: UTF8.self) }
        switch tape.stringValue(value) {
        case .unpairedSurrogateString(let units):
            if unencodableField == nil || (hashed && unencodableField?.hashed == false) {
                unencodableField = ((key.map { path + [$0] } ?? path).joined(separator: "."), hashed)
            }
            return String(decoding: units, as: UTF16.self)
        case let decoded:
            return decoded.stringValue ?? ""
        }
    }

    /// The text of a string node, or nil for any other kind.
    func text(_ value: Int) -> String? {
        tape.kind(value) == .string ? tape.text(value) : nil
    }

    func enumeration<E: RawRepresentable>(
        _ value: Int?,
        _ key: String,
        optional: Bool = false
    ) throws -> E? where E.RawValue == String {
        guard let value else { return nil }
        if optional && tape.isNull(value) { return nil }
        if let text = text(value), let result = E(rawValue: text) { return result }
        throw error("Input should be a valid enumeration member", at: key)
    }

    func boolean(_ value: Int?, _ key: String) throws -> Bool? {
        guard let value else { return nil }
        switch tape.kind(value) {
        case .null: return nil
        case .isTrue: return true
        case .isFalse: return false
        case .integer:
            let integer = tape.integer(value)
            if integer.int == 0 { return false }
            if integer.int == 1 { return true }
        case .float:
            let number = tape.double(value)
            if number == 0 { return false }
            if number == 1 { return true }
        case .string:
            switch tape.text(value).lowercased() {
            case "0", "off", "f", "false", "n", "no": return false
            case "1", "on", "t", "true", "y", "yes": return true
            default: break
            }
        default: break
        }
        throw error("Input should be a valid boolean", at: key)
    }

    func integer(_ value: Int?, _ key: String, optional: Bool) throws -> JSONInteger? {
        guard let value else { return nil }
        switch tape.kind(value) {
        case .null:
            if optional { return nil }
        case .integer:
            return tape.integer(value)
        case .isTrue:
            return JSONInteger(1)
        case .isFalse:
            return JSONInteger(0)
        case .float, .nan, .infinity, .negativeInfinity:
            let number = tape.double(value)
            guard number.isFinite else { throw error("Input should be a finite number", at: key) }
            guard number.rounded(.towardZero) == number else {
                throw error("Input should be a valid integer, got a number with a fractional part", at: key)
            }
            guard number.magnitude < 9.223_372_036_854_775_808e18 else {
                throw error("Unable to parse input string as an integer, exceeded maximum size", at: key)
            }
            return JSONInteger(Int(number))
        case .string:
            if let integer = laxIntegerText(tape.text(value)) { return integer }
            throw error("Input should be a valid integer, unable to parse string as an integer", at: key)
        default:
            break
        }
        throw error("Input should be a valid integer", at: key)
    }

    func number(_ value: Int?, _ key: String, optional: Bool) throws -> Double? {
        guard let value else { return nil }
        switch tape.kind(value) {
        case .null:
            if optional { return nil }
        case .integer, .float, .nan, .infinity, .negativeInfinity:
            return tape.double(value)
        case .isTrue:
            return 1
        case .isFalse:
            return 0
        case .string:
            if let number = laxNumberText(tape.text(value)) { return number }
            throw error("Input should be a valid number, unable to parse string as a number", at: key)
        default:
            break
        }
        throw error("Input should be a valid number", at: key)
    }

    func timestamp(_ value: Int?, _ key: String, optional: Bool) throws -> Timestamp? {
        guard let value else { return nil }
        switch tape.kind(value) {
        case .null:
            if optional { return nil }
        case .integer, .float, .nan, .infinity, .negativeInfinity:
            if let result = Timestamp(unixNumber: tape.double(value)) { return result }
        case .string:
            if !tape.nodes[value].escaped, let result = Timestamp(isoBytes: tape.body(value)) { return result }
            let text = tape.text(value)
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
        var text = text
        guard let value = text.withUTF8({ Timestamp(isoBytes: $0) }) else { return nil }
        self = value
    }

    /// ``init(isoText:)`` over the text's UTF-8 bytes.
    init?(isoBytes bytes: UnsafeBufferPointer<UInt8>) {
        var index = 0
        @inline(__always) func number(_ count: Int) -> Int? {
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
        @inline(__always) func expect(_ byte: UInt8) -> Bool {
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
        switch bytes[index] {
        case UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " "), UInt8(ascii: "_"): break
        default: return nil
        }
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

/// The keys genblaze's `Manifest` model reads, in code point order (the order canonical JSON writes them).
enum ManifestKey: Int, ModelKey {
    case canonicalHash, encryptionScheme, manifestUri, run, schemaVersion, signature, transferFailures
    static let table = ModelKeys([
        "canonical_hash", "encryption_scheme", "manifest_uri", "run", "schema_version", "signature",
        "transfer_failures",
    ])
}

/// The keys genblaze's `Run` model reads, in code point order (the order canonical JSON writes them).
enum RunKey: Int, ModelKey {
    case completedAt, createdAt, idempotencyKey, metadata, name, parentRunId, projectId, runId, startedAt, status,
        steps, tenantId
    static let table = ModelKeys([
        "completed_at", "created_at", "idempotency_key", "metadata", "name", "parent_run_id", "project_id", "run_id",
        "started_at", "status", "steps", "tenant_id",
    ])
}

/// The keys genblaze's `Step` model reads, in code point order (the order canonical JSON writes them).
enum StepKey: Int, ModelKey {
    case assets, completedAt, costUsd, error, errorCode, inputs, metadata, modality, model, modelHash, modelVersion,
        negativePrompt, params, prompt, promptVisibility, provider, providerPayload, retries, runId, seed, startedAt,
        status, stepId, stepIndex, stepType
    static let table = ModelKeys([
        "assets", "completed_at", "cost_usd", "error", "error_code", "inputs", "metadata", "modality", "model",
        "model_hash", "model_version", "negative_prompt", "params", "prompt", "prompt_visibility", "provider",
        "provider_payload", "retries", "run_id", "seed", "started_at", "status", "step_id", "step_index", "step_type",
    ])
}

/// The keys genblaze's `Asset` model reads, in code point order (the order canonical JSON writes them).
enum AssetKey: Int, ModelKey {
    case assetId, audio, duration, height, mediaType, metadata, sha256, sizeBytes, tracks, url, video, width
    static let table = ModelKeys([
        "asset_id", "audio", "duration", "height", "media_type", "metadata", "sha256", "size_bytes", "tracks", "url",
        "video", "width",
    ])
}

/// The keys genblaze's `Track` model reads, in code point order (the order canonical JSON writes them).
enum TrackKey: Int, ModelKey {
    case codec, kind, label
    static let table = ModelKeys(["codec", "kind", "label"])
}

/// The keys genblaze's `VideoMetadata` model reads, in code point order (the order canonical JSON writes them).
enum VideoKey: Int, ModelKey {
    case bitrate, codec, colorSpace, frameRate, hasAudio, resolution
    static let table = ModelKeys(["bitrate", "codec", "color_space", "frame_rate", "has_audio", "resolution"])
}

/// The keys genblaze's `AudioMetadata` model reads, in code point order (the order canonical JSON writes them).
enum AudioKey: Int, ModelKey {
    case bitrate, channels, codec, sampleRate, wordTimings
    static let table = ModelKeys(["bitrate", "channels", "codec", "sample_rate", "word_timings"])
}

/// The keys genblaze's `WordTiming` model reads, in code point order (the order canonical JSON writes them).
enum WordTimingKey: Int, ModelKey {
    case confidence, end, start, word
    static let table = ModelKeys(["confidence", "end", "start", "word"])
}
