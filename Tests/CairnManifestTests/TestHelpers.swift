import Foundation
import _CairnTestSupport

/// Reads a file as bytes, or fails the test with the path in the message.
func readBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw TestFileError(path: path)
    }
    return [UInt8](data)
}

/// A fixture file that could not be read.
struct TestFileError: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot read \(path)" }
}

/// The genblaze vector folder in the repository (`spec/vectors/genblaze`).
var genblazeVectorsRoot: String { genblazeVectorsPath }

/// The repository's own spec vectors folder.
var specVectorsRoot: String { repositoryRoot() + "/spec/vectors" }
