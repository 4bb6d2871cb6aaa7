"""Benchmarks/compare/python.sh's driver: Cairn from Python (the cairn package over libcairn.so) against the `cairn`
CLI, genblaze's own verifier, and genblaze's ParquetSink, in the same run. Prints one line per comparison and a JSON
summary on the last line.

    python python_bench.py CAIRN_BIN WORK_DIR RUNS FILES BIG_MIB PIPELINE_RUNS
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import cairn

CAIRN, WORK = sys.argv[1], Path(sys.argv[2])
RUNS, FILES, BIG_MIB, PIPELINE_RUNS = (int(a) for a in sys.argv[3:7])
VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "genblaze" / "cases"
summary: dict[str, float] = {}


def drop() -> None:
    os.sync()


def cli(*args: str, stdin: bytes | None = None) -> float:
    drop()
    start = time.perf_counter()
    subprocess.run([CAIRN, *args], input=stdin, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def fresh(name: str) -> Path:
    path = Path(tempfile.mkdtemp(dir=WORK, prefix=name))
    return path / "store"


def report(name: str, ours: list[float], theirs: list[float], unit: str, work: float, target: str) -> None:
    o, t = statistics.median(ours), statistics.median(theirs)
    ratio = t / o  # throughput ratio: their time / our time
    summary[name] = ratio
    print(f"{name}: python {work / o:,.0f} {unit} (median {o:.4g}s) | peer {work / t:,.0f} {unit} (median {t:.4g}s)"
          f" | ratio {ratio:.2f}x ({target})", flush=True)


# -- 1. 10^4 small blobs ---------------------------------------------------------------------------------------------
blobs_dir = WORK / "blobs"
blobs_dir.mkdir()
paths = []
for i in range(FILES):
    p = blobs_dir / f"{i:06d}.bin"
    p.write_bytes(os.urandom(4096))
    paths.append(p)
blobs = [p.read_bytes() for p in paths]
listing = "".join(f"{p}\n" for p in paths).encode()

for durability in ("none", "object"):
    ours_loop, ours_threads, ours_many, theirs = [], [], [], []
    for _ in range(RUNS):
        store = fresh("loop")
        with cairn.Store(store, durability=durability) as s:
            drop()
            start = time.perf_counter()
            for b in blobs:
                s.put(b)
            ours_loop.append(time.perf_counter() - start)
        shutil.rmtree(store.parent)
        store = fresh("threads")
        with cairn.Store(store, durability=durability) as s:
            drop()
            start = time.perf_counter()
            s.put_many(blobs, jobs=4)
            ours_threads.append(time.perf_counter() - start)
        shutil.rmtree(store.parent)
        store = fresh("many")
        with cairn.Store(store, durability=durability) as s:
            drop()
            start = time.perf_counter()
            s.put_many(paths, jobs=4)
            ours_many.append(time.perf_counter() - start)
        shutil.rmtree(store.parent)
        store = fresh("cli")
        subprocess.run([CAIRN, "init", "--store", str(store)], check=True, stdout=subprocess.DEVNULL)
        theirs.append(cli("put", "--store", str(store), "--durability", durability, "--jobs", "4", "--stdin-paths",
                          stdin=listing))
        shutil.rmtree(store.parent)
    report(f"put {FILES} x 4 KiB, durability {durability}, Store.put(bytes) loop vs cairn put --stdin-paths",
           ours_loop, theirs, "puts/s", FILES, "target >= 0.9x")
    report(f"put {FILES} x 4 KiB, durability {durability}, Store.put_many(bytes, jobs=4) vs cairn put --stdin-paths",
           ours_threads, theirs, "puts/s", FILES, "target >= 0.9x")
    report(f"put {FILES} x 4 KiB, durability {durability}, Store.put_many(paths) vs cairn put --stdin-paths",
           ours_many, theirs, "puts/s", FILES, "target >= 0.9x")
shutil.rmtree(blobs_dir)

# -- 2. one 1 GiB file -----------------------------------------------------------------------------------------------
big = WORK / "big.bin"
with open(big, "wb") as f:
    for _ in range(BIG_MIB):
        f.write(os.urandom(1 << 20))
ours, theirs = [], []
for run in range(RUNS):
    # Alternate which side goes first; each store is removed (and the disk synced) before the next measurement.
    for side in (("python", "cli") if run % 2 == 0 else ("cli", "python")):
        store = fresh(side)
        if side == "python":
            with cairn.Store(store) as s:
                drop()
                start = time.perf_counter()
                s.put(big)
                ours.append(time.perf_counter() - start)
        else:
            subprocess.run([CAIRN, "init", "--store", str(store)], check=True, stdout=subprocess.DEVNULL)
            theirs.append(cli("put", "--store", str(store), str(big)))
        shutil.rmtree(store.parent)
report(f"put one {BIG_MIB} MiB file, durability object, Store.put(path) vs cairn put", ours, theirs, "MiB/s", BIG_MIB,
       "target >= 0.9x")
big.unlink()

# -- 3. verify the genblaze vectors ----------------------------------------------------------------------------------
from genblaze_core.models.manifest import parse_manifest  # noqa: E402

files = sorted(VECTORS.glob("*.json"))
datas = [f.read_bytes() for f in files]
texts = [d.decode("utf-8") for d in datas]


def genblaze_verify() -> None:
    for text in texts:
        try:
            parse_manifest(json.loads(text)).verify()
        except Exception:  # noqa: BLE001 - genblaze's refusal is its verdict
            pass


def cairn_verify() -> None:
    for data in datas:
        cairn.verify(data)


def cairn_verify_many() -> None:
    cairn.verify_many(datas)


def rate(body: object, seconds: float = 2.0) -> float:
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        body()  # type: ignore[operator]
        n += 1
    return (time.perf_counter() - start) / (n * len(files))


for name, body in (("cairn.verify(bytes) per call", cairn_verify), ("cairn.verify_many(list)", cairn_verify_many)):
    ours, theirs = [], []
    for _ in range(RUNS):
        ours.append(rate(body))
        theirs.append(rate(genblaze_verify))
    report(f"verify {len(files)} genblaze vector manifests, {name} vs parse_manifest(json.loads(text)).verify()",
           ours, theirs, "verdicts/s", 1, "target >= 10x")

# -- 4. genblaze pipeline runs/s: CairnSink vs ParquetSink ----------------------------------------------------------
warnings.simplefilter("ignore")
import logging  # noqa: E402

logging.disable(logging.WARNING)
from genblaze_core import Asset, Pipeline  # noqa: E402
from genblaze_core.sinks.parquet import ParquetSink  # noqa: E402
from genblaze_core.testing import MockProvider  # noqa: E402

from cairn.genblaze import CairnSink  # noqa: E402

assets_dir = WORK / "assets"
assets_dir.mkdir()


def assets(step: object) -> list[Asset]:
    path = assets_dir / f"{uuid.uuid4().hex}.png"
    path.write_bytes(os.urandom(64 << 10))
    return [Asset(url=path.as_uri(), media_type="image/png")]


provider = MockProvider(assets=assets)


def pipeline_runs(make_sink: object) -> float:
    sink = make_sink()  # type: ignore[operator]
    start = time.perf_counter()
    previous = None
    for i in range(PIPELINE_RUNS):
        p = Pipeline(f"bench-{i}", preflight=False)
        if previous is not None:
            p = p.from_result(previous)
        previous = p.step(provider, model="m1", prompt=f"p{i}").step(provider, model="m2", prompt="q", input_from=0)\
            .run(sink=sink)
    elapsed = time.perf_counter() - start
    sink.close()
    return elapsed


ours, theirs = [], []
for _ in range(RUNS):
    ours.append(pipeline_runs(lambda: CairnSink(fresh("sink"))))
    theirs.append(pipeline_runs(lambda: ParquetSink(fresh("parquet"))))
report(f"genblaze pipeline, {PIPELINE_RUNS} chained 2-step runs (64 KiB assets), CairnSink vs ParquetSink",
       ours, theirs, "runs/s", PIPELINE_RUNS, "CairnSink also stores the asset bytes and appends to a signed ledger")
print(json.dumps(summary))
