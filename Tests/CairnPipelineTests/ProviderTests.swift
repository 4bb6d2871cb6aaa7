import CairnCore
import CairnManifest
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnPipeline

@Suite(.timeLimit(.minutes(15)))
struct ProviderTests {
    func request(
        _ modality: Modality,
        prompt: String = "a cairn on a ridge",
        seed: Int = 7,
        attempt: Int = 1,
        params: JSONObject = JSONObject(),
        work: String
    ) -> ProviderRequest {
        ProviderRequest(
            runID: "0190f5d2-0000-7000-8000-000000000001",
            stepName: "make",
            stepIndex: 0,
            attempt: attempt,
            model: "m1",
            prompt: prompt,
            seed: seed,
            params: params,
            modality: modality,
            workDirectory: work
        )
    }

    func bytes(_ output: ProviderOutput) throws -> [UInt8] {
        switch output.content {
        case .bytes(let bytes): bytes
        case .file(let path): [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    func write(_ bytes: [UInt8], in directory: TemporaryDirectory, name: String) throws -> String {
        let path = directory.appending(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func syntheticImageIsAValidPNG() async throws {
        let directory = try TemporaryDirectory()
        let response = try await SyntheticProvider().generate(
            request(.image, params: ["width": 40, "height": 24], work: directory.path)
        )
        #expect(response.outputs.count == 1)
        let output = response.outputs[0]
        #expect(output.mediaType == "image/png")
        #expect(output.media.width == 40 && output.media.height == 24)
        let facts = try inspectMedia(try write(try bytes(output), in: directory, name: "a.png"))
        #expect(facts["kind"] as? String == "png")
        #expect(facts["width"] as? Int == 40)
        #expect(facts["height"] as? Int == 24)
        #expect(facts["last"] as? String == "IEND")
        let file = try runProcess("/usr/bin/env", ["file", "-b", directory.appending("a.png")])
        #expect(file.stdoutText.hasPrefix("PNG image data, 40 x 24"))
    }

    @Test func syntheticVideoIsAnAnimatedPNG() async throws {
        let directory = try TemporaryDirectory()
        let response = try await SyntheticProvider().generate(
            request(.video, params: ["frames": 5, "fps": 10], work: directory.path)
        )
        let output = response.outputs[0]
        #expect(output.mediaType == "image/apng")
        #expect(output.media.duration == 0.5)
        #expect(output.media.frameRate == 10)
        let facts = try inspectMedia(try write(try bytes(output), in: directory, name: "v.png"))
        #expect(facts["frames"] as? Int == 5)
        #expect(facts["fctl"] as? Int == 5)
    }

    @Test func syntheticAudioIsAValidWAV() async throws {
        let directory = try TemporaryDirectory()
        let response = try await SyntheticProvider().generate(
            request(.audio, params: ["duration": 0.25, "sample_rate": 8000], work: directory.path)
        )
        let output = response.outputs[0]
        #expect(output.mediaType == "audio/wav")
        let facts = try inspectMedia(try write(try bytes(output), in: directory, name: "a.wav"))
        #expect(facts["kind"] as? String == "wav")
        #expect(facts["rate"] as? Int == 8000)
        #expect(facts["channels"] as? Int == 1)
        #expect(facts["frames"] as? Int == 2000)
        #expect(facts["sampwidth"] as? Int == 2)
    }

    @Test func syntheticTextIsUTF8Words() async throws {
        let directory = try TemporaryDirectory()
        let response = try await SyntheticProvider().generate(
            request(.text, params: ["words": 5], work: directory.path)
        )
        let text = String(decoding: try bytes(response.outputs[0]), as: UTF8.self)
        #expect(text.split(separator: " ").count == 5)
        #expect(response.outputs[0].mediaType == "text/plain")
    }

    @Test(arguments: Modality.allCases)
    func syntheticOutputIsDeterministicAndDependsOnThePrompt(_ modality: Modality) async throws {
        let directory = try TemporaryDirectory()
        let provider = SyntheticProvider()
        let first = try bytes(try await provider.generate(request(modality, work: directory.path)).outputs[0])
        let again = try bytes(try await provider.generate(request(modality, work: directory.path)).outputs[0])
        let other = try bytes(
            try await provider.generate(request(modality, prompt: "another", work: directory.path)).outputs[0]
        )
        let reseeded = try bytes(
            try await provider.generate(request(modality, seed: 8, work: directory.path)).outputs[0]
        )
        #expect(first == again)
        #expect(first != other)
        #expect(first != reseeded)
    }

    @Test func syntheticRejectsBadParameters() async throws {
        let directory = try TemporaryDirectory()
        let error = await #expect(throws: ProviderError.self) {
            _ = try await SyntheticProvider().generate(request(.image, params: ["width": "wide"], work: directory.path))
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("params.width") == true)
    }

    @Test func syntheticFailsTheLeadingAttemptsOnRequest() async throws {
        let directory = try TemporaryDirectory()
        let provider = SyntheticProvider(failingAttempts: 2)
        for attempt in 1...2 {
            let error = await #expect(throws: ProviderError.self) {
                _ = try await provider.generate(request(.text, attempt: attempt, work: directory.path))
            }
            #expect(error?.code == .serverError)
        }
        let response = try await provider.generate(request(.text, attempt: 3, work: directory.path))
        #expect(response.outputs.count == 1)
    }

    @Test func pngEncoderMatchesKnownChecksums() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(zlibStored([]) == [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01])
    }

    @Test func processProviderCollectsOutputsAndKeepsStdoutAndStderr() async throws {
        let directory = try TemporaryDirectory()
        let input = try write(Array("input bytes".utf8), in: directory, name: "in.txt")
        let provider = ProcessProvider(
            name: "shell",
            command: [
                "/bin/sh", "-c",
                "echo hello-$CAIRN_STEP; echo warn >&2; cat \"$1\" > \"$CAIRN_OUTPUT_DIR/b.txt\"; printf '%s' \"$0\" > \"$CAIRN_OUTPUT_DIR/a.txt\"",
                "{prompt}", "{inputs}",
            ]
        )
        var call = request(.text, prompt: "the prompt", work: directory.appending("work"))
        call.inputs = [
            ProviderInput(
                digest: ContentHasher.digest(of: Array("input bytes".utf8), algorithm: .sha256),
                mediaType: "text/plain",
                path: input
            )
        ]
        try FileManager.default.createDirectory(atPath: call.workDirectory, withIntermediateDirectories: true)
        let response = try await provider.generate(call)
        #expect(response.outputs.count == 2)
        #expect(try bytes(response.outputs[0]) == Array("the prompt".utf8))
        #expect(try bytes(response.outputs[1]) == Array("input bytes".utf8))
        #expect(response.outputs[0].mediaType == "text/plain")
        let records = Dictionary(uniqueKeysWithValues: response.records.map { ($0.name, $0.bytes) })
        #expect(records["stdout"] == Array("hello-make\n".utf8))
        #expect(records["stderr"] == Array("warn\n".utf8))
        #expect(response.payload["exit_status"] == "0")
    }

    @Test func processProviderClassifiesExitStatuses() async throws {
        let directory = try TemporaryDirectory()
        let temporary = ProcessProvider(name: "p", command: ["/bin/sh", "-c", "echo busy >&2; exit 75"])
        let error = await #expect(throws: ProviderError.self) {
            _ = try await temporary.generate(request(.text, work: directory.path))
        }
        #expect(error?.code == .serverError)
        #expect(error?.records.first { $0.name == "stderr" }?.bytes == Array("busy\n".utf8))
        let broken = ProcessProvider(name: "p", command: ["/bin/sh", "-c", "exit 3"])
        let second = await #expect(throws: ProviderError.self) {
            _ = try await broken.generate(request(.text, work: directory.path))
        }
        #expect(second?.code == .modelError)
        #expect(second?.message.contains("status 3") == true)
    }

