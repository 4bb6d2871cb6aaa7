public import CairnLedger
import CairnManifest
import Foundation
import _CairnSystem

#if canImport(Glibc)
import Glibc
#endif

/// `cairn export parquet`: the ledger's runs as genblaze ParquetSink-compatible `runs/`, `steps/` and `assets/`
/// datasets (spec/export.md), written incrementally: a state file remembers which run was exported at which manifest
/// entry and in which files, so a second export writes only new or changed runs and a run is always one row.
public struct ParquetExport: Sendable {
    /// The three datasets and their columns, genblaze's first, then Cairn's (spec/export.md, "Columns").
    public static let schemas: [(table: String, columns: [(name: String, type: ParquetColumnType)])] = [
        (
            "runs",
            [
                ("run_id", .string), ("parent_run_id", .string), ("tenant_id", .string), ("project_id", .string),
                ("name", .string), ("status", .string), ("step_count", .int64), ("canonical_hash", .string),
                ("created_at", .string),
                ("cairn_manifest_digest", .string), ("cairn_entry_index", .int64), ("cairn_recorded_at", .string),
                ("cairn_attempts", .int64),
            ]
        ),
        (
            "steps",
            [
                ("run_id", .string), ("step_id", .string), ("provider", .string), ("model", .string),
                ("step_type", .string), ("modality", .string), ("status", .string), ("prompt", .string),
                ("seed", .int64), ("params_json", .string), ("asset_count", .int64), ("retries", .int64),
                ("cost_usd", .double), ("error", .string), ("error_code", .string), ("started_at", .string),
                ("completed_at", .string),
                ("cairn_step_index", .int64), ("cairn_attempts", .int64), ("cairn_fingerprint", .string),
                ("cairn_manifest_digest", .string), ("cairn_entry_index", .int64),
            ]
        ),
        (
            "assets",
            [
                ("run_id", .string), ("step_id", .string), ("asset_id", .string), ("url", .string),
                ("media_type", .string), ("sha256", .string), ("size_bytes", .int64), ("width", .int64),
                ("height", .int64), ("duration", .double), ("frame_rate", .double), ("video_codec", .string),
                ("video_bitrate", .int64), ("color_space", .string), ("has_audio", .boolean),
                ("sample_rate", .int64), ("channels", .int64), ("audio_codec", .string), ("track_count", .int64),
                ("cairn_role", .string), ("cairn_step_index", .int64), ("cairn_position", .int64),
                ("cairn_digest", .string), ("cairn_manifest_digest", .string), ("cairn_entry_index", .int64),
            ]
        ),
    ]

    /// The state file's name inside the output folder.
    public static let stateFileName = "_cairn_export.json"

    /// What one export did.
    public struct Summary: Sendable, Hashable {
        /// Runs written (new or changed, plus unchanged runs sharing a rewritten file).
        public var runs: Int
        /// Rows written per table.
        public var rows: [String: Int]
        /// Files written (paths relative to the output folder).
        public var filesWritten: [String]
        /// Files removed because their runs were rewritten (relative paths).
        public var filesRemoved: [String]
        /// The export's batch number (the `NNNNNN` of `part-NNNNNN.parquet`).
        public var batch: Int
    }

    public var directory: String
    public var compression: ParquetCompression
    public var createdBy: String

    public init(directory: String, compression: ParquetCompression = .zstd, createdBy: String) {
        self.directory = directory
        self.compression = compression
        self.createdBy = createdBy
    }

