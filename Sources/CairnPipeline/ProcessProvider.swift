import CairnCore
public import CairnManifest
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A provider that runs a local command for each attempt.
///
/// The command gets the step's inputs as files and writes its outputs as files into an output folder; every
/// regular file found there afterwards (sorted by name) is an output, its media type taken from its extension.
/// The command is started directly (`posix_spawn`, never through a shell): each element of ``command`` is one
/// argument, passed as it is, so quotes, `;`, `|` or `$(...)` in it are plain text. The command runs in its own
/// process group with a time limit; on timeout or cancellation the whole group is
/// killed. Exit status, stdout and stderr are kept: stdout and stderr as objects (records), the status in the
/// manifest's `provider_payload`.
///
/// Arguments may use placeholders, replaced per attempt: `{prompt}`, `{seed}`, `{model}`, `{modality}`,
/// `{output_dir}`, `{input_dir}`, `{params}` (canonical JSON), `{run_id}`, `{step}`, `{attempt}`, and `{inputs}`,
/// which as a whole argument expands to one argument per input file. The same values are in the environment as
/// `CAIRN_PROMPT`, `CAIRN_SEED`, `CAIRN_MODEL`, `CAIRN_MODALITY`, `CAIRN_OUTPUT_DIR`, `CAIRN_INPUT_DIR`,
/// `CAIRN_PARAMS`, `CAIRN_RUN_ID`, `CAIRN_STEP`, `CAIRN_ATTEMPT` and `CAIRN_CLIENT_REQUEST_ID`.
///
/// Exit status 0 is success. Exit status 75 (`EX_TEMPFAIL`) is a retryable `server_error`; any other status is a
/// `model_error`; running out of time is a `timeout`.
public struct ProcessProvider: Provider {
    public let name: String
    public let version: String
    public let modalities: Set<Modality>
    public let retryPolicy: RetryPolicy
    /// The executable (looked up on the command's `PATH` when it has no slash) and its arguments, never given to a
    /// shell.
    public var command: [String]
    /// Extra environment variables for the command (on top of the environment Cairn runs in, which the command
    /// inherits). A variable named like a credential has its value redacted from the records a run keeps; better,
    /// leave credentials in the inherited environment (spec/pipeline.md, "Secrets").
    public var environment: [String: String]
    /// The time limit of one attempt.
    public var timeout: Duration

    /// Creates a process provider.
    ///
    /// - Parameters:
    ///   - name: the provider name recorded in manifests.
    ///   - command: the executable and its arguments (with placeholders).
    ///   - modalities: the modalities the command makes.
    ///   - version: the command's version, part of step fingerprints.
    ///   - environment: extra environment variables.
    ///   - timeout: the time limit of one attempt (default 5 minutes).
    ///   - retryPolicy: how failed attempts are retried.
    public init(
        name: String,
        command: [String],
        modalities: Set<Modality> = Set(Modality.allCases),
        version: String = "1",
        environment: [String: String] = [:],
        timeout: Duration = .seconds(300),
        retryPolicy: RetryPolicy = .standard
    ) {
        precondition(!command.isEmpty, "a process provider needs a command")
        self.name = name
        self.command = command
        self.modalities = modalities
        self.version = version
        self.environment = environment
        self.timeout = timeout
        self.retryPolicy = retryPolicy
    }

    public func generate(_ request: ProviderRequest) async throws -> ProviderResponse {
        let work = request.workDirectory
        let outputDirectory = work + "/outputs"
        let inputDirectory = work + "/inputs"
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: inputDirectory, withIntermediateDirectories: true)
        let paramsText = (try? CanonicalJSON.string(.object(request.params))) ?? "{}"
        let values: [String: String] = [
            "prompt": request.prompt ?? "",
            "seed": request.seed.map(String.init) ?? "",
            "model": request.model,
            "modality": request.modality.rawValue,
            "output_dir": outputDirectory,
            "input_dir": inputDirectory,
            "params": paramsText,
            "run_id": request.runID,
            "step": request.stepName,
            "attempt": String(request.attempt),
        ]
        var arguments: [String] = []
        for argument in command {
            if argument == "{inputs}" {
                arguments += request.inputs.map(\.path)
            } else {
                arguments.append(Self.substitute(argument, values))
            }
        }
        var environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        for (key, value) in values {
            environment["CAIRN_" + key.uppercased()] = value
        }
        environment["CAIRN_CLIENT_REQUEST_ID"] = request.clientRequestID

