import CairnCore
public import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import _CairnSystem

/// Why a lineage report could not be written: what failed, where, and what to do.
public struct LineageReportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// The run has no manifest entry in the ledger.
        case runNotFound
        /// Graphviz's `dot` is not installed (or not where it was said to be).
        case dotMissing
        /// `dot` ran and failed, or did not end in time.
        case dotFailed
        /// The ledger or the store could not be read.
        case ledger
        /// The report file could not be written.
        case write
    }

    /// What went wrong.
    public var kind: Kind
    /// The message: what, where, and what to do.
    public var message: String

    public var description: String { message }
}

/// One self-contained HTML file showing a lineage: the graph as inline SVG (laid out by Graphviz's `dot`), a card
/// per run (name, prompt, params, provider, status, attempts as a timeline, verification badge), image thumbnails
/// and audio/video players as `data:` URIs, and links between parent and child runs. The page loads nothing from
/// the network (a Content-Security-Policy forbids it). Format: docs/report.md.
///
/// ```swift
/// let html = try LineageReport.html(for: .run(runID), in: ledger)
/// try LineageReport.write(html, to: "report.html")
/// ```
public enum LineageReport {
    /// Which runs a report shows.
    public enum Scope: Sendable, Hashable {
        /// A run with its ancestors and descendants.
        case run(String)
        /// Every run in the ledger.
        case all
    }

    /// How a report is made.
    public struct Options: Sendable, Hashable {
        /// Assets larger than this many bytes are shown as digest and size instead of being embedded.
        public var embedLimit: Int
        /// The `dot` executable; nil searches ``searchPath``.
        public var dotPath: String?
        /// Directories searched for `dot` (a `PATH`-style list); nil uses the process's `PATH`.
        public var searchPath: String?
        /// How long `dot` may run.
        public var dotTimeout: Duration
        /// Verify each run's manifest (hash, outputs' sha256, and asset bytes found in the store).
        public var verify: Bool

        public init(
            embedLimit: Int = 1 << 20,
            dotPath: String? = nil,
            searchPath: String? = nil,
            dotTimeout: Duration = .seconds(120),
            verify: Bool = true
        ) {
            self.embedLimit = embedLimit
            self.dotPath = dotPath
            self.searchPath = searchPath
            self.dotTimeout = dotTimeout
            self.verify = verify
        }
    }

    /// The script the page carries: it records script errors and CSP violations in the root element's
    /// `data-errors` attribute (so a headless browser's DOM dump shows them). Allowed by the CSP through its hash.
    static let errorRecorder = """
        (function(){var r=document.documentElement;function note(t){r.setAttribute("data-errors",\
        (r.getAttribute("data-errors")||"")+t+"\\n");}\
        window.addEventListener("error",function(e){note("error: "+(e.message||e.type));},true);\
        document.addEventListener("securitypolicyviolation",function(e){note("csp: "+e.violatedDirective+" "+e.blockedURI);});\
        window.addEventListener("unhandledrejection",function(e){note("rejection: "+e.reason);});\
        r.setAttribute("data-ready","1");})();
        """

    /// The report's HTML for `scope`.
    ///
    /// - Throws: ``LineageReportError``: the run is not in the ledger, `dot` is missing or fails, the ledger or
    ///   store cannot be read.
    public static func html(
        for scope: Scope,
        in ledger: Ledger,
        options: Options = Options()
    ) throws(LineageReportError) -> String {
        let graph: ReportGraph
        var runs: [ReportRun] = []
        do {
            graph = try ReportGraph(scope: scope, ledger: ledger)
            let source = (ledger.store as? ObjectStore).map { StoreAssetSource(store: $0) }
            for runID in graph.runIDs {
                runs.append(try ReportRun(runID: runID, ledger: ledger, source: source, options: options))
            }
        } catch let error as LineageReportError {
            throw error
        } catch {
            throw LineageReportError(
                kind: .ledger,
                message: "cannot read the ledger at \(ledger.store.location): \(error)"
            )
        }
        let svg = try render(dot: graph.dot(), options: options)
        return page(scope: scope, graph: graph, runs: runs, svg: svg, options: options)
    }