    @Test func processProviderKillsTheProcessGroupOnTimeout() async throws {
        let directory = try TemporaryDirectory()
        let provider = ProcessProvider(
            name: "slow",
            command: ["/bin/sh", "-c", "sleep 300 & sleep 300; echo never"],
            timeout: .milliseconds(300)
        )
        let started = ContinuousClock.now
        let error = await #expect(throws: ProviderError.self) {
            _ = try await provider.generate(request(.text, work: directory.path))
        }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    @Test func httpProviderSendsClientRequestIDAndRecordsBodies() async throws {
        let server = try TestJobServer()
        let directory = try TemporaryDirectory()
        let provider = HTTPProvider(
            name: "http",
            endpoint: server.baseURL,
            headersFromEnvironment: ["Authorization": "PATH"]
        )
        let response = try await provider.generate(request(.text, prompt: "hello", work: directory.path))
        #expect(try bytes(response.outputs[0]) == Array("HELLO".utf8))
        #expect(response.requestID?.hasPrefix("req-") == true)
        #expect(response.responseID == "sync-1")
        let names = response.records.map(\.name)
        #expect(names == ["request_body", "response_body"])
        let sent = try JSONReader.parse(response.records[0].bytes)
        #expect(sent.objectValue?["prompt"]?.stringValue == "hello")
        #expect(sent.objectValue?["run_id"]?.stringValue == "0190f5d2-0000-7000-8000-000000000001")
        let log = try server.requests()
        #expect(log.first?["client_request_id"] as? String == "0190f5d2-0000-7000-8000-000000000001/make/1")
        #expect(log.first?["authorization"] as? String == ProcessInfo.processInfo.environment["PATH"])
    }

