import CairnCore
public import Foundation

/// Output modality of a step (genblaze `Modality`).
public enum Modality: String, Sendable, Hashable, CaseIterable, Codable {
    /// Still images.
    case image
    /// Video.
    case video
    /// Audio.
    case audio
    /// Text.
    case text
}

/// What a step does (genblaze `StepType`).
public enum StepType: String, Sendable, Hashable, CaseIterable, Codable {
    /// Generates new content.
    case generate
    /// Upscales its input.
    case upscale
    /// Transcodes its input.
    case transcode
    /// Mixes inputs.
    case mix
    /// Edits its input (extend, inpaint, style transfer...).
    case edit
    /// Anything else.
    case custom
    /// Brings existing bytes in (provider may be nil).
    case ingest
    /// Imports existing bytes (provider may be nil).
    case `import`
}

/// Execution status of a step (genblaze `StepStatus`; never hashed).
public enum StepStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Not started.
    case pending
    /// Submitted to the provider.
    case submitted
    /// Running at the provider.
    case processing
    /// Finished with outputs.
    case succeeded
    /// Failed.
    case failed
    /// Cancelled.
    case cancelled
}

/// Execution status of a run (genblaze `RunStatus`; never hashed).
public enum RunStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Not started.
    case pending
    /// Running.
    case running
    /// Finished.
    case completed
    /// Failed.
    case failed
    /// Cancelled.
    case cancelled
}

/// How a step's prompt may be shown (genblaze `PromptVisibility`).
public enum PromptVisibility: String, Sendable, Hashable, CaseIterable, Codable {
    /// Shown as is.
    case `public`
    /// Hidden from exports.
    case `private`
    /// Redacted.
    case redacted
    /// Encrypted (requires ``Manifest/encryptionScheme``).
    case encrypted
}

/// A classified provider failure (genblaze `ProviderErrorCode`; never hashed).
public enum ProviderErrorCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// The provider timed out.
    case timeout
    /// The provider rate-limited the request.
    case rateLimit = "rate_limit"
    /// Credentials were refused.
    case authFailure = "auth_failure"
    /// The request was invalid.
    case invalidInput = "invalid_input"
    /// The model failed.
    case modelError = "model_error"
    /// The provider's server failed.
    case serverError = "server_error"
    /// Content policy refused the request.
    case contentPolicy = "content_policy"
    /// Anything else.
    case unknown

    /// True for the codes genblaze's default retry policy retries (timeout, rate_limit, server_error).
    public var isRetryable: Bool { self == .timeout || self == .rateLimit || self == .serverError }
}

/// A manifest schema version genblaze 0.3.8 reads ("1.0" to "1.6").
public enum SchemaVersion: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// 1.0 (legacy hashing: ids and urls hashed).
    case v1_0 = "1.0"
    /// 1.1 (legacy hashing).
    case v1_1 = "1.1"
    /// 1.2 (legacy hashing).
    case v1_2 = "1.2"
    /// 1.3 (legacy hashing).
    case v1_3 = "1.3"
    /// 1.4 (modern hashing: ids and urls excluded).
    case v1_4 = "1.4"
    /// 1.5 (modern hashing; the version Cairn and genblaze write).
    case v1_5 = "1.5"
    /// 1.6 (modern hashing plus URL-only asset markers; read and verify only).
    case v1_6 = "1.6"

    /// The version new manifests are written with.
    public static let current = SchemaVersion.v1_5

    /// True for 1.0 to 1.3, whose hash includes run, step and asset ids and asset urls.
    public var hashesIdentifiers: Bool { self <= .v1_3 }

    /// True for 1.6, whose hash marks assets without a valid sha256 with their canonical url.
    public var marksURLOnlyAssets: Bool { self == .v1_6 }

    /// True for versions genblaze can write (1.0 to 1.5).
    public var isWritable: Bool { self <= .v1_5 }

    /// Orders versions numerically.
    public static func < (lhs: SchemaVersion, rhs: SchemaVersion) -> Bool {
        lhs.ordinal < rhs.ordinal
    }

    /// Position in release order.
    private var ordinal: Int {
        switch self {
        case .v1_0: 0
        case .v1_1: 1
        case .v1_2: 2
        case .v1_3: 3
        case .v1_4: 4
        case .v1_5: 5
        case .v1_6: 6
        }
    }
}

