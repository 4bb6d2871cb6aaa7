/// Why a manifest could not be read, hashed or written.
///
/// The messages follow genblaze's wording (`UnsupportedSchemaVersionError: ...`,
/// `1 validation error for Manifest / run.steps.0.x_extra / Extra inputs are not permitted`).
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// The file is not valid JSON (see ``ManifestError/underlying``).
        case invalidJSON
        /// The top-level value is not an object.
        case notAnObject
        /// The file is a pointer sidecar (`manifest_uri` but no `run`).
        case pointerSidecar
        /// `schema_version` is not one of "1.0" to "1.6".
        case unsupportedSchemaVersion
        /// A field is missing, has the wrong type or an out-of-range value, or a step has an unknown key.
        case validation
        /// A step's prompt is encrypted but the manifest has no `encryption_scheme`.
        case encryptionSchemeMissing
        /// A hashed string cannot be encoded as UTF-8 (an unpaired surrogate).
        case unencodableString
        /// The payload nests deeper than canonical JSON allows.
        case tooDeep
        /// The schema version can be read but not written (1.6).
        case readOnlySchemaVersion
        /// A timestamp to be written has no UTC offset.
        case naiveTimestamp
        /// A 1.6 URL-only asset's url cannot be canonicalized (bad port, bad IPv6 host).
        case invalidURL
    }

    /// The kind of failure.
    public var code: Code
    /// genblaze's exception type name for this failure (`ValidationError`, `ManifestError`...).
    public var kind: String
    /// What was wrong, naming the field path where there is one.
    public var message: String
    /// The error underneath (a ``JSONReadError`` or ``CanonicalJSONError``), if any.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, kind: String, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    /// "Kind: message", as genblaze's CLI prints it after `Error: `.
    public var description: String { "\(kind): \(message)" }

    static func validation(_ path: [String], _ message: String) -> ManifestError {
        let location = path.isEmpty ? "" : path.joined(separator: ".") + " / "
        return ManifestError(
            .validation,
            kind: "ValidationError",
            "1 validation error for Manifest / \(location)\(message)"
        )
    }

    static func wrapping(_ error: CanonicalJSONError) -> ManifestError {
        switch error.code {
        case .tooDeep: ManifestError(.tooDeep, kind: "ManifestError", error.reason, underlying: error)
        case .unencodableString:
            ManifestError(.unencodableString, kind: "UnicodeEncodeError", error.reason, underlying: error)
        }
    }
}
