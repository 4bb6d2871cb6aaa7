import CairnCore
import CairnLedger
import CairnManifest
import Foundation
import Testing
import _CairnTestSupport

@testable import CairnPipeline

/// Provider credentials never reach what Cairn writes: not the store (objects, ledger, receipts, index), not the
/// output or the debug log of `cairn run`; literal credentials in hashed fields are refused; process providers run
/// without a shell (spec/pipeline.md, "Secrets").
@Suite(.timeLimit(.minutes(15)))
struct SecretRedactionTests {
    struct SetupFailed: Error, CustomStringConvertible { var description: String }

    /// A store made with `cairn init` in a fresh directory.
    typealias Fixture = InitializedStore

    /// A fresh value no file or output could hold by chance.
    static func secret(_ label: String) -> String {
        "\(label)-\(UUID().uuidString.lowercased())-\(UInt64.random(in: 1...UInt64.max))"
    }

    static func contains(_ haystack: some Collection<UInt8>, _ needle: String) -> Bool {
        let bytes = Array(needle.utf8)
        let hay = Array(haystack)
        guard hay.count >= bytes.count, let first = bytes.first else { return false }
        for index in 0...(hay.count - bytes.count) where hay[index] == first {
            if hay[index..<(index + bytes.count)].elementsEqual(bytes) { return true }
        }
        return false
    }

