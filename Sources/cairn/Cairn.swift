import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `cairn` command: a content-addressed artifact store and provenance ledger.
@main
struct Cairn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "A content-addressed artifact store and provenance ledger.",
        discussion: """
            The store is ./.cairn unless $CAIRN_HOME or --store PATH names another.

            Exit codes: 0 success; 1 the check found problems (absent objects, failed verification, \
            corrupt objects); 2 usage error, unreadable input, or the command could not run.
            """,
        version: CairnVersion.string,
        subcommands: [
            // One file per verb; keep one entry per line.
            InitCommand.self,
            PutCommand.self,
            GetCommand.self,
            CatCommand.self,
            HasCommand.self,
            FsckCommand.self,
            BenchCommand.self,
            LogCommand.self,
            ShowCommand.self,
            LineageCommand.self,
            MadeCommand.self,
            UsedCommand.self,
            GCCommand.self,
            LedgerCommand.self,
            ImportCommand.self,
            VerifyCommand.self,
            RunCommand.self,
            ExportCommand.self,
        ]
    )

    /// The commands whose variadic operands bypass the argument parser (see ``OperandListCommand``).
    static let operandListCommands: [any OperandListCommand.Type] = [
        PutCommand.self, CatCommand.self, HasCommand.self, ImportCommand.self, VerifyCommand.self,
    ]

    /// Parses the command line; see ``OperandListCommand`` for the commands that take many operands.
    static func parseRoot(_ arguments: [String]) throws -> any ParsableCommand {
        guard let name = arguments.first,
            let type = operandListCommands.first(where: { $0.configuration.commandName == name })
        else { return try parseAsRoot(arguments) }
        return try type.parse(splittingOperands: arguments)
    }

    /// Runs the command, mapping every failure onto the documented exit codes:
    /// usage errors and runtime errors exit 2 with one line on stderr; checks that found problems exit 1.
    static func main() async {
        do {
            var command = try parseRoot(Array(CommandLine.arguments.dropFirst()))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            Terminal.error(error.message)
            Self.terminate(error.exitCode)
        } catch let error as ExitCode {
            Self.terminate(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: print as ArgumentParser would.
                exit(withError: error)
            }
            if code.rawValue == 64 {  // EX_USAGE: a usage error, reported on one line
                let message =
                    Cairn.message(for: error)
                    .split(whereSeparator: \.isNewline)
                    .first
                    .map(String.init) ?? "usage error"
                Terminal.error("\(message) (see 'cairn help')")
                Self.terminate(2)
            }
            Terminal.error("\(error)")
            Self.terminate(2)
        }
    }
}

extension Cairn {
    /// Flushes stdout and ends the process with `code`.
    static func terminate(_ code: Int32) -> Never {
        fflush(nil)
        Glibc.exit(code)
    }
}

/// Cairn's version string.
enum CairnVersion {
    static let string = "0.1.0"
}
