public import CairnCore
public import CairnManifest
import Foundation

/// One input or output of a step attempt: an object digest and its media type.
public struct ReceiptArtifact: Sendable, Hashable {
    /// The object's digest.
    public var digest: Digest
    /// The media type (`image/png`...), if known.
    public var mediaType: String?

    /// Creates an artifact reference.
    public init(digest: Digest, mediaType: String? = nil) {
        self.digest = digest
        self.mediaType = mediaType
    }
}

/// How one attempt of a step ended (a receipt's `status`, spec/ledger.md).
public enum AttemptStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The attempt produced its outputs.
    case succeeded
    /// The attempt failed (the receipt's `error` says why).
    case failed
    /// The attempt was cancelled (the run timed out or was stopped).
    case cancelled
}

/// The record of one attempt of one step of a run (a `receipt` ledger entry).
public struct Receipt: Sendable, Hashable {
    /// The run's ID.
    public var runID: String
    /// The step's name.
    public var stepName: String
    /// The step's position in the run (0-based).
    public var stepIndex: Int
    /// The attempt number (1-based).
    public var attempt: Int
    /// How the attempt ended.
    public var status: AttemptStatus
    /// When the attempt started (RFC 3339).
    public var startedAt: String
    /// When the attempt finished (RFC 3339).
    public var finishedAt: String
    /// The objects the attempt read, in order.
    public var inputs: [ReceiptArtifact]
    /// The objects the attempt produced, in order.
    public var outputs: [ReceiptArtifact]
    /// The provider that ran the attempt.
    public var provider: String
    /// The request ID sent to the provider, if any.
    public var providerRequestID: String?
    /// The provider's own response ID, if any.
    public var providerResponseID: String?
    /// The step fingerprint (canonical hash of what determines the output), if any.
    public var fingerprint: String?
    /// The error text of a failed attempt.
    public var error: String?

    /// Creates a receipt.
    public init(
        runID: String,
        stepName: String,
        stepIndex: Int,
        attempt: Int = 1,
        status: AttemptStatus,
        startedAt: String,
        finishedAt: String,
        inputs: [ReceiptArtifact] = [],
        outputs: [ReceiptArtifact] = [],
        provider: String,
        providerRequestID: String? = nil,
        providerResponseID: String? = nil,
        fingerprint: String? = nil,
        error: String? = nil
    ) {
        self.runID = runID
        self.stepName = stepName
        self.stepIndex = stepIndex
        self.attempt = attempt
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.inputs = inputs
        self.outputs = outputs
        self.provider = provider
        self.providerRequestID = providerRequestID
        self.providerResponseID = providerResponseID
        self.fingerprint = fingerprint
        self.error = error
    }
}

/// A run's finished manifest as recorded in the ledger (a `manifest` entry; the body is an object).
public struct ManifestRecord: Sendable, Hashable {
    /// The run's ID.
    public var runID: String
    /// The parent run's ID, if the run was chained from another.
    public var parentRunID: String?
    /// The run's name, if any.
    public var name: String?
    /// The manifest's canonical hash (lowercase hex).
    public var canonicalHash: String
    /// The digest of the stored manifest bytes.
    public var manifestDigest: Digest
    /// The run's status, if the manifest states one.
    public var status: String?

    /// Creates a record.
    package init(
        runID: String,
        parentRunID: String?,
        name: String?,
        canonicalHash: String,
        manifestDigest: Digest,
        status: String?
    ) {
        self.runID = runID
        self.parentRunID = parentRunID
        self.name = name
        self.canonicalHash = canonicalHash
        self.manifestDigest = manifestDigest
        self.status = status
    }
}

/// A metadata tag added to a run after the fact (a `tag` entry), such as `selected=true`.
public struct TagRecord: Sendable, Hashable {
    /// The run's ID.
    public var runID: String
    /// The tag's key.
    public var key: String
    /// The tag's value.
    public var value: JSONValue

    /// Creates a tag record.
    package init(runID: String, key: String, value: JSONValue) {
        self.runID = runID
        self.key = key
        self.value = value
    }
}

/// One ledger entry. Its bytes are the canonical JSON of an object with a `type` member (spec/ledger.md).
public enum LedgerEntry: Sendable, Hashable {
    /// A run's manifest.
    case manifest(ManifestRecord)
    /// One attempt of one step.
    case receipt(Receipt)
    /// A metadata tag on a run.
    case tag(TagRecord)