    /// Checks that no secret is in any file of the store or in any output, and that the store was really written
    /// (objects, the ledger and the index).
    static func expectNoSecret(
        _ secrets: [String],
        in fixture: Fixture,
        outputs: [ProcessResult],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let files = try fixture.storeFiles()
        #expect(files.contains { $0.path.hasPrefix("objects/") }, sourceLocation: sourceLocation)
        #expect(files.contains { $0.path.hasPrefix("ledger/") }, sourceLocation: sourceLocation)
        for secret in secrets {
            let leaking = files.filter { contains($0.bytes, secret) }.map(\.path)
            #expect(leaking.isEmpty, "the secret is in \(leaking)", sourceLocation: sourceLocation)
            for output in outputs {
                #expect(!contains(output.stdout, secret), "in stdout", sourceLocation: sourceLocation)
                #expect(!contains(output.stderr, secret), "in stderr", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func httpCredentialsFromTheEnvironmentNeverReachTheStoreTheOutputOrTheLog() throws {
        let server = try EchoJobServer()
        let fixture = try Fixture()
        let token = Self.secret("tok")
        let apiKey = Self.secret("key")
        let file = try fixture.write(
            "http.yaml",
            """
            name: secret-http
            providers:
              api:
                type: http
                endpoint: "\(server.endpoint.absoluteString)"
                headers_from_env: {Authorization: PROVIDER_AUTH, X-Api-Key: SERVICE_CREDENTIAL_VALUE}
                retry: {max_attempts: 2, base_delay_ms: 1, max_delay_ms: 1}
            stages:
              - name: a
                steps:
                  - {name: fine, provider: api, model: m, prompt: hello, modality: text}
                  - {name: refused, provider: api, model: m, prompt: fail-echo, modality: text}
              - name: b
                steps:
                  - {name: failed-job, provider: api, model: m, prompt: job-fail-echo, modality: text}
            """
        )
        // The second variable's name does not look like a credential: it is redacted because a header takes it.
        let environment = ["PROVIDER_AUTH": "Bearer \(token)", "SERVICE_CREDENTIAL_VALUE": apiKey]
        let verbose = try runCairn(["run", "--store", fixture.store, "--verbose", file], environment: environment)
        let json = try runCairn(["run", "--store", fixture.store, "--json", file], environment: environment)
        #expect(verbose.status == 1, "\(verbose.stderrText)")
        #expect(json.status == 1)
        // The credentials did reach the server, and its replies repeating them were recorded, redacted.
        let requests = try server.requests()
        #expect(requests.count == 8)  // per run: fine once, refused twice, failed-job once
        let sent = requests.compactMap { $0["headers"] as? [String: String] }
        #expect(sent.allSatisfy { $0["authorization"] == "Bearer \(token)" && $0["x-api-key"] == apiKey })
        #expect(verbose.stderrText.contains("attempt failed"), "the debug log was not written: \(verbose.stderrText)")
        // A provider error repeating the credential is recorded and printed redacted.
        #expect(json.stdoutText.contains("the job was refused for [redacted]"), "\(json.stdoutText)")
        #expect(verbose.stdoutText.contains("the job was refused for [redacted]"), "\(verbose.stdoutText)")
        #expect(verbose.stderrText.contains("waiting to retry"))
        let files = try fixture.storeFiles()
        // The success's response body and the failure's both repeated the headers; both are stored, redacted.
        let echoes = files.filter {
            Self.contains($0.bytes, "\"authorization\": \"[redacted]\"")
                && Self.contains($0.bytes, "\"x-api-key\": \"[redacted]\"")
        }
        #expect(echoes.count == 6, "\(echoes.map(\.path))")  // per run: one success, two failed attempts
        try Self.expectNoSecret([token, apiKey], in: fixture, outputs: [verbose, json])
    }

    @Test func aProcessProvidersCredentialsNeverReachTheStoreOrTheOutput() throws {
        let fixture = try Fixture()
        let token = Self.secret("proc")
        let extra = Self.secret("extra")
        let file = try fixture.write(
            "process.yaml",
            """
            name: secret-process
            providers:
              tool:
                type: process
                command: [/bin/sh, -c, 'echo "using $SERVICE_TOKEN $EXTRA_VALUE"; echo ok > "$CAIRN_OUTPUT_DIR/out.txt"']
              failing:
                type: process
                command: [/bin/sh, -c, 'echo "token $SERVICE_TOKEN refused" >&2; exit 3']
            steps:
              - {name: fine, provider: tool, model: m, modality: text}
              - {name: refused, provider: failing, model: m, modality: text}
            """
        )
        let environment = ["SERVICE_TOKEN": token, "EXTRA_VALUE": extra]
        let verbose = try runCairn(["run", "--store", fixture.store, "--verbose", file], environment: environment)
        let json = try runCairn(["run", "--store", fixture.store, "--json", file], environment: environment)
        #expect(verbose.status == 1, "\(verbose.stderrText)")
        #expect(json.status == 1)
        let files = try fixture.storeFiles()
        #expect(files.contains { Self.contains($0.bytes, "token [redacted] refused\n") })
        #expect(files.contains { Self.contains($0.bytes, "using [redacted] \(extra)\n") })
        try Self.expectNoSecret([token], in: fixture, outputs: [verbose, json])
    }

    @Test(arguments: [
        ("steps:\n  - {model: m, modality: text, params: {api_key: LITERAL}}\n", "steps[0].params.api_key"),
        (
            "steps:\n  - {model: m, modality: text, params: {auth: {accessToken: LITERAL}}}\n",
            "steps[0].params.auth.accessToken"
        ),
        ("metadata: {db_password: LITERAL}\nsteps:\n  - {model: m, modality: text}\n", "metadata.db_password"),
        (
            "providers:\n  h: {type: http, endpoint: \"http://127.0.0.1:9/\", headers: {Authorization: LITERAL}}\n"
                + "steps:\n  - {provider: h, model: m, modality: text}\n",
            "providers.h.headers.Authorization"
        ),
        (
            "providers:\n  p: {type: process, command: [/bin/true], environment: {HF_TOKEN: LITERAL}}\n"
                + "steps:\n  - {provider: p, model: m, modality: text}\n",
            "providers.p.environment.HF_TOKEN"
        ),
        (
            "providers:\n  h: {type: http, endpoint: \"http://127.0.0.1:9/?api_key=LITERAL\"}\n"
                + "steps:\n  - {provider: h, model: m, modality: text}\n",
            "providers.h.endpoint"
        ),
    ])
    func aLiteralCredentialInAPipelineFileIsRefusedWithoutRepeatingIt(body: String, field: String) throws {
        let fixture = try Fixture()
        let literal = Self.secret("literal")
        let file = try fixture.write(
            "bad.yaml",
            "name: leaky\n" + body.replacingOccurrences(of: "LITERAL", with: literal)
        )
        let before = try fixture.storeFiles().map(\.path).sorted()
        let result = try runCairn(["run", "--store", fixture.store, file])
        #expect(result.status == 2)
        #expect(result.stderrText.contains(field), "\(result.stderrText)")
        #expect(result.stderrText.contains("bad.yaml: line "), "\(result.stderrText)")
        #expect(result.stderrText.contains("environment"), "\(result.stderrText)")
        #expect(!Self.contains(result.stderr, literal) && !Self.contains(result.stdout, literal))
        #expect(try fixture.storeFiles().map(\.path).sorted() == before)
    }

    @Test func parametersThatOnlyLookLikeCredentialNamesAreAccepted() throws {
        let file = try PipelineFile.parse(
            """
            name: fine
            metadata: {author: someone, keywords: [a]}
            steps:
              - {model: m, modality: text, params: {max_tokens: 256, tokenizer: bpe, key: C-major, api_key: "", token: null}}
            """
        )
        #expect(file.stages[0].steps[0].params["tokenizer"]?.stringValue == "bpe")
    }

    @Test func theLibraryRefusesACredentialInParamsBeforeAnythingRuns() async throws {
        let workspace = try Workspace()
        let provider = FailureSequenceProvider(retryPolicy: .none, failures: [])
        let pipeline = try Pipeline("leaky", store: workspace.store)
            .step(provider, model: "m", prompt: nil, modality: .text, params: ["client_secret": "abcdefgh-1234"])
        let error = await #expect(throws: PipelineError.self) { _ = try await pipeline.run() }
        #expect(error?.code == .invalidPipeline)
        #expect(error?.message.contains("step step-1: params.client_secret looks like a credential") == true)
        #expect(error?.message.contains("abcdefgh") == false)
        #expect(provider.log.startedAttempts.isEmpty)
        #expect(try workspace.ledger.size() == 0)
    }

    @Test(arguments: [
        ("Authorization", true), ("Proxy-Authorization", true), ("X-Api-Key", true), ("x_api_key", true),
        ("apiKey", true), ("APIKEY", true), ("OPENAI_API_KEY", true), ("HF_TOKEN", true), ("accessToken", true),
        ("client_secret", true), ("AWS_SECRET_ACCESS_KEY", true), ("db.password", true), ("Cookie", true),
        ("private_key", true), ("max_tokens", false), ("tokenizer", false), ("author", false), ("key", false),
        ("keywords", false), ("monkey", false), ("secretary", false), ("X-Request-Id", false),
    ])
    func credentialNamesAreRecognisedByTheirWords(name: String, secret: Bool) {
        #expect(SecretNames.looksSecret(name) == secret)
    }

    @Test func theRedactorReplacesEveryOccurrenceLongestFirst() {
        let redactor = Redactor(values: ["Bearer abcdef123456", "short", "abcdef"])
        #expect(
            redactor.redact("h: Bearer abcdef123456; t=abcdef123456; abcdef; short")
                == "h: [redacted]; t=[redacted]; [redacted]; short"
        )
        #expect(redactor.redact(Array("xxabcdefabcdef".utf8)) == Array("xx[redacted][redacted]".utf8))
        #expect(Redactor(values: []).redact("nothing") == "nothing")
        let edges = Redactor(values: ["secret"])
        #expect(edges.redact("secret") == "[redacted]")
        #expect(edges.redact("secretsecret-secre") == "[redacted][redacted]-secre")
        #expect(edges.redact("ssecret") == "s[redacted]")
        #expect(edges.redact("secre") == "secre")
        #expect(Redactor(values: ["aaaaaa"]).redact("aaaaaaaaaaa") == "[redacted]aaaaa")
        let environment = Redactor(
            environment: ["GITHUB_TOKEN": "ghp_1234567890", "HOME": "/root/home", "PLAIN": "value-12345"],
            providers: [
                HTTPProvider(
                    name: "h",
                    endpoint: URL(string: "http://u:hunter22@127.0.0.1/x?apikey=qwertyuiop&page=200000")!,
                    headers: ["X-Api-Key": "literal-key-1", "Accept-Language": "en-GB-oxford"],
                    headersFromEnvironment: ["X-Custom": "PLAIN"]
                ),
                ProcessProvider(name: "p", command: ["/bin/true"], environment: ["SERVICE_PASSWORD": "pw-123456"]),
            ]
        )
        #expect(
            Set(environment.values.map { String(decoding: $0, as: UTF8.self) })
                == ["ghp_1234567890", "value-12345", "hunter22", "qwertyuiop", "literal-key-1", "pw-123456"]
        )
    }

