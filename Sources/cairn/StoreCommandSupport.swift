import CairnCore
import CairnStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StoreOptions {
    /// Opens the store for a verb that works on the local object layout (fsck, bench), refusing a store whose
    /// objects are in S3; fails with one clear line and exit 2.
    func openStore() throws -> ObjectStore {
        try S3Support.refuseRemoteObjects(storePath: storePath)
        return try openLocalStore()
    }

    /// Opens the store directory (configuration, ledger, step cache) wherever its objects are.
    func openLocalStore() throws -> ObjectStore {
        try refuseOtherOwner()
        do {
            return try ObjectStore(at: storePath)
        } catch let error as StoreError {
            throw CLIError(error.description, exitCode: 2)
        }
    }

    /// Opens the store and its objects: the local store itself, or the S3 bucket its `s3.json` names (where
    /// unfinished uploads older than `debrisAge` seconds count as debris).
    func openObjects(debrisAge: Double? = nil) throws -> (store: ObjectStore, objects: any ObjectBackend) {
        let store = try openLocalStore()
        return (store, try S3Support.remoteObjects(of: store, debrisAge: debrisAge) ?? store)
    }
}

/// Maps library errors onto the CLI's exit codes.
enum StoreExit {
    /// Exit 1 for what a check finds (absent, corrupt, truncated object); 2 for everything else.
    static func cliError(_ error: any Error) -> CLIError {
        if let error = error as? CLIError { return error }
        if let error = error as? StoreError {
            let found: Set<StoreError.Code> = [.notFound, .corrupt, .truncated]
            return CLIError(error.description, exitCode: found.contains(error.code) ? 1 : 2)
        }
        return CLIError("\(error)", exitCode: 2)
    }

    /// Parses a digest argument, or fails with exit 2 naming the problem.
    static func parseDigest(_ text: String) throws -> Digest {
        do {
            return try Digest(parsing: text)
        } catch let error as DigestError {
            throw CLIError(error.description, exitCode: 2)
        }
    }
}