    /// The run the entry is about.
    public var runID: String {
        switch self {
        case .manifest(let record): return record.runID
        case .receipt(let receipt): return receipt.runID
        case .tag(let tag): return tag.runID
        }
    }

    /// The entry type name (`manifest`, `receipt`, `tag`).
    package var typeName: String {
        switch self {
        case .manifest: return "manifest"
        case .receipt: return "receipt"
        case .tag: return "tag"
        }
    }

    /// Every object digest the entry refers to (its GC roots).
    package var referencedDigests: [Digest] {
        switch self {
        case .manifest(let record): return [record.manifestDigest]
        case .receipt(let receipt): return receipt.inputs.map(\.digest) + receipt.outputs.map(\.digest)
        case .tag: return []
        }
    }

    /// The entry as a JSON object, with `timestamp` (RFC 3339, when it was appended).
    package func jsonValue(timestamp: String) -> JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
        func artifacts(_ list: [ReceiptArtifact]) -> JSONValue {
            .array(
                list.map {
                    .object(
                        JSONObject(codePointOrdered: [
                            ("digest", .string($0.digest.description)), ("media_type", optional($0.mediaType)),
                        ])
                    )
                }
            )
        }
        // Each entry's fields are listed in code point order of their keys, the order canonical JSON writes, so
        // the encoder writes them as they stand instead of sorting.
        let pairs: [(String, JSONValue)]
        switch self {
        case .manifest(let r):
            pairs =
                [
                    ("canonical_hash", .string(r.canonicalHash)), ("manifest", .string(r.manifestDigest.description)),
                    ("name", optional(r.name)), ("parent_run_id", optional(r.parentRunID)),
                    ("run_id", .string(r.runID)),
                    ("status", optional(r.status)),
                    ("timestamp", .string(timestamp)), ("type", "manifest"), ("v", .integer(JSONInteger(1))),
                ]
        case .receipt(let r):
            pairs =
                [
                    ("attempt", .integer(JSONInteger(r.attempt))), ("error", optional(r.error)),
                    ("fingerprint", optional(r.fingerprint)), ("finished_at", .string(r.finishedAt)),
                    ("inputs", artifacts(r.inputs)), ("outputs", artifacts(r.outputs)),
                    ("provider", .string(r.provider)),
                    ("provider_request_id", optional(r.providerRequestID)),
                    ("provider_response_id", optional(r.providerResponseID)), ("run_id", .string(r.runID)),
                    ("started_at", .string(r.startedAt)), ("status", .string(r.status.rawValue)),
                    ("step_index", .integer(JSONInteger(r.stepIndex))), ("step_name", .string(r.stepName)),
                    ("timestamp", .string(timestamp)), ("type", "receipt"), ("v", .integer(JSONInteger(1))),
                ]
        case .tag(let t):
            pairs =
                [
                    ("key", .string(t.key)), ("run_id", .string(t.runID)), ("timestamp", .string(timestamp)),
                    ("type", "tag"), ("v", .integer(JSONInteger(1))), ("value", t.value),
                ]
        }
        return .object(JSONObject(codePointOrdered: pairs))
    }

    /// The entry's bytes: canonical JSON (spec/ledger.md).
    package func encoded(timestamp: String) throws -> [UInt8] {
        try CanonicalJSON.encode(jsonValue(timestamp: timestamp))
    }

    /// Decodes entry bytes.
    ///
    /// - Returns: the entry and its timestamp.
    /// - Throws: ``LedgerError`` `.invalidEntry` naming the missing or ill-typed field.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> (entry: LedgerEntry, timestamp: String) {
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw LedgerError(.invalidEntry, "entry is not JSON: \(error)")
        }
        return try decode(value: value)
    }

    /// Decodes an entry from its JSON value.
    package static func decode(value: JSONValue) throws -> (entry: LedgerEntry, timestamp: String) {
        guard let object = value.objectValue else { throw LedgerError(.invalidEntry, "entry is not a JSON object") }
        let fields = EntryFields(object: object)
        let timestamp = try fields.string("timestamp")
        switch try fields.string("type") {
        case "manifest":
            let digestText = try fields.string("manifest")
            guard let digest = Digest(digestText) else {
                throw LedgerError(.invalidEntry, "manifest entry field \"manifest\" is not a digest: \(digestText)")
            }
            let record = ManifestRecord(
                runID: try fields.string("run_id"),
                parentRunID: try fields.optionalString("parent_run_id"),
                name: try fields.optionalString("name"),
                canonicalHash: try fields.string("canonical_hash"),
                manifestDigest: digest,
                status: try fields.optionalString("status")
            )
            return (.manifest(record), timestamp)
        case "receipt":
            let receipt = Receipt(
                runID: try fields.string("run_id"),
                stepName: try fields.string("step_name"),
                stepIndex: try fields.int("step_index"),
                attempt: try fields.int("attempt"),
                status: try fields.attemptStatus("status"),
                startedAt: try fields.string("started_at"),
                finishedAt: try fields.string("finished_at"),
                inputs: try fields.artifacts("inputs"),
                outputs: try fields.artifacts("outputs"),
                provider: try fields.string("provider"),
                providerRequestID: try fields.optionalString("provider_request_id"),
                providerResponseID: try fields.optionalString("provider_response_id"),
                fingerprint: try fields.optionalString("fingerprint"),
                error: try fields.optionalString("error")
            )
            return (.receipt(receipt), timestamp)
        case "tag":
            guard let tagValue = object["value"] else { throw LedgerError(.invalidEntry, "tag entry has no value") }
            let tag = TagRecord(runID: try fields.string("run_id"), key: try fields.string("key"), value: tagValue)
            return (.tag(tag), timestamp)
        case let other:
            throw LedgerError(.invalidEntry, "unknown entry type \"\(other)\"")
        }
    }
}

