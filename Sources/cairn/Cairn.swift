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
        ]
    )

    /// Parses the command line. `put`'s FILE operands bypass the argument parser, whose time grows with the square
    /// of the number of values of one argument (10^4 files took seconds): only the first goes through it, for
    /// validation, and the whole list is set afterwards.
    static func parseRoot(_ arguments: [String]) throws -> any ParsableCommand {
        guard arguments.first == "put" else { return try parseAsRoot(arguments) }
        let (options, operands) = PutCommand.separateOperands(arguments.dropFirst())
        var command = try parseAsRoot(["put"] + options + (operands.isEmpty ? [] : ["--", operands[0]]))
        if var put = command as? PutCommand, operands.count > 1 {
            put.files = operands
            do {
                try put.validate()
            } catch {
                // Reported as the argument parser reports its own validation errors.
                return try parseAsRoot(["put"] + options + ["--"] + operands)
            }
            command = put
        }
        return command
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
