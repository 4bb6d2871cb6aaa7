import Foundation
import Testing
import _CairnTestSupport

@Suite(.timeLimit(.minutes(15)))
struct VersionTests {
    @Test func versionFlagPrintsVersionAndExitsZero() throws {
        let result = try runCairn(["--version"])
        #expect(result.status == 0)
        #expect(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test func unknownFlagIsAUsageErrorWithExitTwo() throws {
        let result = try runCairn(["--no-such-flag"])
        #expect(result.status == 2)
        #expect(result.stderrText.contains("no-such-flag"))
        #expect(result.stdout.isEmpty)
    }
}
