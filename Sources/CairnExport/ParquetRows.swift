import CairnLedger
import CairnManifest

/// The rows of one dataset partition, column by column, in the order of a schema of ``ParquetExport/schemas``.
struct PartitionBuilder {
    private var strings: [[String?]]
    private var ints: [[Int64?]]
    private var doubles: [[Double?]]
    private var booleans: [[Bool?]]
    /// For each column: its type and its slot in the array of that type.
    private let slots: [(type: ParquetColumnType, slot: Int)]
    private var column = 0
    private(set) var rowCount = 0
    private(set) var runIDs: Set<String> = []

    init(columns: [(name: String, type: ParquetColumnType)]) {
        var counts: [ParquetColumnType: Int] = [:]
        var slots: [(ParquetColumnType, Int)] = []
        for column in columns {
            slots.append((column.type, counts[column.type, default: 0]))
            counts[column.type, default: 0] += 1
        }
        self.slots = slots
        strings = Array(repeating: [], count: counts[.string, default: 0])
        ints = Array(repeating: [], count: counts[.int64, default: 0])
        doubles = Array(repeating: [], count: counts[.double, default: 0])
        booleans = Array(repeating: [], count: counts[.boolean, default: 0])
    }

    mutating func string(_ value: String?) {
        strings[slots[column].slot].append(value)
        column += 1
    }

    mutating func int(_ value: Int64?) {
        ints[slots[column].slot].append(value)
        column += 1
    }

    mutating func int(_ value: JSONInteger?) { int(value?.int.map(Int64.init)) }

    mutating func int(_ value: Int) { int(Int64(value)) }

    mutating func double(_ value: Double?) {
        doubles[slots[column].slot].append(value)
        column += 1
    }

    mutating func boolean(_ value: Bool?) {
        booleans[slots[column].slot].append(value)
        column += 1
    }

    /// Ends a row (every column must have had its value).
    mutating func endRow(runID: String) {
        precondition(column == slots.count, "a row of \(column) values for \(slots.count) columns")
        column = 0
        rowCount += 1
        runIDs.insert(runID)
    }

    func table(_ columns: [(name: String, type: ParquetColumnType)]) -> ParquetTable {
        ParquetTable(
            columns: zip(columns, slots).map { column, slot in
                let values: ParquetColumnValues =
                    switch slot.type {
                    case .string: .string(strings[slot.slot])
                    case .int64: .int64(ints[slot.slot])
                    case .double: .double(doubles[slot.slot])
                    case .boolean: .boolean(booleans[slot.slot])
                    }
                return ParquetColumn(name: column.name, values: values)
            }
        )
    }
}

/// Builds the `runs`, `steps` and `assets` rows of runs, grouped by Hive partition, as genblaze's ParquetSink
/// fills its rows (genblaze_core/sinks/parquet.py) plus Cairn's columns (spec/export.md).
enum ParquetRows {
    /// Per table (in ``ParquetExport/schemas`` order): partition path -> rows.
    static func build(_ runs: [ExportRun]) throws -> [[String: PartitionBuilder]] {
        let schemas = ParquetExport.schemas
        var tables: [[String: PartitionBuilder]] = Array(repeating: [:], count: schemas.count)
        for run in runs {
            let partition = partitionPath(run.manifest.run)
            appendRun(run, to: &tables[0][partition, default: PartitionBuilder(columns: schemas[0].columns)])
            if !run.manifest.run.steps.isEmpty {
                try appendSteps(run, to: &tables[1][partition, default: PartitionBuilder(columns: schemas[1].columns)])
            }
            if run.manifest.run.steps.contains(where: { !$0.assets.isEmpty || !$0.inputs.isEmpty }) {
                appendAssets(run, to: &tables[2][partition, default: PartitionBuilder(columns: schemas[2].columns)])
            }
        }
        return tables
    }

    /// genblaze's `_partition_path`: `dt=YYYY-MM-DD/tenant_id=T/modality=M/provider=P`.
    static func partitionPath(_ run: Run) -> String {
        let created = run.createdAt
        let date =
            ExportSource.pad(created.year, 4) + "-" + ExportSource.pad(created.month, 2) + "-"
            + ExportSource.pad(created.day, 2)
        let tenant = sanitize(run.tenantID ?? "default")
        let modalities = Set(run.steps.map(\.modality.rawValue)).sorted().joined(separator: "_")
        let providers = Set(run.steps.compactMap(\.provider)).sorted().joined(separator: "_")
        return "dt=\(date)/tenant_id=\(tenant)/modality=\(sanitize(modalities.isEmpty ? "unknown" : modalities))"
            + "/provider=\(sanitize(providers.isEmpty ? "unknown" : providers))"
    }

