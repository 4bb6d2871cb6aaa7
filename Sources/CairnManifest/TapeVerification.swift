/// genblaze's verification report read straight from a checked tape: the hash pre-image is written field by field
/// from the input bytes, and no model is built.
///
/// This is the fast path of ``ManifestVerdict/verify(bytes:hashOnly:byteSource:)`` and, like it, follows
/// `spec/manifest.md`. It takes a manifest only when every field it reads already holds its model type (a string
/// where a string belongs, a number for a number, an object for a model) or is absent, so that each value is either
/// written as it stands or replaced by genblaze's default. The one coercion it applies is the lossless one between
/// integer and float fields, with the model's own conversion, and a missing asset id is made up as the model makes
/// it up.
///
/// Anything else declines: a value pydantic would coerce from another type or refuse, a missing hashed identifier
/// (the model would make up a random one), an unpaired surrogate in hashed text, word timings, an unknown step key,
/// nesting too deep to write. A declined manifest is read by the model (``Manifest/parse(_:)``), which decides with
/// genblaze's full rules and messages. Tests hold both paths to the same verdict on the vectors, on random
/// manifests and on mutated input.
struct TapeVerification: ~Copyable {
    /// What a verdict needs from a manifest that was taken.
    struct Outcome: Equatable {
        /// The schema version the hash used (`"1.0"` when the file has none).
        var schemaVersion: String
        /// The stored `canonical_hash` (empty when absent).
        var storedHash: String
        /// The report ``Manifest/verificationReport()`` gives for the same file.
        var report: VerificationReport
        /// Every input and output asset, unchecked, as ``Manifest/checkAssetBytes(using:)`` lists them without a
        /// byte source (empty unless assets are listed).
        var assets: [AssetByteCheck]
    }

    /// Thrown inside when the manifest is not one this path takes.
    private struct Declined: Error {}

    private let tape: JSONTape
    private var mode = DumpMode.hash(.v1_0)
    private var sink = CanonicalSink()
    private var unverified: [String] = []
    private var invalid: [String] = []
    private var assets: [AssetByteCheck] = []
    private var stepIndex = 0
    /// Whether ``Outcome/assets`` lists every asset (not needed for a hash-only verdict).
    private let listsAssets: Bool
    private var encrypted = false
    /// Cleared when the asset being written has out-of-spec metadata.
    private var metadataOK = true

    private init(tape: JSONTape, listsAssets: Bool) {
        self.tape = tape
        self.listsAssets = listsAssets
    }

    /// The outcome for the manifest at the root of `tape`, or nil when the model must decide.
    ///
    /// - Parameter listsAssets: List every asset in ``Outcome/assets``; when false, the list is empty.
    static func outcome(_ tape: JSONTape, listsAssets: Bool = true) -> Outcome? {
        guard tape.nodes.count <= Manifest.maxValues, tape.kind(0) == .object else { return nil }
        var verification = TapeVerification(tape: tape, listsAssets: listsAssets)
        return try? verification.manifest()
    }

    // MARK: Models

    private mutating func manifest() throws -> Outcome {
        let fields = ModelFields<ManifestKey>(tape, object: 0)
        guard fields[.run] != nil else { throw Declined() }
        let version = try enumeration(fields[.schemaVersion], SchemaVersion.self) ?? .v1_0
        mode = .hash(version)
        var storedHash = ""
        for field in ManifestKey.schema.emissionOrder {
            let node = fields[field.key]
            switch field.key {
            case .schemaVersion:
                sink.field(field.name, string: version.rawValue)
            case .canonicalHash:
                try self.field(field, node)
                if let node { storedHash = tape.text(node) }
            default:
                try self.field(field, node)
            }
        }
        sink.finish()
        if encrypted {
            // Refused unless encryption_scheme is a non-empty string; the model words the refusal.
            guard let scheme = fields[.encryptionScheme], tape.kind(scheme) == .string, !tape.body(scheme).isEmpty
            else { throw Declined() }
        }
        let recomputed = sink.writer.withBytes(CanonicalJSON.sha256Hex(ofBuffer:))
        return Outcome(
            schemaVersion: version.rawValue,
            storedHash: storedHash,
            report: VerificationReport(
                hashOK: recomputed == storedHash,
                recomputedHash: recomputed,
                unverifiedSHA256IDs: unverified,
                invalidMetadataIDs: invalid
            ),
            assets: assets
        )
    }

    private mutating func run(_ node: Int) throws {
        let fields = try model(node, RunKey.self)
        for field in RunKey.schema.emissionOrder {
            try self.field(field, fields[field.key])
        }
    }

