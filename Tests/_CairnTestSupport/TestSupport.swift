public import Foundation

/// A fresh directory under the system temporary directory, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates a new, empty directory whose name starts with `prefix`.
    public init(prefix: String = "cairn-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? NSTemporaryDirectory()
        let template = (base as NSString).appendingPathComponent("\(prefix)-XXXXXX")
        var bytes = Array(template.utf8CString)
        guard let made = bytes.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: made)
    }

    /// `path` joined with `component`.
    public func appending(_ component: String) -> String {
        (path as NSString).appendingPathComponent(component)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// What a finished child process printed and how it ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Locates the built `cairn` executable: `$CAIRN_BIN`, or beside the running test bundle.
public func cairnExecutablePath() -> String {
    if let explicit = ProcessInfo.processInfo.environment["CAIRN_BIN"] { return explicit }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    for _ in 0..<4 {
        let candidate = (dir as NSString).appendingPathComponent("cairn")
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = (dir as NSString).deletingLastPathComponent
    }
    return "cairn"
}

/// The environment a child process of a test gets: this process's, without any `CAIRN_*` variable (a store
/// named by `CAIRN_HOME` in the shell, say), then `overrides` on top. Variables the child needs are passed in
/// `overrides`, so what the shell holds never changes a test's outcome.
public func hermeticEnvironment(_ overrides: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CAIRN_") }
    environment.merge(overrides) { _, new in new }
    return environment
}

/// A place for a `cairn` run that names no store or working directory of its own: an empty working directory
/// and a `CAIRN_HOME` inside it that does not exist, so no `./.cairn` and no exported store is ever picked up.
public final class IsolatedRun: Sendable {
    /// The empty working directory.
    public let directory: TemporaryDirectory
    /// A store path that holds no store (`directory/no-store`).
    public var home: String { directory.appending("no-store") }

    public init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-cwd")
    }
}

/// Starts the built `cairn` with `arguments` in a hermetic environment (see ``hermeticEnvironment(_:)``) without
/// waiting for it. Without a `CAIRN_HOME` in `environment` or a `currentDirectory`, the child runs in a fresh empty
/// directory with a `CAIRN_HOME` that holds no store; the returned ``IsolatedRun`` keeps that directory alive.
public func launchCairn(
    _ arguments: [String],
    environment: [String: String] = [:],
    currentDirectory: String? = nil,
    standardOutput: Any? = nil,
    standardError: Any? = nil,
    standardInput: Any? = nil
) throws -> (process: Process, isolation: IsolatedRun) {
    let isolation = try IsolatedRun()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cairnExecutablePath())
    process.arguments = arguments
    process.environment = hermeticEnvironment(["CAIRN_HOME": isolation.home].merging(environment) { _, new in new })
    process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory ?? isolation.directory.path)
    process.standardOutput = standardOutput ?? FileHandle.nullDevice
    process.standardError = standardError ?? FileHandle.nullDevice
    process.standardInput = standardInput ?? FileHandle.nullDevice
    try process.run()
    return (process, isolation)
}

