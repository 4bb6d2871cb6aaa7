import CairnCore
public import CairnLedger
public import CairnManifest
public import CairnStore
import Foundation

/// A run as an in-toto Statement v1 with an SLSA Provenance v1 predicate, optionally signed in a DSSE envelope with
/// the ledger's Ed25519 key (`cairn export intoto`, spec/attestation.md).
public enum InTotoAttestation {
    /// The Statement's `_type`.
    public static let statementType = "https://in-toto.io/Statement/v1"
    /// The predicate type: SLSA Provenance v1.
    public static let predicateType = "https://slsa.dev/provenance/v1"
    /// The DSSE payload type of an in-toto Statement.
    public static let payloadType = "application/vnd.in-toto+json"
    /// The SLSA `buildType` of a Cairn run (spec/attestation.md says what its parameters mean).
    public static let buildType = "urn:cairn:build-type:run:v1"

    /// The statement of run `runID`, as a JSON value.
    ///
    /// - Parameter builderVersion: versions to record in `runDetails.builder.version` (for example the CLI's).
    /// - Throws: ``ExportError`` `.notFound` when the run has no manifest; ledger and store errors.
    public static func statement(
        ledger: Ledger,
        runID: String,
        builderVersion: [String: String] = [:]
    ) throws -> JSONValue {
        guard let run = try ledger.run(runID), let bytes = try ledger.manifestBytes(runID: runID) else {
            throw ExportError(.notFound, "no manifest for run \(runID) in the ledger")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(bytes)
        } catch {
            throw ExportError(.malformed, "the stored manifest of run \(runID) cannot be read: \(error)")
        }
        let receipts = try ledger.receipts(runID: runID)
        let layout = RunLayout(manifest: manifest, receipts: receipts)
        func descriptor(_ file: RunLayout.File) -> JSONValue {
            var digests: [(String, JSONValue)] = []
            if let sha256 = file.sha256 { digests.append(("sha256", .string(sha256))) }
            if file.digest.algorithm == .blake2b256 { digests.append(("blake2b-256", .string(file.digest.hex))) }
            if file.sha256 == nil, file.digest.algorithm == .sha256 {
                digests.append(("sha256", .string(file.digest.hex)))
            }
            var pairs: [(String, JSONValue)] = [("name", .string(file.path)), ("digest", .object(JSONObject(digests)))]
            if let type = file.mediaType { pairs.append(("mediaType", .string(type))) }
            return .object(JSONObject(pairs))
        }
        let subjects = layout.files.filter { $0.role == .output }.map(descriptor)
        let dependencies = layout.files.filter { $0.role == .input }.map(descriptor)
        guard !subjects.isEmpty else {
            throw ExportError(.notFound, "run \(runID) has no outputs: an in-toto statement needs a subject")
        }
        let steps: [JSONValue] = manifest.run.steps.map { step in
            var pairs: [(String, JSONValue)] = [
                ("provider", step.provider.map { .string($0) } ?? .null),
                ("model", .string(step.model)),
                ("modality", .string(step.modality.rawValue)),
                ("step_type", .string(step.stepType.rawValue)),
                ("status", .string(step.status.rawValue)),
            ]
            if let name = step.providerPayload["cairn"]?.objectValue?["step"]?.stringValue {
                pairs.insert(("name", .string(name)), at: 0)
            }
            if let prompt = step.prompt { pairs.append(("prompt", .string(prompt))) }
            if let seed = step.seed { pairs.append(("seed", .integer(seed))) }
            if !step.params.isEmpty { pairs.append(("params", .object(step.params))) }
            return .object(JSONObject(pairs))
        }
        let providers = Array(Set(manifest.run.steps.compactMap(\.provider))).sorted()
        let pipeline = manifest.run.name ?? "unnamed"
        var metadata: [(String, JSONValue)] = [("invocationId", .string(runID))]
        if let started = (manifest.run.startedAt ?? manifest.run.createdAt).isoText {
            metadata.append(("startedOn", .string(started)))
        }
        if let finished = manifest.run.completedAt?.isoText { metadata.append(("finishedOn", .string(finished))) }
        var builder: [(String, JSONValue)] = [
            ("id", .string("urn:cairn:pipeline:" + percentEncoded(pipeline)))
        ]
        if !builderVersion.isEmpty {
            let versions: [(String, JSONValue)] = builderVersion.sorted(by: { $0.key < $1.key }).map {
                ($0.key, JSONValue.string($0.value))
            }
            builder.append(("version", .object(JSONObject(versions))))
        }
        builder.append(
            (
                "builderDependencies",
                .array(providers.map { .object(JSONObject([("name", .string("provider:" + $0))])) })
            )
        )
        var internals: [(String, JSONValue)] = [
            ("canonical_hash", .string(manifest.canonicalHash)),
            ("ledger_entry", .integer(JSONInteger(Int(run.entryIndex)))),
            ("ledger_origin", .string(ledger.verifier.name)),
        ]
        if let parent = manifest.run.parentRunID { internals.append(("parent_run_id", .string(parent))) }
        let manifestDigest = ContentHasher.digest(of: bytes, algorithm: .sha256)
        var manifestDigests: [(String, JSONValue)] = [("sha256", .string(manifestDigest.hex))]
        if let stored = Digest(run.manifestDigest), stored.algorithm == .blake2b256 {
            manifestDigests.append(("blake2b-256", .string(stored.hex)))
        }
        let predicate = JSONValue.object(
            JSONObject([
                (
                    "buildDefinition",
                    .object(
                        JSONObject([
                            ("buildType", .string(buildType)),
                            (
                                "externalParameters",
                                .object(JSONObject([("pipeline", .string(pipeline)), ("steps", .array(steps))]))
                            ),
                            ("internalParameters", .object(JSONObject(internals))),
                            ("resolvedDependencies", .array(dependencies)),
                        ])
                    )
                ),
                (
                    "runDetails",
                    .object(
                        JSONObject([
                            ("builder", .object(JSONObject(builder))),
                            ("metadata", .object(JSONObject(metadata))),
                            (
                                "byproducts",
                                .array([
                                    .object(
                                        JSONObject([
                                            ("name", "manifest.json"),
                                            ("digest", .object(JSONObject(manifestDigests))),
                                            ("mediaType", "application/json"),
                                        ])
                                    )
                                ])
                            ),
                        ])
                    )
                ),
            ])
        )
        return .object(
            JSONObject([
                ("_type", .string(statementType)),
                ("subject", .array(subjects)),
                ("predicateType", .string(predicateType)),
                ("predicate", predicate),
            ])
        )
    }