    private mutating func step(_ node: Int) throws {
        let fields = try model(node, StepKey.self)
        guard fields.firstUnknownKey == nil, fields[.model] != nil else { throw Declined() }
        let stepStart = assets.count
        var outputsEnd = stepStart
        var stepType = StepType.generate
        for field in StepKey.schema.emissionOrder {
            let node = fields[field.key]
            switch field.key {
            case .assets:
                try objects(field.name, node, optional: false) { verification, element in
                    try verification.asset(element, role: .output)
                }
                outputsEnd = assets.count
            case .inputs:
                try objects(field.name, node, optional: false) { verification, element in
                    try verification.asset(element, role: .input)
                }
            case .stepType:
                stepType = try enumerationField(StepType.self, field, node) ?? stepType
            case .promptVisibility:
                if try enumerationField(PromptVisibility.self, field, node) == .encrypted { encrypted = true }
            default:
                try self.field(field, node)
            }
        }
        if stepType != .ingest && stepType != .import {
            // Refused without a provider; the model words the refusal.
            guard let provider = fields[.provider], tape.kind(provider) == .string else { throw Declined() }
        }
        if outputsEnd > stepStart && assets.count > outputsEnd {
            // The verdict lists a step's inputs before its outputs.
            let outputs = Array(assets[stepStart..<outputsEnd])
            assets.removeSubrange(stepStart..<outputsEnd)
            assets.append(contentsOf: outputs)
        }
        stepIndex += 1
    }

    private mutating func asset(_ node: Int, role: AssetRole) throws {
        let fields = try model(node, AssetKey.self)
        guard let url = fields[.url], tape.kind(url) == .string, let mediaType = fields[.mediaType],
            tape.kind(mediaType) == .string
        else { throw Declined() }
        let assetIDNode = fields[.assetId]
        if let assetIDNode, tape.kind(assetIDNode) != .string { throw Declined() }
        var validSHA256 = false
        if let node = fields[.sha256], !tape.isNull(node) {
            guard tape.kind(node) == .string else { throw Declined() }
            validSHA256 =
                tape.nodes[node].escaped
                ? isValidSHA256(try hashedText(node, checked: true)) : isValidSHA256(utf8: tape.body(node))
        }
        let marksURLOnly = mode.marksURLOnlyAssets && !validSHA256
        // Schema 1.6 hashes the url's text whenever an asset lacks a valid sha256, so it refuses text UTF-8
        // cannot encode in any asset; legacy schemas write the url itself below.
        if mode.marksURLOnlyAssets && tape.nodes[url].escaped { _ = try hashedText(url, checked: true) }
        metadataOK = true
        for field in AssetKey.schema.emissionOrder {
            switch field.key {
            case .assetIntegrity:
                if marksURLOnly { sink.field(field.name, string: "url_only_unverified") }
            case .unverifiedAssetUrl:
                if marksURLOnly { sink.field(field.name, string: try AssetURL.canonical(tape.text(url))) }
            default:
                try self.field(field, fields[field.key])
            }
        }
        let reported = role == .output && (!validSHA256 || !metadataOK)
        guard listsAssets || reported else { return }
        // The verdict names the asset by id; an absent one is made up, as the model makes it up (it is unhashed
        // from 1.4 on, and a legacy asset without one was declined above).
        let assetID = assetIDNode.map { tape.text($0) } ?? newIdentifier()
        if role == .output {
            if !validSHA256 { unverified.append(assetID) }
            if !metadataOK { invalid.append(assetID) }
        }
        if listsAssets {
            assets.append(
                AssetByteCheck(
                    assetID: assetID,
                    role: role,
                    stepIndex: stepIndex,
                    sha256: fields[.sha256].flatMap { tape.isNull($0) ? nil : tape.text($0) },
                    url: tape.text(url),
                    status: .unchecked
                )
            )
        }
    }

    private mutating func video(_ node: Int) throws {
        let fields = try model(node, VideoKey.self)
        for field in VideoKey.schema.emissionOrder {
            try self.field(field, fields[field.key])
        }
    }

    private mutating func audio(_ node: Int) throws {
        let fields = try model(node, AudioKey.self)
        // Word timings carry their own bounds and messages: the model reads them.
        if let timings = fields[.wordTimings], !tape.isNull(timings) { throw Declined() }
        for field in AudioKey.schema.emissionOrder {
            try self.field(field, fields[field.key])
        }
    }

    private mutating func track(_ node: Int) throws {
        let fields = try model(node, TrackKey.self)
        for field in TrackKey.schema.emissionOrder {
            try self.field(field, fields[field.key])
        }
    }

    // MARK: Fields by their table

