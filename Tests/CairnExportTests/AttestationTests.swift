import CairnCore
import CairnExport
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

/// The venv python with in-toto-attestation (scripts/python-requirements.txt), when the test command provides it.
private let python: String? = {
    guard let path = ProcessInfo.processInfo.environment["CAIRN_GENBLAZE_PYTHON"],
        FileManager.default.isExecutableFile(atPath: path)
    else { return nil }
    return path
}()

private let checkScript = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scripts/intoto_check.py").path

private func object(_ value: JSONValue?) throws -> JSONObject {
    try #require(value?.objectValue)
}

private let vectors = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("spec/vectors").path

@Suite(.timeLimit(.minutes(15)))
struct AttestationTests {
    @Test func theSpecVectorIsSignedOverDSSEsPAEByTheBundleVectorsKey() throws {
        let envelopeBytes = Array(try Data(contentsOf: URL(fileURLWithPath: vectors + "/attestation/run.dsse.json")))
        let envelope = try object(try JSONReader.parse(envelopeBytes))
        let payloadText = try #require(envelope["payload"]?.stringValue)
        let payload = Array(try #require(Data(base64Encoded: payloadText)))
        let statement = Array(try Data(contentsOf: URL(fileURLWithPath: vectors + "/attestation/statement.json")))
        #expect(payload + [0x0A] == statement)
        let keyText = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: vectors + "/bundle/key.pub")),
            as: UTF8.self
        )
        let key = try NoteVerifier(encoded: keyText)
        let signature = try #require(envelope["signatures"]?.arrayValue?.first?.objectValue)
        #expect(signature["keyid"]?.stringValue == key.name + "+" + String(format: "%08x", key.keyID))
        let sigText = try #require(signature["sig"]?.stringValue)
        let sig = Array(try #require(Data(base64Encoded: sigText)))
        let pae = Array("DSSEv1 28 application/vnd.in-toto+json \(payload.count) ".utf8) + payload
        #expect(key.isValidSignature(sig, for: pae))
        var changed = pae
        changed[changed.count - 2] ^= 0x01
        #expect(!key.isValidSignature(sig, for: changed))
        // The subjects are the bundle vector's assets, by SHA-256.
        let subjects = try #require(try object(try JSONReader.parse(payload))["subject"]?.arrayValue)
        let hexes = subjects.compactMap { $0.objectValue?["digest"]?.objectValue?["sha256"]?.stringValue }
        #expect(hexes.count == 2)
        for hex in hexes {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: vectors + "/bundle/assets/" + hex)))
            #expect(ContentHasher.digest(of: bytes, algorithm: .sha256).hex == hex)
        }
    }

    @Test func theStatementNamesOutputsInputsRunAndBuilder() async throws {
        let fixture = try await ExportFixture()
        let statement = try object(try InTotoAttestation.statement(ledger: fixture.ledger, runID: fixture.child))
        #expect(statement["_type"]?.stringValue == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"]?.stringValue == "https://slsa.dev/provenance/v1")
        let receipts = try fixture.ledger.receipts(runID: fixture.child)
        let outputs = receipts.filter { $0.status == .succeeded }.flatMap(\.outputs).map(\.digest.hex)
        let subjects = try #require(statement["subject"]?.arrayValue).map { try object($0) }
        #expect(subjects.compactMap { $0["digest"]?.objectValue?["sha256"]?.stringValue } == outputs)
        #expect(
            subjects.compactMap { $0["name"]?.stringValue } == [
                "steps/000_zoom/output-1.apng", "steps/001_caption/output-1.txt",
            ]
        )
        let predicate = try object(statement["predicate"])
        let definition = try object(predicate["buildDefinition"])
        let dependencies = try #require(definition["resolvedDependencies"]?.arrayValue).map { try object($0) }
        let parentOutput = try #require(try fixture.ledger.receipts(runID: fixture.parent).first?.outputs.first)
        #expect(
            dependencies.compactMap { $0["digest"]?.objectValue?["sha256"]?.stringValue } == [parentOutput.digest.hex]
        )
        let details = try object(predicate["runDetails"])
        #expect(try object(details["metadata"])["invocationId"]?.stringValue == fixture.child)
        let builder = try object(details["builder"])
        #expect(builder["id"]?.stringValue == "urn:cairn:pipeline:hero-video")
        let providers = try #require(builder["builderDependencies"]?.arrayValue).compactMap {
            $0.objectValue?["name"]?.stringValue
        }
        #expect(providers == ["provider:flaky", "provider:synthetic"])
    }

    @Test func aBlake2bStoreNamesBothDigests() async throws {
        let fixture = try await ExportFixture(algorithm: .blake2b256)
        let statement = try object(try InTotoAttestation.statement(ledger: fixture.ledger, runID: fixture.parent))
        let subject = try object(try #require(statement["subject"]?.arrayValue?.first))
        let digests = try object(subject["digest"])
        let output = try #require(try fixture.ledger.receipts(runID: fixture.parent).first?.outputs.first)
        #expect(digests["blake2b-256"]?.stringValue == output.digest.hex)
        let bytes = try fixture.store.read(output.digest)
        #expect(digests["sha256"]?.stringValue == ContentHasher.digest(of: bytes, algorithm: .sha256).hex)
        let envelope = try InTotoAttestation.envelope(
            statement: .object(statement),
            ledger: fixture.ledger
        )
        let report = try InTotoAttestation.verify(
            bytes: try CanonicalJSON.encode(envelope),
            verifier: fixture.ledger.verifier,
            store: fixture.store
        )
        #expect(report.isValid, "\(report.failures.map(\.line))")
    }

    @Test func aSignedEnvelopeVerifiesAndATamperedOneIsRefused() async throws {
        let fixture = try await ExportFixture()
        let statement = try InTotoAttestation.statement(ledger: fixture.ledger, runID: fixture.child)
        let envelope = try object(try InTotoAttestation.envelope(statement: statement, ledger: fixture.ledger))
        #expect(envelope["payloadType"]?.stringValue == "application/vnd.in-toto+json")
        let bytes = try CanonicalJSON.encode(.object(envelope))
        let good = try InTotoAttestation.verify(bytes: bytes, verifier: fixture.ledger.verifier, store: fixture.store)
        #expect(good.isValid, "\(good.failures.map(\.line))")
        #expect(good.runID == fixture.child)

        // The signature covers DSSE's PAE of the payload: check it independently of the verifier.
        let payloadText = try #require(envelope["payload"]?.stringValue)
        let payload = try #require(Data(base64Encoded: payloadText))
        let pae = Array("DSSEv1 28 application/vnd.in-toto+json \(payload.count) ".utf8) + Array(payload)
        #expect(InTotoAttestation.pae(payloadType: "application/vnd.in-toto+json", payload: Array(payload)) == pae)

        // A statement with one output digest changed, signed again: the signature holds, the subject does not.
        var changedText = String(decoding: payload, as: UTF8.self)
        let firstSHA = try #require(try fixture.ledger.receipts(runID: fixture.child)[1].outputs.first?.digest.hex)
        changedText = changedText.replacingOccurrences(of: firstSHA, with: String(repeating: "0", count: 64))
        let resigned = try InTotoAttestation.envelope(
            statement: try JSONReader.parse(Array(changedText.utf8)),
            ledger: fixture.ledger
        )
        let wrongSubject = try InTotoAttestation.verify(
            bytes: try CanonicalJSON.encode(resigned),
            verifier: fixture.ledger.verifier,
            store: fixture.store
        )
        #expect(wrongSubject.failures.map(\.subject) == ["steps/000_zoom/output-1.apng"])

        // The changed payload under the old signature: the signature fails.
        var forged = envelope
        forged["payload"] = .string(Data(changedText.utf8).base64EncodedString())
        let forgedReport = try InTotoAttestation.verify(
            bytes: try CanonicalJSON.encode(.object(forged)),
            verifier: fixture.ledger.verifier,
            store: fixture.store
        )
        #expect(forgedReport.failures.map(\.subject).contains("envelope"))
        // Another ledger's key: the signature fails.
        let other = try await ExportFixture()
        let otherKey = try InTotoAttestation.verify(bytes: bytes, verifier: other.ledger.verifier, store: fixture.store)
        #expect(otherKey.failures.map(\.subject) == ["envelope"])
        // A bare statement is reported unsigned; garbage is malformed.
        let bare = try InTotoAttestation.verify(
            bytes: try CanonicalJSON.encode(statement),
            verifier: fixture.ledger.verifier,
            store: fixture.store
        )
        #expect(bare.failures.map(\.subject) == ["envelope"])
        #expect(throws: ExportError.self) {
            try InTotoAttestation.verify(
                bytes: Array("{}".utf8),
                verifier: fixture.ledger.verifier,
                store: fixture.store
            )
        }
    }

    @Test(
        .enabled(
            if: python != nil,
            "CAIRN_GENBLAZE_PYTHON is not set: run scripts/setup.sh and point it at .venv-gb/bin/python"
        )
    )
    func inTotoAttestationParsesTheStatementAndItsProvenance() async throws {
        let interpreter = try #require(python)
        let fixture = try await ExportFixture()
        let statement = try InTotoAttestation.statement(
            ledger: fixture.ledger,
            runID: fixture.child,
            builderVersion: ["cairn": "test"]
        )
        let statementPath = fixture.path("statement.json")
        try Data(try CanonicalJSON.encode(statement)).write(to: URL(fileURLWithPath: statementPath))
        let envelope = try InTotoAttestation.envelope(statement: statement, ledger: fixture.ledger)
        let envelopePath = fixture.path("envelope.json")
        try Data(try CanonicalJSON.encode(envelope)).write(to: URL(fileURLWithPath: envelopePath))
        for path in [statementPath, envelopePath] {
            let result = try runProcess(interpreter, [checkScript, path])
            #expect(result.status == 0, "\(result.stderrText)")
            #expect(result.stdoutText.contains("invocation \(fixture.child)"), "\(result.stdoutText)")
            #expect(result.stdoutText.contains("subjects 2"), "\(result.stdoutText)")
            #expect(result.stdoutText.contains("dependencies 1"), "\(result.stdoutText)")
        }
        // The checker is not a rubber stamp: a statement of another type is refused.
        let wrong = fixture.path("wrong.json")
        let text = String(decoding: try CanonicalJSON.encode(statement), as: UTF8.self)
            .replacingOccurrences(of: "https://in-toto.io/Statement/v1", with: "https://in-toto.io/Statement/v0.1")
        try Data(text.utf8).write(to: URL(fileURLWithPath: wrong))
        #expect(try runProcess(interpreter, [checkScript, wrong]).status != 0)
    }
}
