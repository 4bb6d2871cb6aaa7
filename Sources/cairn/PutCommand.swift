import ArgumentParser
import CairnCore
import CairnStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cairn put`: stores files (or standard input) and prints their digests.
struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Store files (or - for standard input) and print their digests.",
        discussion: """
            Prints `<digest>  <path>` per input (sha256sum style), each line once that object is stored as \
            durably as the store's policy says. Every input is checked before anything is stored: a missing or \
            unreadable file is exit 2 with nothing stored.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print a JSON array of {\"path\", \"digest\", \"size\", \"stored\"}.")
    var json = false

    @Option(
        help: "Override the store's durability for this put: object, batch or none (local objects only).",
        transform: parseChoice
    )
    var durability: Durability?

    @Flag(
        name: .customLong("stdin-paths"),
        help: "Read the paths of the files to store from standard input, one per line (as git hash-object does)."
    )
    var stdinPaths = false

    @Option(
        help:
            "Inputs stored at once (object, none, S3 objects; each durable before its line), or batch staging threads."
    )
    var jobs = 4

    @Argument(help: ArgumentHelp("Files to store; - reads standard input.", valueName: "file"), completion: .file())
    var files: [String] = []

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if stdinPaths {
            if !files.isEmpty { throw ValidationError("--stdin-paths takes no FILE arguments") }
            return
        }
        if files.isEmpty { throw ValidationError("put needs at least one FILE (or - for standard input)") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("- (standard input) may be given only once") }
    }

    /// The paths listed on standard input, one per line (a final newline is optional; empty lines are refused).
    func pathsFromStandardInput() throws -> [String] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        if lines.isEmpty { throw CLIError("put --stdin-paths: no paths on standard input", exitCode: 2) }
        if lines.contains(where: \.isEmpty) {
            throw CLIError("put --stdin-paths: empty line on standard input", exitCode: 2)
        }
        return lines.map { String(decoding: $0, as: UTF8.self) }
    }

    /// One input's `--json` record: `path` beside the ``PutResult`` fields.
    struct Line: Encodable {
        var path: String
        var result: PutResult

        private enum CodingKeys: String, CodingKey { case path }

        func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
        }
    }

    func run() throws {
        let (store, objects) = try storeOptions.openObjects()
        let sources: [PutSource] =
            stdinPaths
            ? try pathsFromStandardInput().map { .file($0) }
            : files.map { $0 == "-" ? .descriptor(STDIN_FILENO) : .file($0) }
        if objects !== store {
            return try putRemote(sources, store: store, objects: objects)
        }
        let mode = durability ?? store.configuration.durability
        var lines: [Line] = []
        var output = WholeLineOutput()
        defer { output.flush() }
        do {
            // A batch becomes visible all at once (and checks its inputs while staging them); otherwise every input
            // is checked first, then each line is printed as soon as its object (and every one before it) is stored.
            if mode != .batch { try store.checkInputs(sources) }
            try store.putEach(sources, durability: mode, concurrency: jobs) { index, result in
                let line = Line(path: sources[index].displayName, result: result)
                if json {
                    lines.append(line)
                } else {
                    // Each line leaves whole: in object and none modes as soon as it is stored, in batch mode in
                    // chunks of whole lines.
                    output.write("\(result.digest)  \(line.path)", flush: mode != .batch)
                }
            }
        } catch {
            throw StoreExit.cliError(error)
        }
        if json { try JSONOutput.print(lines) }
    }

    /// Puts into a store whose objects live elsewhere (S3): every input is checked first, then up to `--jobs` are
    /// stored at once, each line printed once the backend acknowledged its object and every one before it.
    /// Standard input is spooled to a temporary file in the store's `tmp/` first, so a large input streams in parts
    /// like any file. `--durability` does not apply: the object store acknowledges a put once it has stored it.
    func putRemote(_ sources: [PutSource], store: ObjectStore, objects: any ObjectBackend) throws {
        var lines: [Line] = []
        var output = WholeLineOutput()
        var spools: [String] = []
        defer {
            output.flush()
            for spool in spools { try? FileManager.default.removeItem(atPath: spool) }
        }
        do {
            try store.checkInputs(sources)
            let paths = try sources.map { source -> String in
                switch source {
                case .file(let path):
                    return path
                case .descriptor(let descriptor):
                    let spool = try store.spool(descriptor)
                    spools.append(spool)
                    return spool
                }
            }
            try forEachInOrder(count: sources.count, workers: jobs) { index in
                try objects.put(fileAt: paths[index])
            } published: { index, result in
                let line = Line(path: sources[index].displayName, result: result)
                if json { lines.append(line) } else { output.write("\(result.digest)  \(line.path)", flush: true) }
            }
        } catch {
            throw StoreExit.cliError(error)
        }
        if json { try JSONOutput.print(lines) }
    }
}
