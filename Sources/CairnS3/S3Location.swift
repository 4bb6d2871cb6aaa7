public import CairnCore

/// Where a store's objects live in S3: a bucket, a key prefix and the endpoint that serves them.
///
/// Written `s3://BUCKET/PREFIX` (the prefix may be empty). This is what a store's configuration records about
/// S3; credentials are never part of it.
public struct S3Location: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The bucket (made by the user beforehand).
    public var bucket: String
    /// The key prefix, without leading or trailing `/` ("" for the bucket's root).
    public var prefix: String
    /// The service URL, `http(s)://host[:port]`; nil for AWS's regional endpoint.
    public var endpoint: String?

    /// Creates a location; `prefix` loses any leading and trailing slashes.
    public init(bucket: String, prefix: String = "", endpoint: String? = nil) {
        self.bucket = bucket
        self.prefix = Self.trimSlashes(prefix)
        self.endpoint = endpoint
    }

    /// Parses `s3://BUCKET[/PREFIX]`.
    ///
    /// - Throws: ``S3Error`` (`bad_location`) saying what is wrong with the text.
    public init(parsing text: String, endpoint: String? = nil) throws(S3Error) {
        guard text.hasPrefix("s3://") else {
            throw S3Error(kind: .badLocation, message: "an S3 location is s3://BUCKET/PREFIX, not '\(text)'")
        }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard Self.isValidBucket(String(bucket)) else {
            throw S3Error(
                kind: .badLocation,
                message: "'\(bucket)' is not a bucket name (3-63 of a-z, 0-9, '.', '-', starting and ending "
                    + "with a letter or digit)"
            )
        }
        let prefix = Self.trimSlashes(String(rest.dropFirst(bucket.count)))
        if !prefix.isEmpty,
            prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: {
                $0.isEmpty || $0 == "." || $0 == ".."
            })
        {
            throw S3Error(kind: .badLocation, message: "the key prefix '\(prefix)' has an empty, '.' or '..' part")
        }
        if let endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw S3Error(kind: .badLocation, message: "an S3 endpoint is http(s)://HOST[:PORT], not '\(endpoint)'")
        }
        self.init(bucket: String(bucket), prefix: prefix, endpoint: endpoint)
    }

    /// `s3://BUCKET/PREFIX`.
    public var description: String { "s3://" + bucket + (prefix.isEmpty ? "" : "/" + prefix) }

    /// S3's bucket naming rules (the DNS-compatible ones every S3 implementation accepts).
    static func isValidBucket(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard alphanumeric(bytes[0]), alphanumeric(bytes[bytes.count - 1]) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    private static func trimSlashes(_ text: String) -> String {
        var text = Substring(text)
        while text.hasPrefix("/") { text = text.dropFirst() }
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}

/// The key layout of `spec/s3.md`: object `D` of algorithm `A` is `<prefix>/objects/<A>/<first two hex>/<hex>`.
public struct S3KeyLayout: Sendable, Hashable {
    /// The store's key prefix ("" for the bucket's root).
    public let prefix: String
    /// The algorithm that names the objects.
    public let algorithm: DigestAlgorithm

    /// Creates the layout for `prefix` (already trimmed of slashes, as ``S3Location`` keeps it).
    public init(prefix: String, algorithm: DigestAlgorithm) {
        self.prefix = prefix
        self.algorithm = algorithm
    }

    /// Where every object of this algorithm lives: `<prefix>/objects/<algo>/`.
    public var objectsPrefix: String {
        (prefix.isEmpty ? "" : prefix + "/") + "objects/" + algorithm.rawValue + "/"
    }

    /// The key of `digest`.
    public func key(for digest: Digest) -> String {
        objectsPrefix + digest.hex.prefix(2) + "/" + digest.hex
    }

    /// The digest a listed key names, or nil for a key that is not an object of this layout (another file
    /// under the prefix, a key whose shard does not match its hex, a malformed name).
    public func digest(forKey key: String) -> Digest? {
        guard key.hasPrefix(objectsPrefix) else { return nil }
        let rest = key.dropFirst(objectsPrefix.count)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].hasPrefix(parts[0]) else { return nil }
        return Digest(algorithm.rawValue + ":" + parts[1])
    }
}