    @Test func httpProviderPollsAcceptedJobsAndResumesThem() async throws {
        let server = try TestJobServer()
        let directory = try TemporaryDirectory()
        let provider = HTTPProvider(name: "http", endpoint: server.baseURL, pollInterval: .milliseconds(20))
        let response = try await provider.generate(request(.text, prompt: "async please", work: directory.path))
        #expect(try bytes(response.outputs[0]) == Array("done job-1".utf8))
        #expect(response.responseID == "job-1")
        // A retry that resumes job-1 polls it and never POSTs again.
        var retry = request(.text, prompt: "async please", attempt: 2, work: directory.path)
        retry.resumeJobID = "job-1"
        let resumed = try await provider.generate(retry)
        #expect(try bytes(resumed.outputs[0]) == Array("done job-1".utf8))
        let methods = try server.requests().filter { ($0["path"] as? String) != "/log" }.map { $0["method"] as? String }
        #expect(methods.filter { $0 == "POST" }.count == 1)
    }

    @Test func httpProviderClassifiesStatusCodes() async throws {
        let server = try TestJobServer()
        let directory = try TemporaryDirectory()
        let provider = HTTPProvider(name: "http", endpoint: server.baseURL)
        let busy = await #expect(throws: ProviderError.self) {
            _ = try await provider.generate(request(.text, prompt: "fail503", work: directory.path))
        }
        #expect(busy?.code == .serverError)
        #expect(busy?.retryAfter == .zero)
        #expect(busy?.requestID?.hasPrefix("req-") == true)
        let bad = await #expect(throws: ProviderError.self) {
            _ = try await provider.generate(request(.text, prompt: "bad", work: directory.path))
        }
        #expect(bad?.code == .invalidInput)
        let refused = HTTPProvider(name: "http", endpoint: URL(string: "http://127.0.0.1:1/jobs")!)
        let down = await #expect(throws: ProviderError.self) {
            _ = try await refused.generate(request(.text, work: directory.path))
        }
        #expect(down?.code == .serverError)
    }
}
