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
    public var schemaVersionValue: SchemaVersion? {
        // Every known version is "1.<digit>": match the bytes rather than look the raw value up.
        let version =
            schemaVersion.utf8.withContiguousStorageIfAvailable { bytes -> SchemaVersion? in
                guard bytes.count == 3, bytes[0] == UInt8(ascii: "1"), bytes[1] == UInt8(ascii: ".") else { return nil }
                switch bytes[2] {
                case UInt8(ascii: "0"): return .v1_0
                case UInt8(ascii: "1"): return .v1_1
                case UInt8(ascii: "2"): return .v1_2
                case UInt8(ascii: "3"): return .v1_3
                case UInt8(ascii: "4"): return .v1_4
                case UInt8(ascii: "5"): return .v1_5
                case UInt8(ascii: "6"): return .v1_6
                default: return nil
                }
            } ?? SchemaVersion(rawValue: schemaVersion)
        assert(version == SchemaVersion(rawValue: schemaVersion), "schema version bytes and raw values disagree")
        return version
    }

    /// The exact JSON value genblaze hashes: `{"schema_version", "run"}` with operational fields stripped per version.
    ///
    /// - Throws: ``ManifestError`` for an unknown schema version or an unencodable hashed string.
    public func hashPayload() throws -> JSONValue {
        let version = try hashableVersion()
        var sink = ObjectSink()
        try emit(into: &sink, mode: .hash(version))
        return .object(sink.object)
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
        try withHashPreimage { [UInt8]($0) }
    }

    /// Recomputes the canonical hash: lowercase hex SHA-256 of ``hashPreimage()``.
    ///
    /// - Throws: ``ManifestError``.
    public func computeCanonicalHash() throws -> String {
        try withHashPreimage(CanonicalJSON.sha256Hex(ofBuffer:))
    }

    /// Writes the hash pre-image straight from the model and calls `body` with its bytes.
    private func withHashPreimage<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        let version = try hashableVersion()
        do {
            var sink = CanonicalSink()
            try emit(into: &sink, mode: .hash(version))
            sink.finish()
            return try sink.writer.withBytes(body)
        } catch let error as CanonicalJSONError {
            throw ManifestError.wrapping(error)
        }
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
        var sealed = self
        if sealed.canonicalHash.isEmpty { sealed.canonicalHash = try computeCanonicalHash() }
        do {
            return try CanonicalSink.encode { sink in try sealed.emit(into: &sink, mode: .full) }
        } catch let error as CanonicalJSONError {
            throw ManifestError.wrapping(error)
        }
    }

    /// The whole manifest as a JSON value with every field (genblaze's `model_dump`), timestamps as ISO text.
    ///
    /// - Throws: ``ManifestError`` for a naive timestamp.
    public func jsonValue() throws -> JSONValue {
        var sink = ObjectSink()
        try emit(into: &sink, mode: .full)
        return .object(sink.object)
    }
}

/// genblaze's `is_valid_sha256`: exactly 64 characters from `0-9a-f`.
package func isValidSHA256(_ value: String?) -> Bool {
    guard var value else { return false }
    return value.withUTF8 { isValidSHA256(utf8: $0) }
}

/// ``isValidSHA256(_:)`` over UTF-8 bytes.
func isValidSHA256(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count == 64, let start = bytes.baseAddress else { return false }
    // Eight bytes at a time: each byte is a digit (0x30...0x39) or a lowercase hex letter (0x61...0x66).
    let ones: UInt64 = 0x0101_0101_0101_0101
    let high: UInt64 = 0x8080_8080_8080_8080
    for offset in stride(from: 0, to: 64, by: 8) {
        let word = UnsafeRawPointer(start).loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        // Per byte (all below 0x80 first): high bit set where byte + k carries past 0x7F, i.e. byte >= 0x80 - k.
        guard word & high == 0 else { return false }
        let atLeastDigit = (word &+ ones &* (0x80 - 0x30)) & high
        let aboveDigit = (word &+ ones &* (0x80 - 0x3A)) & high
        let atLeastLetter = (word &+ ones &* (0x80 - 0x61)) & high
        let aboveLetter = (word &+ ones &* (0x80 - 0x67)) & high
        let digit = atLeastDigit & ~aboveDigit
        let letter = atLeastLetter & ~aboveLetter
        guard digit | letter == high else { return false }
    }
    return true
}

