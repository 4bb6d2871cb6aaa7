import CairnCore
import CairnExport
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

/// A name and prompt that would inject markup (a script, an element with an event handler, a closed attribute)
/// if any were written unescaped.
let hostileText = #"<script>alert(1)</script><img src=x onerror="alert(2)">"'&amp;</svg><!--"#

/// The first `dot` on PATH, or nil.
let reportDotPath: String? = {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let candidate = "\(directory)/dot"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}()

/// A store whose ledger holds: root <- upscale <- final, root <- variant x2 (a batch), and a run whose parent the
/// ledger does not have. `upscale` has an image output (stored) and a hostile name and prompt.
struct ReportFixture {
    static let root = "aaaaaaaa-0000-4000-8000-000000000001"
    static let upscale = "bbbbbbbb-0000-4000-8000-000000000002"
    static let final = "cccccccc-0000-4000-8000-000000000003"
    static let variantA = "dddddddd-0000-4000-8000-000000000004"
    static let variantB = "dddddddd-0000-4000-8000-000000000005"
    static let orphan = "eeeeeeee-0000-4000-8000-000000000006"

    let directory: TemporaryDirectory
    let ledger: Ledger
    let image: [UInt8]
    let imageDigest: Digest

    init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-report")
        let store = try ObjectStore.create(at: directory.appending("store"), algorithm: .sha256, durability: .none)
        ledger = try Ledger.open(store: store)
        // Not a decodable PNG, but an image/png object: what matters is that it is embedded or not.
        image = Array("\u{89}PNG fixture bytes for the report".utf8)
        imageDigest = try store.put(image).digest
        let runs: [(id: String, parent: String?, name: String, prompt: String, withImage: Bool)] = [
            (Self.root, nil, "root", "a lighthouse", false),
            (Self.upscale, Self.root, hostileText, hostileText, true),
            (Self.final, Self.upscale, "final", "a lighthouse, final", false),
            (Self.variantA, Self.root, "variant", "a lighthouse at dusk", false),
            (Self.variantB, Self.root, "variant", "a lighthouse at dawn", false),
            (Self.orphan, "ffffffff-not-in-the-ledger", "orphan", "alone", false),
        ]
        for run in runs {
            var step = StepBuilder(provider: "synthetic", model: "image-v1").prompt(run.prompt).modality(.image)
                .params(["width": 96, "label": .string(run.name)]).status(.succeeded)
            if run.withImage {
                step = step.asset(
                    url: "cairn:\(imageDigest)",
                    mediaType: "image/png",
                    sha256: imageDigest.hex,
                    sizeBytes: JSONInteger(image.count)
                )
            }
            let manifest = try Manifest.from(
                run: Run(
                    runID: run.id,
                    name: run.name,
                    status: .completed,
                    steps: [step.build()],
                    parentRunID: run.parent
                )
            )
            try ledger.appendManifest(bytes: try CanonicalJSON.encode(try manifest.jsonValue()))
        }
    }

    func html(_ scope: LineageReport.Scope, embedLimit: Int = 1 << 20) throws -> String {
        try LineageReport.html(for: scope, in: ledger, options: LineageReport.Options(embedLimit: embedLimit))
    }
}

