import CairnCore
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnManifest

/// The outline the ledger, its index and GC read from stored manifests.
@Suite(.timeLimit(.minutes(15)))
struct ManifestOutlineTests {
    static let a = String(repeating: "a", count: 64)
    static let b = String(repeating: "b", count: 64)
    static let c = String(repeating: "c", count: 64)

    @Test func readsRunStepsAssetsAndPayloadDigests() throws {
        let text = """
            {"schema_version":"1.5","canonical_hash":"h","run":{"run_id":"r1","parent_run_id":"r0","name":"n",
             "status":"completed","steps":[
              {"step_index":3,"step_type":"generate","provider":"p","model":"m","status":"succeeded",
               "started_at":"s","completed_at":"e",
               "inputs":[{"sha256":"\(Self.a)","media_type":"image/png"},{"sha256":"not hex"}],
               "assets":[{"sha256":"\(Self.b)","media_type":"video/mp4"}],
               "provider_payload":{"records":{"stdout":"sha256:\(Self.c)","note":"sha256:short"},"n":[1,"x"]}},
              {"provider":"q"}]}}
            """
        let outline = try ManifestOutline(bytes: Array(text.utf8))
        #expect(outline.runID == "r1")
        #expect(outline.parentRunID == "r0")
        #expect(outline.name == "n")
        #expect(outline.status == "completed")
        #expect(outline.canonicalHash == "h")
        #expect(outline.steps.map(\.index) == [3, 1])
        let first = try #require(outline.steps.first)
        #expect(first.inputs.map(\.digest) == [Digest("sha256:" + Self.a), nil])
        #expect(first.outputs.map(\.mediaType) == ["video/mp4"])
        #expect(first.payloadDigests == [Digest("sha256:" + Self.c)!])
        #expect(
            outline.referencedDigests
                == Set(["sha256:" + Self.a, "sha256:" + Self.b, "sha256:" + Self.c].compactMap(Digest.init))
        )
    }

    @Test func refusesWhatIsNotAManifest() {
        #expect(throws: ManifestError.self) { try ManifestOutline(bytes: Array("{".utf8)) }
        #expect(throws: ManifestError.self) { try ManifestOutline(bytes: Array("[1]".utf8)) }
        #expect(throws: ManifestError.self) { try ManifestOutline(bytes: Array(#"{"run":[]}"#.utf8)) }
    }

    @Test func everyGenblazeVectorOutlinesWithItsAssets() throws {
        let cases = genblazeVectorsPath + "/cases"
        let names = try FileManager.default.contentsOfDirectory(atPath: cases).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 15)
        for name in names {
            let bytes = try readBytes(cases + "/" + name)
            guard let manifest = try? Manifest.parse(bytes) else { continue }
            let outline = try ManifestOutline(bytes: bytes)
            // The outline reads what is stored; the model fills in a run id the file leaves out.
            #expect(outline.runID == nil || outline.runID == manifest.run.runID, "\(name)")
            #expect(outline.steps.count == manifest.run.steps.count, "\(name)")
            let declared = manifest.run.steps.flatMap { $0.inputs + $0.assets }.compactMap(\.sha256)
                .compactMap { Digest("sha256:" + $0) }
            #expect(Set(declared).isSubset(of: outline.referencedDigests), "\(name)")
        }
    }
}
