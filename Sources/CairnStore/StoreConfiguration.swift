public import CairnCore

/// When a stored object is guaranteed to survive a crash or power loss.
public enum Durability: String, Sendable, Codable, CaseIterable {
    /// Each object is durable before `put` returns: fsync the data, link it into place, fsync the directory.
    case object
    /// A batch of objects is made durable with one filesystem sync before any of them becomes visible,
    /// and a second one before the batch call returns.
    case batch
    /// No syncs: objects are visible and intact to other processes, but a crash may lose recent ones
    /// (never expose a torn one: the link is still atomic and the data is written before it).
    case none
}

/// The contents of a store's `config.json` (see `spec/store.md`).
public struct StoreConfiguration: Sendable, Codable, Hashable {
    /// The primary algorithm: every object is named by a digest of this algorithm.
    public var algorithm: DigestAlgorithm
    /// The default durability of `put`.
    public var durability: Durability
    /// The on-disk layout version; this code reads and writes version 1.
    public var layoutVersion: Int
    /// How many levels of two-hex-digit shard directories sit between `objects/<algorithm>/` and an object.
    public var shardDepth: Int

    /// The layout version this code writes.
    package static let currentLayoutVersion = 1
    /// The shard depth new stores get (chosen by the fan-out benchmark in `spec/store.md`).
    package static let defaultShardDepth = 1

    /// Creates a configuration for a new store.
    package init(
        algorithm: DigestAlgorithm = .sha256,
        durability: Durability = .object,
        layoutVersion: Int = StoreConfiguration.currentLayoutVersion,
        shardDepth: Int = StoreConfiguration.defaultShardDepth
    ) {
        self.algorithm = algorithm
        self.durability = durability
        self.layoutVersion = layoutVersion
        self.shardDepth = shardDepth
    }
}
