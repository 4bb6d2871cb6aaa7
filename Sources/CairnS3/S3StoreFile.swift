import Foundation
import _CairnSystem

/// `s3.json` in a store directory: the S3 location that holds the store's objects (`spec/s3.md`,
/// "Configuration"). Bucket, prefix and endpoint only; never credentials.
public enum S3StoreFile {
    /// The file's name in the store directory.
    public static let name = "s3.json"

    /// Writes `location` into the store at `storeRoot`, atomically and durably.
    public static func write(_ location: S3Location, storeRoot: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(location) + Data("\n".utf8)
        try SystemCalls.publish(Array(data), at: storeRoot + "/" + name, mode: 0o644, sync: true)
    }

    /// The location recorded in the store at `storeRoot`, or nil when the store keeps its objects locally.
    public static func read(storeRoot: String) throws -> S3Location? {
        let path = storeRoot + "/" + name
        guard SystemCalls.exists(path) else { return nil }
        return try JSONDecoder().decode(S3Location.self, from: Data(try SystemCalls.readFile(path)))
    }
}