    /// genblaze's `_sanitize`: every character outside `A-Za-z0-9_-.` becomes `_`.
    static func sanitize(_ value: String) -> String {
        var result = ""
        for character in value.unicodeScalars {
            switch character {
            case "A"..."Z", "a"..."z", "0"..."9", "_", "-", ".": result.unicodeScalars.append(character)
            default: result += "_"
            }
        }
        return result
    }

    /// A step's index: its `step_index`, else its position.
    static func stepIndex(_ step: Step, position: Int) -> Int { step.stepIndex?.int ?? position }

    private static func appendRun(_ run: ExportRun, to rows: inout PartitionBuilder) {
        let model = run.manifest.run
        rows.string(model.runID)
        rows.string(model.parentRunID)
        rows.string(model.tenantID ?? "default")
        rows.string(model.projectID)
        rows.string(model.name ?? "")
        rows.string(model.status.rawValue)
        rows.int(model.steps.count)
        rows.string(run.manifest.canonicalHash)
        rows.string(ExportSource.isoformat(model.createdAt))
        rows.string(run.summary.manifestDigest)
        rows.int(Int64(run.summary.entryIndex))
        rows.string(run.summary.timestamp)
        rows.int(run.receipts.count)
        rows.endRow(runID: model.runID)
    }

    private static func appendSteps(_ run: ExportRun, to rows: inout PartitionBuilder) throws {
        let model = run.manifest.run
        for (position, step) in model.steps.enumerated() {
            let index = stepIndex(step, position: position)
            let attempts = run.receipts.filter { $0.stepIndex == index }
            rows.string(model.runID)
            rows.string(step.stepID)
            rows.string(step.provider)
            rows.string(step.model)
            rows.string(step.stepType.rawValue)
            rows.string(step.modality.rawValue)
            rows.string(step.status.rawValue)
            rows.string(step.prompt ?? "")
            rows.int(step.seed)
            do {
                rows.string(try CanonicalJSON.string(.object(step.params)))
            } catch {
                throw ExportError(
                    .manifestUnreadable,
                    "run \(model.runID) step \(step.stepID): params cannot be written as canonical JSON: \(error)"
                )
            }
            rows.int(step.assets.count)
            rows.int(step.retries)
            rows.double(step.costUSD)
            rows.string(step.error)
            rows.string(step.errorCode?.rawValue)
            rows.string(step.startedAt.map(ExportSource.isoformat) ?? "")
            rows.string(step.completedAt.map(ExportSource.isoformat) ?? "")
            rows.int(index)
            rows.int(attempts.count)
            rows.string(attempts.last(where: { $0.fingerprint != nil })?.fingerprint)
            rows.string(run.summary.manifestDigest)
            rows.int(Int64(run.summary.entryIndex))
            rows.endRow(runID: model.runID)
        }
    }

    private static func appendAssets(_ run: ExportRun, to rows: inout PartitionBuilder) {
        let model = run.manifest.run
        for (position, step) in model.steps.enumerated() {
            let index = stepIndex(step, position: position)
            for (role, assets) in [("output", step.assets), ("input", step.inputs)] {
                for (assetPosition, asset) in assets.enumerated() {
                    rows.string(model.runID)
                    rows.string(step.stepID)
                    rows.string(asset.assetID)
                    rows.string(asset.url)
                    rows.string(asset.mediaType)
                    rows.string(asset.sha256)
                    rows.int(asset.sizeBytes)
                    rows.int(asset.width)
                    rows.int(asset.height)
                    rows.double(asset.duration)
                    rows.double(asset.video?.frameRate)
                    rows.string(asset.video?.codec)
                    rows.int(asset.video?.bitrate)
                    rows.string(asset.video?.colorSpace)
                    rows.boolean(asset.video?.hasAudio)
                    rows.int(asset.audio?.sampleRate)
                    rows.int(asset.audio?.channels)
                    rows.string(asset.audio?.codec)
                    rows.int(asset.tracks.flatMap { $0.isEmpty ? nil : Int64($0.count) })
                    rows.string(role)
                    rows.int(index)
                    rows.int(assetPosition)
                    rows.string(objectDigest(asset.sha256))
                    rows.string(run.summary.manifestDigest)
                    rows.int(Int64(run.summary.entryIndex))
                    rows.endRow(runID: model.runID)
                }
            }
        }
    }

    /// `sha256:<hex>` for a 64-hex-digit `sha256`, else nil (as the index's `assets` view).
    static func objectDigest(_ sha256: String?) -> String? {
        guard let sha256, sha256.utf8.count == 64,
            sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        return "sha256:" + sha256
    }
}
