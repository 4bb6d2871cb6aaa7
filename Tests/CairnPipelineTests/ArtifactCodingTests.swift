import CairnCore
import CairnManifest
import Foundation
import Testing

@testable import CairnPipeline

/// An artifact keeps its media fields in one ``MediaMetadata`` and still encodes flat, as the step cache
/// (spec/pipeline.md) and `cairn run --json` show it.
@Suite(.timeLimit(.minutes(15)))
struct ArtifactCodingTests {
    static let hex = String(repeating: "ab", count: 32)

    @Test func aCacheEntryArtifactReadsAndWritesTheSameFlatJSON() throws {
        let text = """
            {"digest":"sha256:\(Self.hex)","frame_rate":24,"height":64,"media_type":"video/mp4","sha256":"\(Self.hex)",\
            "size":18564,"width":96}
            """
        let artifact = try JSONDecoder().decode(Artifact.self, from: Data(text.utf8))
        #expect(artifact.media == MediaMetadata(mediaType: "video/mp4", width: 96, height: 64, frameRate: 24))
        #expect(artifact.size == 18564)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(decoding: try encoder.encode(artifact), as: UTF8.self) == text)
    }

    @Test func outputsArtifactsAndAssetsShareOneMediaValue() throws {
        let media = MediaMetadata(mediaType: "audio/wav", duration: 1.5, sampleRate: 48_000, channels: 2)
        let output = ProviderOutput(content: .bytes([1, 2, 3]), media: media)
        #expect(output.mediaType == "audio/wav")
        let digest = try Digest(parsing: "sha256:" + Self.hex)
        let artifact = Artifact(digest: digest, sha256: Self.hex, size: 3, media: output.media)
        // The manifest asset the pipeline writes for the artifact gives the same value back.
        let asset = ManifestAssembly.asset(artifact)
        #expect(asset.media == media)
        #expect(ManifestAssembly.artifact(from: asset)?.media == media)
    }
}
