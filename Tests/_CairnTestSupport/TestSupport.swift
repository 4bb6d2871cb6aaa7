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

/// Runs `executable` with `arguments`, feeding `stdin`, and waits for it to end.
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
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
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
    if let stdin { inPipe.fileHandleForWriting.write(stdin) }
    try? inPipe.fileHandleForWriting.close()
    process.waitUntilExit()
    group.wait()
    return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
}

/// Runs the built `cairn` with `arguments`.
@discardableResult
public func runCairn(
    _ arguments: [String],
    stdin: Data? = nil,
    environment: [String: String]? = nil,
    currentDirectory: String? = nil
) throws -> ProcessResult {
    try runProcess(
        cairnExecutablePath(),
        arguments,
        stdin: stdin,
        environment: environment,
        currentDirectory: currentDirectory
    )
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

/// Path of the read-only `shared/` folder beside the repository (`$CAIRN_SHARED` overrides).
public func sharedRoot() -> String {
    if let explicit = ProcessInfo.processInfo.environment["CAIRN_SHARED"] { return explicit }
    return ((repositoryRoot() as NSString).deletingLastPathComponent as NSString).appendingPathComponent("shared")
}
