import ArgumentParser
import Foundation

/// A command with one variadic argument that may hold thousands of values (files, digests, manifests).
///
/// `Cairn.parseRoot` hands those values past the argument parser, whose time grows with the square of their number
/// (10^4 values took seconds): only the first goes through it, for validation, and the whole list is set after.
protocol OperandListCommand: ParsableCommand {
    /// The variadic argument.
    static var operands: WritableKeyPath<Self, [String]> { get }
}

extension OperandListCommand {
    /// The options that take a value as the next argument, read from the command's own usage line
    /// (`--name <value>`), so the list cannot drift from the declarations.
    static var valueOptions: Set<String> {
        let usage = helpMessage(columns: 100_000).split(separator: "\n").first { $0.hasPrefix("USAGE:") } ?? ""
        let words = usage.split(separator: " ")
        var options: Set<String> = []
        for index in words.indices.dropLast() where words[index + 1].hasPrefix("<") {
            let name = words[index].drop { $0 == "[" }
            if name.hasPrefix("-") { options.insert(String(name)) }
        }
        return options
    }

    /// Splits the arguments after the command name into options (with their values) and operands, in order: an
    /// operand is `-` or anything not starting with `-`, and everything after `--`.
    static func separateOperands(_ arguments: ArraySlice<String>) -> (options: [String], operands: [String]) {
        let valueOptions = valueOptions
        var options: [String] = []
        var operands: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                operands += arguments[index...]
                break
            }
            guard argument.hasPrefix("-"), argument != "-" else {
                operands.append(argument)
                continue
            }
            options.append(argument)
            if valueOptions.contains(argument), index < arguments.endIndex {
                options.append(arguments[index])
                index += 1
            }
        }
        return (options, operands)
    }

    /// Parses `arguments` (the command name first) with the operands set after the argument parser has run.
    static func parse(splittingOperands arguments: [String]) throws -> any ParsableCommand {
        let name = arguments[0]
        let (options, operands) = separateOperands(arguments.dropFirst())
        let command = try Cairn.parseAsRoot([name] + options + (operands.isEmpty ? [] : ["--", operands[0]]))
        guard var typed = command as? Self, operands.count > 1 else { return command }
        typed[keyPath: Self.operands] = operands
        do {
            try typed.validate()
        } catch {
            // Reported as the argument parser reports its own validation errors.
            return try Cairn.parseAsRoot([name] + options + ["--"] + operands)
        }
        return typed
    }
}

extension PutCommand: OperandListCommand { static var operands: WritableKeyPath<PutCommand, [String]> { \.files } }
extension CatCommand: OperandListCommand { static var operands: WritableKeyPath<CatCommand, [String]> { \.digests } }
extension HasCommand: OperandListCommand { static var operands: WritableKeyPath<HasCommand, [String]> { \.digests } }
extension ImportCommand: OperandListCommand {
    static var operands: WritableKeyPath<ImportCommand, [String]> { \.manifests }
}
extension VerifyCommand: OperandListCommand {
    static var operands: WritableKeyPath<VerifyCommand, [String]> { \.manifests }
}
