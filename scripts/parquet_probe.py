#!/usr/bin/env python3
"""Reads `cairn export parquet` output (and genblaze ParquetSink output) with pyarrow and duckdb, for the tests and
Benchmarks/compare/parquet.sh. Every command prints one JSON object on stdout.

  make-manifests OUT N [SEED [MINUTES]]  write N genblaze manifests (genblaze's own models and to_canonical_json) with parent
                                chains, forks, several tenants, modalities and providers, inputs and outputs
  genblaze-sink MANIFESTS OUT   genblaze's ParquetSink.write_run for every manifest file (sorted by name); prints the
                                seconds the sink took (parsing excluded) and the run count
  describe DIR                  per table: the schema of every file (must agree), row counts by pyarrow and duckdb,
                                the partition folders
  amend IN OUT                  IN's manifest with its first step repeated (a new step ID), hash recomputed: the
                                same run with a newer manifest
  lineage DIR RUN_ID...         per run: its parent chain to the root and its children, by pyarrow and by duckdb
  sql DIR QUERY                 a duckdb query; {runs}, {steps} and {assets} stand for the datasets
  query DIR                     genblaze-column queries (runs, steps, output assets) sorted, for comparing datasets
  read-all DIR                  reads every visible (not hidden) file under DIR's tables with pyarrow
"""

import json
import os
import random
import sys
import time
from pathlib import Path

TABLES = ("runs", "steps", "assets")


def visible_files(root: Path, table: str) -> list[Path]:
    base = root / table
    if not base.exists():
        return []
    found = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
            found.append(path)
    return found


def duck(root: Path, table: str) -> str:
    return f"read_parquet('{root}/{table}/**/*.parquet', hive_partitioning=false, union_by_name=true)"