    /// DSSE's pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` (lengths in ASCII
    /// decimal bytes).
    public static func pae(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        return Array("DSSEv1 \(type.count) ".utf8) + type + Array(" \(payload.count) ".utf8) + payload
    }

    /// The statement's bytes (canonical JSON) signed in a DSSE envelope with the ledger's key.
    public static func envelope(statement: JSONValue, ledger: Ledger) throws -> JSONValue {
        let payload = try CanonicalJSON.encode(statement)
        let signature = try ledger.sign(message: pae(payloadType: payloadType, payload: payload))
        let keyID = ledger.verifier.name + "+" + String(format: "%08x", ledger.verifier.keyID)
        return .object(
            JSONObject([
                ("payloadType", .string(payloadType)),
                ("payload", .string(Data(payload).base64EncodedString())),
                (
                    "signatures",
                    .array([
                        .object(
                            JSONObject([
                                ("keyid", .string(keyID)), ("sig", .string(Data(signature).base64EncodedString())),
                            ])
                        )
                    ])
                ),
            ])
        )
    }

    /// Checks an attestation file: a DSSE envelope (its signature by `verifier`, then its statement) or a bare
    /// statement (reported unsigned), and that every subject is in `store` with the digests the statement gives.
    ///
    /// - Parameter verifier: the key signatures must verify with (the store's ledger key, or one given).
    /// - Throws: ``ExportError`` `.malformed` when the file is not an envelope or a Statement v1.
    public static func verify(
        bytes: [UInt8],
        verifier: NoteVerifier,
        store: any ObjectBackend
    ) throws -> VerificationReport {
        var report = VerificationReport(kind: "attestation")
        let value: JSONValue
        do {
            value = try JSONReader.parse(bytes)
        } catch {
            throw ExportError(.malformed, "attestation is not JSON: \(error)")
        }
        let top = try BundleFields(value: value, context: "attestation")
        var statementValue = value
        if top.object["payloadType"] != nil {
            let type = try top.string("payloadType")
            let payload = try top.base64("payload")
            guard type == payloadType else {
                throw ExportError(.malformed, "envelope payloadType is \"\(type)\", not \(payloadType)")
            }
            let message = pae(payloadType: type, payload: payload)
            var signed = false
            for (position, item) in try top.array("signatures").enumerated() {
                let fields = try BundleFields(value: item, context: "signatures[\(position)]")
                let signature = try fields.base64("sig")
                if verifier.isValidSignature(signature, for: message) { signed = true }
            }
            let keyName = verifier.name + "+" + String(format: "%08x", verifier.keyID)
            if signed {
                report.pass("envelope", "DSSE signature by \(keyName) verified")
            } else {
                report.fail("envelope", "no signature verifies with \(keyName)")
            }
            do {
                statementValue = try JSONReader.parse(payload)
            } catch {
                throw ExportError(.malformed, "envelope payload is not JSON: \(error)")
            }
        } else {
            report.fail("envelope", "the statement is not signed (export it with --sign to get a DSSE envelope)")
        }
        let statement = try BundleFields(value: statementValue, context: "statement")
        guard try statement.string("_type") == statementType else {
            throw ExportError(.malformed, "statement _type is not \(statementType)")
        }
        let predicateTypeValue = try statement.string("predicateType")
        if predicateTypeValue != predicateType {
            report.fail("statement", "predicateType is \(predicateTypeValue), not \(predicateType)")
        }
        if let invocation = statementValue.objectValue?["predicate"]?.objectValue?["runDetails"]?.objectValue?[
            "metadata"
        ]?.objectValue?["invocationId"]?.stringValue {
            report.runID = invocation
        }
        let subjects = try statement.array("subject")
        if subjects.isEmpty { report.fail("statement", "has no subject") }
        for (position, item) in subjects.enumerated() {
            let fields = try BundleFields(value: item, context: "subject[\(position)]")
            let name = fields.object["name"]?.stringValue ?? "subject[\(position)]"
            guard let digestSet = fields.object["digest"]?.objectValue else {
                report.fail(name, "has no digest set")
                continue
            }
            var expected: [DigestAlgorithm: String] = [:]
            for (key, digestValue) in digestSet {
                guard let algorithm = DigestAlgorithm(rawValue: key), let hex = digestValue.stringValue else {
                    continue
                }
                expected[algorithm] = hex
            }
            guard let storeHex = expected[store.algorithm],
                let digest = Digest("\(store.algorithm.rawValue):\(storeHex)")
            else {
                report.fail(
                    name,
                    "names no \(store.algorithm.rawValue) digest, the algorithm the store names objects by"
                )
                continue
            }
            var hashers = expected.keys.sorted { $0.rawValue < $1.rawValue }.map { ContentHasher(algorithm: $0) }
            do {
                try store.stream(digest, verify: true) { chunk in
                    for index in hashers.indices { hashers[index].update(bufferPointer: chunk) }
                }
            } catch let error as StoreError where error.code == .notFound {
                report.fail(name, "\(digest) is not in the store")
                continue
            } catch {
                report.fail(name, "\(digest): \(error)")
                continue
            }
            let mismatches = hashers.map { $0.finalize() }.filter { expected[$0.algorithm] != $0.hex }
            if let first = mismatches.first {
                report.fail(name, "the stored bytes' \(first.algorithm.rawValue) is \(first.hex), not the statement's")
            } else {
                report.pass(name, "in the store as \(digest)")
            }
        }
        return report
    }

    private static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
