import Benchmark
import CairnManifest

/// In-process manifest hot paths, with allocation counts: `ManifestVerdict.verify` of a small sealed manifest, hash
/// only and in full (the unit `cairn verify` and `compare/manifest.sh` count), the same report through the model
/// (parse + verification report), the hash pre-image alone, and the JSON reader on a 1,000-step manifest. The same-run comparison with genblaze is `compare/manifest.sh`.
func sealedManifest(steps: Int) -> [UInt8] {
    var run = Run(name: "bench", status: .completed)
    for index in 0..<steps {
        run.steps.append(
            StepBuilder(provider: "stability", model: "sdxl-turbo")
                .prompt("step \(index): a teal bicycle leaning on a brick wall, caf\u{E9}")
                .seed(JSONInteger(index))
                .params(["steps": 4, "cfg": 2.5, "scheduler": "euler", "size": [1024, 1024]])
                .status(.succeeded)
                .asset(
                    url: "file:///tmp/out-\(index).png",
                    mediaType: "image/png",
                    sha256: String(repeating: "ab", count: 32),
                    sizeBytes: 4096,
                    width: 1024,
                    height: 1024
                )
                .build()
        )
    }
    do {
        return try Manifest.from(run: run).canonicalFileBytes()
    } catch {
        fatalError("cannot build the benchmark manifest: \(error)")
    }
}

let benchmarks: @Sendable () -> Void = {
    let small = sealedManifest(steps: 2)
    let large = sealedManifest(steps: 1000)
    let configuration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        maxDuration: .seconds(2)
    )

    Benchmark("ManifestVerdict.verify, hash only, 2 steps", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ManifestVerdict.verify(bytes: small, hashOnly: true).hashOK)
        }
    }

    Benchmark("ManifestVerdict.verify, 2 steps", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ManifestVerdict.verify(bytes: small).verifyOK)
        }
    }

    Benchmark("Manifest.parse + verificationReport, 2 steps", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            let manifest = try Manifest.parse(small)
            blackHole(try manifest.verificationReport().hashOK)
        }
    }

    Benchmark("Manifest.hashPreimage, 2 steps", configuration: configuration) { benchmark in
        let manifest = try Manifest.parse(small)
        for _ in benchmark.scaledIterations {
            blackHole(try manifest.hashPreimage())
        }
    }

    Benchmark("JSONReader.parse, 1,000 steps (\(large.count / 1000) kB)", configuration: configuration) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONReader.parse(large))
        }
    }
}