    /// One field, as its row says: written to the pre-image when the hash payload keeps it, otherwise only
    /// checked. Anything the row's type does not take as it stands declines.
    @inline(__always)
    private mutating func field<Key>(_ field: SchemaField<Key>, _ node: Int?) throws {
        let kept = field.isHashed(in: mode)
        let nullable = field.nullable
        let name = field.name
        switch field.type {
        case .string:
            guard kept else {
                if node == nil && field.absent.isRequired { throw Declined() }
                return try unhashedString(node, optional: nullable)
            }
            try string(name, node, required: !nullable)
            if field.rule == .mediaType, let node {
                let shaped =
                    tape.nodes[node].escaped
                    ? isMediaTypeShaped(try hashedText(node, checked: true))
                    : isMediaTypeShaped(utf8: tape.body(node))
                if !shaped { metadataOK = false }
            }
        case .identifier:
            if kept { try identifier(name, node) } else { try unhashedString(node, optional: false) }
        case .integer:
            guard kept else { return try integerField(node, optional: nullable) }
            let value = try integer(node)
            if let value {
                if field.rule == .nonNegative && value.isNegative { throw Declined() }
                if field.rule == .positive && !value.isPositive { metadataOK = false }
            }
            sink.field(name, integer: value)
        case .number:
            let value = try number(node)
            guard kept else { return }
            if field.rule == .finiteNonNegative, let value, !(value.isFinite && value >= 0) { metadataOK = false }
            sink.field(name, float: value)
        case .boolean:
            var value: Bool? = nil
            if let node {
                switch tape.kind(node) {
                case .null: break
                case .isTrue: value = true
                case .isFalse: value = false
                default: throw Declined()
                }
            }
            if kept { sink.field(name, bool: value) }
        case .dictionary:
            if kept { try object(name, node) } else { try dictionary(node) }
        case .timestamp:
            guard !kept else { throw Declined() }
            try timestamp(node, optional: nullable)
        case .enumeration(let enumeration):
            switch enumeration {
            case .runStatus: _ = try enumerationField(RunStatus.self, field, node)
            case .stepStatus: _ = try enumerationField(StepStatus.self, field, node)
            case .stepType: _ = try enumerationField(StepType.self, field, node)
            case .modality: _ = try enumerationField(Modality.self, field, node)
            case .promptVisibility: _ = try enumerationField(PromptVisibility.self, field, node)
            case .providerErrorCode: _ = try enumerationField(ProviderErrorCode.self, field, node)
            }
        case .model(let kind):
            guard kept else { throw Declined() }
            guard let node, !tape.isNull(node) else {
                guard nullable else { throw Declined() }
                return sink.nullField(name)
            }
            try sink.beginObjectField(name)
            try nested(kind, node)
            sink.endObjectField()
        case .models(let kind):
            guard kept else { throw Declined() }
            try objects(name, node, optional: nullable) { verification, element in
                try verification.nested(kind, element)
            }
        case .strings:
            guard !kept else { throw Declined() }
            guard let node else { return }
            guard tape.kind(node) == .array else { throw Declined() }
            try forEachElement(of: node) { verification, element in
                try verification.unhashedString(element, optional: false)
            }
        case .schemaVersion, .computed:
            throw Declined()
        }
    }

    /// The fields of a nested model object.
    private mutating func nested(_ kind: SchemaModelKind, _ node: Int) throws {
        switch kind {
        case .run: try run(node)
        case .step: try step(node)
        case .asset: try asset(node, role: .output)
        case .track: try track(node)
        case .video: try video(node)
        case .audio: try audio(node)
        case .wordTiming: throw Declined()  // bounds and messages of their own: the model reads them
        }
    }

    /// An enumeration field, checked, and written when the hash payload keeps it: its bytes as they stand unless
    /// escaped, or the default member when absent. Returns the member (nil when absent or null).
    private mutating func enumerationField<E: ByteMatchedEnumeration, Key>(
        _ type: E.Type,
        _ field: SchemaField<Key>,
        _ node: Int?
    ) throws -> E? {
        let value = try enumeration(node, E.self, optional: field.nullable)
        guard field.isHashed(in: mode) else { return value }
        if let node, let value {
            if tape.nodes[node].escaped {
                sink.field(field.name, string: value.rawValue)
            } else {
                sink.field(field.name, utf8: tape.body(node))
            }
        } else if node == nil, case .member(let raw) = field.absent {
            sink.field(field.name, static: raw)
        } else {
            sink.nullField(field.name)
        }
        return value
    }

    // MARK: Fields

    /// The fields of a model object; anything but an object declines.
    private func model<Key: ModelKey>(_ node: Int, _ keys: Key.Type) throws -> ModelFields<Key> {
        guard tape.kind(node) == .object else { throw Declined() }
        return ModelFields(tape, object: node)
    }