    @Test func aProcessProviderPassesArgumentsLiterallyWithoutAShell() async throws {
        let directory = try TemporaryDirectory(prefix: "cairn-noshell")
        let work = directory.appending("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let provider = ProcessProvider(
            name: "echo",
            command: ["echo", "$(touch pwned)", ";", "touch", "pwned2", "`touch pwned3`", "|", "cat", "'{prompt}'"]
        )
        let request = ProviderRequest(
            runID: "0190f5d2-0000-7000-8000-000000000001",
            stepName: "make",
            stepIndex: 0,
            attempt: 1,
            model: "m",
            prompt: "a \"quoted\" $HOME",
            modality: .text,
            workDirectory: work
        )
        let response = try await provider.generate(request)
        let stdout = response.records.first { $0.name == "stdout" }?.bytes ?? []
        #expect(
            String(decoding: stdout, as: UTF8.self)
                == "$(touch pwned) ; touch pwned2 `touch pwned3` | cat 'a \"quoted\" $HOME'\n"
        )
        let made = try FileManager.default.subpathsOfDirectory(atPath: directory.path)
        #expect(!made.contains { $0.hasSuffix("pwned") || $0.hasSuffix("pwned2") || $0.hasSuffix("pwned3") })
        // A shell would have rewritten PWD when changing into the work directory; the command sees it as given.
        let env = ProcessProvider(name: "env", command: ["env"], environment: ["PWD": "/cairn-no-shell-marker"])
        let seen = try await env.generate(request)
        let lines = String(decoding: seen.records.first { $0.name == "stdout" }?.bytes ?? [], as: UTF8.self)
        #expect(lines.split(separator: "\n").contains("PWD=/cairn-no-shell-marker"))
        // The command still runs in the work directory.
        let here = try await ProcessProvider(name: "pwd", command: ["/bin/pwd", "-P"]).generate(request)
        let resolved = (work as NSString).resolvingSymlinksInPath
        #expect(String(decoding: here.records[0].bytes, as: UTF8.self) == resolved + "\n")
        // A command that is not an executable is an invalid_input failure naming it.
        let missing = ProcessProvider(
            name: "missing",
            command: ["cairn-no-such-command-\(UInt32.random(in: 0...UInt32.max))"]
        )
        let error = await #expect(throws: ProviderError.self) { _ = try await missing.generate(request) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("without a shell") == true)
    }
}

extension InitializedStore {
    /// Every regular file under the store, with its bytes.
    func storeFiles() throws -> [(path: String, bytes: [UInt8])] {
        var files: [(String, [UInt8])] = []
        guard let walker = FileManager.default.enumerator(atPath: store) else {
            throw SecretRedactionTests.SetupFailed(description: "cannot list \(store)")
        }
        while let relative = walker.nextObject() as? String {
            let path = store + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            files.append((relative, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        return files
    }
}
