import ArgumentParser
import CairnCore
import CairnStore

/// `cairn has`: tells which objects are present.
struct HasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "has",
        abstract: "Tell whether objects are in the store.",
        discussion: """
            Prints `<digest>  present|absent` per digest. Exit 0 if all are present, 1 if some are absent, \
            2 on an error (an I/O or permission error is never reported as absent).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print a JSON array of {\"digest\", \"present\", \"size\"}.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing; only the exit code answers.")
    var quiet = false

    @Argument(help: ArgumentHelp("Digests to look for, ALGORITHM:HEX.", valueName: "digest"))
    var digests: [String]

    func validate() throws {
        if digests.isEmpty { throw ValidationError("has needs at least one DIGEST") }
    }

    struct Line: Encodable {
        var digest: String
        var present: Bool
        var size: Int64?
    }

    func run() throws {
        let parsed = try digests.map(StoreExit.parseDigest)
        let objects = try storeOptions.openObjects().objects
        var lines: [Line] = []
        for digest in parsed {
            let presence: Presence
            do { presence = try objects.contains(digest) } catch { throw CLIError("\(error)", exitCode: 2) }
            switch presence {
            case .present(let size): lines.append(Line(digest: digest.description, present: true, size: size))
            case .absent: lines.append(Line(digest: digest.description, present: false, size: nil))
            }
        }
        if json {
            try JSONOutput.print(lines)
        } else if !quiet {
            for line in lines { Terminal.print("\(line.digest)  \(line.present ? "present" : "absent")") }
        }
        if lines.contains(where: { !$0.present }) { throw ExitCode(1) }
    }
}