    /// Writes `html` to `path` whole: a temporary file beside it, synced, then renamed over it.
    public static func write(_ html: String, to path: String) throws(LineageReportError) {
        do {
            try SystemCalls.publish(Array(html.utf8), at: path, sync: true)
        } catch {
            throw LineageReportError(kind: .write, message: "cannot write the report to \(path): \(error)")
        }
    }

    // MARK: - Graphviz

    /// The `dot` to run: ``Options/dotPath`` or the first `dot` on the search path.
    static func dotExecutable(_ options: Options) throws(LineageReportError) -> String {
        if let path = options.dotPath {
            if FileManager.default.isExecutableFile(atPath: path) { return path }
            throw LineageReportError(
                kind: .dotMissing,
                message: "Graphviz `dot` is not executable at \(path): install Graphviz (`apt-get install graphviz`; "
                    + "scripts/setup.sh does) or name another `dot`"
            )
        }
        let search = options.searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in search.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/dot"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LineageReportError(
            kind: .dotMissing,
            message: "Graphviz `dot` was not found on PATH (\(search)); the report draws its lineage graph with it: "
                + "install it with `apt-get install graphviz` (scripts/setup.sh does)"
        )
    }

    /// `dot -Tsvg` of `text`: through temporary files (no pipe can fill up), ended when it exceeds the timeout.
    /// Returns the `<svg>` element alone (no XML prolog, doctype or comments).
    static func render(dot text: String, options: Options) throws(LineageReportError) -> String {
        let executable = try dotExecutable(options)
        let directory = NSTemporaryDirectory() + "cairn-report-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/graph.dot"
        let output = directory + "/graph.svg"
        let errors = directory + "/dot.err"
        let process = Process()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            try Data(text.utf8).write(to: URL(fileURLWithPath: input))
            guard FileManager.default.createFile(atPath: errors, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: errors])
            }
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["-Tsvg", "-o", output, input]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
            try process.run()
        } catch {
            throw LineageReportError(kind: .dotFailed, message: "cannot run \(executable) in \(directory): \(error)")
        }
        let deadline = ContinuousClock.now + options.dotTimeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                process.waitUntilExit()
                throw LineageReportError(
                    kind: .dotFailed,
                    message: "\(executable) did not finish laying out the graph within \(options.dotTimeout)"
                )
            }
            usleep(2000)
        }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0, let svg = try? String(contentsOfFile: output, encoding: .utf8) else {
            throw LineageReportError(
                kind: .dotFailed,
                message: "\(executable) -Tsvg failed (status \(process.terminationStatus)): "
                    + stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
        return try inlineSVG(svg)
    }

    /// The `<svg>...</svg>` element of Graphviz's output without comments; refuses output that holds anything
    /// active (a script, foreign object, event handler), which escaped labels can never produce. One pass over the
    /// bytes: a 1,000-run graph is about a megabyte with two comments per node and edge.
    static func inlineSVG(_ svg: String) throws(LineageReportError) -> String {
        let bytes = Array(svg.utf8)
        guard let start = find(Array("<svg".utf8), in: bytes, from: 0),
            let close = findLast(Array("</svg>".utf8), in: bytes)
        else {
            throw LineageReportError(kind: .dotFailed, message: "dot produced no <svg> element")
        }
        let open = Array("<!--".utf8)
        let shut = Array("-->".utf8)
        var element: [UInt8] = []
        element.reserveCapacity(close + 6 - start)
        var position = start
        let end = close + 6
        while position < end {
            if bytes[position] == UInt8(ascii: "<"), hasPrefix(open, in: bytes, at: position),
                let closing = find(shut, in: bytes, from: position + open.count), closing + shut.count <= end
            {
                position = closing + shut.count
                continue
            }
            element.append(bytes[position])
            position += 1
        }
        let lowered = element.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
        for active in ["<script", "<foreignobject", "<iframe", "javascript:", "<!--"]
        where find(Array(active.utf8), in: lowered, from: 0) != nil {
            throw LineageReportError(kind: .dotFailed, message: "dot's SVG holds \(active); refusing to embed it")
        }
        return String(decoding: element, as: UTF8.self)
    }

    static func hasPrefix(_ needle: [UInt8], in bytes: [UInt8], at position: Int) -> Bool {
        guard position + needle.count <= bytes.count else { return false }
        for offset in needle.indices where bytes[position + offset] != needle[offset] { return false }
        return true
    }

    /// The first position at or after `from` where `needle` starts in `bytes`.
    static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var position = from
        while position <= bytes.count - needle.count {
            if bytes[position] == first, hasPrefix(needle, in: bytes, at: position) { return position }
            position += 1
        }
        return nil
    }

    /// The last position where `needle` starts in `bytes`.
    static func findLast(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var position = bytes.count - needle.count
        while position >= 0 {
            if hasPrefix(needle, in: bytes, at: position) { return position }
            position -= 1
        }
        return nil
    }

    // MARK: - The page

    static func page(scope: Scope, graph: ReportGraph, runs: [ReportRun], svg: String, options: Options) -> String {
        let scriptHash = Data(ContentHasher.digest(of: Array(errorRecorder.utf8), algorithm: .sha256).bytes)
            .base64EncodedString()
        let csp =
            "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'; "
            + "script-src 'sha256-\(scriptHash)'; base-uri 'none'; form-action 'none'"
        let title: String
        switch scope {
        case .run(let runID): title = "Lineage of run \(runID)"
        case .all: title = "Lineage of every run"
        }
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(escape(csp))">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="cairn report">
            <title>\(escape(title))</title>
            <script>\(errorRecorder)</script>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p class="summary">\(runs.count) run\(runs.count == 1 ? "" : "s"), \(graph.links.count) parent \
            link\(graph.links.count == 1 ? "" : "s"), \(graph.batches.count) batch\(graph.batches.count == 1 ? "" : "es").
             Assets over \(options.embedLimit) bytes are shown by digest and size.</p>
            <section id="graph" class="graph">
            \(svg)
            </section>
            <section id="runs">

            """
        let children = Dictionary(grouping: graph.links, by: \.parent).mapValues { $0.map(\.child) }
        let known = Set(graph.runIDs)
        for run in runs {
            html += card(run, children: children[run.runID] ?? [], known: known, focus: graph.focus)
        }
        html += "</section>\n</body>\n</html>\n"
        return html
    }

    static let stylesheet = """
        body{font-family:sans-serif;margin:1.5em;color:#222;background:#fafafa}\
        h1{font-size:1.4em}.summary{color:#555}\
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.4em 0}dt{color:#555}dd{margin:0}\
        h3{font-size:1em;margin:.3em 0}\
        .graph{overflow:auto;background:#fff;border:1px solid #ccc;padding:.5em;margin-bottom:1.5em}\
        .graph svg{max-width:100%;height:auto}\
        .run{background:#fff;border:1px solid #ccc;border-radius:6px;padding:.8em 1em;margin:1em 0}\
        .run.focus{border:2px solid #333}.run h2{font-size:1.1em;margin:.2em 0}\
        .runid{font-family:monospace;color:#555}.badge{display:inline-block;padding:.1em .5em;border-radius:1em;\
        font-size:.85em;margin-left:.5em;color:#fff}.badge.verified{background:#2a7d2a}.badge.failed{background:#b02a2a}\
        .badge.refused{background:#7a4a00}.badge.unchecked{background:#777}\
        .status{font-weight:bold}.step{border-top:1px solid #eee;padding-top:.5em;margin-top:.5em}\
        pre{white-space:pre-wrap;word-break:break-word;background:#f3f3f3;padding:.4em;margin:.3em 0}\
        .timeline{position:relative;height:1.4em;background:#eee;border-radius:3px;margin:.3em 0}\
        .attempt{position:absolute;top:0;height:100%;border-radius:3px;min-width:3px;opacity:.85}\
        .attempt.succeeded{background:#2a7d2a}.attempt.failed,.attempt.timed_out{background:#b02a2a}\
        .attempt.cancelled{background:#777}.attempt.started{background:#c90}\
        .attempts{font-size:.85em;color:#444;margin:0;padding-left:1.2em}\
        .assets{display:flex;flex-wrap:wrap;gap:.6em;margin:.4em 0}.asset{font-size:.8em;max-width:260px}\
        .asset img,.asset video{max-width:240px;max-height:180px;display:block;border:1px solid #ddd}\
        .digest{font-family:monospace;word-break:break-all}
        """

    static func card(_ run: ReportRun, children: [String], known: Set<String>, focus: String?) -> String {
        let focused = run.runID == focus ? " focus" : ""
        var html =
            "<article class=\"run\(focused)\" id=\"\(escape(anchor(run.runID)))\" data-run-id=\"\(escape(run.runID))\">\n"
        html += "<h2>\(escape(run.name ?? "(unnamed)"))"
        html += "<span class=\"badge \(run.badge.rawValue)\" title=\"\(escape(run.badgeDetail))\">"
        html += "\(escape(run.badge.label))</span></h2>\n"
        html += "<div class=\"runid\">\(escape(run.runID))</div>\n<dl>\n"
        html += "<dt>Status</dt><dd class=\"status\">\(escape(run.status ?? "unknown"))</dd>\n"
        if let created = run.createdAt { html += "<dt>Created</dt><dd>\(escape(created))</dd>\n" }
        html += "<dt>Recorded</dt><dd>\(escape(run.recordedAt)) (ledger entry \(run.entryIndex))</dd>\n"
        if let parent = run.parentRunID {
            if known.contains(parent) {
                html += "<dt>Parent</dt><dd><a class=\"parent\" href=\"#\(escape(anchor(parent)))\">"
                html += "\(escape(parent))</a></dd>\n"
            } else {
                html += "<dt>Parent</dt><dd>\(escape(parent)) (not in this report)</dd>\n"
            }
        }
        if !children.isEmpty {
            html += "<dt>Children</dt><dd>"
            html += children.map { "<a class=\"child\" href=\"#\(escape(anchor($0)))\">\(escape($0))</a>" }
                .joined(separator: ", ")
            html += "</dd>\n"
        }
        html += "</dl>\n"
        if let problem = run.manifestProblem { html += "<p class=\"problem\">\(escape(problem))</p>\n" }
        for step in run.steps { html += stepHTML(step) }
        return html + "</article>\n"
    }

    static func stepHTML(_ step: ReportStep) -> String {
        var html = "<div class=\"step\">\n<h3>Step \(step.index + 1): \(escape(step.model))"
        html += " <span class=\"status\">\(escape(step.status))</span></h3>\n<dl>\n"
        html += "<dt>Provider</dt><dd>\(escape(step.provider ?? "-"))</dd>\n"
        html += "<dt>Modality</dt><dd>\(escape(step.modality))</dd>\n"
        if let prompt = step.prompt { html += "<dt>Prompt</dt><dd><pre>\(escape(prompt))</pre></dd>\n" }
        if let params = step.params { html += "<dt>Params</dt><dd><pre>\(escape(params))</pre></dd>\n" }
        if let seed = step.seed { html += "<dt>Seed</dt><dd>\(escape(seed))</dd>\n" }
        if let error = step.error { html += "<dt>Error</dt><dd><pre>\(escape(error))</pre></dd>\n" }
        html += "</dl>\n"
        if !step.attempts.isEmpty { html += timeline(step.attempts) }
        if !step.assets.isEmpty {
            html += "<div class=\"assets\">\n"
            for asset in step.assets { html += assetHTML(asset) }
            html += "</div>\n"
        }
        return html + "</div>\n"
    }

    /// The attempts of a step as bars on one time axis (from the first start to the last finish), then as a list.
    static func timeline(_ attempts: [Receipt]) -> String {
        let spans = attempts.map { (seconds($0.startedAt), seconds($0.finishedAt)) }
        let starts = spans.compactMap(\.0)
        let ends = spans.compactMap(\.1)
        var html = ""
        if let first = starts.min(), let last = (ends + starts).max() {
            let total = max(last - first, 0.001)
            html += "<div class=\"timeline\">"
            for (attempt, span) in zip(attempts, spans) {
                guard let start = span.0 else { continue }
                let left = (start - first) / total * 100
                let width = max(((span.1 ?? start) - start) / total * 100, 0.5)
                html += "<span class=\"attempt \(escape(attempt.status.rawValue))\" "
                html += "style=\"left:\(percent(left))%;width:\(percent(min(width, 100 - left)))%\" "
                html += "title=\"attempt \(attempt.attempt): \(escape(attempt.status.rawValue))\"></span>"
            }
            html += "</div>\n"
        }
        html += "<ol class=\"attempts\">\n"
        for attempt in attempts {
            html += "<li>attempt \(attempt.attempt): \(escape(attempt.status.rawValue)), \(escape(attempt.startedAt))"
            html += " to \(escape(attempt.finishedAt)), \(escape(attempt.provider))"
            if let error = attempt.error { html += ": \(escape(error))" }
            html += "</li>\n"
        }
        return html + "</ol>\n"
    }

    static func assetHTML(_ asset: ReportAsset) -> String {
        var html = "<figure class=\"asset\">"
        if let data = asset.dataURI {
            if asset.mediaType.hasPrefix("image/") {
                html += "<img alt=\"\(escape(asset.assetID))\" src=\"\(data)\">"
            } else if asset.mediaType.hasPrefix("audio/") {
                html += "<audio controls preload=\"metadata\" src=\"\(data)\"></audio>"
            } else if asset.mediaType.hasPrefix("video/") {
                html += "<video controls preload=\"metadata\" src=\"\(data)\"></video>"
            }
        }
        html += "<figcaption>\(escape(asset.role)) \(escape(asset.mediaType))"
        if let size = asset.size { html += ", \(size) bytes" }
        html += "<br><span class=\"digest\">\(escape(asset.digest ?? asset.url))</span>"
        if let note = asset.note { html += "<br>\(escape(note))" }
        return html + "</figcaption></figure>\n"
    }

    /// The anchor of a run's card.
    static func anchor(_ runID: String) -> String { "run-" + runID }

    static func percent(_ value: Double) -> String { String(format: "%.2f", max(0, value)) }

    /// Seconds since the epoch of an ISO 8601 time (a naive one read as UTC), or nil.
    static func seconds(_ text: String) -> Double? {
        guard let time = Timestamp(isoText: text) else { return nil }
        // Days from the civil date (proleptic Gregorian), Howard Hinnant's `days_from_civil`.
        let year = time.month <= 2 ? time.year - 1 : time.year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (time.month + (time.month > 2 ? -3 : 9)) + 2) / 5 + time.day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + time.hour * 3600 + time.minute * 60 + time.second - (time.utcOffsetSeconds ?? 0)
        return Double(seconds) + Double(time.microsecond) / 1_000_000
    }

    /// `text` safe in HTML text and in a double- or single-quoted attribute (and in SVG): `&`, `<`, `>`, `"`, `'`
    /// as character references; other control characters except tab and line feed dropped.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

// MARK: - What the page shows

/// The runs of a report and their parent links, with batches (runs of the same name under the same parent).
struct ReportGraph {
    var runIDs: [String]
    var names: [String: String]
    var links: [LineageGraph.Link]
    var focus: String?
    /// Groups of two or more runs with the same name and the same parent (or both roots): one batch each.
    var batches: [[String]]

    init(scope: LineageReport.Scope, ledger: Ledger) throws {
        var summaries: [RunSummary]
        switch scope {
        case .run(let runID):
            guard let graph = try LineageGraph(around: runID, in: ledger) else {
                throw LineageReportError(kind: .runNotFound, message: "no manifest for run \(runID) in the ledger")
            }
            runIDs = graph.nodes.map(\.runID)
            links = graph.links
            focus = runID
            summaries = try runIDs.compactMap { try ledger.run($0) }
        case .all:
            summaries = try ledger.runs().reversed()
            runIDs = summaries.map(\.runID)
            let known = Set(runIDs)
            links = summaries.compactMap { run in
                guard let parent = run.parentRunID, known.contains(parent), parent != run.runID else { return nil }
                return LineageGraph.Link(parent: parent, child: run.runID)
            }
            focus = nil
        }
        names = [:]
        for summary in summaries { names[summary.runID] = summary.name }
        let parents = Dictionary(links.map { ($0.child, $0.parent) }, uniquingKeysWith: { first, _ in first })
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for runID in runIDs {
            guard let name = names[runID], !name.isEmpty else { continue }
            let key = (parents[runID] ?? "") + "\u{0}" + name
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(runID)
        }
        batches = order.compactMap { groups[$0] }.filter { $0.count > 1 }
    }

    /// DOT for the report: nodes `n0`, `n1`... (no run text in IDs or comments), labelled with name and short ID,
    /// linked to their cards, batches as clusters.
    func dot() -> String {
        var ids: [String: String] = [:]
        for (position, runID) in runIDs.enumerated() { ids[runID] = "n\(position)" }
        var text = "digraph lineage {\n  rankdir=TB;\n  graph [fontname=\"sans-serif\", fontsize=11];\n"
        text += "  node [shape=box, style=rounded, fontname=\"sans-serif\"];\n"
        var inBatch: Set<String> = []
        for (number, batch) in batches.enumerated() {
            let name = LineageGraph.dotEscaped(names[batch[0]] ?? "")
            text += "  subgraph cluster_b\(number) {\n    label=\"batch: \(name) (\(batch.count) runs)\";\n"
            text += "    style=dashed; color=gray40;\n"
            for runID in batch {
                text += "    " + nodeLine(runID, id: ids[runID] ?? "") + "\n"
                inBatch.insert(runID)
            }
            text += "  }\n"
        }
        for runID in runIDs where !inBatch.contains(runID) {
            text += "  " + nodeLine(runID, id: ids[runID] ?? "") + "\n"
        }
        for link in links {
            guard let parent = ids[link.parent], let child = ids[link.child] else { continue }
            text += "  \(parent) -> \(child);\n"
        }
        return text + "}\n"
    }

    private func nodeLine(_ runID: String, id: String) -> String {
        let label = LineageGraph.labelLines(LineageGraph.Node(runID: runID, name: names[runID]))
            .map(LineageGraph.dotEscaped).joined(separator: "\\n")
        let focused = runID == focus ? ", penwidth=2.5" : ""
        let href = LineageGraph.dotEscaped("#" + LineageReport.anchor(runID))
        return "\(id) [label=\"\(label)\", href=\"\(href)\", tooltip=\"\(LineageGraph.dotEscaped(runID))\"\(focused)];"
    }
}

/// What the verification badge says.
enum ReportBadge: String {
    case verified, failed, refused, unchecked

    var label: String {
        switch self {
        case .verified: "verified"
        case .failed: "verification failed"
        case .refused: "manifest refused"
        case .unchecked: "not verified"
        }
    }
}

/// One asset of a step.
struct ReportAsset {
    var assetID: String
    var role: String
    var mediaType: String
    var url: String
    var digest: String?
    var size: Int64?
    var dataURI: String?
    var note: String?
}

/// One step of a run, with its attempts (receipts).
struct ReportStep {
    var index: Int
    var model: String
    var provider: String?
    var modality: String
    var status: String
    var prompt: String?
    var params: String?
    var seed: String?
    var error: String?
    var attempts: [Receipt]
    var assets: [ReportAsset]
}

/// One run's card.
struct ReportRun {
    var runID: String
    var name: String?
    var parentRunID: String?
    var status: String?
    var createdAt: String?
    var recordedAt: String
    var entryIndex: UInt64
    var badge: ReportBadge
    var badgeDetail: String
    var manifestProblem: String?
    var steps: [ReportStep]

    init(
        runID: String,
        ledger: Ledger,
        source: StoreAssetSource?,
        options: LineageReport.Options
    ) throws {
        guard let summary = try ledger.run(runID), let bytes = try ledger.manifestBytes(runID: runID) else {
            throw LineageReportError(kind: .runNotFound, message: "no manifest for run \(runID) in the ledger")
        }
        self.runID = runID
        name = summary.name
        parentRunID = summary.parentRunID
        status = summary.status
        recordedAt = summary.timestamp
        entryIndex = summary.entryIndex
        if options.verify {
            let verdict = try ManifestVerdict.verify(bytes: bytes, byteSource: source, missingBytes: .unchecked)
            badge = ReportBadge(rawValue: verdict.outcome.rawValue) ?? .unchecked
            badgeDetail = verdict.lines.map(\.text).joined(separator: "\n")
        } else {
            badge = .unchecked
            badgeDetail = "verification was not asked for"
        }
        let receipts = try ledger.receipts(runID: runID)
        let byStep = Dictionary(grouping: receipts, by: \.stepIndex)
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(bytes)
        } catch {
            manifestProblem = "the manifest cannot be read: \(error)"
            steps = byStep.keys.sorted().map { index in
                ReportStep(
                    index: index,
                    model: byStep[index]?.first?.stepName ?? "-",
                    provider: byStep[index]?.first?.provider,
                    modality: "-",
                    status: "-",
                    attempts: byStep[index] ?? [],
                    assets: []
                )
            }
            return
        }
        manifestProblem = nil
        createdAt = manifest.run.createdAt.isoText
        var steps: [ReportStep] = []
        for (position, step) in manifest.run.steps.enumerated() {
            let index = step.stepIndex.flatMap { Int($0.description) } ?? position
            var assets: [ReportAsset] = []
            for asset in step.inputs {
                assets.append(Self.asset(asset, role: "input", store: ledger.store, options: options))
            }
            for asset in step.assets {
                assets.append(Self.asset(asset, role: "output", store: ledger.store, options: options))
            }
            steps.append(
                ReportStep(
                    index: index,
                    model: step.model,
                    provider: step.provider,
                    modality: step.modality.rawValue,
                    status: step.status.rawValue,
                    prompt: step.prompt,
                    params: step.params.isEmpty ? nil : (try? CanonicalJSON.string(.object(step.params))),
                    seed: step.seed?.description,
                    error: step.error,
                    attempts: byStep[index] ?? [],
                    assets: assets
                )
            )
        }
        self.steps = steps
    }

    /// An asset: its store object (from a `cairn:` url, or its sha256 in a SHA-256 store), embedded as a `data:`
    /// URI when it is an image, audio or video of at most the embed limit.
    static func asset(
        _ asset: Asset,
        role: String,
        store: any ObjectBackend,
        options: LineageReport.Options
    )
        -> ReportAsset
    {
        var report = ReportAsset(
            assetID: asset.assetID,
            role: role,
            mediaType: asset.mediaType,
            url: asset.url,
            size: asset.sizeBytes.flatMap { Int64($0.description) }
        )
        var digest: Digest?
        if asset.url.hasPrefix("cairn:") {
            digest = Digest(String(asset.url.dropFirst("cairn:".count)))
        } else if let sha256 = asset.sha256, store.algorithm == .sha256 {
            digest = Digest("sha256:" + sha256)
        }
        guard let digest else {
            report.note = "bytes not in the store"
            return report
        }
        report.digest = digest.description
        let size: Int64
        do {
            guard try store.contains(digest).isPresent else {
                report.note = "bytes not in the store"
                return report
            }
            size = try store.size(of: digest)
        } catch {
            report.note = "cannot read the store: \(error)"
            return report
        }
        report.size = size
        guard Self.isEmbeddable(asset.mediaType) else { return report }
        guard size <= Int64(options.embedLimit) else {
            report.note = "not embedded: larger than the embed limit (\(options.embedLimit) bytes)"
            return report
        }
        do {
            let bytes = try store.read(digest, verify: true)
            report.dataURI = "data:\(asset.mediaType);base64," + Data(bytes).base64EncodedString()
        } catch {
            report.note = "cannot read the bytes: \(error)"
        }
        return report
    }

    /// An image, audio or video media type made only of `[a-z0-9.+-]` around one `/` (safe inside a `data:` URI
    /// in an attribute).
    static func isEmbeddable(_ mediaType: String) -> Bool {
        let parts = mediaType.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, ["image", "audio", "video"].contains(parts[0]), !parts[1].isEmpty else { return false }
        return parts[1].unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "+"
                || scalar == "-"
        }
    }
}
