public import CairnCore
public import CairnManifest

/// An artifact in the store that a step consumed or produced.
///
/// Encodes flat, as the step cache and `cairn run --json` have always shown it: `digest`, `sha256`, `size` and the
/// ``MediaMetadata`` keys beside them.
public struct Artifact: Sendable, Hashable, Codable {
    /// The artifact's digest in the store (the store's primary algorithm).
    public var digest: Digest
    /// The SHA-256 of the bytes as 64 lowercase hex digits (genblaze's `asset.sha256`).
    public var sha256: String
    /// The size in bytes.
    public var size: Int64
    /// What the bytes are: media type, dimensions, timing.
    public var media: MediaMetadata

    /// The media type.
    public var mediaType: String {
        get { media.mediaType }
        set { media.mediaType = newValue }
    }

    /// Creates an artifact description.
    public init(digest: Digest, sha256: String, size: Int64, media: MediaMetadata) {
        self.digest = digest
        self.sha256 = sha256
        self.size = size
        self.media = media
    }

    enum CodingKeys: String, CodingKey {
        case digest, sha256, size
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        digest = try container.decode(Digest.self, forKey: .digest)
        sha256 = try container.decode(String.self, forKey: .sha256)
        size = try container.decode(Int64.self, forKey: .size)
        media = try MediaMetadata(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(digest, forKey: .digest)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(size, forKey: .size)
        try media.encode(to: encoder)
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