extension Receipt {
    /// Reads a receipt from its JSON object: the `receipt` entry fields of spec/ledger.md (`type`, `v` and
    /// `timestamp` may be absent).
    ///
    /// - Throws: ``LedgerError`` `.invalidEntry` naming the missing or ill-typed field.
    public init(json: JSONValue) throws {
        guard var object = json.objectValue else { throw LedgerError(.invalidEntry, "receipt is not a JSON object") }
        if object["type"] == nil { object["type"] = "receipt" }
        if object["timestamp"] == nil { object["timestamp"] = "" }
        if object["attempt"] == nil { object["attempt"] = 1 }
        for key in ["inputs", "outputs"] where object[key] == nil { object[key] = .array([]) }
        guard case .receipt(let receipt) = try LedgerEntry.decode(value: .object(object)).entry else {
            throw LedgerError(.invalidEntry, "entry is not a receipt")
        }
        self = receipt
    }
}

private struct EntryFields {
    /// The members by key (entry keys are ASCII, so `String` equality is the JSON key equality here); a hashed
    /// lookup is much cheaper than `JSONObject`'s scalar-by-scalar search for the dozen fields of an entry.
    var object: [String: JSONValue]

    init(object: JSONObject) {
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(object.count)
        for (key, value) in object.entries { members[key] = value }
        self.object = members
    }

    func string(_ key: String) throws -> String {
        guard let text = object[key]?.stringValue else {
            throw LedgerError(.invalidEntry, "entry field \"\(key)\" is missing or not a string")
        }
        return text
    }

    func attemptStatus(_ key: String) throws -> AttemptStatus {
        let text = try string(key)
        guard let status = AttemptStatus(rawValue: text) else {
            throw LedgerError(
                .invalidEntry,
                "entry field \"\(key)\" is \"\(text)\", not one of succeeded, failed, cancelled"
            )
        }
        return status
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.stringValue else {
            throw LedgerError(.invalidEntry, "entry field \"\(key)\" is not a string or null")
        }
        return text
    }

    func int(_ key: String) throws -> Int {
        guard let number = object[key]?.integerValue?.int else {
            throw LedgerError(.invalidEntry, "entry field \"\(key)\" is missing or not an integer")
        }
        return number
    }

    func artifacts(_ key: String) throws -> [ReceiptArtifact] {
        guard let list = object[key]?.arrayValue else {
            throw LedgerError(.invalidEntry, "entry field \"\(key)\" is missing or not an array")
        }
        return try list.map { item in
            guard let fields = item.objectValue, let text = fields["digest"]?.stringValue, let digest = Digest(text)
            else { throw LedgerError(.invalidEntry, "entry field \"\(key)\" holds an artifact without a digest") }
            let media = fields["media_type"].flatMap { $0.isNull ? nil : $0.stringValue }
            return ReceiptArtifact(digest: digest, mediaType: media)
        }
    }
}
