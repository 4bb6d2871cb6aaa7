public import CairnCore
import CairnManifest
import CairnStore
public import Foundation

/// What a garbage collection found and did.
public struct GCReport: Sendable, Hashable {
    /// Ledger entries read for roots.
    public var entriesScanned: UInt64
    /// Distinct digests referenced by the ledger (kept).
    public var referenced: Int
    /// Objects in the store.
    public var objectsSeen: Int
    /// Unreferenced objects older than the grace period: deleted, or would be in a dry run.
    public var swept: [Digest]
    /// Their total size in bytes.
    public var sweptBytes: Int64
    /// Unreferenced objects kept because they are younger than the grace period.
    public var keptYoung: Int
    /// True when nothing was deleted on purpose.
    public var dryRun: Bool
    /// Temporary files of processes that are gone (a killed `put`) removed from the store's `tmp/`; none in a dry
    /// run.
    public var debrisRemoved: Int = 0
}

extension Ledger {
    /// Mark and sweep: keeps every object referenced by any ledger entry (manifest bodies, the assets and inputs
    /// those manifests name, receipt inputs and outputs) and deletes the other objects older than `grace`.
    ///
    /// - Parameters:
    ///   - grace: objects modified less than this many seconds ago are kept (in-flight work).
    ///   - dryRun: report what would be deleted; delete nothing.
    /// - Throws: ``LedgerError`` `.gcRefused`, deleting nothing, when any entry or manifest body cannot be read.
    public func collectGarbage(grace: TimeInterval = 86_400, dryRun: Bool = false) throws -> GCReport {
        var marked: Set<Digest> = []
        var scanned: UInt64 = 0
        do {
            try forEachEntry { index, bytes in
                let entry: LedgerEntry
                do {
                    entry = try LedgerEntry.decode(bytes).entry
                } catch {
                    throw LedgerError(.gcRefused, "entry \(index) cannot be decoded", underlying: error)
                }
                scanned += 1
                for digest in entry.referencedDigests { marked.insert(digest) }
                if case .manifest(let record) = entry {
                    let body: [UInt8]
                    do {
                        body = try store.read(record.manifestDigest)
                    } catch {
                        throw LedgerError(
                            .gcRefused,
                            "manifest \(record.manifestDigest) of run \(record.runID) (entry \(index)) cannot be read",
                            underlying: error
                        )
                    }
                    // The manifest's own references: step inputs and outputs by SHA-256, and provider records
                    // (stdout, stderr, request and response bodies) named by digest text under `provider_payload`.
                    guard let outline = try? ManifestOutline(bytes: body) else {
                        throw LedgerError(
                            .gcRefused,
                            "manifest \(record.manifestDigest) of run \(record.runID) (entry \(index)) is not a manifest"
                        )
                    }
                    marked.formUnion(outline.referencedDigests)
                }
            }
        } catch let error as LedgerError where error.code == .gcRefused {
            throw error
        } catch {
            throw LedgerError(.gcRefused, "the ledger cannot be read", underlying: error)
        }
        let now = Date()
        var swept: [Digest] = []
        var sweptBytes: Int64 = 0
        var young = 0
        let all = try store.list()
        // Manifests name assets by SHA-256. In a store that names objects by another algorithm, an object those
        // names reach is found by its SHA-256, computed here for each object that would otherwise be swept.
        let sha256Roots = marked.filter { $0.algorithm == .sha256 }
        for digest in all where !marked.contains(digest) {
            let modified = try store.modificationDate(of: digest)
            guard now.timeIntervalSince(modified) >= grace else {
                young += 1
                continue
            }
            if digest.algorithm != .sha256 && !sha256Roots.isEmpty {
                var hasher = ContentHasher(algorithm: .sha256)
                do {
                    // The SHA-256 of the bytes as they are: a damaged object is fsck's to report, not a reason
                    // to stop gc.
                    try store.stream(digest, verify: false) { hasher.update(bufferPointer: $0) }
                } catch {
                    throw LedgerError(
                        .gcRefused,
                        "object \(digest) cannot be read to check it against the manifests' sha256 names",
                        underlying: error
                    )
                }
                if sha256Roots.contains(hasher.finalize()) { continue }
            }
            swept.append(digest)
        }
        // Every check is done before the first removal, so a refusal above removes nothing.
        for digest in swept {
            sweptBytes += (try? store.size(of: digest)) ?? 0
            if !dryRun { _ = try store.remove(digest) }
        }
        // Debris is not damage: a tmp/ that cannot be cleaned leaves gc's report as it is.
        let debris = dryRun ? 0 : ((try? store.cleanUpDebris()) ?? 0)
        return GCReport(
            entriesScanned: scanned,
            referenced: marked.count,
            objectsSeen: all.count,
            swept: swept,
            sweptBytes: sweptBytes,
            keptYoung: young,
            dryRun: dryRun,
            debrisRemoved: debris
        )
    }
}
