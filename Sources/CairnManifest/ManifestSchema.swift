/// The manifest schema in one place: for each genblaze model, the keys it reads and one row per field (type, what
/// an absent value becomes, which dumps and hashes keep it, and the rule genblaze checks it against).
///
/// The decoder (`ManifestDecoding.swift`), the emitter (`ManifestEncoding.swift`) and the fast verifier
/// (`TapeVerification.swift`) all walk these tables; what is left in each model's code is only what cannot be a
/// row: the mapping between a row and the Swift property that holds its value, and the few rules that span fields.
/// Adding a field to a model is one case in its key enumeration (with its JSON name), one row, and the property.
/// `spec/manifest.md` documents the same tables.

/// Which dumps keep a field (genblaze's `model_dump` keeps every field; its hash payloads keep fewer).
enum FieldDump: Sendable, Equatable {
    /// Every dump and every hash payload.
    case hashed
    /// Full dumps, and the hash payloads of the schemas that hash identifiers (1.0 to 1.3).
    case identifier
    /// An asset's url: kept as an identifier; its text must also be encodable in schema 1.6, whose hash payload
    /// carries its canonical form when the asset has no valid sha256.
    case assetURL
    /// Full dumps only (run state, timing, cost and errors, parent links).
    case unhashed
    /// Not read from input: written only into a schema 1.6 hash payload, for an asset without a valid sha256.
    case urlOnlyMarker
}

/// A field's JSON type (pydantic lax coercions apply on the model path, spec/manifest.md).
enum FieldType: Sendable, Equatable {
    /// Text.
    case string
    /// Text that identifies (run, step, asset id): a new random identifier when absent.
    case identifier
    /// An integer (any size; integral floats convert).
    case integer
    /// A float (integers convert).
    case number
    /// A boolean.
    case boolean
    /// A free-form JSON object.
    case dictionary
    /// An ISO 8601 timestamp (never hashed).
    case timestamp
    /// A member of a string enumeration.
    case enumeration(SchemaEnumeration)
    /// A nested model object.
    case model(SchemaModelKind)
    /// A list of model objects.
    case models(SchemaModelKind)
    /// A list of strings.
    case strings
    /// The manifest's `schema_version`, which decides how everything else is read and hashed.
    case schemaVersion
    /// A value computed when written, never read (``FieldDump/urlOnlyMarker``).
    case computed
}

/// The string enumerations fields hold.
enum SchemaEnumeration: Sendable, Equatable {
    case runStatus, stepStatus, stepType, modality, promptVisibility, providerErrorCode
}

/// The models fields nest.
enum SchemaModelKind: Sendable, Equatable {
    case run, step, asset, track, video, audio, wordTiming
}

/// What a field is when its key is absent, and whether it may be `null`.
enum FieldDefault: Sendable {
    /// Absent is an error ("Field required"); `null` is refused.
    case required
    /// Absent or `null`: no value (`None`).
    case null
    /// Absent: the type's empty value (`""`, `0`, `{}`, `[]`); `null` is refused.
    case empty
    /// Absent: the enumeration member with this raw value; `null` is refused.
    case member(StaticString)
    /// Absent: a new random identifier; `null` is refused.
    case newIdentifier
    /// Absent: the current time; `null` is refused.
    case now

    /// Whether `null` is a value of the field.
    var allowsNull: Bool { if case .null = self { true } else { false } }
    /// Whether an absent key is an error.
    var isRequired: Bool { if case .required = self { true } else { false } }
    /// Whether an absent key is the type's empty value.
    var isEmpty: Bool { if case .empty = self { true } else { false } }
    /// Whether an absent key is the current time.
    var isNow: Bool { if case .now = self { true } else { false } }
    /// The raw value of the default member, if the default is one.
    var memberRawValue: String? { if case .member(let raw) = self { raw.description } else { nil } }
}

/// The rule genblaze checks a field's value against, beyond its type.
enum FieldRule: Sendable, Equatable {
    case none
    /// A validation error when negative (`size_bytes`).
    case nonNegative
    /// Out-of-spec metadata (genblaze's `is_valid_asset_metadata`) unless positive.
    case positive
    /// Out-of-spec metadata unless finite and not negative.
    case finiteNonNegative
    /// Out-of-spec metadata unless shaped like a MIME type (`type/subtype`).
    case mediaType
}