/// Runs `executable` with `arguments`, feeding `stdin`, and waits for it to end. The child's environment is
/// ``hermeticEnvironment(_:)`` with `environment` on top.
@discardableResult
public func runProcess(
    _ executable: String,
    _ arguments: [String],
    stdin: Data? = nil,
    environment: [String: String]? = nil,
    currentDirectory: String? = nil
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = hermeticEnvironment(environment ?? [:])
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let outPipe = Pipe()
    let errPipe = Pipe()
    let inPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = inPipe
    try process.run()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var out = Data()
    nonisolated(unsafe) var err = Data()
    DispatchQueue.global().async(group: group) { out = outPipe.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { err = errPipe.fileHandleForReading.readDataToEndOfFile() }
    if let stdin {
        // A child may exit before reading all of its input (a put refused on a full disk, say): that must end the
        // write, not the test process, so SIGPIPE is ignored and the write's error dropped.
        signal(SIGPIPE, SIG_IGN)
        try? inPipe.fileHandleForWriting.write(contentsOf: stdin)
    }
    try? inPipe.fileHandleForWriting.close()
    process.waitUntilExit()
    group.wait()
    return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
}

/// Runs the built `cairn` with `arguments` in a hermetic environment. Without a `CAIRN_HOME` in `environment` the
/// run gets one that holds no store, and without `currentDirectory` it runs in a fresh empty directory: only a
/// store the test names (`--store`, `CAIRN_HOME`) is ever used.
@discardableResult
public func runCairn(
    _ arguments: [String],
    stdin: Data? = nil,
    environment: [String: String]? = nil,
    currentDirectory: String? = nil
) throws -> ProcessResult {
    let isolation = try IsolatedRun()
    return try withExtendedLifetime(isolation) {
        try runProcess(
            cairnExecutablePath(),
            arguments,
            stdin: stdin,
            environment: ["CAIRN_HOME": isolation.home].merging(environment ?? [:]) { _, new in new },
            currentDirectory: currentDirectory ?? isolation.directory.path
        )
    }
}

/// True when the slow suites (long crash loops, fuzzing, scale) are switched on with `CAIRN_SLOW_TESTS=1`.
public var slowTestsEnabled: Bool {
    ProcessInfo.processInfo.environment["CAIRN_SLOW_TESTS"] == "1"
}

/// Path of the repository's root (the folder holding Package.swift), found from this source file.
public func repositoryRoot(file: StaticString = #filePath) -> String {
    var dir = ("\(file)" as NSString).deletingLastPathComponent
    while dir != "/" {
        if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("Package.swift")) {
            return dir
        }
        dir = (dir as NSString).deletingLastPathComponent
    }
    return FileManager.default.currentDirectoryPath
}

/// The genblaze vectors committed in the repository: `spec/vectors/genblaze` (cases, payloads, expected verdicts).
public var genblazeVectorsPath: String { repositoryRoot() + "/spec/vectors/genblaze" }

/// The repository's script that asks genblaze-core for its verdict on manifest files.
public var genblazeVerdictScript: String { repositoryRoot() + "/scripts/genblaze_verdict.py" }

/// A small seeded generator (SplitMix64): every random choice made from it replays from its seed, so a test that
/// prints its seed can be rerun with the same choices.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = next()
            for _ in 0..<8 where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }
}

/// A Python script run as a test server on 127.0.0.1: it prints its port on its first line, and exits when its
/// standard input closes (the test process went away) or, at the latest, when this value is released (SIGKILL).
public final class PythonServer: @unchecked Sendable {
    // Invariant: `process` is only touched by init and deinit.
    public let process: Process
    /// The port the script printed.
    public let port: Int
    private let stdin = Pipe()

    /// The server did not print a port.
    public struct StartFailed: Error, CustomStringConvertible {
        public var description: String
    }

    public init(script: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw StartFailed(
                description: "the Python test server printed no port: \(String(decoding: line, as: UTF8.self))"
            )
        }
        self.port = port
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

extension FileHandle {
    /// Reads until at least `lines` newlines arrived or the writer closed its end, and returns what was read
    /// (possibly more than `lines` lines): for tests that act once a child has printed that much.
    public func readLines(atLeast lines: Int) -> Data {
        var received = Data()
        while received.count(where: { $0 == UInt8(ascii: "\n") }) < lines {
            let chunk = availableData
            if chunk.isEmpty { break }
            received.append(chunk)
        }
        return received
    }
}

/// A store made with `cairn init` in a fresh temporary directory, for tests that run `cairn` against it and write
/// their input files beside it.
public struct InitializedStore: Sendable {
    /// The temporary directory holding the store and the test's files.
    public let directory: TemporaryDirectory
    /// The store's path (`directory/store`).
    public var store: String { directory.appending("store") }

    /// Makes the directory and runs `cairn init --store` in it; throws with cairn's message when init fails.
    public init(prefix: String = "cairn-store") throws {
        directory = try TemporaryDirectory(prefix: prefix)
        let made = try runCairn(["init", "--store", directory.appending("store")])
        guard made.status == 0 else {
            throw InitializedStoreError(description: "cairn init failed: \(made.stderrText)")
        }
    }

    /// Writes `text` to `name` in the directory and returns its path.
    public func write(_ name: String, _ text: String) throws -> String {
        let path = directory.appending(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// `cairn init` failed while setting up an ``InitializedStore``.
public struct InitializedStoreError: Error, CustomStringConvertible {
    public var description: String
}
