import ArgumentParser
import Foundation
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Options every command that touches a store accepts.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The store directory (default: $CAIRN_HOME, else ./.cairn).", valueName: "path"),
        completion: .directory
    )
    var store: String?

    @Flag(
        name: .customLong("allow-other-owner"),
        help: "Use a store directory owned by another user (also CAIRN_ALLOW_OTHER_OWNER=1)."
    )
    var allowOtherOwner = false

    /// The store path: `--store`, else `$CAIRN_HOME`, else `./.cairn`.
    var storePath: String {
        if let store { return store }
        if let home = ProcessInfo.processInfo.environment["CAIRN_HOME"], !home.isEmpty { return home }
        return ".cairn"
    }
}

extension StoreOptions {
    /// Refuses a store directory owned by another user unless asked (`--allow-other-owner`,
    /// `CAIRN_ALLOW_OTHER_OWNER=1`): what a second user writes into a store carries that user's ownership and modes,
    /// and a store someone else controls can be changed under you. Nothing there yet is left to the open to report.
    func refuseOtherOwner() throws {
        if allowOtherOwner || ProcessInfo.processInfo.environment["CAIRN_ALLOW_OTHER_OWNER"] == "1" { return }
        let info: stat?
        do { info = try SystemCalls.statIfPresent(storePath) } catch { throw CLIError("\(error)") }
        guard let info, info.st_uid != geteuid() else { return }
        throw CLIError(
            "the store at \(storePath) is owned by uid \(info.st_uid), not by you (uid \(geteuid())): run cairn as its "
                + "owner, or pass --allow-other-owner (CAIRN_ALLOW_OTHER_OWNER=1) to use it anyway",
            exitCode: 2
        )
    }
}

/// A failure the CLI reports as one line on stderr, exiting with `exitCode`.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 2) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

/// Unbuffered writes to the process's standard streams.
enum Terminal {
    /// Writes `text` and a newline to stderr, prefixed with `cairn: `.
    static func error(_ text: String) {
        writeStderr("cairn: \(text)\n")
    }

    /// Writes `text` to stderr as is.
    static func writeStderr(_ text: String) {
        // Nowhere left to report a failure to write stderr: the text is dropped.
        try? SystemCalls.writeAll(STDERR_FILENO, Array(text.utf8))
    }

    /// Writes `text` to stdout (buffered by the C library and flushed at exit).
    static func print(_ text: String) {
        Swift.print(text)
    }

    /// Writes `text` to stdout as is (buffered like ``print(_:)``).
    static func write(_ text: String) {
        Swift.print(text, terminator: "")
    }

    /// True when stderr is a terminal, so that progress may be drawn there.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// A one-line progress display on stderr, drawn only when stderr is a terminal.
final class ProgressLine: @unchecked Sendable {
    // Invariant: `lock` guards every mutable field.
    private let lock = NSLock()
    private let label: String
    private let total: Int64?
    private var done: Int64 = 0
    private var lastDraw: UInt64 = 0
    private let enabled: Bool

    init(_ label: String, total: Int64? = nil, enabled: Bool = Terminal.stderrIsTerminal) {
        self.label = label
        self.total = total
        self.enabled = enabled
    }

    /// Adds `amount` units of progress, redrawing at most ten times a second.
    func advance(by amount: Int64 = 1) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        done += amount
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        draw()
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        Terminal.writeStderr("\r\u{1B}[2K")
    }

    private func draw() {
        if let total, total > 0 {
            let width = 30
            let filled = Int(Double(width) * Double(min(done, total)) / Double(total))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            Terminal.writeStderr("\r\u{1B}[2K\(label) [\(bar)] \(done)/\(total)")
        } else {
            Terminal.writeStderr("\r\u{1B}[2K\(label) \(done)")
        }
    }
}

/// Writes lines to stdout so that a reader never sees a torn line, even when the process is killed mid-output: lines
/// go out in writes of whole lines of at most `PIPE_BUF` (4096) bytes, which a pipe delivers whole or not at all.
struct WholeLineOutput {
    private var buffer: [UInt8] = []
    private static let limit = 4096

    /// Adds `line` (a newline is appended); `flush` sends it now.
    mutating func write(_ line: String, flush: Bool) {
        let bytes = Array((line + "\n").utf8)
        if buffer.count + bytes.count > Self.limit { self.flush() }
        if bytes.count > Self.limit {
            Self.send(bytes)
        } else {
            buffer += bytes
        }
        if flush { self.flush() }
    }

    /// Sends what is buffered.
    mutating func flush() {
        guard !buffer.isEmpty else { return }
        Self.send(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private static func send(_ bytes: [UInt8]) {
        fflush(nil)
        // A closed stdout (a reader gone) is not this command's failure: the text is dropped.
        try? SystemCalls.writeAll(STDOUT_FILENO, bytes)
    }
}
