import ArgumentParser
import CairnCore
import CairnStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cairn cat`: writes objects, verified, to standard output.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Write objects to standard output, verified (a corrupt object is an error, not bytes).",
        discussion: "Exit 1 if an object is absent or corrupt."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The objects' digests, ALGORITHM:HEX.", valueName: "digest"))
    var digests: [String]

    func validate() throws {
        if digests.isEmpty { throw ValidationError("cat needs at least one DIGEST") }
    }

    func run() throws {
        let parsed = try digests.map(StoreExit.parseDigest)
        let objects = try storeOptions.openObjects().objects
        do {
            for digest in parsed { try objects.writeVerified(digest, to: STDOUT_FILENO) }
        } catch {
            throw StoreExit.cliError(error)
        }
    }
}