/// One field of a model: one row of its table (plain values only, so walking a table copies no references).
struct SchemaField<Key: ModelKey>: Sendable where Key: Sendable {
    let key: Key
    let type: FieldType
    let absent: FieldDefault
    let dump: FieldDump
    let rule: FieldRule
    /// The JSON key, as written.
    let name: StaticString
    /// `absent.allowsNull`, kept for the hot paths.
    let nullable: Bool
    /// Whether hash payloads keep the field: of schemas that hash identifiers, and of the others.
    private let hashedWithIdentifiers: Bool
    private let hashedWithoutIdentifiers: Bool

    init(_ key: Key, _ type: FieldType, _ absent: FieldDefault, _ dump: FieldDump, _ rule: FieldRule = .none) {
        self.key = key
        self.type = type
        self.absent = absent
        self.dump = dump
        self.rule = rule
        name = Key.table.names[key.rawValue]
        nullable = absent.allowsNull
        hashedWithIdentifiers = DumpMode.hash(.v1_0).keeps(dump)
        hashedWithoutIdentifiers = DumpMode.hash(.v1_5).keeps(dump)
    }

    /// Whether a hash payload in `mode` keeps the field (url-only markers excepted: the asset decides those).
    @inline(__always)
    func isHashed(in mode: DumpMode) -> Bool {
        mode.keepsIdentifiers ? hashedWithIdentifiers : hashedWithoutIdentifiers
    }
}

/// The value the decoder read for one field (``FieldValues``).
enum FieldValue {
    /// No value: absent or `null` in a field that allows it.
    case none
    case string(String)
    case integer(JSONInteger)
    case number(Double)
    case bool(Bool)
    case dictionary(JSONObject)
    case timestamp(Timestamp)
    case member(any ByteMatchedEnumeration)
    /// A model object, or a list of model objects or strings.
    case nested(any Sendable)
}

/// The values of one object's fields, by key; each model's decoder builds the model from them.
struct FieldValues<Key: ModelKey> {
    private var values: [FieldValue]

    init() {
        values = Array(repeating: .none, count: Key.table.count)
    }

    subscript(key: Key) -> FieldValue {
        get { values[key.rawValue] }
        set { values[key.rawValue] = newValue }
    }

    func string(_ key: Key) -> String? {
        if case .string(let value) = self[key] { value } else { nil }
    }

    func integer(_ key: Key) -> JSONInteger? {
        if case .integer(let value) = self[key] { value } else { nil }
    }

    func number(_ key: Key) -> Double? {
        if case .number(let value) = self[key] { value } else { nil }
    }

    func bool(_ key: Key) -> Bool? {
        if case .bool(let value) = self[key] { value } else { nil }
    }

    func dictionary(_ key: Key) -> JSONObject? {
        if case .dictionary(let value) = self[key] { value } else { nil }
    }

    func timestamp(_ key: Key) -> Timestamp? {
        if case .timestamp(let value) = self[key] { value } else { nil }
    }

    func member<Member>(_ key: Key) -> Member? {
        if case .member(let value) = self[key] { value as? Member } else { nil }
    }

    func nested<Value>(_ key: Key) -> Value? {
        if case .nested(let value) = self[key] { value as? Value } else { nil }
    }
}

/// A model's table: its fields in genblaze's declaration order (the order pydantic validates them in, so the first
/// bad field is the one reported), and the same fields in code point order of their keys (the order every dump
/// writes them in).
struct ModelSchema<Key: ModelKey & Sendable>: Sendable {
    /// Declaration order.
    let fields: [SchemaField<Key>]
    /// Code point order of keys (key slots are numbered in that order).
    let emissionOrder: [SchemaField<Key>]
    /// The JSON key of each slot as a `String`, for the decoder's paths and messages.
    let keys: [String]

    init(_ fields: [SchemaField<Key>]) {
        let slots = fields.map(\.key.rawValue)
        precondition(Set(slots).count == slots.count, "a key has two rows")
        precondition(slots.count == Key.allCases.count, "a key has no row")
        self.fields = fields
        emissionOrder = fields.sorted { $0.key.rawValue < $1.key.rawValue }
        keys = emissionOrder.map(\.name.description)
    }
}

/// A model whose fields a ``ModelSchema`` describes.
protocol SchemaModel: ModelObject {
    associatedtype Key: ModelKey & Sendable
    static var schema: ModelSchema<Key> { get }
    /// Writes the value of the field `field` to `sink` under `field.name`.
    func emit(_ field: SchemaField<Key>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws
    /// Whether this object's ``FieldDump/urlOnlyMarker`` fields are written in `mode`.
    func writesURLOnlyMarkers(_ mode: DumpMode) -> Bool
}

extension SchemaModel {
    func writesURLOnlyMarkers(_ mode: DumpMode) -> Bool { false }

