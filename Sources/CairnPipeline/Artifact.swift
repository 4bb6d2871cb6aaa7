public import CairnCore

/// An artifact in the store that a step consumed or produced.
public struct Artifact: Sendable, Hashable, Codable {
    /// The artifact's digest in the store (the store's primary algorithm).
    public var digest: Digest
    /// The SHA-256 of the bytes as 64 lowercase hex digits (genblaze's `asset.sha256`).
    public var sha256: String
    /// The media type.
    public var mediaType: String
    /// The size in bytes.
    public var size: Int64
    /// Pixel width (images, video).
    public var width: Int?
    /// Pixel height (images, video).
    public var height: Int?
    /// Duration in seconds (audio, video).
    public var duration: Double?
    /// Frames per second (video).
    public var frameRate: Double?
    /// Sample rate (audio).
    public var sampleRate: Int?
    /// Channel count (audio).
    public var channels: Int?

    /// Creates an artifact description.
    public init(
        digest: Digest,
        sha256: String,
        mediaType: String,
        size: Int64,
        width: Int? = nil,
        height: Int? = nil,
        duration: Double? = nil,
        frameRate: Double? = nil,
        sampleRate: Int? = nil,
        channels: Int? = nil
    ) {
        self.digest = digest
        self.sha256 = sha256
        self.mediaType = mediaType
        self.size = size
        self.width = width
        self.height = height
        self.duration = duration
        self.frameRate = frameRate
        self.sampleRate = sampleRate
        self.channels = channels
    }

    enum CodingKeys: String, CodingKey {
        case digest, sha256, size, width, height, duration, channels
        case mediaType = "media_type"
        case frameRate = "frame_rate"
        case sampleRate = "sample_rate"
    }
}

/// A reshaping of the artifacts handed from stages to a stage that depends on them.
///
/// A transform's ``name`` and ``version`` are part of the receiving stage's fingerprint: change what a transform
/// does and bump its version, and the downstream cache misses as it should.
public struct StageTransform: Sendable {
    /// The transform's name.
    public var name: String
    /// The transform's version, chosen by its author.
    public var version: String
    /// The function itself; it gets the upstream artifacts (parents sorted by stage name, each in output order).
    public var apply: @Sendable ([Artifact]) throws -> [Artifact]

    /// Creates a transform.
    public init(name: String, version: String, apply: @escaping @Sendable ([Artifact]) throws -> [Artifact]) {
        self.name = name
        self.version = version
        self.apply = apply
    }

    /// Keeps the artifacts whose media type starts with `prefix` (for example `image/`).
    public static func filter(mediaTypePrefix prefix: String) -> StageTransform {
        StageTransform(name: "filter-media-type:\(prefix)", version: "1") { artifacts in
            artifacts.filter { $0.mediaType.hasPrefix(prefix) }
        }
    }

    /// Keeps the first `count` artifacts.
    public static func first(_ count: Int) -> StageTransform {
        StageTransform(name: "first:\(count)", version: "1") { Array($0.prefix(max(0, count))) }
    }

    /// Keeps the artifacts at `indices` (0-based, in the given order; out-of-range indices are skipped).
    public static func select(_ indices: [Int]) -> StageTransform {
        let label = indices.map(String.init).joined(separator: ",")
        return StageTransform(name: "select:\(label)", version: "1") { artifacts in
            indices.compactMap { artifacts.indices.contains($0) ? artifacts[$0] : nil }
        }
    }
}
