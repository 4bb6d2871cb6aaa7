import Foundation
import Testing
import _CairnTestSupport

/// Debian's Chromium (`chromium`, installed by scripts/setup.sh), when on the PATH.
private let chromiumPath: String? = {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        for name in ["chromium", "chromium-browser"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
    }
    return nil
}()

private let python3Path: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

private let browserSkip: Comment =
    "needs `chromium`, Graphviz `dot` and python3 (scripts/setup.sh installs them: apt-get install chromium graphviz)"

/// A store made by `cairn run`: a storyboard (images, audio with a retried attempt, text), a hero shot chained
/// from it under a hostile name, and a batch of three prompts chained from the hero shot: 5 runs, 4 parent links.
private struct PipelineStore {
    let directory: TemporaryDirectory
    var store: String { directory.appending("store") }
    var runIDs: [String] = []
    var links = 0

    init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-report-browser")
        let made = try runCairn(["init", "--store", store])
        guard made.status == 0 else { throw PipelineStoreError(message: "init: \(made.stderrText)") }
        let examples = repositoryRoot() + "/examples"
        let storyboard = try run([examples + "/stages.yaml"])
        let hostile = directory.appending("hostile.yaml")
        try """
        name: "<script>alert(1)</script><img src=x onerror=alert(2)> hero"
        steps:
          - {name: still, model: image-v1, prompt: "</title><b>bold</b>", modality: image, seed: 7}
        """.write(toFile: hostile, atomically: true, encoding: .utf8)
        let hero = try run(["--parent", storyboard[0], hostile])
        let batch = try run(["--parent", hero[0], examples + "/prompt-batch.yaml"])
        runIDs = storyboard + hero + batch
        links = 1 + batch.count
    }

    private func run(_ arguments: [String]) throws -> [String] {
        let result = try runCairn(["run", "--store", store, "--json"] + arguments)
        guard result.status == 0 else { throw PipelineStoreError(message: "run \(arguments): \(result.stderrText)") }
        let pattern = try NSRegularExpression(pattern: #""run_id"\s*:\s*"([0-9a-f-]{36})""#)
        let text = result.stdoutText
        let ids = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
        var seen: Set<String> = []
        return ids.filter { seen.insert($0).inserted }
    }
}

private struct PipelineStoreError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Chromium, headless, on a file: the DOM after scripts ran and the console lines it logged.
private func chromium(_ arguments: [String], file: String, profile: TemporaryDirectory) throws -> ProcessResult {
    let chromium = try #require(chromiumPath)
    return try runProcess(
        "/usr/bin/timeout",
        [
            "120", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=5000",
        ] + arguments + ["file://" + file],
        environment: ["HOME": profile.path]
    )
}

private func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

@Suite(.timeLimit(.minutes(15)))
struct ReportBrowserTests {
    @Test(.enabled(if: chromiumPath != nil && reportDotPath != nil && python3Path != nil, browserSkip))
    func chromiumRendersEveryRunAndEveryParentLinkWithoutErrors() throws {
        let fixture = try PipelineStore()
        #expect(fixture.runIDs.count == 5, "\(fixture.runIDs)")
        let report = fixture.directory.appending("report.html")
        let made = try runCairn(["report", "--store", fixture.store, "--all", "-o", report])
        try #require(made.status == 0, "\(made.stderrText)")

        let profile = try TemporaryDirectory(prefix: "cairn-chromium")
        let dump = try chromium(["--dump-dom"], file: report, profile: profile)
        try #require(dump.status == 0, "chromium --dump-dom failed: \(dump.stderrText)")
        let dom = dump.stdoutText
        // The page's script ran (so the CSP let it) and recorded no error or blocked load.
        #expect(dom.contains("data-ready=\"1\""))
        #expect(!dom.contains("data-errors="), "\(dom)")
        let console = dump.stderrText.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "console: \(console)")
        // Every run is a card and a graph node; one edge per parent link; the batch is one cluster.
        for runID in fixture.runIDs {
            #expect(dom.contains("data-run-id=\"\(runID)\""), "no card for \(runID)")
            #expect(dom.contains("href=\"#run-\(runID)\""), "no link to \(runID)")
        }
        let svgStart = try #require(dom.range(of: "<svg"))
        let svgEnd = try #require(dom.range(of: "</svg>", options: .backwards))
        let svg = String(dom[svgStart.lowerBound..<svgEnd.upperBound])
        #expect(count("class=\"node\"", in: svg) == fixture.runIDs.count)
        #expect(count("class=\"edge\"", in: svg) == fixture.links)
        #expect(count("class=\"cluster\"", in: svg) == 1)
        // The hostile name and prompt stayed text: the rendered DOM has the page's one script and no bold element.
        #expect(count("<script", in: dom) == 1)
        #expect(!dom.contains("<b>bold</b>"))
        #expect(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        // Media as data: URIs: the images as <img>, the soundtrack as an <audio> player.
        #expect(dom.contains("<img alt=") && dom.contains("src=\"data:image/png;base64,"))
        #expect(dom.contains("<audio controls") && dom.contains("src=\"data:audio/wav;base64,"))
        // The retried attempt is on the timeline.
        #expect(dom.contains("class=\"attempt failed\""))
        #expect(dom.contains("class=\"attempt succeeded\""))

        let screenshot = fixture.directory.appending("report.png")
        let shot = try chromium(
            ["--screenshot=\(screenshot)", "--window-size=1280,1600", "--hide-scrollbars"],
            file: report,
            profile: profile
        )
        try #require(shot.status == 0, "chromium --screenshot failed: \(shot.stderrText)")
        let stats = try runProcess(
            try #require(python3Path),
            [repositoryRoot() + "/scripts/png_stats.py", screenshot]
        )
        try #require(stats.status == 0, "\(stats.stderrText)")
        let values = try #require(
            try JSONSerialization.jsonObject(with: stats.stdout) as? [String: Any],
            "\(stats.stdoutText)"
        )
        #expect(values["width"] as? Int == 1280)
        // A blank page is one colour; the report draws text, boxes, edges and thumbnails.
        let colours = try #require(values["colours"] as? Int)
        let drawn = try #require(values["non_background_share"] as? Double)
        #expect(colours > 50, "\(values)")
        #expect(drawn > 0.02, "\(values)")
        if let keep = ProcessInfo.processInfo.environment["CAIRN_REPORT_SCREENSHOT"] {
            if FileManager.default.fileExists(atPath: keep) { try FileManager.default.removeItem(atPath: keep) }
            try FileManager.default.copyItem(atPath: screenshot, toPath: keep)
        }
    }
}