    /// Writes the fields `mode` keeps, in code point order of their keys.
    func emit(into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let markers = writesURLOnlyMarkers(mode)
        for field in Self.schema.emissionOrder where mode.keeps(field.dump, urlOnlyMarkers: markers) {
            try emit(field, into: &sink, mode: mode)
        }
    }
}

extension DumpMode {
    /// Whether a dump in this mode keeps a field.
    @inline(__always)
    func keeps(_ dump: FieldDump, urlOnlyMarkers: Bool = false) -> Bool {
        switch dump {
        case .hashed: true
        case .identifier, .assetURL: keepsIdentifiers
        case .unhashed: isFull
        case .urlOnlyMarker: urlOnlyMarkers
        }
    }
}

// MARK: - The tables

/// genblaze's `Manifest`: the envelope around a run.
enum ManifestKey: Int, ModelKey, Sendable {
    case canonicalHash, encryptionScheme, manifestUri, run, schemaVersion, signature, transferFailures
    static let table = ModelKeys([
        "canonical_hash", "encryption_scheme", "manifest_uri", "run", "schema_version", "signature",
        "transfer_failures",
    ])
    static let schema = ModelSchema<ManifestKey>([
        .init(.schemaVersion, .schemaVersion, .member("1.0"), .hashed),
        .init(.run, .model(.run), .required, .hashed),
        .init(.canonicalHash, .string, .empty, .unhashed),
        .init(.manifestUri, .string, .null, .unhashed),
        .init(.encryptionScheme, .string, .null, .unhashed),
        .init(.signature, .string, .null, .unhashed),
        .init(.transferFailures, .strings, .empty, .unhashed),
    ])
}

/// genblaze's `Run`.
enum RunKey: Int, ModelKey, Sendable {
    case completedAt, createdAt, idempotencyKey, metadata, name, parentRunId, projectId, runId, startedAt, status,
        steps, tenantId
    static let table = ModelKeys([
        "completed_at", "created_at", "idempotency_key", "metadata", "name", "parent_run_id", "project_id", "run_id",
        "started_at", "status", "steps", "tenant_id",
    ])
    static let schema = ModelSchema<RunKey>([
        .init(.runId, .identifier, .newIdentifier, .identifier),
        .init(.tenantId, .string, .null, .hashed),
        .init(.projectId, .string, .null, .hashed),
        .init(.name, .string, .null, .hashed),
        .init(.status, .enumeration(.runStatus), .member("pending"), .unhashed),
        .init(.parentRunId, .string, .null, .unhashed),
        .init(.idempotencyKey, .string, .null, .unhashed),
        .init(.createdAt, .timestamp, .now, .unhashed),
        .init(.startedAt, .timestamp, .null, .unhashed),
        .init(.completedAt, .timestamp, .null, .unhashed),
        .init(.metadata, .dictionary, .empty, .hashed),
        .init(.steps, .models(.step), .empty, .hashed),
    ])
}

/// genblaze's `Step` (the one model that refuses unknown keys).
enum StepKey: Int, ModelKey, Sendable {
    case assets, completedAt, costUsd, error, errorCode, inputs, metadata, modality, model, modelHash, modelVersion,
        negativePrompt, params, prompt, promptVisibility, provider, providerPayload, retries, runId, seed, startedAt,
        status, stepId, stepIndex, stepType
    static let table = ModelKeys([
        "assets", "completed_at", "cost_usd", "error", "error_code", "inputs", "metadata", "modality", "model",
        "model_hash", "model_version", "negative_prompt", "params", "prompt", "prompt_visibility", "provider",
        "provider_payload", "retries", "run_id", "seed", "started_at", "status", "step_id", "step_index", "step_type",
    ])
    static let schema = ModelSchema<StepKey>([
        .init(.stepId, .identifier, .newIdentifier, .identifier),
        .init(.runId, .string, .null, .identifier),
        .init(.provider, .string, .null, .hashed),
        .init(.model, .string, .required, .hashed),
        .init(.stepType, .enumeration(.stepType), .member("generate"), .hashed),
        .init(.modelVersion, .string, .null, .hashed),
        .init(.modelHash, .string, .null, .hashed),
        .init(.modality, .enumeration(.modality), .member("image"), .hashed),
        .init(.prompt, .string, .null, .hashed),
        .init(.negativePrompt, .string, .null, .hashed),
        .init(.promptVisibility, .enumeration(.promptVisibility), .member("public"), .hashed),
        .init(.seed, .integer, .null, .hashed),
        .init(.params, .dictionary, .empty, .hashed),
        .init(.status, .enumeration(.stepStatus), .member("pending"), .unhashed),
        .init(.providerPayload, .dictionary, .empty, .unhashed),
        .init(.retries, .integer, .empty, .unhashed),
        .init(.costUsd, .number, .null, .unhashed),
        .init(.error, .string, .null, .unhashed),
        .init(.errorCode, .enumeration(.providerErrorCode), .null, .unhashed),
        .init(.startedAt, .timestamp, .null, .unhashed),
        .init(.completedAt, .timestamp, .null, .unhashed),
        .init(.stepIndex, .integer, .null, .unhashed),
        .init(.metadata, .dictionary, .empty, .hashed),
        .init(.inputs, .models(.asset), .empty, .hashed),
        .init(.assets, .models(.asset), .empty, .hashed),
    ])
}

/// genblaze's `Asset`, with the two fields a schema 1.6 hash payload adds to an asset without a valid sha256.
enum AssetKey: Int, ModelKey, Sendable {
    case assetId, assetIntegrity, audio, duration, height, mediaType, metadata, sha256, sizeBytes, tracks,
        unverifiedAssetUrl, url, video, width
    static let table = ModelKeys([
        "asset_id", "asset_integrity", "audio", "duration", "height", "media_type", "metadata", "sha256", "size_bytes",
        "tracks", "unverified_asset_url", "url", "video", "width",
    ])
    static let schema = ModelSchema<AssetKey>([
        .init(.url, .string, .required, .assetURL),
        .init(.sizeBytes, .integer, .null, .hashed, .nonNegative),
        .init(.assetId, .identifier, .newIdentifier, .identifier),
        .init(.mediaType, .string, .required, .hashed, .mediaType),
        .init(.sha256, .string, .null, .hashed),
        .init(.width, .integer, .null, .hashed, .positive),
        .init(.height, .integer, .null, .hashed, .positive),
        .init(.duration, .number, .null, .hashed, .finiteNonNegative),
        .init(.metadata, .dictionary, .empty, .hashed),
        .init(.video, .model(.video), .null, .hashed),
        .init(.audio, .model(.audio), .null, .hashed),
        .init(.tracks, .models(.track), .null, .hashed),
        .init(.assetIntegrity, .computed, .null, .urlOnlyMarker),
        .init(.unverifiedAssetUrl, .computed, .null, .urlOnlyMarker),
    ])
}

/// genblaze's `Track`.
enum TrackKey: Int, ModelKey, Sendable {
    case codec, kind, label
    static let table = ModelKeys(["codec", "kind", "label"])
    static let schema = ModelSchema<TrackKey>([
        .init(.kind, .string, .required, .hashed),
        .init(.codec, .string, .null, .hashed),
        .init(.label, .string, .null, .hashed),
    ])
}

/// genblaze's `VideoMetadata`.
enum VideoKey: Int, ModelKey, Sendable {
    case bitrate, codec, colorSpace, frameRate, hasAudio, resolution
    static let table = ModelKeys(["bitrate", "codec", "color_space", "frame_rate", "has_audio", "resolution"])
    static let schema = ModelSchema<VideoKey>([
        .init(.frameRate, .number, .null, .hashed, .finiteNonNegative),
        .init(.codec, .string, .null, .hashed),
        .init(.bitrate, .integer, .null, .hashed, .positive),
        .init(.colorSpace, .string, .null, .hashed),
        .init(.hasAudio, .boolean, .null, .hashed),
        .init(.resolution, .string, .null, .hashed),
    ])
}

/// genblaze's `AudioMetadata`.
enum AudioKey: Int, ModelKey, Sendable {
    case bitrate, channels, codec, sampleRate, wordTimings
    static let table = ModelKeys(["bitrate", "channels", "codec", "sample_rate", "word_timings"])
    static let schema = ModelSchema<AudioKey>([
        .init(.sampleRate, .integer, .null, .hashed, .positive),
        .init(.channels, .integer, .null, .hashed, .positive),
        .init(.codec, .string, .null, .hashed),
        .init(.bitrate, .integer, .null, .hashed, .positive),
        .init(.wordTimings, .models(.wordTiming), .null, .hashed),
    ])
}

/// genblaze's `WordTiming` (its bounds are checked by the decoder's `wordTiming`, with genblaze's messages).
enum WordTimingKey: Int, ModelKey, Sendable {
    case confidence, end, start, word
    static let table = ModelKeys(["confidence", "end", "start", "word"])
    static let schema = ModelSchema<WordTimingKey>([
        .init(.word, .string, .required, .hashed),
        .init(.start, .number, .required, .hashed),
        .init(.end, .number, .required, .hashed),
        .init(.confidence, .number, .null, .hashed),
    ])
}
