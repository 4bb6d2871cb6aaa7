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
        let values = try fields(object, ManifestKey.schema)
        return Manifest(
            schemaVersion: version.rawValue,
            run: values.nested(.run)!,
            canonicalHash: values.string(.canonicalHash)!,
            manifestURI: values.string(.manifestUri),
            encryptionScheme: values.string(.encryptionScheme),
            signature: values.string(.signature),
            transferFailures: values.nested(.transferFailures)!
        )
    }

    mutating func run(_ value: Int) throws -> Run {
        let values = try fields(try model(value, "Run", RunKey.self), RunKey.schema)
        return Run(
            runID: values.string(.runId)!,
            tenantID: values.string(.tenantId),
            projectID: values.string(.projectId),
            name: values.string(.name),
            status: values.member(.status)!,
            steps: values.nested(.steps)!,
            parentRunID: values.string(.parentRunId),
            idempotencyKey: values.string(.idempotencyKey),
            createdAt: values.timestamp(.createdAt)!,
            startedAt: values.timestamp(.startedAt),
            completedAt: values.timestamp(.completedAt),
            metadata: values.dictionary(.metadata)!
        )
    }

    mutating func step(_ value: Int) throws -> Step {
        let object = try model(value, "Step", StepKey.self)
        if let key = object.firstUnknownKey { throw error("Extra inputs are not permitted", at: tape.text(key)) }
        let values = try fields(object, StepKey.schema)
        let step = Step(
            stepID: values.string(.stepId)!,
            runID: values.string(.runId),
            provider: values.string(.provider),
            model: values.string(.model)!,
            stepType: values.member(.stepType)!,
            modelVersion: values.string(.modelVersion),
            modelHash: values.string(.modelHash),
            modality: values.member(.modality)!,
            prompt: values.string(.prompt),
            negativePrompt: values.string(.negativePrompt),
            promptVisibility: values.member(.promptVisibility)!,
            seed: values.integer(.seed),
            params: values.dictionary(.params)!,
            status: values.member(.status)!,
            inputs: values.nested(.inputs)!,
            assets: values.nested(.assets)!,
            providerPayload: values.dictionary(.providerPayload)!,
            retries: values.integer(.retries)!,
            costUSD: values.number(.costUsd),
            error: values.string(.error),
            errorCode: values.member(.errorCode),
            startedAt: values.timestamp(.startedAt),
            completedAt: values.timestamp(.completedAt),
            stepIndex: values.integer(.stepIndex),
            metadata: values.dictionary(.metadata)!
        )
        if step.provider == nil && step.stepType != .ingest && step.stepType != .import {
            throw error(
                "Value error, Step.provider is required when step_type='\(step.stepType.rawValue)'; only "
                    + "['import', 'ingest'] step types may have provider=None."
            )
        }
        return step
    }

    mutating func asset(_ value: Int) throws -> Asset {
        let values = try fields(try model(value, "Asset", AssetKey.self), AssetKey.schema)
        return Asset(
            assetID: values.string(.assetId)!,
            url: values.string(.url)!,
            mediaType: values.string(.mediaType)!,
            sha256: values.string(.sha256),
            sizeBytes: values.integer(.sizeBytes),
            width: values.integer(.width),
            height: values.integer(.height),
            duration: values.number(.duration),
            video: values.nested(.video),
            audio: values.nested(.audio),
            tracks: values.nested(.tracks),
            metadata: values.dictionary(.metadata)!
        )
    }

    mutating func track(_ value: Int) throws -> Track {
        let values = try fields(try model(value, "Track", TrackKey.self), TrackKey.schema)
        return Track(kind: values.string(.kind)!, codec: values.string(.codec), label: values.string(.label))
    }

    mutating func video(_ value: Int) throws -> VideoMetadata {
        let values = try fields(try model(value, "VideoMetadata", VideoKey.self), VideoKey.schema)
        return VideoMetadata(
            frameRate: values.number(.frameRate),
            codec: values.string(.codec),
            bitrate: values.integer(.bitrate),
            colorSpace: values.string(.colorSpace),
            hasAudio: values.bool(.hasAudio),
            resolution: values.string(.resolution)
        )
    }

    mutating func audio(_ value: Int) throws -> AudioMetadata {
        let values = try fields(try model(value, "AudioMetadata", AudioKey.self), AudioKey.schema)
        var audio = AudioMetadata(
            sampleRate: values.integer(.sampleRate),
            channels: values.integer(.channels),
            codec: values.string(.codec),
            bitrate: values.integer(.bitrate)
        )
        audio.wordTimings = values.nested(.wordTimings)
        return audio
    }

    // MARK: Fields by their table

    /// Reads an object's fields as its table says, in declaration order: first every missing required field is
    /// refused, then each field is read and checked (so the first bad one is the one reported, as in genblaze).
    mutating func fields<Key>(_ object: ModelFields<Key>, _ schema: ModelSchema<Key>) throws -> FieldValues<Key> {
        for field in schema.fields where field.absent.isRequired && object[field.key] == nil {
            throw error("Field required", at: schema.keys[field.key.rawValue])
        }
        var values = FieldValues<Key>()
        for field in schema.fields {
            values[field.key] = try value(of: field, key: schema.keys[field.key.rawValue], object[field.key])
        }
        return values
    }

    /// Whether a string field's text must be encodable (it is in this version's hash payload).
    private func isHashed(_ dump: FieldDump) -> Bool {
        switch dump {
        case .hashed: true
        case .identifier: version.hashesIdentifiers
        case .assetURL: version.hashesIdentifiers || version.marksURLOnlyAssets
        case .unhashed, .urlOnlyMarker: false
        }
    }

    /// One field's value: the node read with the field's type, or the field's default when `node` is nil.
    private mutating func value<Key>(of field: SchemaField<Key>, key: String, _ node: Int?) throws -> FieldValue {
        let nullable = field.absent.allowsNull
        switch field.type {
        case .string:
            if let text = try string(node, key, hashed: isHashed(field.dump), optional: nullable) {
                return .string(text)
            }
            return node == nil && field.absent.isEmpty ? .string("") : .none
        case .identifier:
            return .string(try string(node, key, hashed: isHashed(field.dump)) ?? newIdentifier())
        case .integer:
            guard let integer = try integer(node, key, optional: nullable) else {
                return node == nil && field.absent.isEmpty ? .integer(0) : .none
            }
            if field.rule == .nonNegative && integer.isNegative {
                throw error("Input should be greater than or equal to 0", at: key)
            }
            return .integer(integer)
        case .number:
            return try number(node, key, optional: nullable).map(FieldValue.number) ?? .none
        case .boolean:
            return try boolean(node, key).map(FieldValue.bool) ?? .none
        case .dictionary:
            return .dictionary(try dictionary(node, key) ?? [:])
        case .timestamp:
            if let timestamp = try timestamp(node, key, optional: nullable) { return .timestamp(timestamp) }
            return node == nil && field.absent.isNow ? .timestamp(.now()) : .none
        case .enumeration(let enumeration):
            switch enumeration {
            case .runStatus: return try member(RunStatus.self, field, key, node)
            case .stepStatus: return try member(StepStatus.self, field, key, node)
            case .stepType: return try member(StepType.self, field, key, node)
            case .modality: return try member(Modality.self, field, key, node)
            case .promptVisibility: return try member(PromptVisibility.self, field, key, node)
            case .providerErrorCode: return try member(ProviderErrorCode.self, field, key, node)
            }
        case .model(let kind):
            guard let node, !(nullable && tape.isNull(node)) else { return .none }
            path.append(key)
            defer { path.removeLast() }
            switch kind {
            case .run: return .nested(try run(node))
            case .video: return .nested(try video(node))
            case .audio: return .nested(try audio(node))
            case .step: return .nested(try step(node))
            case .asset: return .nested(try asset(node))
            case .track: return .nested(try track(node))
            case .wordTiming: return .nested(try wordTiming(node))
            }
        case .models(let kind):
            switch kind {
            case .run: return try models(field, key, node) { try $0.run($1) }
            case .step: return try models(field, key, node) { try $0.step($1) }
            case .asset: return try models(field, key, node) { try $0.asset($1) }
            case .track: return try models(field, key, node) { try $0.track($1) }
            case .video: return try models(field, key, node) { try $0.video($1) }
            case .audio: return try models(field, key, node) { try $0.audio($1) }
            case .wordTiming: return try models(field, key, node) { try $0.wordTiming($1) }
            }
        case .strings:
            let hashed = isHashed(field.dump)
            let strings = try list(node, key, optional: nullable) { decoder, value in
                try decoder.requiredString(value, nil, hashed: hashed)
            }
            return .nested(strings ?? [])
        case .schemaVersion, .computed:
            return .none
        }
    }

    /// A list field of model objects: each element read by `element`, or `[]` when absent and the field's default
    /// is empty.
    private mutating func models<Element: Sendable, Key>(
        _ field: SchemaField<Key>,
        _ key: String,
        _ node: Int?,
        _ element: (inout ManifestDecoder, Int) throws -> Element
    ) throws -> FieldValue {
        if let list = try list(node, key, optional: field.absent.allowsNull, element) { return .nested(list) }
        return node == nil && field.absent.isEmpty ? .nested([Element]()) : .none
    }

    /// An enumeration field: the member `node` names, or the field's default member.
    private func member<E: ByteMatchedEnumeration, Key>(
        _ type: E.Type,
        _ field: SchemaField<Key>,
        _ key: String,
        _ node: Int?
    ) throws -> FieldValue {
        if let value: E = try enumeration(node, key, optional: field.absent.allowsNull) {
            return .member(value)
        }
        if node == nil, let raw = field.absent.memberRawValue, let value = E(rawValue: raw) { return .member(value) }
        return .none
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
