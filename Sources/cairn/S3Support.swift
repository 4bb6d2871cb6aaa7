import CairnCore
import CairnS3
import CairnStore

/// What the CLI does with S3 locations (`cairn init --objects s3://...`).
enum S3Support {
    /// Parses `--objects` and `--s3-endpoint` and checks that the bucket can be listed and written with the
    /// environment's credentials; fails with exit 2 and what is wrong (no such bucket, access denied, no reply,
    /// missing credentials), or, in a build without the S3 trait, with how to get one.
    static func checkedLocation(_ text: String, endpoint: String?, algorithm: DigestAlgorithm) throws -> S3Location {
        #if S3
        let location: S3Location
        do {
            location = try S3Location(parsing: text, endpoint: endpoint)
        } catch {
            throw CLIError(error.description)
        }
        do {
            let backend = try S3ObjectBackend(
                configuration: S3BackendConfiguration(
                    location: location,
                    algorithm: algorithm,
                    retry: S3RetryPolicy(maxAttempts: 3)
                )
            )
            defer { backend.shutdown() }
            try backend.checkAccess()
        } catch {
            throw CLIError("cannot keep objects in \(location): \(error)")
        }
        return location
        #else
        throw CLIError(
            "this cairn was built without S3 support, so it cannot keep objects in \(text); build it with the S3 "
                + "trait: swift build -c release --traits S3"
        )
        #endif
    }

    /// The S3 bucket holding `store`'s objects (named in its `s3.json`), or nil when the store keeps them locally.
    /// `debrisAge` (seconds) is how old an unfinished multipart upload must be for gc to abort it (default 24 h).
    /// Exit 2 when `s3.json` cannot be read, the credentials are missing, or this build has no S3 support.
    static func remoteObjects(of store: ObjectStore, debrisAge: Double? = nil) throws -> (any ObjectBackend)? {
        let location: S3Location?
        do {
            location = try S3StoreFile.read(storeRoot: store.root)
        } catch {
            throw CLIError("cannot read \(store.root)/\(S3StoreFile.name): \(error)")
        }
        guard let location else { return nil }
        #if S3
        do {
            var configuration = S3BackendConfiguration(location: location, algorithm: store.configuration.algorithm)
            if let debrisAge { configuration.debrisAge = debrisAge }
            return try S3ObjectBackend(configuration: configuration)
        } catch {
            throw CLIError("cannot reach the objects of the store at \(store.root) in \(location): \(error)")
        }
        #else
        throw CLIError(
            "the store at \(store.root) keeps its objects in \(location), and this cairn was built without S3 "
                + "support; build it with the S3 trait: swift build -c release --traits S3"
        )
        #endif
    }

    /// Refuses a store whose objects are in S3 for a verb that reads local objects, with exit 2.
    static func refuseRemoteObjects(storePath: String) throws {
        let location: S3Location?
        do {
            location = try S3StoreFile.read(storeRoot: storePath)
        } catch {
            throw CLIError("cannot read \(storePath)/\(S3StoreFile.name): \(error)")
        }
        if let location {
            throw CLIError(
                "the store at \(storePath) keeps its objects in \(location); this verb works on local objects only "
                    + "(put, get, cat, has, gc, run, import and the ledger verbs reach S3 objects)"
            )
        }
    }
}
