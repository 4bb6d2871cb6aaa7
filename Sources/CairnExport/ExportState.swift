import CairnManifest
import SystemPackage
import _CairnSystem

/// `OUT_DIR/_cairn_export.json` (spec/export.md, "State file"): which run was exported at which manifest entry, and
/// which data files hold which runs. Written whole (temporary file, sync, rename) after the data files it names.
struct ExportState {
    static let format = "cairn-parquet-export"
    static let version = 1

    /// Run ID -> the log index of the manifest entry it was exported at.
    var entryIndexes: [String: UInt64] = [:]
    /// Data file (relative path) -> the runs it holds.
    private var filesToRuns: [String: Set<String>] = [:]
    /// Run ID -> the data files holding its rows.
    private var runsToFiles: [String: Set<String>] = [:]
    /// The next export's batch number.
    var nextBatch = 1

    func files(of runID: String) -> Set<String> { runsToFiles[runID] ?? [] }
    func runs(in file: String) -> Set<String> { filesToRuns[file] ?? [] }
    func names(_ file: String) -> Bool { filesToRuns[file] != nil }

    mutating func addFile(_ file: String, runs: Set<String>) {
        filesToRuns[file] = runs
        for run in runs { runsToFiles[run, default: []].insert(file) }
    }

    mutating func removeFile(_ file: String) {
        for run in filesToRuns[file] ?? [] {
            runsToFiles[run]?.remove(file)
            if runsToFiles[run]?.isEmpty == true { runsToFiles[run] = nil }
        }
        filesToRuns[file] = nil
    }

    static func path(directory: String) -> String { directory + "/" + ParquetExport.stateFileName }

    /// The state in `directory`, or an empty one when there is no state file.
    static func load(directory: String) throws -> ExportState {
        let path = path(directory: directory)
        let bytes: [UInt8]
        do {
            bytes = try SystemCalls.readFile(path)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return ExportState() }
            throw ExportError(.invalidOutput, "cannot read \(path): \(error)")
        }
        func malformed(_ what: String) -> ExportError {
            ExportError(
                .invalidOutput,
                "\(path) is not a Cairn export state file (\(what)); export into an empty folder or remove it"
            )
        }
        guard let root = try? JSONReader.parse(bytes), let object = root.objectValue else {
            throw malformed("not a JSON object")
        }
        guard object["format"]?.stringValue == format else { throw malformed("no \"format\": \"\(format)\"") }
        guard object["version"]?.integerValue?.int == version else {
            throw malformed("version is not \(version)")
        }
        var state = ExportState()
        guard let batch = object["next_batch"]?.integerValue?.int, batch >= 1 else {
            throw malformed("next_batch")
        }
        state.nextBatch = batch
        guard let runs = object["runs"]?.objectValue else { throw malformed("runs") }
        for (runID, value) in runs {
            guard let index = value.integerValue?.int, index >= 0 else { throw malformed("runs.\(runID)") }
            state.entryIndexes[runID] = UInt64(index)
        }
        guard let files = object["files"]?.objectValue else { throw malformed("files") }
        for (file, value) in files {
            guard let list = value.arrayValue else { throw malformed("files.\(file)") }
            var ids: Set<String> = []
            for item in list {
                guard let id = item.stringValue else { throw malformed("files.\(file)") }
                ids.insert(id)
            }
            state.addFile(file, runs: ids)
        }
        return state
    }

    /// Publishes the state in `directory` (canonical JSON, runs and files sorted).
    func save(directory: String) throws {
        let runs = JSONObject(
            entryIndexes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.integer(JSONInteger(Int($0.value)))) }
        )
        let files = JSONObject(
            filesToRuns.sorted { $0.key < $1.key }.map { file, ids in
                (file, JSONValue.array(ids.sorted().map { JSONValue.string($0) }))
            }
        )
        let value: JSONValue = .object([
            "format": .string(Self.format),
            "version": .integer(JSONInteger(Self.version)),
            "next_batch": .integer(JSONInteger(nextBatch)),
            "runs": .object(runs),
            "files": .object(files),
        ])
        let path = Self.path(directory: directory)
        do {
            var bytes = try CanonicalJSON.encode(value)
            bytes.append(0x0A)
            try SystemCalls.publish(bytes, at: path, sync: true)
        } catch {
            throw ExportError(.io, "cannot write \(path): \(error)")
        }
    }
}