extension Asset {
    /// genblaze's `is_valid_asset_metadata`: positive dimensions, finite non-negative duration, a MIME-shaped
    /// media type, and in-range video and audio numbers (the rule column of each model's table).
    public var hasValidMetadata: Bool { followsRules() }
}

extension SchemaModel {
    /// Whether every field with a metadata rule holds a value the rule accepts (no value passes), here and in
    /// nested models.
    func followsRules() -> Bool {
        var sink = RuleSink()
        for field in Self.schema.fields {
            switch (field.rule, field.type) {
            case (.none, .model), (.positive, _), (.finiteNonNegative, _), (.mediaType, _):
                sink.rule = field.rule
                // A rule sink never throws: it only reads the value.
                try? emit(field, into: &sink, mode: .full)
                if !sink.passed { return false }
            default:
                continue
            }
        }
        return true
    }
}

/// Receives one field's value and checks it against a ``FieldRule``.
private struct RuleSink: ModelFieldSink {
    var rule = FieldRule.none
    var passed = true

    mutating func field(_ key: StaticString, _ value: JSONValue) {}
    mutating func field(_ key: StaticString, string value: String?) {
        if rule == .mediaType, let value { passed = isMediaTypeShaped(value) }
    }
    mutating func field(_ key: StaticString, integer value: JSONInteger?) {
        if rule == .positive, let value { passed = value.isPositive }
    }
    mutating func field(_ key: StaticString, float value: Double?) {
        if rule == .finiteNonNegative, let value { passed = value.isFinite && value >= 0 }
    }
    mutating func field(_ key: StaticString, bool value: Bool?) {}
    mutating func field(_ key: StaticString, object value: JSONObject) {}
    mutating func field(_ key: StaticString, object value: (some ModelObject)?, mode: DumpMode) {
        if let nested = value as? any SchemaModel { passed = nested.followsRules() }
    }
    mutating func field(_ key: StaticString, objects items: [some ModelObject]?, mode: DumpMode) {}
}

/// Python `re.match(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.+-]*$", value)` with Unicode `\w`, where `$` also
/// matches before one final newline.
func isMediaTypeShaped(_ value: String) -> Bool {
    var value = value
    return value.withUTF8 { isMediaTypeShaped(utf8: $0) }
}

/// ``isMediaTypeShaped(_:)`` over UTF-8 bytes.
func isMediaTypeShaped(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    // ASCII text (every real media type) is matched on its bytes; anything else takes the scalar path.
    let ascii = { () -> Bool? in
        var end = bytes.count
        if end > 0 && bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var index = 0
        var sawSlash = false
        var segmentStart = true
        while index < end {
            let byte = bytes[index]
            if byte >= 0x80 { return nil }
            let alphanumeric =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            if segmentStart {
                guard alphanumeric else { return false }
                segmentStart = false
            } else if byte == UInt8(ascii: "/") && !sawSlash {
                sawSlash = true
                segmentStart = true
            } else {
                let allowed =
                    alphanumeric || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                    || (sawSlash && byte == UInt8(ascii: "+"))
                guard allowed else { return false }
            }
            index += 1
        }
        return sawSlash && !segmentStart
    }()
    if let ascii { return ascii }
    return isMediaTypeShapedByScalars(String(decoding: bytes, as: UTF8.self))
}