/// A point in time as genblaze's pydantic `datetime` keeps it: calendar fields, microseconds and an optional UTC
/// offset (nil for a naive time, which genblaze refuses to write).
///
/// Timestamps are never part of the canonical hash; they appear only in written files.
public struct Timestamp: Sendable, Hashable, CustomStringConvertible {
    /// Year (1 to 9999).
    public var year: Int
    /// Month (1 to 12).
    public var month: Int
    /// Day of month.
    public var day: Int
    /// Hour (0 to 23).
    public var hour: Int
    /// Minute.
    public var minute: Int
    /// Second.
    public var second: Int
    /// Microsecond (0 to 999,999).
    public var microsecond: Int
    /// Offset from UTC in seconds, or nil for a naive time.
    public var utcOffsetSeconds: Int?

    /// Creates a timestamp from its fields.
    public init(
        year: Int,
        month: Int,
        day: Int,
        hour: Int = 0,
        minute: Int = 0,
        second: Int = 0,
        microsecond: Int = 0,
        utcOffsetSeconds: Int? = 0
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// The UTC timestamp of `date`, to the microsecond.
    public init(_ date: Date) {
        let totalMicroseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        self.init(unixMicroseconds: totalMicroseconds)
    }

    /// The UTC timestamp `microseconds` after the Unix epoch.
    public init(unixMicroseconds: Int64) {
        var days = unixMicroseconds / 86_400_000_000
        var rest = unixMicroseconds % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let seconds = rest / 1_000_000
        self.init(
            year: year,
            month: month,
            day: day,
            hour: Int(seconds / 3600),
            minute: Int(seconds / 60 % 60),
            second: Int(seconds % 60),
            microsecond: Int(rest % 1_000_000),
            utcOffsetSeconds: 0
        )
    }

    /// The current time in UTC.
    public static func now() -> Timestamp { Timestamp(Date()) }

    /// Python's `isoformat()` with `+00:00` written as `Z`; nil for a naive time.
    public var isoText: String? {
        guard let offset = utcOffsetSeconds else { return nil }
        var text = naiveISOText
        if offset == 0 {
            text += "Z"
        } else {
            let sign = offset < 0 ? "-" : "+"
            let magnitude = abs(offset)
            text += sign + pad(magnitude / 3600, 2) + ":" + pad(magnitude / 60 % 60, 2)
            if magnitude % 60 != 0 { text += ":" + pad(magnitude % 60, 2) }
        }
        return text
    }

    /// The date and time without offset, as Python's `isoformat()` prints them.
    var naiveISOText: String {
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        text += "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        if microsecond != 0 { text += "." + pad(microsecond, 6) }
        return text
    }

    /// RFC 3339 text of `date` in UTC to the millisecond (`2026-01-01T00:00:00.000Z`, microseconds truncated), the
    /// form ledger entries and run records carry. Built from its fields, with no formatter object, since every ledger
    /// append writes one.
    package static func millisecondText(_ date: Date) -> String {
        let time = Timestamp(date)
        let day = pad(time.year, 4) + "-" + pad(time.month, 2) + "-" + pad(time.day, 2)
        let clock = pad(time.hour, 2) + ":" + pad(time.minute, 2) + ":" + pad(time.second, 2)
        return day + "T" + clock + "." + pad(time.microsecond / 1_000, 3) + "Z"
    }

    /// The ISO text, or the naive text followed by " (naive)".
    public var description: String { isoText ?? naiveISOText + " (naive)" }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}

/// A word with its time span in an audio asset (genblaze `WordTiming`).
public struct WordTiming: Sendable, Hashable {
    /// The word or token.
    public var word: String
    /// Start in seconds (finite, >= 0).
    public var start: Double
    /// End in seconds (finite, >= start).
    public var end: Double
    /// Recognition confidence in [0, 1].
    public var confidence: Double?

    /// Creates a word timing.
    public init(word: String, start: Double, end: Double, confidence: Double? = nil) {
        self.word = word
        self.start = start
        self.end = end
        self.confidence = confidence
    }
}

/// Technical metadata of a video asset (genblaze `VideoMetadata`).
public struct VideoMetadata: Sendable, Hashable {
    /// Frames per second.
    public var frameRate: Double?
    /// Codec name (`h264`, `vp9`...).
    public var codec: String?
    /// Bits per second.
    public var bitrate: JSONInteger?
    /// Color space (`bt709`...).
    public var colorSpace: String?
    /// Whether the video has an audio track.
    public var hasAudio: Bool?
    /// Resolution label (`1080p`...).
    public var resolution: String?