        let stdoutPath = work + "/stdout"
        let stderrPath = work + "/stderr"
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await ChildProcess.run(
                arguments,
                environment: environment,
                directory: work,
                stdoutPath: stdoutPath,
                stderrPath: stderrPath,
                timeout: timeout
            )
        } catch let error as ChildProcess.SpawnError {
            throw ProviderError(
                .invalidInput,
                "\(error) (the command is run directly, without a shell; name an executable file or one on PATH)",
                underlying: error
            )
        }
        let records = [
            ProviderRecord(name: "stdout", bytes: Self.contents(stdoutPath), mediaType: "text/plain"),
            ProviderRecord(name: "stderr", bytes: Self.contents(stderrPath), mediaType: "text/plain"),
        ]
        switch outcome {
        case .timedOut:
            throw ProviderError(.timeout, "\(command[0]) ran longer than \(timeout)", records: records)
        case .signalled(let signal):
            throw ProviderError(.modelError, "\(command[0]) was killed by signal \(signal)", records: records)
        case .exited(let status) where status != 0:
            throw ProviderError(
                status == 75 ? .serverError : .modelError,
                "\(command[0]) exited with status \(status)",
                records: records
            )
        case .exited:
            break
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: outputDirectory).sorted()
        var outputs: [ProviderOutput] = []
        for name in names {
            let path = outputDirectory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            outputs.append(
                ProviderOutput(
                    content: .file(path: path),
                    media: MediaMetadata(mediaType: MediaTypes.forFileName(name))
                )
            )
        }
        return ProviderResponse(outputs: outputs, records: records, payload: ["exit_status": "0"])
    }

    static func substitute(_ text: String, _ values: [String: String]) -> String {
        guard text.contains("{") else { return text }
        var result = text
        for (key, value) in values {
            result = result.replacingOccurrences(of: "{\(key)}", with: value)
        }
        return result
    }

    static func contents(_ path: String) -> [UInt8] {
        (FileManager.default.contents(atPath: path)).map { [UInt8]($0) } ?? []
    }
}

/// Media types by file extension, for outputs collected from folders.
enum MediaTypes {
    static let byExtension: [String: String] = [
        "png": "image/png", "apng": "image/apng", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
        "gif": "image/gif", "wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg",
        "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime", "txt": "text/plain",
        "md": "text/markdown", "json": "application/json", "csv": "text/csv",
    ]

    static func forFileName(_ name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        return byExtension[name[name.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }

    static func fileExtension(for mediaType: String) -> String {
        switch mediaType {
        case "image/png": "png"
        case "image/apng": "png"
        case "image/jpeg": "jpg"
        case "audio/wav": "wav"
        case "text/plain": "txt"
        case "application/json": "json"
        default: byExtension.first { $0.value == mediaType }?.key ?? "bin"
        }
    }
}

/// A child process in its own process group, waited for off the cooperative pool.
enum ChildProcess {
    enum Outcome: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
    }

    struct SpawnError: Error, CustomStringConvertible {
        var executable: String
        var errno: Int32
        var description: String { "could not start \(executable): \(String(cString: strerror(errno)))" }
    }

    /// Runs `arguments` and waits for it; kills its process group on timeout or task cancellation.
    static func run(
        _ arguments: [String],
        environment: [String: String],
        directory: String,
        stdoutPath: String,
        stderrPath: String,
        timeout: Duration
    ) async throws -> Outcome {
        let pid = try spawn(
            arguments,
            environment: environment,
            directory: directory,
            stdoutPath: stdoutPath,
            stderrPath: stderrPath
        )
        let timer = Task {
            try await Task.sleep(for: timeout)
            kill(-pid, SIGKILL)
        }
        let status = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
                Thread.detachNewThread {
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    continuation.resume(returning: status)
                }
            }
        } onCancel: {
            kill(-pid, SIGKILL)
        }
        timer.cancel()
        let timedOut = await timerFired(timer)
        try Task.checkCancellation()
        let termSignal = status & 0x7F
        if termSignal == 0 {
            return .exited((status >> 8) & 0xFF)
        }
        return timedOut ? .timedOut : .signalled(termSignal)
    }

    private static func timerFired(_ timer: Task<Void, any Error>) async -> Bool {
        switch await timer.result {
        case .success: true
        case .failure: false
        }
    }

    static func spawn(
        _ arguments: [String],
        environment: [String: String],
        directory: String,
        stdoutPath: String,
        stderrPath: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        // No shell: the child changes into the work directory and execs the command itself, with the arguments
        // exactly as given (a `;` or `$(...)` in an argument is just text).
        let changed = try addChangeDirectory(&actions, directory)
        guard changed == 0 else { throw SpawnError(executable: arguments[0], errno: changed) }
        let executable = try resolve(arguments[0], searchPath: environment["PATH"], directory: directory)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(executable: arguments[0], errno: result) }
        return pid
    }

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29, macOS 10.15), looked up at run time because the
    /// platform module does not import it.
    static func addChangeDirectory(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
        _ directory: String
    ) throws -> Int32 {
        typealias AddChangeDirectory =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW),
            let symbol = dlsym(handle, "posix_spawn_file_actions_addchdir_np")
        else {
            throw SpawnError(executable: "posix_spawn_file_actions_addchdir_np", errno: ENOSYS)
        }
        defer { dlclose(handle) }
        let function = unsafeBitCast(symbol, to: AddChangeDirectory.self)
        return directory.withCString { function(actions, $0) }
    }

    /// The file `name` runs: `name` itself when it has a slash (relative to the work directory), otherwise the
    /// first executable regular file called `name` in the child's `PATH` (as `execvp` searches it; relative
    /// entries are taken from the work directory, where the command runs).
    static func resolve(_ name: String, searchPath: String?, directory: String) throws -> String {
        if name.contains("/") { return name }
        guard !name.isEmpty else { throw SpawnError(executable: name, errno: ENOENT) }
        let entries = (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(
            separator: ":",
            omittingEmptySubsequences: false
        )
        for entry in entries {
            var folder = entry.isEmpty ? "." : String(entry)
            if !folder.hasPrefix("/") { folder = directory + "/" + folder }
            let candidate = folder + "/" + name
            var facts = stat()
            if stat(candidate, &facts) == 0, (facts.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw SpawnError(executable: name, errno: ENOENT)
    }
}