    /// A list of model objects: `[]` when absent (or `null` when `optional`), else each element as `body` writes it.
    private mutating func objects(
        _ key: StaticString,
        _ node: Int?,
        optional: Bool,
        _ body: (inout TapeVerification, Int) throws -> Void
    ) throws {
        guard let node else {
            if optional {
                sink.nullField(key)
            } else {
                sink.beginArrayField(key)
                sink.endArrayField()
            }
            return
        }
        if tape.isNull(node) {
            guard optional else { throw Declined() }
            sink.nullField(key)
            return
        }
        guard tape.kind(node) == .array else { throw Declined() }
        sink.beginArrayField(key)
        var first = true
        try forEachElement(of: node) { verification, element in
            try verification.sink.beginElementObject(first: first)
            first = false
            try body(&verification, element)
            verification.sink.endElementObject()
        }
        sink.endArrayField()
    }

    private mutating func forEachElement(of array: Int, _ body: (inout TapeVerification, Int) throws -> Void) throws {
        var child = array + 1
        for _ in 0..<tape.count(array) {
            try body(&self, child)
            child = tape.next(after: child)
        }
    }

    /// A hashed string field: `null` when absent or null (declines when `required`).
    private mutating func string(_ key: StaticString, _ node: Int?, required: Bool = false) throws {
        guard let node else {
            if required { throw Declined() }
            sink.field(key, string: nil)
            return
        }
        switch tape.kind(node) {
        case .null where !required:
            sink.field(key, string: nil)
        case .string where !tape.nodes[node].escaped:
            sink.field(key, utf8: tape.body(node))
        case .string:
            sink.field(key, string: try hashedText(node, checked: true))
        default:
            throw Declined()
        }
    }

    /// A hashed identifier: absent or null declines (the model would make one up, or refuse).
    private mutating func identifier(_ key: StaticString, _ node: Int?) throws {
        guard let node, tape.kind(node) == .string else { throw Declined() }
        try string(key, node)
    }

    /// The text of a string node; when `checked`, text that UTF-8 cannot encode (an unpaired surrogate) declines.
    private func hashedText(_ node: Int, checked: Bool) throws -> String {
        guard checked, tape.nodes[node].escaped else { return tape.text(node) }
        guard case .string(let text) = tape.stringValue(node) else { throw Declined() }
        return text
    }

    /// An unhashed string field, only checked: a string, absent, or null when `optional`.
    private func unhashedString(_ node: Int?, optional: Bool) throws {
        guard let node else { return }
        switch tape.kind(node) {
        case .string: return
        case .null where optional: return
        default: throw Declined()
        }
    }

    /// A free-form object field: `{}` when absent.
    private mutating func object(_ key: StaticString, _ node: Int?) throws {
        guard let node else {
            try sink.field(key, object: JSONObject())
            return
        }
        guard tape.kind(node) == .object else { throw Declined() }
        try sink.field(key, object: node, of: tape)
    }

    /// An unhashed free-form object field, only checked.
    private func dictionary(_ node: Int?) throws {
        guard let node else { return }
        guard tape.kind(node) == .object else { throw Declined() }
    }

    /// An enumeration: nil when absent, or null when `optional`; a string that is not a member declines.
    private func enumeration<E: ByteMatchedEnumeration>(
        _ node: Int?,
        _ type: E.Type,
        optional: Bool = false
    ) throws -> E? {
        guard let node else { return nil }
        if optional && tape.isNull(node) { return nil }
        guard tape.kind(node) == .string else { throw Declined() }
        let value = tape.nodes[node].escaped ? E(rawValue: tape.text(node)) : E.members.member(tape.body(node))
        guard let value else { throw Declined() }
        return value
    }

    /// An integer field's value: nil when absent or null. An integral float converts as the model converts it.
    private func integer(_ node: Int?) throws -> JSONInteger? {
        guard let node else { return nil }
        switch tape.kind(node) {
        case .null:
            return nil
        case .integer:
            return tape.integer(node)
        case .float:
            let number = tape.double(node)
            guard number.rounded(.towardZero) == number, number.magnitude < 9.223_372_036_854_775_808e18 else {
                throw Declined()
            }
            return JSONInteger(Int(number))
        default:
            throw Declined()
        }
    }

    /// An unhashed integer field, only checked.
    private func integerField(_ node: Int?, optional: Bool) throws {
        if let node, !optional, tape.isNull(node) { throw Declined() }
        _ = try integer(node)
    }

    /// A float field's value: nil when absent or null; integers convert as the model converts them.
    private func number(_ node: Int?) throws -> Double? {
        guard let node else { return nil }
        switch tape.kind(node) {
        case .null: return nil
        case .integer, .float, .nan, .infinity, .negativeInfinity: return tape.double(node)
        default: throw Declined()
        }
    }

    /// A timestamp field, only checked: ISO text the model reads, or null when `optional`.
    private func timestamp(_ node: Int?, optional: Bool) throws {
        guard let node else { return }
        switch tape.kind(node) {
        case .null where optional:
            return
        case .string where !tape.nodes[node].escaped:
            guard Timestamp(isoBytes: tape.body(node)) != nil else { throw Declined() }
        default:
            throw Declined()
        }
    }
}
