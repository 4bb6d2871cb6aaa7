import CairnCore
import CairnLedger
import CairnManifest
import Foundation
import _CairnSystem

/// Checks a run folder made by ``RunCheckout`` against its own `manifest.json` and receipts, offline
/// (`cairn verify DIR`, spec/checkout.md).
public enum RunFolderVerifier {
    /// Verifies the folder at `directory`.
    ///
    /// Checks: `manifest.json`'s canonical hash; each `receipt.json` decodes, names the run, and sits in the folder
    /// of its step and attempt; a succeeded last attempt's outputs are the step's outputs; every file the layout
    /// names is present and hashes to its digest and declared SHA-256; no other file is present.
    /// - Throws: ``ExportError`` `.malformed` when `directory` has no readable `manifest.json`.
    public static func verify(directory: String) throws -> VerificationReport {
        let root = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let manifestBytes: [UInt8]
        do {
            manifestBytes = try SystemCalls.readFile(root + "/manifest.json")
        } catch {
            throw ExportError(.malformed, "\(root) is not a run folder: \(error)")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(manifestBytes)
        } catch {
            throw ExportError(.malformed, "\(root)/manifest.json is not a genblaze manifest: \(error)")
        }
        var report = VerificationReport(kind: "folder", runID: manifest.run.runID)
        do {
            if try manifest.verifyHash() {
                report.pass("manifest.json", "canonical hash \(manifest.canonicalHash) verified")
            } else {
                report.fail("manifest.json", "canonical hash does not match the manifest's contents")
            }
        } catch {
            report.fail("manifest.json", "canonical hash cannot be computed: \(error)")
        }

        // Receipts: every steps/*/attempt-*/receipt.json.
        var receipts: [(path: String, receipt: Receipt)] = []
        var expected: Set<String> = ["manifest.json"]
        let stepsDirectory = root + "/steps"
        for step in try list(stepsDirectory) where step.isDirectory {
            for attempt in try list(stepsDirectory + "/" + step.name)
            where attempt.isDirectory && attempt.name.hasPrefix("attempt-") {
                let relative = "steps/\(step.name)/\(attempt.name)/receipt.json"
                guard SystemCalls.exists(root + "/" + relative) else { continue }
                expected.insert(relative)
                do {
                    let bytes = try SystemCalls.readFile(root + "/" + relative)
                    guard case .receipt(let receipt) = try LedgerEntry.decode(bytes).entry else {
                        report.fail(relative, "is a ledger entry but not a receipt")
                        continue
                    }
                    receipts.append((relative, receipt))
                } catch {
                    report.fail(relative, "cannot be read as a receipt: \(error)")
                }
            }
        }
        receipts.sort { ($0.receipt.stepIndex, $0.receipt.attempt) < ($1.receipt.stepIndex, $1.receipt.attempt) }
        let layout = RunLayout(manifest: manifest, receipts: receipts.map(\.receipt))
        for (index, (path, receipt)) in receipts.enumerated() {
            let want = layout.attempts[index].directory + "/receipt.json"
            if receipt.runID != manifest.run.runID {
                report.fail(path, "names run \(receipt.runID), not the manifest's \(manifest.run.runID)")
            } else if want != path {
                report.fail(path, "is a receipt of step \(receipt.stepIndex) attempt \(receipt.attempt) (\(want))")
            } else {
                report.pass(path, "step \(receipt.stepIndex) attempt \(receipt.attempt): \(receipt.status.rawValue)")
            }
        }
        // A step's last succeeded receipt lists the step's outputs.
        for (position, step) in manifest.run.steps.enumerated() {
            let index = step.stepIndex?.int ?? position
            guard
                let last = receipts.map(\.receipt).filter({ $0.stepIndex == index }).max(by: { $0.attempt < $1.attempt }
                ),
                last.status == .succeeded
            else { continue }
            let declared = step.assets.compactMap { RunLayout.objectDigest($0) }
            if last.outputs.map(\.digest) != declared {
                report.fail(
                    layout.stepDirectories[index] ?? "step \(index)",
                    "the receipt of attempt \(last.attempt) lists other outputs than the manifest"
                )
            }
        }
        // Every file of the layout.
        for file in layout.files {
            expected.insert(file.path)
            let path = root + "/" + file.path
            guard let info = try? SystemCalls.lstatIfPresent(path), (info.st_mode & S_IFMT) == S_IFREG else {
                report.fail(file.path, "missing (expected \(file.digest))")
                continue
            }
            var algorithms = [file.digest.algorithm]
            if file.sha256 != nil, file.digest.algorithm != .sha256 { algorithms.append(.sha256) }
            let found: [Digest]
            do {
                found = try FileDigest.of(path, algorithms: algorithms)
            } catch {
                report.fail(file.path, "cannot be read: \(error)")
                continue
            }
            if found[0] != file.digest {
                report.fail(file.path, "differs: its bytes hash to \(found[0]), the run recorded \(file.digest)")
            } else if let sha256 = file.sha256, (found.last?.hex ?? "") != sha256 {
                report.fail(file.path, "differs: its SHA-256 is \(found.last?.hex ?? "-"), the manifest says \(sha256)")
            } else {
                report.pass(file.path, "\(file.digest)")
            }
        }
        // Anything else is not part of the run.
        for extra in try listFiles(root, relative: "") where !expected.contains(extra) {
            report.fail(extra, "is not part of the run")
        }
        return report
    }

    /// The entries of a directory (none when it does not exist).
    private static func list(_ path: String) throws -> [SystemCalls.DirectoryEntry] {
        do {
            return try SystemCalls.listDirectory(path)
        } catch {
            throw ExportError(.io, error.description)
        }
    }

    /// Every non-directory under `root`, as paths relative to it, sorted.
    private static func listFiles(_ root: String, relative: String) throws -> [String] {
        let here = relative.isEmpty ? root : root + "/" + relative
        var result: [String] = []
        for entry in try list(here).sorted(by: { $0.name < $1.name }) {
            let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
            if entry.isDirectory {
                result += try listFiles(root, relative: path)
            } else {
                result.append(path)
            }
        }
        return result
    }
}