    /// Creates video metadata; every field defaults to nil.
    public init(
        frameRate: Double? = nil,
        codec: String? = nil,
        bitrate: JSONInteger? = nil,
        colorSpace: String? = nil,
        hasAudio: Bool? = nil,
        resolution: String? = nil
    ) {
        self.frameRate = frameRate
        self.codec = codec
        self.bitrate = bitrate
        self.colorSpace = colorSpace
        self.hasAudio = hasAudio
        self.resolution = resolution
    }
}

/// Technical metadata of an audio asset (genblaze `AudioMetadata`).
public struct AudioMetadata: Sendable, Hashable {
    /// Samples per second.
    public var sampleRate: JSONInteger?
    /// Channel count.
    public var channels: JSONInteger?
    /// Codec name.
    public var codec: String?
    /// Bits per second.
    public var bitrate: JSONInteger?
    /// Word-level timings.
    public var wordTimings: [WordTiming]?

    /// Creates audio metadata; every field defaults to nil.
    public init(
        sampleRate: JSONInteger? = nil,
        channels: JSONInteger? = nil,
        codec: String? = nil,
        bitrate: JSONInteger? = nil,
        wordTimings: [WordTiming]? = nil
    ) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.codec = codec
        self.bitrate = bitrate
        self.wordTimings = wordTimings
    }
}

/// A media track inside a container asset (genblaze `Track`).
public struct Track: Sendable, Hashable {
    /// `video`, `audio`, `subtitle`...
    public var kind: String
    /// Codec name.
    public var codec: String?
    /// Human-readable label.
    public var label: String?

    /// Creates a track.
    public init(kind: String, codec: String? = nil, label: String? = nil) {
        self.kind = kind
        self.codec = codec
        self.label = label
    }
}

/// A media artifact a step consumed or produced (genblaze `Asset`).
public struct Asset: Sendable, Hashable {
    /// Asset identifier (hashed only by schemas 1.0 to 1.3).
    public var assetID: String
    /// Where the bytes live (hashed only by schemas 1.0 to 1.3; 1.6 hashes a canonical form for URL-only assets).
    public var url: String
    /// MIME type (`image/png`).
    public var mediaType: String
    /// Lowercase hex SHA-256 of the bytes.
    public var sha256: String?
    /// Size in bytes (>= 0).
    public var sizeBytes: JSONInteger?
    /// Width in pixels.
    public var width: JSONInteger?
    /// Height in pixels.
    public var height: JSONInteger?
    /// Duration in seconds.
    public var duration: Double?
    /// Video metadata.
    public var video: VideoMetadata?
    /// Audio metadata.
    public var audio: AudioMetadata?
    /// Tracks (nil and an empty list hash differently).
    public var tracks: [Track]?
    /// Free-form metadata (hashed).
    public var metadata: JSONObject

    /// Creates an asset; `assetID` defaults to a new random UUID.
    public init(
        assetID: String = newIdentifier(),
        url: String,
        mediaType: String,
        sha256: String? = nil,
        sizeBytes: JSONInteger? = nil,
        width: JSONInteger? = nil,
        height: JSONInteger? = nil,
        duration: Double? = nil,
        video: VideoMetadata? = nil,
        audio: AudioMetadata? = nil,
        tracks: [Track]? = nil,
        metadata: JSONObject = [:]
    ) {
        self.assetID = assetID
        self.url = url
        self.mediaType = mediaType
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.width = width
        self.height = height
        self.duration = duration
        self.video = video
        self.audio = audio
        self.tracks = tracks
        self.metadata = metadata
    }
}