func occurrenceCount(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// The `<svg>...</svg>` part of a page.
func svgPart(_ html: String) throws -> String {
    let start = try #require(html.range(of: "<svg"))
    let end = try #require(html.range(of: "</svg>", options: .backwards))
    return String(html[start.lowerBound..<end.upperBound])
}

@Suite(.timeLimit(.minutes(15)))
struct LineageReportTests {
    @Test(.enabled(if: reportDotPath != nil, "Graphviz `dot` is not installed (scripts/setup.sh installs graphviz)"))
    func aRunsReportShowsItsAncestorsDescendantsAndBatchesButNotUnrelatedRuns() throws {
        let fixture = try ReportFixture()
        let html = try fixture.html(.run(ReportFixture.root))
        let shown = [
            ReportFixture.root, ReportFixture.upscale, ReportFixture.final, ReportFixture.variantA,
            ReportFixture.variantB,
        ]
        for runID in shown {
            #expect(occurrenceCount(of: "data-run-id=\"\(runID)\"", in: html) == 1, "one card for \(runID)")
            #expect(html.contains("id=\"run-\(runID)\""))
        }
        #expect(!html.contains(ReportFixture.orphan))
        let svg = try svgPart(html)
        #expect(occurrenceCount(of: "class=\"node\"", in: svg) == 5)
        #expect(occurrenceCount(of: "class=\"edge\"", in: svg) == 4)
        #expect(occurrenceCount(of: "class=\"cluster\"", in: svg) == 1, "the two `variant` runs are one batch")
        #expect(svg.contains("batch: variant (2 runs)"))
        // Graph nodes and cards link to each other's anchors; parent and child cards link both ways.
        #expect(svg.contains("href=\"#run-\(ReportFixture.final)\""))
        #expect(html.contains("<a class=\"parent\" href=\"#run-\(ReportFixture.upscale)\">"))
        #expect(html.contains("<a class=\"child\" href=\"#run-\(ReportFixture.final)\">"))
        // The badge comes from the manifest verifier: these manifests are sealed and their bytes are in the store.
        #expect(occurrenceCount(of: "class=\"badge verified\"", in: html) == 5)
        // Self-contained: a CSP that forbids network loads, and no URL to fetch anything from.
        #expect(html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;;"))
        #expect(!html.contains("src=\"http"))
        #expect(!html.contains("href=\"http"))

        let chain = try fixture.html(.run(ReportFixture.final))
        let chainSVG = try svgPart(chain)
        #expect(occurrenceCount(of: "class=\"node\"", in: chainSVG) == 3, "root, upscale, final")
        #expect(occurrenceCount(of: "class=\"edge\"", in: chainSVG) == 2)
        #expect(!chain.contains(ReportFixture.variantA))
    }

    @Test(.enabled(if: reportDotPath != nil, "Graphviz `dot` is not installed (scripts/setup.sh installs graphviz)"))
    func everyRunsReportNamesAParentOutsideTheLedgerWithoutLinkingIt() throws {
        let fixture = try ReportFixture()
        let html = try fixture.html(.all)
        #expect(occurrenceCount(of: "data-run-id=", in: html) == 6)
        #expect(occurrenceCount(of: "class=\"node\"", in: try svgPart(html)) == 6)
        #expect(occurrenceCount(of: "class=\"edge\"", in: try svgPart(html)) == 4)
        #expect(html.contains("ffffffff-not-in-the-ledger (not in this report)"))
        #expect(!html.contains("href=\"#run-ffffffff-not-in-the-ledger\""))
    }

    @Test(.enabled(if: reportDotPath != nil, "Graphviz `dot` is not installed (scripts/setup.sh installs graphviz)"))
    func aHostileRunNameOrPromptIsTextNeverMarkup() throws {
        let fixture = try ReportFixture()
        let html = try fixture.html(.all)
        // The page's own recorder is its only script; no injected element or attribute survives.
        #expect(occurrenceCount(of: "<script", in: html) == 1)
        #expect(!html.contains("<img src=x"))
        #expect(!html.contains("onerror=\""))
        #expect(!html.contains("</svg><!--"))
        #expect(!html.contains("<!--"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"))
        // The graph's labels too (Graphviz's SVG text), and the params.
        let svg = try svgPart(html)
        #expect(occurrenceCount(of: "<svg", in: svg) == 1 && occurrenceCount(of: "</svg>", in: svg) == 1)
        #expect(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;label&quot;:&quot;&lt;script&gt;"))
    }

    @Test(.enabled(if: reportDotPath != nil, "Graphviz `dot` is not installed (scripts/setup.sh installs graphviz)"))
    func assetsUpToTheEmbedLimitAreDataURIsAndLargerOnesADigestAndSize() throws {
        let fixture = try ReportFixture()
        let embedded = try fixture.html(.run(ReportFixture.upscale), embedLimit: fixture.image.count)
        let uri = "data:image/png;base64," + Data(fixture.image).base64EncodedString()
        #expect(embedded.contains("<img alt=\""))
        #expect(embedded.contains("src=\"\(uri)\""))

        let limited = try fixture.html(.run(ReportFixture.upscale), embedLimit: fixture.image.count - 1)
        #expect(!limited.contains("data:image/png"))
        #expect(limited.contains("\(fixture.image.count) bytes"))
        #expect(limited.contains(fixture.imageDigest.description))
        #expect(limited.contains("not embedded: larger than the embed limit (\(fixture.image.count - 1) bytes)"))
    }

    @Test func aMissingDotIsNamedWithTheCommandThatInstallsIt() throws {
        let fixture = try ReportFixture()
        let empty = try TemporaryDirectory(prefix: "cairn-no-dot")
        let options = LineageReport.Options(searchPath: empty.path)
        #expect {
            _ = try LineageReport.html(for: .all, in: fixture.ledger, options: options)
        } throws: { error in
            guard let error = error as? LineageReportError else { return false }
            return error.kind == .dotMissing && error.message.contains("apt-get install graphviz")
                && error.message.contains(empty.path)
        }
    }

    @Test func aDotThatFailsOrIsNotThereIsNamedAndNothingIsEmbedded() throws {
        let fixture = try ReportFixture()
        let failing = try #require(
            ["/bin/false", "/usr/bin/false"].first { FileManager.default.isExecutableFile(atPath: $0) }
        )
        #expect {
            _ = try LineageReport.html(for: .all, in: fixture.ledger, options: .init(dotPath: failing))
        } throws: { error in
            guard let error = error as? LineageReportError else { return false }
            return error.kind == .dotFailed && error.message.contains("\(failing) -Tsvg failed (status 1)")
        }
        let absent = fixture.directory.appending("no-such-dot")
        #expect {
            _ = try LineageReport.html(for: .all, in: fixture.ledger, options: .init(dotPath: absent))
        } throws: { error in
            guard let error = error as? LineageReportError else { return false }
            return error.kind == .dotMissing && error.message.contains(absent)
                && error.message.contains("apt-get install graphviz")
        }
    }

    @Test func anUnknownRunIsRunNotFound() throws {
        let fixture = try ReportFixture()
        #expect {
            _ = try fixture.html(.run("99999999-0000-4000-8000-000000000000"))
        } throws: { error in
            (error as? LineageReportError)?.kind == .runNotFound
        }
    }

    @Test(.enabled(if: reportDotPath != nil, "Graphviz `dot` is not installed (scripts/setup.sh installs graphviz)"))
    func theCLIWritesTheFileWholeAndFailsCleanlyWithoutDot() throws {
        let fixture = try ReportFixture()
        let out = try TemporaryDirectory(prefix: "cairn-report-out")
        let path = out.appending("report.html")
        let store = fixture.directory.appending("store")
        let made = try runCairn(["report", "--store", store, ReportFixture.final, "-o", path])
        #expect(made.status == 0, "\(made.stderrText)")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["report.html"])

        let missing = out.appending("missing.html")
        let noDot = try runCairn(["report", "--store", store, "--all", "-o", missing], environment: ["PATH": out.path])
        #expect(noDot.status == 2)
        #expect(noDot.stderrText.contains("apt-get install graphviz"), "\(noDot.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: missing))

        let unknown = try runCairn(["report", "--store", store, "99999999-0000-4000-8000-000000000000", "-o", missing])
        #expect(unknown.status == 1)
        let both = try runCairn(["report", "--store", store, "--all", ReportFixture.root, "-o", missing])
        #expect(both.status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["report.html"])
    }
}
