import ArgumentParser
import CairnCore
import CairnStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cairn get`: writes an object, verified, to a file (atomically) or to standard output.
struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Write an object to a file (-o, atomically) or to standard output, verified.",
        discussion: "Exit 1 if the object is absent or corrupt (the output file is then left untouched)."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The object's digest, ALGORITHM:HEX.", valueName: "digest"))
    var digest: String

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.", completion: .file())
    var output: String?

    func run() throws {
        let digest = try StoreExit.parseDigest(digest)
        let objects = try storeOptions.openObjects().objects
        do {
            if let output {
                try objects.copy(digest, toFileAt: output, verify: true)
            } else {
                try objects.writeVerified(digest, to: STDOUT_FILENO)
            }
        } catch {
            throw StoreExit.cliError(error)
        }
    }
}