/// One generation step in a run (genblaze `Step`).
public struct Step: Sendable, Hashable {
    /// Step identifier (hashed only by schemas 1.0 to 1.3).
    public var stepID: String
    /// The run's id, set by ``RunBuilder`` (hashed only by schemas 1.0 to 1.3).
    public var runID: String?
    /// Provider name; nil only for ``StepType/ingest`` and ``StepType/import`` steps.
    public var provider: String?
    /// Model identifier.
    public var model: String
    /// What the step does.
    public var stepType: StepType
    /// Model version.
    public var modelVersion: String?
    /// Model weights hash.
    public var modelHash: String?
    /// Output modality.
    public var modality: Modality
    /// Prompt text.
    public var prompt: String?
    /// Negative prompt text.
    public var negativePrompt: String?
    /// Prompt visibility.
    public var promptVisibility: PromptVisibility
    /// Random seed (any size).
    public var seed: JSONInteger?
    /// Provider parameters, hashed exactly as given (`30` and `30.0` differ).
    public var params: JSONObject
    /// Execution status (not hashed).
    public var status: StepStatus
    /// Input assets (hashed; order matters).
    public var inputs: [Asset]
    /// Output assets (hashed).
    public var assets: [Asset]
    /// Raw provider response data (not hashed).
    public var providerPayload: JSONObject
    /// Retry count (not hashed).
    public var retries: JSONInteger
    /// Estimated cost in USD (not hashed).
    public var costUSD: Double?
    /// Error message (not hashed).
    public var error: String?
    /// Classified error (not hashed).
    public var errorCode: ProviderErrorCode?
    /// Start time (not hashed).
    public var startedAt: Timestamp?
    /// Completion time (not hashed).
    public var completedAt: Timestamp?
    /// Position in the run, set by ``RunBuilder`` (not hashed).
    public var stepIndex: JSONInteger?
    /// Free-form metadata (hashed).
    public var metadata: JSONObject

    /// Creates a step; every field but `model` has genblaze's default.
    public init(
        stepID: String = newIdentifier(),
        runID: String? = nil,
        provider: String?,
        model: String,
        stepType: StepType = .generate,
        modelVersion: String? = nil,
        modelHash: String? = nil,
        modality: Modality = .image,
        prompt: String? = nil,
        negativePrompt: String? = nil,
        promptVisibility: PromptVisibility = .public,
        seed: JSONInteger? = nil,
        params: JSONObject = [:],
        status: StepStatus = .pending,
        inputs: [Asset] = [],
        assets: [Asset] = [],
        providerPayload: JSONObject = [:],
        retries: JSONInteger = 0,
        costUSD: Double? = nil,
        error: String? = nil,
        errorCode: ProviderErrorCode? = nil,
        startedAt: Timestamp? = nil,
        completedAt: Timestamp? = nil,
        stepIndex: JSONInteger? = nil,
        metadata: JSONObject = [:]
    ) {
        self.stepID = stepID
        self.runID = runID
        self.provider = provider
        self.model = model
        self.stepType = stepType
        self.modelVersion = modelVersion
        self.modelHash = modelHash
        self.modality = modality
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.promptVisibility = promptVisibility
        self.seed = seed
        self.params = params
        self.status = status
        self.inputs = inputs
        self.assets = assets
        self.providerPayload = providerPayload
        self.retries = retries
        self.costUSD = costUSD
        self.error = error
        self.errorCode = errorCode
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.stepIndex = stepIndex
        self.metadata = metadata
    }
}

/// A pipeline execution: ordered steps plus run-level fields (genblaze `Run`).
public struct Run: Sendable, Hashable {
    /// Run identifier (hashed only by schemas 1.0 to 1.3).
    public var runID: String
    /// Tenant (hashed).
    public var tenantID: String?
    /// Project (hashed).
    public var projectID: String?
    /// Human-readable name (hashed).
    public var name: String?
    /// Execution status (not hashed).
    public var status: RunStatus
    /// Steps in declaration order (hashed).
    public var steps: [Step]
    /// The run this one was derived from. Never hashed, so linking a parent never changes the canonical hash.
    public var parentRunID: String?
    /// Caller's deduplication key (not hashed).
    public var idempotencyKey: String?
    /// Creation time (not hashed).
    public var createdAt: Timestamp
    /// Start time (not hashed).
    public var startedAt: Timestamp?
    /// Completion time (not hashed).
    public var completedAt: Timestamp?
    /// Free-form metadata (hashed).
    public var metadata: JSONObject

