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
        guard let run = fields[.run] else { throw Declined() }
        let version = try enumeration(fields[.schemaVersion], SchemaVersion.self) ?? .v1_0
        var storedHash = ""
        if let stored = fields[.canonicalHash] {
            guard tape.kind(stored) == .string else { throw Declined() }
            storedHash = tape.text(stored)
        }
        try unhashedString(fields[.manifestUri], optional: true)
        try unhashedString(fields[.signature], optional: true)
        try unhashedString(fields[.encryptionScheme], optional: true)
        if let failures = fields[.transferFailures] {
            guard tape.kind(failures) == .array else { throw Declined() }
            try forEachElement(of: failures) { verification, element in
                try verification.unhashedString(element, optional: false)
            }
        }
        mode = .hash(version)
        try sink.beginObjectField("run")
        try self.run(run)
        sink.endObjectField()
        sink.field("schema_version", string: version.rawValue)
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
        let identifiers = mode.keepsIdentifiers
        try timestamp(fields[.completedAt], optional: true)
        try timestamp(fields[.createdAt], optional: false)
        try timestamp(fields[.startedAt], optional: true)
        try unhashedString(fields[.idempotencyKey], optional: true)
        try unhashedString(fields[.parentRunId], optional: true)
        _ = try enumeration(fields[.status], RunStatus.self)
        if !identifiers { try unhashedString(fields[.runId], optional: false) }
        // Hashed fields, in the order Run's model emits them (code point order of keys).
        try object("metadata", fields[.metadata])
        try string("name", fields[.name])
        try string("project_id", fields[.projectId])
        if identifiers { try identifier("run_id", fields[.runId]) }
        try objects("steps", fields[.steps], optional: false) { verification, element in
            try verification.step(element)
            verification.stepIndex += 1
        }
        try string("tenant_id", fields[.tenantId])
    }

    private mutating func step(_ node: Int) throws {
        let fields = try model(node, StepKey.self)
        guard fields.firstUnknownKey == nil, fields[.model] != nil else { throw Declined() }
        let identifiers = mode.keepsIdentifiers
        try timestamp(fields[.completedAt], optional: true)
        try timestamp(fields[.startedAt], optional: true)
        _ = try number(fields[.costUsd])
        try unhashedString(fields[.error], optional: true)
        _ = try enumeration(fields[.errorCode], ProviderErrorCode.self, optional: true)
        try dictionary(fields[.providerPayload])
        try integerField(fields[.retries], optional: false)
        _ = try enumeration(fields[.status], StepStatus.self)
        try integerField(fields[.stepIndex], optional: true)
        if !identifiers {
            try unhashedString(fields[.stepId], optional: false)
            try unhashedString(fields[.runId], optional: true)
        }
        let stepType = try enumeration(fields[.stepType], StepType.self) ?? .generate
        let visibility = try enumeration(fields[.promptVisibility], PromptVisibility.self) ?? .public
        let modality = try enumeration(fields[.modality], Modality.self) ?? .image
        if visibility == .encrypted { encrypted = true }
        if stepType != .ingest && stepType != .import {
            // Refused without a provider; the model words the refusal.
            guard let provider = fields[.provider], tape.kind(provider) == .string else { throw Declined() }
        }
        // Hashed fields, in the order Step's model emits them (code point order of keys).
        let stepStart = assets.count
        try objects("assets", fields[.assets], optional: false) { verification, element in
            try verification.asset(element, role: .output)
        }
        let outputsEnd = assets.count
        try objects("inputs", fields[.inputs], optional: false) { verification, element in
            try verification.asset(element, role: .input)
        }
        if outputsEnd > stepStart && assets.count > outputsEnd {
            // The verdict lists a step's inputs before its outputs.
            let outputs = Array(assets[stepStart..<outputsEnd])
            assets.removeSubrange(stepStart..<outputsEnd)
            assets.append(contentsOf: outputs)
        }
        try object("metadata", fields[.metadata])
        enumerationField("modality", fields[.modality], modality)
        try string("model", fields[.model], required: true)
        try string("model_hash", fields[.modelHash])
        try string("model_version", fields[.modelVersion])
        try string("negative_prompt", fields[.negativePrompt])
        try object("params", fields[.params])
        try string("prompt", fields[.prompt])
        enumerationField("prompt_visibility", fields[.promptVisibility], visibility)
        try string("provider", fields[.provider])
        if identifiers { try string("run_id", fields[.runId]) }
        sink.field("seed", integer: try integer(fields[.seed]))
        if identifiers { try identifier("step_id", fields[.stepId]) }
        enumerationField("step_type", fields[.stepType], stepType)
    }

    private mutating func asset(_ node: Int, role: AssetRole) throws {
        let fields = try model(node, AssetKey.self)
        guard let url = fields[.url], tape.kind(url) == .string, let mediaType = fields[.mediaType],
            tape.kind(mediaType) == .string
        else { throw Declined() }
        let identifiers = mode.keepsIdentifiers
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
        let canonicalURL = marksURLOnly ? try AssetURL.canonical(tape.text(url)) : nil
        metadataOK = true
        // Hashed fields, in the order Asset's model emits them (code point order of keys).
        if identifiers { try identifier("asset_id", assetIDNode) }
        if marksURLOnly { sink.field("asset_integrity", string: "url_only_unverified") }
        try optionalModel("audio", fields[.audio]) { verification, node in try verification.audio(node) }
        let duration = try number(fields[.duration])
        sink.field("duration", float: duration)
        try positiveInteger("height", fields[.height])
        try string("media_type", mediaType, required: true)
        try object("metadata", fields[.metadata])
        try string("sha256", fields[.sha256])
        let sizeBytes = try integer(fields[.sizeBytes])
        if let sizeBytes, sizeBytes.isNegative { throw Declined() }
        sink.field("size_bytes", integer: sizeBytes)
        try objects("tracks", fields[.tracks], optional: true) { verification, node in try verification.track(node) }
        if marksURLOnly { sink.field("unverified_asset_url", string: canonicalURL) }
        if identifiers { try string("url", url, required: true) }
        try optionalModel("video", fields[.video]) { verification, node in try verification.video(node) }
        try positiveInteger("width", fields[.width])
        if let duration, !(duration.isFinite && duration >= 0) { metadataOK = false }
        let shaped =
            tape.nodes[mediaType].escaped
            ? isMediaTypeShaped(try hashedText(mediaType, checked: true))
            : isMediaTypeShaped(utf8: tape.body(mediaType))
        if !shaped { metadataOK = false }
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
        try positiveInteger("bitrate", fields[.bitrate])
        try string("codec", fields[.codec])
        try string("color_space", fields[.colorSpace])
        let frameRate = try number(fields[.frameRate])
        if let frameRate, !(frameRate.isFinite && frameRate >= 0) { metadataOK = false }
        sink.field("frame_rate", float: frameRate)
        var hasAudio: Bool? = nil
        if let flag = fields[.hasAudio] {
            switch tape.kind(flag) {
            case .null: break
            case .isTrue: hasAudio = true
            case .isFalse: hasAudio = false
            default: throw Declined()
            }
        }
        sink.field("has_audio", bool: hasAudio)
        try string("resolution", fields[.resolution])
    }

    private mutating func audio(_ node: Int) throws {
        let fields = try model(node, AudioKey.self)
        // Word timings carry their own bounds and messages: the model reads them.
        if let timings = fields[.wordTimings], !tape.isNull(timings) { throw Declined() }
        try positiveInteger("bitrate", fields[.bitrate])
        try positiveInteger("channels", fields[.channels])
        try string("codec", fields[.codec])
        try positiveInteger("sample_rate", fields[.sampleRate])
        sink.nullField("word_timings")
    }

    private mutating func track(_ node: Int) throws {
        let fields = try model(node, TrackKey.self)
        try string("codec", fields[.codec])
        try string("kind", fields[.kind], required: true)
        try string("label", fields[.label])
    }

    // MARK: Fields

    /// The fields of a model object; anything but an object declines.
    private func model<Key: ModelKey>(_ node: Int, _ keys: Key.Type) throws -> ModelFields<Key> {
        guard tape.kind(node) == .object else { throw Declined() }
        return ModelFields(tape, object: node)
    }

    /// A nested model field: `null` when absent or null, else the object `body` writes.
    private mutating func optionalModel(
        _ key: StaticString,
        _ node: Int?,
        _ body: (inout TapeVerification, Int) throws -> Void
    ) throws {
        guard let node, !tape.isNull(node) else {
            sink.nullField(key)
            return
        }
        try sink.beginObjectField(key)
        try body(&self, node)
        sink.endObjectField()
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

    /// A hashed enumeration field holding `value`, read from `node` (or the default when `node` is nil): its
    /// bytes are written as they stand unless escaped.
    private mutating func enumerationField<E: ByteMatchedEnumeration>(_ key: StaticString, _ node: Int?, _ value: E) {
        if let node, !tape.nodes[node].escaped {
            sink.field(key, utf8: tape.body(node))
        } else {
            sink.field(key, string: value.rawValue)
        }
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

    /// A hashed integer field that in-spec metadata needs positive (or absent).
    private mutating func positiveInteger(_ key: StaticString, _ node: Int?) throws {
        let value = try integer(node)
        if let value, !value.isPositive { metadataOK = false }
        sink.field(key, integer: value)
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
