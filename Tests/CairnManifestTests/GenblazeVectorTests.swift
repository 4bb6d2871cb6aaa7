import Foundation
import Testing

@testable import CairnManifest

/// One line of the genblaze vectors' expected.jsonl.
struct ExpectedVerdict: Sendable, CustomStringConvertible {
    var name: String
    var canonicalHash: String?
    var hashOK: Bool
    var verifyOK: Bool
    var storedHash: String?
    var unverifiedCount: Int
    var invalidCount: Int
    var writer: String
    var description: String { name }

    static func all() throws -> [ExpectedVerdict] {
        let text = String(decoding: try readBytes(genblazeVectorsRoot + "/expected.jsonl"), as: UTF8.self)
        return try text.split(separator: "\n").map { line in
            let object = try JSONReader.parse(Array(line.utf8)).objectValue ?? [:]
            return ExpectedVerdict(
                name: object["case"]?.stringValue ?? "",
                canonicalHash: object["canonical_hash"]?.stringValue,
                hashOK: object["hash_ok"]?.boolValue ?? false,
                verifyOK: object["verify_ok"]?.boolValue ?? false,
                storedHash: object["stored_hash"]?.stringValue,
                unverifiedCount: object["unverified_sha256_count"]?.integerValue?.int ?? 0,
                invalidCount: object["invalid_metadata_count"]?.integerValue?.int ?? 0,
                writer: object["writer"]?.stringValue ?? ""
            )
        }
    }
}

@Suite(.timeLimit(.minutes(15)))
struct GenblazeVectorTests {
    static let cases: [ExpectedVerdict] = (try? ExpectedVerdict.all()) ?? []

    @Test("The vector set is present")
    func vectorsPresent() {
        #expect(Self.cases.count >= 15)
    }

    @Test("Recomputed hash, hash_ok, verify_ok and pre-image match genblaze", arguments: cases)
    func vectorCase(_ expected: ExpectedVerdict) throws {
        let bytes = try readBytes(genblazeVectorsRoot + "/cases/\(expected.name).json")
        let manifest = try Manifest.parse(bytes)
        let preimage = try manifest.hashPreimage()
        let payload = try readBytes(genblazeVectorsRoot + "/payloads/\(expected.name).txt")
        #expect(preimage == payload, "pre-image differs")
        // The streamed pre-image and the payload tree agree.
        #expect(try CanonicalJSON.encode(manifest.hashPayload()) == preimage)
        let report = try manifest.verificationReport()
        #expect(report.recomputedHash == expected.canonicalHash)
        #expect(report.hashOK == expected.hashOK)
        #expect(report.isOK == expected.verifyOK)
        #expect(report.unverifiedSHA256IDs.count == expected.unverifiedCount)
        #expect(report.invalidMetadataIDs.count == expected.invalidCount)
        #expect(manifest.canonicalHash == expected.storedHash)
    }

    /// The cases genblaze's own writer produced (the others are crafted, tampered or read-only-schema files).
    static let writerCases = cases.filter { $0.writer == "Manifest.to_canonical_json" }

    @Test("Nine of the vectors are files genblaze's writer produced")
    func writerCasesPresent() {
        #expect(Self.writerCases.count == 9)
    }

    @Test("Files genblaze wrote with to_canonical_json are reproduced byte for byte", arguments: writerCases)
    func writerRoundTrip(_ expected: ExpectedVerdict) throws {
        let bytes = try readBytes(genblazeVectorsRoot + "/cases/\(expected.name).json")
        let manifest = try Manifest.parse(bytes)
        #expect(try manifest.canonicalFileBytes() == bytes)
    }
}
