import CairnCore
public import CairnLedger
import CairnManifest
import Crypto

/// `cairn export openlineage`: each run as OpenLineage 2-0-2 RunEvents (spec/export.md, "OpenLineage"): a START
/// event, then COMPLETE, FAIL or ABORT as the run's status says, each one line of canonical JSON.
public struct OpenLineageExport: Sendable {
    /// The RunEvent schema the events follow.
    public static let schemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
    /// The ParentRunFacet schema.
    public static let parentFacetSchemaURL =
        "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet"
    /// The schema of Cairn's own run facet (`cairn`), documented in spec/export.md.
    public static let cairnFacetSchemaURL = "urn:cairn:spec:export:CairnRunFacet:1"

    /// The job and dataset namespace.
    public var namespace: String
    /// The events' `producer` (a URI).
    public var producer: String

    public init(namespace: String = "cairn", producer: String) {
        self.namespace = namespace
        self.producer = producer
    }

    /// The events of the runs `since` selects, oldest manifest entry first, one JSON text per element.
    public func events(from ledger: Ledger, since: ExportSince = .all) throws -> [String] {
        let runs = try ExportSource.runs(in: ledger, since: since)
        var names: [String: String?] = [:]
        for run in runs { names[run.summary.runID] = run.manifest.run.name }
        var lines: [String] = []
        for run in runs {
            var parentName: String?? = nil
            if let parent = run.manifest.run.parentRunID {
                if let known = names[parent] {
                    parentName = known
                } else {
                    let name = try ledger.run(parent)?.name
                    names[parent] = name
                    parentName = name
                }
            }
            for event in try Self.events(for: run, parentName: parentName, namespace: namespace, producer: producer) {
                lines.append(try CanonicalJSON.string(event))
            }
        }
        return lines
    }

    /// The job name of a run: its name when it has a non-empty one, else its run ID.
    static func jobName(runID: String, name: String?) -> String {
        guard let name, !name.isEmpty else { return runID }
        return name
    }

    /// The OpenLineage run ID of a Cairn run: the run ID itself when it is a UUID (lowercased), else a UUID made from
    /// the first 16 bytes of its SHA-256 (version 8, RFC 9562 variant).
    static func runUUID(_ runID: String) -> String {
        if isUUID(runID) { return runID.lowercased() }
        var bytes = Array(SHA256.hash(data: Array(runID.utf8)).prefix(16))
        bytes[6] = bytes[6] & 0x0F | 0x80
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Hex.encode(bytes)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(
                hex[
                    hex.index(
                        hex.startIndex,
                        offsetBy: range.lowerBound
                    )..<hex.index(hex.startIndex, offsetBy: range.upperBound)
                ]
            )
        }
        return parts.joined(separator: "-")
    }

    static func isUUID(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return false }
        for (offset, byte) in utf8.enumerated() {
            if [8, 13, 18, 23].contains(offset) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)) {
                return false
            }
        }
        return true
    }

    static func events(
        for run: ExportRun,
        parentName: String??,
        namespace: String,
        producer: String
    ) throws -> [JSONValue] {
        let model = run.manifest.run
        var inputs: [String] = []
        var outputs: [String] = []
        var seenInputs: Set<String> = []
        var seenOutputs: Set<String> = []
        for step in model.steps {
            for asset in step.inputs {
                if let digest = ParquetRows.objectDigest(asset.sha256), seenInputs.insert(digest).inserted {
                    inputs.append(digest)
                }
            }
            for asset in step.assets {
                if let digest = ParquetRows.objectDigest(asset.sha256), seenOutputs.insert(digest).inserted {
                    outputs.append(digest)
                }
            }
        }
        func datasets(_ names: [String]) -> JSONValue {
            .array(names.map { .object(["namespace": .string(namespace), "name": .string($0)]) })
        }
        var facets: [(String, JSONValue)] = [
            (
                "cairn",
                .object([
                    "_producer": .string(producer),
                    "_schemaURL": .string(cairnFacetSchemaURL),
                    "runId": .string(model.runID),
                    "canonicalHash": .string(run.manifest.canonicalHash),
                    "manifestDigest": .string(run.summary.manifestDigest),
                    "entryIndex": .integer(JSONInteger(Int(run.summary.entryIndex))),
                    "status": .string(model.status.rawValue),
                    "attempts": .integer(JSONInteger(run.receipts.count)),
                ])
            )
        ]
        if let parent = model.parentRunID {
            let parentJob = jobName(runID: parent, name: parentName ?? nil)
            facets.append(
                (
                    "parent",
                    .object([
                        "_producer": .string(producer),
                        "_schemaURL": .string(parentFacetSchemaURL),
                        "run": .object(["runId": .string(runUUID(parent))]),
                        "job": .object(["namespace": .string(namespace), "name": .string(parentJob)]),
                    ])
                )
            )
        }
        let runObject: JSONValue = .object([
            "runId": .string(runUUID(model.runID)), "facets": .object(JSONObject(facets)),
        ])
        let job: JSONValue = .object([
            "namespace": .string(namespace), "name": .string(jobName(runID: model.runID, name: model.name)),
        ])
        func event(_ type: String, time: String) -> JSONValue {
            .object([
                "eventType": .string(type),
                "eventTime": .string(time),
                "run": runObject,
                "job": job,
                "inputs": datasets(inputs),
                "outputs": datasets(type == "START" ? [] : outputs),
                "producer": .string(producer),
                "schemaURL": .string(schemaURL),
            ])
        }
        let started = model.startedAt.map(ExportSource.isoformat) ?? ExportSource.isoformat(model.createdAt)
        var events = [event("START", time: started)]
        let finished = model.completedAt.map(ExportSource.isoformat) ?? run.summary.timestamp
        switch model.status {
        case .completed: events.append(event("COMPLETE", time: finished))
        case .failed: events.append(event("FAIL", time: finished))
        case .cancelled: events.append(event("ABORT", time: finished))
        case .pending, .running: break
        }
        return events
    }
}
