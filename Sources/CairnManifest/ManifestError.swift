/// Why a manifest could not be read, hashed or written.
///
/// The messages follow genblaze's wording (`UnsupportedSchemaVersionError: ...`,
/// `1 validation error for Manifest / run.steps.0.x_extra / Extra inputs are not permitted`).
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The file is not valid JSON (see ``ManifestError/underlying``).
        public static let invalidJSON = Code("invalid_json")
        /// The top-level value is not an object.
        public static let notAnObject = Code("not_an_object")
        /// The file is a pointer sidecar (`manifest_uri` but no `run`).
        public static let pointerSidecar = Code("pointer_sidecar")
        /// `schema_version` is not one of "1.0" to "1.6".
        public static let unsupportedSchemaVersion = Code("unsupported_schema_version")
        /// A field is missing, has the wrong type or an out-of-range value, or a step has an unknown key.
        public static let validation = Code("validation")
        /// A step's prompt is encrypted but the manifest has no `encryption_scheme`.
        public static let encryptionSchemeMissing = Code("encryption_scheme_missing")
        /// A hashed string cannot be encoded as UTF-8 (an unpaired surrogate).
        public static let unencodableString = Code("unencodable_string")
        /// The payload nests deeper than canonical JSON allows.
        public static let tooDeep = Code("too_deep")
        /// The schema version can be read but not written (1.6).
        public static let readOnlySchemaVersion = Code("read_only_schema_version")
        /// A timestamp to be written has no UTC offset.
        public static let naiveTimestamp = Code("naive_timestamp")
        /// A 1.6 URL-only asset's url cannot be canonicalized (bad port, bad IPv6 host).
        public static let invalidURL = Code("invalid_url")

        /// The code's name.
        public var description: String { rawValue }
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
        if error.code == .tooDeep {
            return ManifestError(.tooDeep, kind: "ManifestError", error.reason, underlying: error)
        }
        return ManifestError(.unencodableString, kind: "UnicodeEncodeError", error.reason, underlying: error)
    }
}