/// ``isMediaTypeShaped(_:)`` over Unicode scalars (Unicode `\w`), for text that is not all ASCII.
func isMediaTypeShapedByScalars(_ value: String) -> Bool {
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

/// Which fields a dump keeps, decided once per dump rather than once per model object.
struct DumpMode {
    /// Every field (genblaze's `model_dump`), not a hash payload.
    let isFull: Bool
    /// Run, step and asset ids and asset urls are kept (full dumps, and hash payloads of 1.0 to 1.3).
    let keepsIdentifiers: Bool
    /// Assets without a valid sha256 are marked with their canonical url (hash payloads of 1.6).
    let marksURLOnlyAssets: Bool

    /// Every field (genblaze's `model_dump`).
    static let full = DumpMode(isFull: true, keepsIdentifiers: true, marksURLOnlyAssets: false)

    /// The hash payload of a schema version.
    static func hash(_ version: SchemaVersion) -> DumpMode {
        DumpMode(
            isFull: false,
            keepsIdentifiers: version.hashesIdentifiers,
            marksURLOnlyAssets: version.marksURLOnlyAssets
        )
    }
}

private func timestampText(_ value: Timestamp?, _ field: String) throws -> String? {
    guard let value else { return nil }
    guard let text = value.isoText else {
        throw ManifestError(
            .naiveTimestamp,
            kind: "TypeError",
            "normalize: naive datetime \(value.naiveISOText) in \(field) — attach a UTC offset"
        )
    }
    return text
}

// MARK: - Emitting model objects

/// Where a model object's fields go, always in Unicode code point order of their keys.
///
/// One emitter per model type writes either a ``JSONObject`` tree (``ObjectSink``) or canonical JSON bytes
/// directly (``CanonicalSink``, the hash pre-image), so both always hold the same fields. Keys are literals in the
/// source (printable ASCII, nothing to escape); a nil value is JSON `null`. The typed methods let the canonical
/// sink write a field without wrapping it in a ``JSONValue`` first.
protocol ModelFieldSink: ~Copyable {
    /// A field with a plain JSON value.
    mutating func field(_ key: StaticString, _ value: JSONValue) throws
    /// A field holding a string, or `null`.
    mutating func field(_ key: StaticString, string value: String?) throws
    /// A field holding an integer, or `null`.
    mutating func field(_ key: StaticString, integer value: JSONInteger?) throws
    /// A field holding a float, or `null`.
    mutating func field(_ key: StaticString, float value: Double?) throws
    /// A field holding a boolean, or `null`.
    mutating func field(_ key: StaticString, bool value: Bool?) throws
    /// A field holding a free-form JSON object.
    mutating func field(_ key: StaticString, object value: JSONObject) throws
    /// A field holding a model object, or `null`.
    mutating func field(_ key: StaticString, object value: (some ModelObject)?, mode: DumpMode) throws
    /// A field holding an array of model objects, or `null`.
    mutating func field(_ key: StaticString, objects items: [some ModelObject]?, mode: DumpMode) throws
}

/// A model type whose fields a ``ModelFieldSink`` receives.
protocol ModelObject {
    /// Emits the fields `mode` keeps, in code point order of their keys.
    func emit(into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws
}

/// Builds a ``JSONObject`` (full dumps; not a hot path, so keys become strings and values ``JSONValue``s).
struct ObjectSink: ModelFieldSink {
    var object = JSONObject(reservingCapacity: 16)

    mutating func field(_ key: StaticString, _ value: JSONValue) {
        object.appendUnchecked(key.description, value)
    }

    mutating func field(_ key: StaticString, string value: String?) {
        field(key, value.map(JSONValue.string) ?? .null)
    }

    mutating func field(_ key: StaticString, integer value: JSONInteger?) {
        field(key, value.map(JSONValue.integer) ?? .null)
    }

    mutating func field(_ key: StaticString, float value: Double?) {
        field(key, value.map(JSONValue.float) ?? .null)
    }

    mutating func field(_ key: StaticString, bool value: Bool?) {
        field(key, value.map(JSONValue.bool) ?? .null)
    }

    mutating func field(_ key: StaticString, object value: JSONObject) {
        field(key, .object(value))
    }

    mutating func field(_ key: StaticString, object value: (some ModelObject)?, mode: DumpMode) throws {
        guard let value else {
            field(key, .null)
            return
        }
        var child = ObjectSink()
        try value.emit(into: &child, mode: mode)
        field(key, .object(child.object))
    }

    mutating func field(_ key: StaticString, objects items: [some ModelObject]?, mode: DumpMode) throws {
        guard let items else {
            field(key, .null)
            return
        }
        var array: [JSONValue] = []
        array.reserveCapacity(items.count)
        for item in items {
            var child = ObjectSink()
            try item.emit(into: &child, mode: mode)
            array.append(.object(child.object))
        }
        field(key, .array(array))
    }
}

/// Writes canonical JSON bytes of model objects as their fields arrive (they arrive sorted, so nothing is sorted).
///
/// Model objects nest at most a few levels, so a scalar field can never reach ``CanonicalJSON/maxDepth``; only
/// free-form values (``JSONValue``, ``JSONObject``) are checked.
struct CanonicalSink: ModelFieldSink, ~Copyable {
    var writer: CanonicalWriter
    /// Nesting depth of the object being written (the root object is 0), for ``CanonicalJSON/maxDepth``.
    private var depth = 0
    private var needsComma = false

    /// Starts a root object whose fields the caller emits; ``finish()`` closes it.
    init(capacity: Int = 2048) {
        writer = CanonicalWriter(capacity: capacity)
        writer.append(UInt8(ascii: "{"))
    }

    /// Closes the root object.
    mutating func finish() {
        writer.append(UInt8(ascii: "}"))
    }

    /// Writes a whole object whose fields `body` emits.
    static func encode(_ body: (inout CanonicalSink) throws -> Void) throws -> [UInt8] {
        var sink = CanonicalSink()
        try body(&sink)
        sink.finish()
        return sink.writer.bytes
    }

    @inline(__always)
    private mutating func key(_ key: StaticString) {
        if needsComma { writer.append(UInt8(ascii: ",")) }
        needsComma = true
        writer.appendKey(key)
    }

    /// Opens a nested model object; its fields follow, then ``endObject()``.
    private mutating func beginObject() throws {
        depth += 1
        if depth > CanonicalJSON.maxDepth { throw CanonicalWriter.tooDeep }
        writer.append(UInt8(ascii: "{"))
        needsComma = false
    }

    private mutating func endObject() {
        writer.append(UInt8(ascii: "}"))
        needsComma = true
        depth -= 1
    }

    /// Opens a field whose value is a model object; its fields follow, then ``endObject()``.
    mutating func beginObjectField(_ key: StaticString) throws {
        self.key(key)
        try beginObject()
    }

    /// Closes the object a ``beginObjectField(_:)`` opened.
    mutating func endObjectField() {
        endObject()
    }

    mutating func field(_ key: StaticString, _ value: JSONValue) throws {
        self.key(key)
        try writer.write(value, depth: depth + 1)
    }

    mutating func field(_ key: StaticString, string value: String?) {
        self.key(key)
        if let value { writer.writeValue(value) } else { writer.append("null") }
    }

    /// A field holding a string literal of the schema (a default enumeration member).
    mutating func field(_ key: StaticString, static value: StaticString) {
        field(key, utf8: UnsafeBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }

    /// A field holding a string given as its UTF-8 bytes (checked text, such as a string on a ``JSONTape``).
    mutating func field(_ key: StaticString, utf8 value: UnsafeBufferPointer<UInt8>) {
        self.key(key)
        writer.writeValue(utf8: value)
    }

    mutating func field(_ key: StaticString, integer value: JSONInteger?) {
        self.key(key)
        if let value { writer.write(value) } else { writer.append("null") }
    }

    mutating func field(_ key: StaticString, float value: Double?) {
        self.key(key)
        if let value { writer.write(value) } else { writer.append("null") }
    }

    mutating func field(_ key: StaticString, bool value: Bool?) {
        self.key(key)
        switch value {
        case true?: writer.append("true")
        case false?: writer.append("false")
        case nil: writer.append("null")
        }
    }

    mutating func field(_ key: StaticString, object value: JSONObject) throws {
        self.key(key)
        if depth + 1 > CanonicalJSON.maxDepth { throw CanonicalWriter.tooDeep }
        try writer.write(value, depth: depth + 1)
    }

    /// A field holding the free-form object at `node` of `tape`, written as the ``JSONObject`` it reads to.
    mutating func field(_ key: StaticString, object node: Int, of tape: JSONTape) throws {
        self.key(key)
        if depth + 1 > CanonicalJSON.maxDepth { throw CanonicalWriter.tooDeep }
        try writer.writeObject(tape, node, depth: depth + 1)
    }

    /// A field holding `null`.
    mutating func nullField(_ key: StaticString) {
        self.key(key)
        writer.append("null")
    }

    mutating func field(_ key: StaticString, object value: (some ModelObject)?, mode: DumpMode) throws {
        guard let value else { return nullField(key) }
        try beginObjectField(key)
        try value.emit(into: &self, mode: mode)
        endObject()
    }

    mutating func field(_ key: StaticString, objects items: [some ModelObject]?, mode: DumpMode) throws {
        guard let items else { return nullField(key) }
        beginArrayField(key)
        // Each element is emitted in place (`items[index]`), never copied out of the array.
        for index in items.indices {
            try beginElementObject(first: index == 0)
            try items[index].emit(into: &self, mode: mode)
            endElementObject()
        }
        endArrayField()
    }

    /// Opens a field whose value is an array of model objects: each is ``beginElementObject(first:)``, its fields,
    /// then ``endElementObject()``; ``endArrayField()`` closes the array.
    mutating func beginArrayField(_ key: StaticString) {
        self.key(key)
        depth += 1
        writer.append(UInt8(ascii: "["))
    }

    /// Opens the next model object in an array that ``beginArrayField(_:)`` opened.
    mutating func beginElementObject(first: Bool) throws {
        if !first { writer.append(UInt8(ascii: ",")) }
        try beginObject()
    }

    /// Closes the object a ``beginElementObject(first:)`` opened.
    mutating func endElementObject() {
        endObject()
    }

    /// Closes the array a ``beginArrayField(_:)`` opened.
    mutating func endArrayField() {
        writer.append(UInt8(ascii: "]"))
        depth -= 1
    }
}

extension Manifest: SchemaModel {
    static var schema: ModelSchema<ManifestKey> { ManifestKey.schema }

    func emit(
        _ field: SchemaField<ManifestKey>,
        into sink: inout some ModelFieldSink & ~Copyable,
        mode: DumpMode
    ) throws {
        let name = field.name
        switch field.key {
        case .canonicalHash: try sink.field(name, string: canonicalHash)
        case .encryptionScheme: try sink.field(name, string: encryptionScheme)
        case .manifestUri: try sink.field(name, string: manifestURI)
        case .run: try sink.field(name, object: run, mode: mode)
        case .schemaVersion: try sink.field(name, string: schemaVersion)
        case .signature: try sink.field(name, string: signature)
        case .transferFailures: try sink.field(name, .array(transferFailures.map(JSONValue.string)))
        }
    }
}

extension Run: SchemaModel {
    static var schema: ModelSchema<RunKey> { RunKey.schema }

    func jsonObject(mode: DumpMode) throws -> JSONObject {
        var sink = ObjectSink()
        try emit(into: &sink, mode: mode)
        return sink.object
    }

    func emit(_ field: SchemaField<RunKey>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let name = field.name
        switch field.key {
        case .completedAt: try sink.field(name, string: try timestampText(completedAt, "run.completed_at"))
        case .createdAt: try sink.field(name, string: try timestampText(createdAt, "run.created_at"))
        case .idempotencyKey: try sink.field(name, string: idempotencyKey)
        case .metadata: try sink.field(name, object: metadata)
        case .name: try sink.field(name, string: self.name)
        case .parentRunId: try sink.field(name, string: parentRunID)
        case .projectId: try sink.field(name, string: projectID)
        case .runId: try sink.field(name, string: runID)
        case .startedAt: try sink.field(name, string: try timestampText(startedAt, "run.started_at"))
        case .status: try sink.field(name, string: status.rawValue)
        case .steps: try sink.field(name, objects: steps, mode: mode)
        case .tenantId: try sink.field(name, string: tenantID)
        }
    }
}

extension Step: SchemaModel {
    static var schema: ModelSchema<StepKey> { StepKey.schema }

    func emit(_ field: SchemaField<StepKey>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let name = field.name
        switch field.key {
        case .assets: try sink.field(name, objects: assets, mode: mode)
        case .completedAt: try sink.field(name, string: try timestampText(completedAt, "step.completed_at"))
        case .costUsd: try sink.field(name, float: costUSD)
        case .error: try sink.field(name, string: error)
        case .errorCode: try sink.field(name, string: errorCode?.rawValue)
        case .inputs: try sink.field(name, objects: inputs, mode: mode)
        case .metadata: try sink.field(name, object: metadata)
        case .modality: try sink.field(name, string: modality.rawValue)
        case .model: try sink.field(name, string: model)
        case .modelHash: try sink.field(name, string: modelHash)
        case .modelVersion: try sink.field(name, string: modelVersion)
        case .negativePrompt: try sink.field(name, string: negativePrompt)
        case .params: try sink.field(name, object: params)
        case .prompt: try sink.field(name, string: prompt)
        case .promptVisibility: try sink.field(name, string: promptVisibility.rawValue)
        case .provider: try sink.field(name, string: provider)
        case .providerPayload: try sink.field(name, object: providerPayload)
        case .retries: try sink.field(name, integer: retries)
        case .runId: try sink.field(name, string: runID)
        case .seed: try sink.field(name, integer: seed)
        case .startedAt: try sink.field(name, string: try timestampText(startedAt, "step.started_at"))
        case .status: try sink.field(name, string: status.rawValue)
        case .stepId: try sink.field(name, string: stepID)
        case .stepIndex: try sink.field(name, integer: stepIndex)
        case .stepType: try sink.field(name, string: stepType.rawValue)
        }
    }
}

extension Asset: SchemaModel {
    static var schema: ModelSchema<AssetKey> { AssetKey.schema }

    func writesURLOnlyMarkers(_ mode: DumpMode) -> Bool {
        mode.marksURLOnlyAssets && !isValidSHA256(sha256)
    }

    func emit(_ field: SchemaField<AssetKey>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let name = field.name
        switch field.key {
        case .assetId: try sink.field(name, string: assetID)
        case .assetIntegrity: try sink.field(name, string: "url_only_unverified")
        case .audio: try sink.field(name, object: audio, mode: mode)
        case .duration: try sink.field(name, float: duration)
        case .height: try sink.field(name, integer: height)
        case .mediaType: try sink.field(name, string: mediaType)
        case .metadata: try sink.field(name, object: metadata)
        case .sha256: try sink.field(name, string: sha256)
        case .sizeBytes: try sink.field(name, integer: sizeBytes)
        case .tracks: try sink.field(name, objects: tracks, mode: mode)
        case .unverifiedAssetUrl: try sink.field(name, string: try AssetURL.canonical(url))
        case .url: try sink.field(name, string: url)
        case .video: try sink.field(name, object: video, mode: mode)
        case .width: try sink.field(name, integer: width)
        }
    }
}

extension VideoMetadata: SchemaModel {
    static var schema: ModelSchema<VideoKey> { VideoKey.schema }

    func emit(_ field: SchemaField<VideoKey>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let name = field.name
        switch field.key {
        case .bitrate: try sink.field(name, integer: bitrate)
        case .codec: try sink.field(name, string: codec)
        case .colorSpace: try sink.field(name, string: colorSpace)
        case .frameRate: try sink.field(name, float: frameRate)
        case .hasAudio: try sink.field(name, bool: hasAudio)
        case .resolution: try sink.field(name, string: resolution)
        }
    }
}

extension AudioMetadata: SchemaModel {
    static var schema: ModelSchema<AudioKey> { AudioKey.schema }

    func emit(_ field: SchemaField<AudioKey>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let name = field.name
        switch field.key {
        case .bitrate: try sink.field(name, integer: bitrate)
        case .channels: try sink.field(name, integer: channels)
        case .codec: try sink.field(name, string: codec)
        case .sampleRate: try sink.field(name, integer: sampleRate)
        case .wordTimings: try sink.field(name, objects: wordTimings, mode: mode)
        }
    }
}

extension WordTiming: SchemaModel {
    static var schema: ModelSchema<WordTimingKey> { WordTimingKey.schema }

    func emit(
        _ field: SchemaField<WordTimingKey>,
        into sink: inout some ModelFieldSink & ~Copyable,
        mode: DumpMode
    ) throws {
        let name = field.name
        switch field.key {
        case .confidence: try sink.field(name, float: confidence)
        case .end: try sink.field(name, float: end)
        case .start: try sink.field(name, float: start)
        case .word: try sink.field(name, string: word)
        }
    }
}

extension Track: SchemaModel {
    static var schema: ModelSchema<TrackKey> { TrackKey.schema }

    func emit(_ field: SchemaField<TrackKey>, into sink: inout some ModelFieldSink & ~Copyable, mode: DumpMode) throws {
        let name = field.name
        switch field.key {
        case .codec: try sink.field(name, string: codec)
        case .kind: try sink.field(name, string: kind)
        case .label: try sink.field(name, string: label)
        }
    }
}