    /// Exports the runs `since` selects that are new or changed since the last export into ``directory``.
    public func export(from ledger: Ledger, since: ExportSince = .all) throws -> Summary {
        try makeDirectory(directory)
        var state = try ExportState.load(directory: directory)
        try removeLeftovers(state: state)

        // Runs to write: new or changed runs; plus every run sharing a file with a changed run (that file is rewritten).
        let fresh = try ExportSource.runs(in: ledger, since: since, skip: state.entryIndexes)
        let changed = Set(fresh.map(\.summary.runID)).filter { state.entryIndexes[$0] != nil }
        var staleFiles: Set<String> = []
        for runID in changed { staleFiles.formUnion(state.files(of: runID)) }
        var companions: Set<String> = []
        for file in staleFiles { companions.formUnion(state.runs(in: file)) }
        companions.subtract(fresh.map(\.summary.runID))
        var runs = fresh
        if !companions.isEmpty {
            runs += try ExportSource.runs(in: ledger, since: .all, only: companions)
        }
        let batch = state.nextBatch
        var summary = Summary(runs: runs.count, rows: [:], filesWritten: [], filesRemoved: [], batch: batch)
        guard !runs.isEmpty else { return summary }

        let tables = try ParquetRows.build(runs)
        let writer = ParquetWriter(compression: compression, createdBy: createdBy)
        // Every file is staged under a hidden temporary name, the filesystem synced once, then each renamed into
        // place and the filesystem synced again: whole files only, with two syncs however many files.
        var written: [String: Set<String>] = [:]
        var staged: [(temporary: String, path: String)] = []
        do {
            for (tableIndex, schema) in Self.schemas.enumerated() {
                var rowCount = 0
                for (partition, builder) in tables[tableIndex].sorted(by: { $0.key < $1.key }) {
                    let relative = "\(schema.table)/\(partition)/part-\(ExportSource.pad(batch, 6)).parquet"
                    let bytes: [UInt8]
                    do {
                        bytes = try writer.encode(builder.table(schema.columns))
                    } catch {
                        throw ExportError(.io, "\(relative): \(error)")
                    }
                    staged.append(try stage(bytes, relative: relative))
                    written[relative] = builder.runIDs
                    summary.filesWritten.append(relative)
                    rowCount += builder.rowCount
                }
                summary.rows[schema.table] = rowCount
            }
            try syncFileSystem()
            for file in staged {
                do {
                    try SystemCalls.rename(file.temporary, file.path)
                } catch {
                    throw ExportError(.io, "cannot rename \(file.temporary) to \(file.path): \(error)")
                }
            }
            try syncFileSystem()
        } catch {
            for file in staged { SystemCalls.discard(file.temporary) }
            throw error
        }

        // The state names the new files and forgets the stale ones; then the stale files go.
        for file in staleFiles { state.removeFile(file) }
        for (file, runIDs) in written { state.addFile(file, runs: runIDs) }
        for run in runs { state.entryIndexes[run.summary.runID] = run.summary.entryIndex }
        state.nextBatch = batch + 1
        try state.save(directory: directory)
        for file in staleFiles.sorted() {
            removeFile(directory + "/" + file)
            summary.filesRemoved.append(file)
        }
        return summary
    }

    /// Removes what a crashed export may have left: hidden temporary files and data files the state does not name.
    private func removeLeftovers(state: ExportState) throws {
        for schema in Self.schemas {
            let root = directory + "/" + schema.table
            for file in Self.files(under: root, relativeTo: schema.table) {
                let name = file.split(separator: "/").last.map(String.init) ?? file
                if name.hasPrefix(".") && name.contains(".tmp") {
                    removeFile(directory + "/" + file)
                } else if name.hasSuffix(".parquet") && name.hasPrefix("part-") && !state.names(file) {
                    removeFile(directory + "/" + file)
                }
            }
        }
    }

    /// Regular files below `root` (recursively), as paths starting with `prefix`.
    static func files(under root: String, relativeTo prefix: String) -> [String] {
        guard let entries = try? SystemCalls.listDirectory(root) else { return [] }
        var found: [String] = []
        for entry in entries {
            if entry.isDirectory {
                found += files(under: root + "/" + entry.name, relativeTo: prefix + "/" + entry.name)
            } else {
                found.append(prefix + "/" + entry.name)
            }
        }
        return found
    }

    private func removeFile(_ path: String) {
        SystemCalls.discard(path)
    }

    private func makeDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            do {
                _ = try SystemCalls.mkdir(current)
            } catch {
                throw ExportError(.invalidOutput, "cannot create folder \(current): \(error)")
            }
        }
    }

    /// Writes `bytes` under a hidden temporary name (which dataset readers skip) in the folder of `relative` (below
    /// ``directory``), unsynced; returns that name and the final path.
    private func stage(_ bytes: [UInt8], relative: String) throws -> (temporary: String, path: String) {
        let path = directory + "/" + relative
        let folder = SystemCalls.directoryName(of: path)
        try makeDirectory(folder)
        let name = relative.split(separator: "/").last.map(String.init) ?? relative
        let temporary = folder + "/." + name + ".tmp.\(getpid())"
        do {
            let file = try SystemFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
            try file.write(bytes, at: 0)
        } catch {
            SystemCalls.discard(temporary)
            throw ExportError(.io, "cannot write \(temporary): \(error)")
        }
        return (temporary, path)
    }

    /// Flushes the filesystem holding ``directory`` (`syncfs`).
    private func syncFileSystem() throws {
        do {
            let fd = try SystemCalls.open(directory, O_RDONLY | O_DIRECTORY)
            defer { SystemCalls.close(fd) }
            try SystemCalls.syncFileSystem(fd)
        } catch {
            throw ExportError(.io, "cannot sync the filesystem of \(directory): \(error)")
        }
    }
}