    /// Creates a run; every field has genblaze's default (`runID` a new random UUID, `createdAt` now).
    public init(
        runID: String = newIdentifier(),
        tenantID: String? = nil,
        projectID: String? = nil,
        name: String? = nil,
        status: RunStatus = .pending,
        steps: [Step] = [],
        parentRunID: String? = nil,
        idempotencyKey: String? = nil,
        createdAt: Timestamp = .now(),
        startedAt: Timestamp? = nil,
        completedAt: Timestamp? = nil,
        metadata: JSONObject = [:]
    ) {
        self.runID = runID
        self.tenantID = tenantID
        self.projectID = projectID
        self.name = name
        self.status = status
        self.steps = steps
        self.parentRunID = parentRunID
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.metadata = metadata
    }
}

/// A genblaze manifest: a run plus its canonical hash and transport fields.
public struct Manifest: Sendable, Hashable {
    /// The schema version as a string ("1.0" to "1.6"); it is part of the hash payload.
    public var schemaVersion: String
    /// The run.
    public var run: Run
    /// The stored canonical hash (lowercase hex), "" when not computed yet.
    public var canonicalHash: String
    /// Pointer-mode URI (not hashed).
    public var manifestURI: String?
    /// Encryption scheme (not hashed; required when a prompt is encrypted).
    public var encryptionScheme: String?
    /// Signature (not hashed).
    public var signature: String?
    /// Asset ids that failed to transfer (not hashed).
    public var transferFailures: [String]
    /// First field path whose string cannot be encoded (an unpaired surrogate), and whether it is hashed.
    var unencodableField: (path: String, hashed: Bool)?

    /// Creates a manifest. With an empty `canonicalHash`, call ``computeCanonicalHash()`` or ``sealed()``.
    public init(
        schemaVersion: String = SchemaVersion.current.rawValue,
        run: Run,
        canonicalHash: String = "",
        manifestURI: String? = nil,
        encryptionScheme: String? = nil,
        signature: String? = nil,
        transferFailures: [String] = []
    ) {
        self.schemaVersion = schemaVersion
        self.run = run
        self.canonicalHash = canonicalHash
        self.manifestURI = manifestURI
        self.encryptionScheme = encryptionScheme
        self.signature = signature
        self.transferFailures = transferFailures
    }

    /// genblaze's `Manifest.from_run`: schema 1.5 with the canonical hash computed.
    ///
    /// - Throws: ``ManifestError`` or ``CanonicalJSONError`` when the run cannot be hashed.
    public static func from(run: Run) throws -> Manifest {
        try Manifest(run: run).sealed()
    }

    /// A copy with ``canonicalHash`` set to the recomputed hash.
    ///
    /// - Throws: ``ManifestError`` or ``CanonicalJSONError``.
    public func sealed() throws -> Manifest {
        var copy = self
        copy.canonicalHash = try computeCanonicalHash()
        return copy
    }

    /// Equality over every field (the internal encodability marker excluded).
    public static func == (lhs: Manifest, rhs: Manifest) -> Bool {
        lhs.schemaVersion == rhs.schemaVersion && lhs.run == rhs.run && lhs.canonicalHash == rhs.canonicalHash
            && lhs.manifestURI == rhs.manifestURI && lhs.encryptionScheme == rhs.encryptionScheme
            && lhs.signature == rhs.signature && lhs.transferFailures == rhs.transferFailures
    }

    /// Hashes the fields compared by ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(schemaVersion)
        hasher.combine(run)
        hasher.combine(canonicalHash)
    }
}

/// A new random identifier as genblaze makes them (`str(uuid.uuid4())`: lowercase, hyphenated).
public func newIdentifier() -> String {
    // Random bytes from the system generator (getrandom), formatted as Python's `str(uuid.uuid4())`.
    var generator = SystemRandomNumberGenerator()
    let high = (generator.next() & ~0xF000) | 0x4000  // version 4
    let low = (generator.next() & ~(0xC000 << 48)) | (0x8000 << 48)  // RFC 4122 variant
    let digits: StaticString = "0123456789abcdef"
    return String(unsafeUninitializedCapacity: 36) { text in
        var position = 0
        func write(_ word: UInt64) {
            for shift in stride(from: 60, through: 0, by: -4) {
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    text[position] = UInt8(ascii: "-")
                    position += 1
                }
                text[position] = digits.utf8Start[Int((word >> UInt64(shift)) & 0xF)]
                position += 1
            }
        }
        write(high)
        write(low)
        return 36
    }
}
