public import CairnCore
import CairnLedger
import CairnManifest
import CairnStore

/// The manifest a run appended to the ledger.
public struct RecordedManifest: Sendable {
    /// The digest of the stored manifest bytes (the ledger's manifest object).
    public var digest: Digest
    /// The manifest's genblaze canonical hash (hex).
    public var canonicalHash: String
    /// The manifest file bytes (genblaze's canonical form, schema 1.5).
    public var bytes: [UInt8]
    /// The ledger entry index of the manifest entry.
    public var entryIndex: UInt64
}

/// Records runs in the ledger kept in the store's directory.
struct LedgerJournal: RunJournal {
    let ledger: Ledger

    func appendReceipt(_ receipt: Receipt) throws {
        try ledger.appendReceipt(receipt)
    }

    func appendRun(_ result: RunResult) throws -> RecordedManifest {
        let manifest = try ManifestAssembly.manifest(for: result)
        let bytes = try manifest.canonicalFileBytes()
        let reference = try ledger.appendManifest(bytes: bytes)
        let digest = ContentHasher.digest(of: bytes, algorithm: ledger.store.algorithm)
        return RecordedManifest(
            digest: digest,
            canonicalHash: manifest.canonicalHash,
            bytes: bytes,
            entryIndex: reference.index
        )
    }

    func outputs(ofRun runID: String) throws -> [Artifact]? {
        guard let bytes = try ledger.manifestBytes(runID: runID) else { return nil }
        return try ManifestAssembly.runOutputs(manifestBytes: bytes)
    }

    func latestRun(named name: String) throws -> String? {
        try ledger.runs(named: name).first?.runID
    }
}

func makeLedgerJournal(store: ObjectStore) throws -> any RunJournal {
    do {
        return LedgerJournal(ledger: try Ledger.open(store: store))
    } catch {
        throw PipelineError(.ledger, "cannot open the ledger of the store at \(store.root)", underlying: error)
    }
}
