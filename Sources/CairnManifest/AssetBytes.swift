/// Where an asset's bytes come from when a verifier checks them (a store, a directory...).
///
/// Implementations do the IO; CairnManifest only decides which assets to look up and how to report them.
public protocol AssetByteSource {
    /// Finds bytes that should hash to `sha256` (lowercase hex) for the asset at `url`, and returns their actual
    /// SHA-256 (lowercase hex) and where they were found, or nil when no bytes are found.
    ///
    /// - Throws: When bytes exist but cannot be read (an I/O or permission error is never "missing").
    func sha256OfBytes(declaredSHA256 sha256: String, url: String) throws -> (sha256: String, location: String)?
}

/// The outcome of checking one asset's bytes.
public enum AssetByteStatus: String, Sendable, Hashable, Codable {
    /// Bytes were found and hash to the declared sha256.
    case ok
    /// Bytes were found but hash to something else.
    case mismatch
    /// No bytes were found.
    case missing
    /// Not checked: the asset has no valid sha256, or no byte source was given.
    case unchecked
}

/// Whether an asset is a step's input or output.
public enum AssetRole: String, Sendable, Hashable, Codable {
    /// In `step.inputs`.
    case input
    /// In `step.assets`.
    case output
}

/// One asset's byte check.
public struct AssetByteCheck: Sendable, Hashable {
    /// The asset's id.
    public var assetID: String
    /// Input or output.
    public var role: AssetRole
    /// Index of the step holding the asset.
    public var stepIndex: Int
    /// The declared sha256 (as written, possibly invalid or nil).
    public var sha256: String?
    /// The asset's url.
    public var url: String
    /// The result.
    public var status: AssetByteStatus
    /// The SHA-256 the found bytes hash to (set for ok and mismatch).
    public var actualSHA256: String?
    /// Where the bytes were found.
    public var location: String?
}

extension Manifest {
    /// Checks the bytes of every input and output asset that declares a valid sha256, in step order (inputs first).
    ///
    /// Assets without a valid sha256, and every asset when `source` is nil, are ``AssetByteStatus/unchecked``.
    /// A digest seen twice is looked up once.
    ///
    /// - Throws: Whatever `source` throws for unreadable bytes.
    public func checkAssetBytes(using source: (any AssetByteSource)?) throws -> [AssetByteCheck] {
        var checks: [AssetByteCheck] = []
        for (stepIndex, step) in run.steps.enumerated() {
            let assets = step.inputs.map { ($0, AssetRole.input) } + step.assets.map { ($0, AssetRole.output) }
            for (asset, role) in assets {
                checks.append(
                    AssetByteCheck(
                        assetID: asset.assetID,
                        role: role,
                        stepIndex: stepIndex,
                        sha256: asset.sha256,
                        url: asset.url,
                        status: .unchecked
                    )
                )
            }
        }
        return try lookUpAssetBytes(checks, using: source)
    }
}

/// Looks up the bytes of each unchecked asset in `checks` that declares a valid sha256 and sets its status; the
/// rest stay ``AssetByteStatus/unchecked``. A digest and url seen twice are looked up once.
///
/// - Throws: Whatever `source` throws for unreadable bytes.
func lookUpAssetBytes(_ checks: [AssetByteCheck], using source: (any AssetByteSource)?) throws -> [AssetByteCheck] {
    guard let source else { return checks }
    var checks = checks
    var seen: [String: (sha256: String, location: String)?] = [:]
    for index in checks.indices {
        guard let declared = checks[index].sha256, isValidSHA256(declared) else { continue }
        let url = checks[index].url
        let key = declared + "\u{0}" + url
        let found: (sha256: String, location: String)?
        if let cached = seen[key] {
            found = cached
        } else {
            found = try source.sha256OfBytes(declaredSHA256: declared, url: url)
            seen[key] = found
        }
        if let found {
            checks[index].actualSHA256 = found.sha256
            checks[index].location = found.location
            checks[index].status = found.sha256 == declared ? .ok : .mismatch
        } else {
            checks[index].status = .missing
        }
    }
    return checks
}

/// A URL with its query replaced by `?...` (so signed-URL credentials never reach a log line).
package func redactedURL(_ url: String) -> String {
    guard let question = url.firstIndex(of: "?") else { return url }
    return url[..<question] + "?..."
}