def make_manifests(out: str, count: int, seed: int, spacing: int = 47) -> dict:
    from datetime import datetime, timedelta, timezone

    from genblaze_core.models.asset import Asset, AudioMetadata, VideoMetadata
    from genblaze_core.models.enums import Modality, RunStatus, StepStatus, StepType
    from genblaze_core.models.manifest import Manifest
    from genblaze_core.models.run import Run
    from genblaze_core.models.step import Step

    rng = random.Random(seed)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    base_time = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    run_ids: list[str] = []
    outputs: list[tuple[str, str]] = []  # (sha256, media_type) produced so far
    providers = {"image": ["replicate", "fal"], "video": ["runway"], "audio": ["elevenlabs"]}
    for number in range(count):
        run_id = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-8{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
        parent = None
        if run_ids and rng.random() < 0.6:
            # Mostly the previous run (long chains), sometimes an older one (forks).
            parent = run_ids[-1] if rng.random() < 0.7 else rng.choice(run_ids)
        created = base_time + timedelta(minutes=number * spacing, microseconds=rng.randrange(0, 1_000_000))
        steps = []
        for position in range(rng.choice([1, 1, 2, 3])):
            modality = rng.choice(["image", "image", "video", "audio"])
            provider = rng.choice(providers[modality])
            inputs = []
            if outputs and rng.random() < 0.5:
                sha, media = rng.choice(outputs)
                inputs.append(Asset(url=f"file:///in/{sha[:8]}", media_type=media, sha256=sha))
            assets = []
            for _ in range(rng.choice([0, 1, 1, 2])):
                sha = f"{rng.getrandbits(256):064x}"
                if modality == "image":
                    asset = Asset(url=f"https://cdn.example/{sha[:12]}.png", media_type="image/png", sha256=sha,
                                  size_bytes=rng.randrange(1000, 10**7), width=1024, height=768)
                elif modality == "video":
                    asset = Asset(url=f"https://cdn.example/{sha[:12]}.mp4", media_type="video/mp4", sha256=sha,
                                  size_bytes=rng.randrange(10**5, 10**8), width=1920, height=1080, duration=4.5,
                                  video=VideoMetadata(frame_rate=24.0, codec="h264", bitrate=8_000_000,
                                                      color_space="bt709", has_audio=rng.random() < 0.5))
                else:
                    asset = Asset(url=f"https://cdn.example/{sha[:12]}.wav", media_type="audio/wav", sha256=sha,
                                  size_bytes=rng.randrange(10**4, 10**6), duration=12.25,
                                  audio=AudioMetadata(sample_rate=44100, channels=2, codec="pcm"))
                assets.append(asset)
                outputs.append((sha, asset.media_type))
            failed = rng.random() < 0.1
            steps.append(Step(
                provider=provider, model=f"{provider}/model-{rng.randrange(3)}", modality=Modality(modality),
                step_type=StepType.GENERATE, prompt=rng.choice(["a cat", "a lighthouse at dusk", "", "ünïcode ✓"]),
                seed=rng.choice([None, rng.randrange(0, 2**31)]),
                params={"steps": rng.randrange(10, 50), "guidance": rng.choice([3.5, 7.0]), "size": "1024x768"},
                status=StepStatus.FAILED if failed else StepStatus.SUCCEEDED,
                inputs=inputs, assets=assets, retries=rng.choice([0, 0, 1, 2]),
                cost_usd=rng.choice([None, 0.003, 0.25]), error="provider timed out" if failed else None,
                started_at=created + timedelta(seconds=position), completed_at=created + timedelta(seconds=position + 1),
                step_index=position,
            ))
        status = RunStatus.FAILED if any(s.status == StepStatus.FAILED for s in steps) else RunStatus.COMPLETED
        run = Run(run_id=run_id, tenant_id=rng.choice([None, "acme", "studio-9"]),
                  project_id=rng.choice([None, "p1"]), name=rng.choice([None, "hero shot", f"batch {number % 7}"]),
                  status=status, steps=steps, parent_run_id=parent, created_at=created,
                  started_at=created, completed_at=created + timedelta(seconds=len(steps) + 1))
        manifest = Manifest.from_run(run)
        (target / f"{number:06d}.json").write_text(manifest.to_canonical_json(), encoding="utf-8")
        run_ids.append(run_id)
    return {"manifests": count, "dir": str(target)}


def genblaze_sink(manifests: str, out: str) -> dict:
    from genblaze_core.models.manifest import parse_manifest
    from genblaze_core.sinks.parquet import ParquetSink

    parsed = [parse_manifest(json.loads(path.read_text(encoding="utf-8")))
              for path in sorted(Path(manifests).glob("*.json"))]
    sink = ParquetSink(out)
    start = time.perf_counter()
    for manifest in parsed:
        sink.write_run(manifest.run, manifest)
    sink.close()
    seconds = time.perf_counter() - start
    return {"runs": len(parsed), "seconds": seconds}


def describe(directory: str) -> dict:
    import duckdb
    import pyarrow.parquet as pq

    root = Path(directory)
    result = {}
    for table in TABLES:
        files = visible_files(root, table)
        schemas = {}
        rows = 0
        for path in files:
            schema = pq.read_schema(path)
            key = json.dumps([[field.name, str(field.type)] for field in schema])
            schemas[key] = schemas.get(key, 0) + 1
            rows += pq.ParquetFile(path).metadata.num_rows
        duck_rows = duckdb.sql(f"SELECT count(*) FROM {duck(root, table)}").fetchone()[0] if files else 0
        partitions = sorted({str(path.parent.relative_to(root / table)) for path in files})
        result[table] = {
            "files": len(files),
            "schemas": [json.loads(key) for key in schemas],
            "rows_pyarrow": rows,
            "rows_duckdb": duck_rows,
            "partitions": partitions,
        }
    return result


def amend(source: str, target: str) -> dict:
    from genblaze_core.models.manifest import Manifest, parse_manifest

    manifest = parse_manifest(json.loads(Path(source).read_text(encoding="utf-8")))
    run = manifest.run
    extra = run.steps[0].model_copy(deep=True)
    extra.step_id = f"{run.steps[0].step_id[:-4]}beef"
    extra.step_index = len(run.steps)
    extra.assets = []
    run.steps.append(extra)
    amended = Manifest.from_run(run)
    Path(target).write_text(amended.to_canonical_json(), encoding="utf-8")
    return {"run_id": run.run_id, "step_count": len(run.steps)}


def lineage(directory: str, run_ids: list[str]) -> dict:
    return {run_id: lineage_of(directory, run_id) for run_id in run_ids}


def sql(directory: str, text: str) -> dict:
    import duckdb

    root = Path(directory)
    query_text = text.format(**{table: duck(root, table) for table in TABLES})
    return {"rows": duckdb.sql(query_text).fetchall()}


def lineage_of(directory: str, run_id: str) -> dict:
    import duckdb
    import pyarrow.dataset as ds

    root = Path(directory)
    table = ds.dataset([str(p) for p in visible_files(root, "runs")], format="parquet").to_table(
        columns=["run_id", "parent_run_id", "created_at"])
    parents = dict(zip(table.column("run_id").to_pylist(), table.column("parent_run_id").to_pylist()))
    chain = []
    current = parents.get(run_id)
    while current is not None and current in parents and len(chain) < 1_000_000:
        chain.append(current)
        current = parents.get(current)
    children = sorted(child for child, parent in parents.items() if parent == run_id)
    duck_chain = [row[0] for row in duckdb.sql(f"""
        WITH RECURSIVE up(run_id, parent_run_id, depth) AS (
            SELECT run_id, parent_run_id, 0 FROM {duck(root, 'runs')} WHERE run_id = '{run_id}'
            UNION ALL
            SELECT r.run_id, r.parent_run_id, up.depth + 1 FROM {duck(root, 'runs')} r
            JOIN up ON r.run_id = up.parent_run_id)
        SELECT run_id FROM up WHERE depth > 0 ORDER BY depth""").fetchall()]
    duck_children = [row[0] for row in duckdb.sql(
        f"SELECT run_id FROM {duck(root, 'runs')} WHERE parent_run_id = '{run_id}' ORDER BY run_id").fetchall()]
    return {"ancestors_pyarrow": chain, "ancestors_duckdb": duck_chain,
            "children_pyarrow": children, "children_duckdb": duck_children}


def query(directory: str) -> dict:
    import duckdb

    root = Path(directory)
    runs = duckdb.sql(f"""SELECT run_id, parent_run_id, tenant_id, project_id, name, status, step_count,
        canonical_hash, created_at FROM {duck(root, 'runs')} ORDER BY run_id""").fetchall()
    steps = duckdb.sql(f"""SELECT run_id, step_id, provider, model, step_type, modality, status, prompt, seed,
        params_json, asset_count, retries, cost_usd, error, error_code, started_at, completed_at
        FROM {duck(root, 'steps')} ORDER BY run_id, step_id""").fetchall()
    assets_table = duck(root, "assets")
    columns = [row[0] for row in duckdb.sql(f"DESCRIBE SELECT * FROM {assets_table}").fetchall()]
    where = "WHERE cairn_role = 'output'" if "cairn_role" in columns else ""
    assets = duckdb.sql(f"""SELECT run_id, step_id, asset_id, url, media_type, sha256, size_bytes, width, height,
        duration, frame_rate, video_codec, video_bitrate, color_space, has_audio, sample_rate, channels,
        audio_codec, track_count FROM {assets_table} {where} ORDER BY run_id, step_id, asset_id""").fetchall()
    per_provider = duckdb.sql(f"""SELECT provider, modality, count(*), sum(asset_count)
        FROM {duck(root, 'steps')} GROUP BY ALL ORDER BY ALL""").fetchall()
    return {"runs": runs, "steps": steps, "assets": assets, "per_provider": per_provider}


def read_all(directory: str) -> dict:
    import pyarrow.parquet as pq

    root = Path(directory)
    files, rows, errors = 0, 0, []
    for table in TABLES:
        for path in visible_files(root, table):
            files += 1
            try:
                rows += pq.ParquetFile(path).read().num_rows
            except Exception as exc:  # a half-written file is what this command looks for
                errors.append(f"{path}: {exc}")
    hidden = [str(p) for p in root.rglob(".*") if p.is_file()]
    return {"files": files, "rows": rows, "errors": errors, "hidden": hidden}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[1], argv[2:]
    if command == "make-manifests":
        result = make_manifests(args[0], int(args[1]), int(args[2]) if len(args) > 2 else 1,
                                int(args[3]) if len(args) > 3 else 47)
    elif command == "genblaze-sink":
        result = genblaze_sink(args[0], args[1])
    elif command == "describe":
        result = describe(args[0])
    elif command == "lineage":
        result = lineage(args[0], args[1:])
    elif command == "amend":
        result = amend(args[0], args[1])
    elif command == "sql":
        result = sql(args[0], args[1])
    elif command == "query":
        result = query(args[0])
    elif command == "read-all":
        result = read_all(args[0])
    else:
        print(f"unknown command {command}\n{__doc__}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, default=str, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
