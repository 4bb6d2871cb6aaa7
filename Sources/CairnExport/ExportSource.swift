import CairnCore
public import CairnLedger
import CairnManifest
import CairnStore
public import Foundation

/// Which runs an export covers: all, those recorded after a run, or those recorded at or after a time.
public enum ExportSince: Sendable, Hashable {
    case all
    /// Runs whose latest manifest entry comes after run `runID`'s in the log.
    case afterRun(String)
    /// Runs whose latest manifest entry was recorded at or after this time.
    case time(Date)

    /// Reads `--since TEXT`: a run ID that has a manifest entry in `ledger`, else an RFC 3339 time
    /// (`2026-01-02T03:04:05Z`, fractional seconds and offsets allowed) or a UTC date (`2026-01-02`).
    public static func parse(_ text: String, ledger: Ledger) throws -> ExportSince {
        if try ledger.run(text) != nil { return .afterRun(text) }
        if let date = parseTime(text) { return .time(date) }
        throw ExportError(
            .invalidSince,
            "--since \(text): not a run ID with a manifest in this ledger, nor a time (RFC 3339, e.g. "
                + "2026-01-02T03:04:05Z, or a date, e.g. 2026-01-02)"
        )
    }

    /// An RFC 3339 time or a `YYYY-MM-DD` date (midnight UTC), or nil.
    static func parseTime(_ text: String) -> Date? {
        let full = ISO8601DateFormatter()
        full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = full.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if text.count == 10, let date = day.date(from: text) { return date }
        return nil
    }
}

/// One run as exports see it: its index summary, its parsed manifest and its receipts.
struct ExportRun {
    var summary: RunSummary
    var manifest: Manifest
    var receipts: [Receipt]
}

/// Reads the runs an export covers from a ledger, oldest manifest entry first.
enum ExportSource {
    /// The runs `since` selects (each at its latest manifest entry), with their receipts; runs whose
    /// `entryIndex` already equals `skip[runID]` are left out. With `only`, exactly those runs (`since` and `skip`
    /// ignored).
    static func runs(
        in ledger: Ledger,
        since: ExportSince,
        skip: [String: UInt64] = [:],
        only: Set<String>? = nil
    ) throws -> [ExportRun] {
        var summaries = Array(try ledger.runs().reversed())
        if let only {
            summaries = summaries.filter { only.contains($0.runID) }
        } else {
            summaries = summaries.filter { skip[$0.runID] != $0.entryIndex }
            switch since {
            case .all:
                break
            case .afterRun(let runID):
                guard let anchor = try ledger.run(runID) else {
                    throw ExportError(.invalidSince, "--since \(runID): the run has no manifest in this ledger")
                }
                summaries = summaries.filter { $0.entryIndex > anchor.entryIndex }
            case .time(let date):
                summaries = summaries.filter { summary in
                    guard let recorded = ExportSince.parseTime(summary.timestamp) else { return true }
                    return recorded >= date
                }
            }
        }
        guard !summaries.isEmpty else { return [] }
        let wanted = Set(summaries.map(\.runID))
        var receipts: [String: [Receipt]] = [:]
        try ledger.forEachEntry { _, bytes in
            let (entry, _) = try LedgerEntry.decode(bytes)
            if case .receipt(let receipt) = entry, wanted.contains(receipt.runID) {
                receipts[receipt.runID, default: []].append(receipt)
            }
        }
        var runs: [ExportRun] = []
        runs.reserveCapacity(summaries.count)
        for summary in summaries {
            guard let digest = Digest(summary.manifestDigest) else {
                throw ExportError(
                    .manifestUnreadable,
                    "run \(summary.runID): manifest digest \(summary.manifestDigest) is malformed (entry "
                        + "\(summary.entryIndex)); run `cairn ledger reindex`"
                )
            }
            let bytes: [UInt8]
            let manifest: Manifest
            do {
                bytes = try ledger.store.read(digest)
                manifest = try Manifest.parse(bytes)
            } catch {
                throw ExportError(
                    .manifestUnreadable,
                    "run \(summary.runID): cannot read its manifest \(summary.manifestDigest) (ledger entry "
                        + "\(summary.entryIndex)): \(error); run `cairn fsck` to check the store"
                )
            }
            runs.append(ExportRun(summary: summary, manifest: manifest, receipts: receipts[summary.runID] ?? []))
        }
        return runs
    }

    /// Python's `datetime.isoformat()` of a timestamp (`+00:00` for UTC, as genblaze's sinks write it).
    static func isoformat(_ timestamp: Timestamp) -> String {
        var text = pad(timestamp.year, 4) + "-" + pad(timestamp.month, 2) + "-" + pad(timestamp.day, 2)
        text += "T" + pad(timestamp.hour, 2) + ":" + pad(timestamp.minute, 2) + ":" + pad(timestamp.second, 2)
        if timestamp.microsecond != 0 { text += "." + pad(timestamp.microsecond, 6) }
        guard let offset = timestamp.utcOffsetSeconds else { return text }
        let magnitude = abs(offset)
        text += (offset < 0 ? "-" : "+") + pad(magnitude / 3600, 2) + ":" + pad(magnitude / 60 % 60, 2)
        if magnitude % 60 != 0 { text += ":" + pad(magnitude % 60, 2) }
        return text
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
