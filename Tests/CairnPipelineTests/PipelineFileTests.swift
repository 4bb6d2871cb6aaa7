import CairnManifest
import Testing

@testable import CairnPipeline

@Suite(.timeLimit(.minutes(15)))
struct PipelineFileTests {
    @Test func stagesTransformsProvidersAndParamsAreRead() throws {
        let file = try PipelineFile.parse(
            """
            name: board
            concurrency: 3
            rate_limit: 2.5
            metadata: {project: demo}
            providers:
              local: {type: process, command: [/bin/echo, hi], modalities: [text], timeout_s: 5, retry: {max_attempts: 4}}
              api: {type: http, endpoint: "http://127.0.0.1:9/jobs", headers_from_env: {Authorization: TOKEN}}
            stages:
              - name: images
                steps:
                  - {name: a, model: m, modality: image, seed: 3, params: {width: 32, ratio: 1.5, tags: [x, 2], on: true}}
              - name: text
                dependsOn: [images]
                transform: {type: select, indices: [0]}
                allowEmpty: true
                steps:
                  - {name: b, provider: local, model: sh, modality: text, input_from: []}
                  - {name: c, provider: api, model: remote, modality: text, step_type: edit}
            batch: {prompts: [one, two], concurrency: 3}
            """
        )
        #expect(file.name == "board")
        #expect(file.concurrency == 3)
        #expect(file.callsPerSecond == 2.5)
        #expect(file.batchPrompts == ["one", "two"])
        #expect(file.batchConcurrency == 3)
        #expect(file.metadata["project"] == .string("demo"))
        #expect(file.stages.map(\.name) == ["images", "text"])
        #expect(file.stages[1].dependsOn == ["images"])
        #expect(file.stages[1].allowEmpty)
        #expect(file.stages[1].transform?.name == "select:0")
        let params = file.stages[0].steps[0].params
        #expect(params["width"] == .integer(JSONInteger(32)))
        #expect(params["ratio"] == .float(1.5))
        #expect(params["tags"] == .array([.string("x"), .integer(JSONInteger(2))]))
        #expect(params["on"] == .bool(true))
        #expect(file.stages[1].steps[0].provider.name == "local")
        #expect(file.stages[1].steps[0].provider.retryPolicy.maxAttempts == 4)
        #expect(file.stages[1].steps[1].provider is HTTPProvider)
        #expect(file.stages[1].steps[1].stepType == .edit)
    }

    @Test(arguments: [
        ("name: x\nsteps: []\n", "line 2, column 8: steps: must be a non-empty list of steps"),
        ("name: x\nsteps:\n  - {model: m, modality: text}\nstages: []\n", "use either steps or stages"),
        (
            "name: x\nproviders:\n  p: {type: magic}\nsteps:\n  - {model: m, modality: text}\n",
            "must be synthetic, process or http"
        ),
        (
            "name: x\nproviders:\n  p: {type: synthetic, command: [a]}\nsteps:\n  - {model: m, modality: text}\n",
            "is not a field of a synthetic provider"
        ),
        (
            "name: x\nproviders:\n  p: {type: process, command: [a], modalities: [image]}\nsteps:\n  - {provider: p, model: m, modality: text}\n",
            "provider p does not make text"
        ),
        (
            "name: x\nproviders:\n  p: {type: http, endpoint: \"ftp://x\"}\nsteps:\n  - {model: m, modality: text}\n",
            "must be an http or https URL"
        ),
        (
            "name: x\nstages:\n  - {name: a, transform: {type: first}, steps: [{model: m, modality: text}]}\n",
            "count: is required"
        ),
        ("name: x\nsteps:\n  - {model: m, modality: text, seed: 1.5}\n", "steps[0].seed: must be an integer"),
        ("name: x\nsteps:\n  - {model: m, modality: text}\nbatch: {concurrency: 2}\n", "batch.prompts: is required"),
        ("- just a list\n", "must be a mapping"),
    ])
    func badFilesNameTheProblem(text: String, message: String) {
        let error = #expect(throws: PipelineError.self) { _ = try PipelineFile.parse(text, source: "t.yaml") }
        #expect(error?.code == .invalidFile)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.message.hasPrefix("t.yaml: ") == true)
    }
}
