"""A real genblaze pipeline (genblaze-core from PyPI, its own MockProvider writing real asset files) with
sink=CairnSink: chained runs (from_result) and a batch_run; then the `cairn` CLI's lineage, made and verify --store
agree with genblaze's own record, and genblaze's verifier accepts the manifests read back through Cairn."""

from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

import cairn

genblaze_core = pytest.importorskip("genblaze_core", reason="genblaze-core is not installed (the genblaze extra)")

from genblaze_core import Asset, Pipeline, parse_manifest  # noqa: E402
from genblaze_core.exceptions import SinkError  # noqa: E402
from genblaze_core.testing import MockProvider  # noqa: E402

from cairn.genblaze import CairnSink  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def file_provider(directory: Path, log: list[Path]) -> MockProvider:
    """genblaze's MockProvider, whose assets are real files written as each step runs."""

    def assets(step: Any) -> list[Asset]:
        path = directory / f"{uuid.uuid4().hex}.png"
        path.write_bytes(f"{step.model} {step.prompt} {uuid.uuid4()}".encode())
        log.append(path)
        return [Asset(url=path.as_uri(), media_type="image/png")]

    return MockProvider(assets=assets)


def run_pipelines(store_path: Path, tmp_path: Path) -> dict[str, Any]:
    assets_dir = tmp_path / "assets"
    assets_dir.mkdir()
    written: list[Path] = []
    provider = file_provider(assets_dir, written)
    sink = CairnSink(store_path)
    seen_steps: list[str] = []
    original = sink.on_step_complete

    def spy(step: Any, **kwargs: Any) -> None:
        original(step, **kwargs)
        # The bytes are in the store as soon as the step finishes (before write_run).
        for asset in step.assets:
            assert sink.store.has("sha256:" + asset.sha256)
        seen_steps.append(kwargs["run_id"])

    sink.on_step_complete = spy  # type: ignore[method-assign]
    first = (
        Pipeline("hero-shot")
        .step(provider, model="image-v1", prompt="product on white")
        .step(provider, model="image-v1-upscale", prompt="upscale", input_from=0)
        .run(sink=sink)
    )
    second = Pipeline("hero-shot-v2").from_result(first).step(provider, model="image-v2", prompt="warmer").run(sink=sink)
    third = Pipeline("hero-shot-v3").from_result(second).step(provider, model="image-v3", prompt="cooler").run(sink=sink)
    batch = (
        Pipeline("variants")
        .from_result(first)
        .step(provider, model="image-v1", prompt="{p}")
        .batch_run(["red", "green", "blue"], sink=sink)
    )
    return {
        "sink": sink,
        "chain": [first, second, third],
        "batch": batch,
        "written": written,
        "seen_steps": seen_steps,
    }


def test_pipeline_through_cairn_sink_agrees_with_genblaze(store_path: Path, tmp_path: Path, cli: Any) -> None:
    result = run_pipelines(store_path, tmp_path)
    sink: CairnSink = result["sink"]
    runs = result["chain"] + result["batch"]
    store = sink.store
    # Every asset file's bytes are in the store under their sha256.
    for path in result["written"]:
        digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        assert store.get(digest) == path.read_bytes()
    assert len(result["seen_steps"]) == 2 + 1 + 1 + 3

    log = cli.json("log", "--json", "--store", str(store_path))
    assert sorted(r["run_id"] for r in log) == sorted(r.run.run_id for r in runs)
    for r in runs:
        genblaze_run = r.run
        # Lineage: Cairn's ancestors are genblaze's parent_run_id chain.
        lineage = cli.json("lineage", "--json", "--store", str(store_path), genblaze_run.run_id)
        assert lineage["run"]["parent_run_id"] == genblaze_run.parent_run_id
        assert lineage["run"]["canonical_hash"] == r.manifest.canonical_hash
        assert lineage == store.lineage(genblaze_run.run_id)
        expected_chain = []
        parent = genblaze_run.parent_run_id
        by_id = {x.run.run_id: x.run for x in runs}
        while parent:
            expected_chain.append(parent)
            parent = by_id[parent].parent_run_id
        assert [a["run_id"] for a in lineage["ancestors"]] == expected_chain
        # made: each output asset was produced by this run, at its step.
        for index, step in enumerate(genblaze_run.steps):
            for asset in step.assets:
                made = cli.json("made", "--json", "--store", str(store_path), "sha256:" + asset.sha256)
                assert {"run_id": genblaze_run.run_id, "step_index": index} in [
                    {"run_id": m["run_id"], "step_index": m["step_index"]} for m in made
                ]
                assert made == store.made("sha256:" + asset.sha256)
        # The manifest read back through Cairn: genblaze's verifier accepts it, and it is genblaze's own.
        data = store.manifest(genblaze_run.run_id)
        manifest = parse_manifest(json.loads(data.decode("utf-8")))
        assert manifest.verify() and manifest.verify_hash()
        assert manifest.canonical_hash == r.manifest.canonical_hash
        assert manifest.run.parent_run_id == genblaze_run.parent_run_id
        path = tmp_path / f"{genblaze_run.run_id}.json"
        path.write_bytes(data)
        verified = cli("verify", "--json", "--require-assets", "--store", str(store_path), str(path))
        verdict = json.loads(verified.stdout)
        assert verdict["verify_ok"] and verdict["exit_code"] == 0
        assert verdict["assets"] and all(a["status"] == "ok" for a in verdict["assets"] if a["role"] == "output")
        python_verdict = store.verify(data, require_assets=True)
        assert python_verdict.ok and python_verdict.canonical_hash == r.manifest.canonical_hash
        assert cairn.verify(data).ok
    # The inputs of the upscale step (step 1 of the first run) were used by it.
    first = result["chain"][0].run
    for asset in first.steps[1].inputs:
        used = store.used("sha256:" + asset.sha256)
        assert first.run_id in [u["run_id"] for u in used]
    assert cli.json("ledger", "verify", "--json", "--store", str(store_path))["ok"] is True
    assert store.verify_ledger()["ok"] is True
    sink.close()
    sink.close()


def test_resent_run_is_idempotent_and_a_bad_run_is_refused(store_path: Path, tmp_path: Path) -> None:
    written: list[Path] = []
    provider = file_provider(tmp_path, written)
    with CairnSink(store_path) as sink:
        result = Pipeline("once").step(provider, model="m", prompt="p").run(sink=sink)
        entries = len(sink.store.log())
        sink.write_run(result.run, result.manifest)
        sink.write_run(result.run, result.manifest)
        assert sink.last_import["already_present"] is True
        assert len(sink.store.log()) == entries == 1

        # A remote asset without sha256 cannot be verified: the run is refused, nothing is appended.
        remote = MockProvider(assets=[Asset(url="https://example.test/a.png", media_type="image/png")])
        with pytest.raises(SinkError) as caught:
            Pipeline("remote").step(remote, model="m", prompt="p").run(sink=sink, raise_on_failure=False)
        assert "does not verify" in str(caught.value)
        assert len(sink.store.log()) == 1

        # A local file whose bytes differ from the declared sha256 is refused before anything is imported.
        liar = tmp_path / "liar.png"
        liar.write_bytes(b"not what was declared")
        asset = Asset(url=liar.as_uri(), media_type="image/png", sha256="1" * 64)
        with pytest.raises(SinkError) as caught:
            sink.put_asset(asset)
        assert "hashes to" in str(caught.value)


def test_put_asset_stores_a_standalone_file(store_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(b"RIFF....WAVE")
    with CairnSink(store_path) as sink:
        asset = sink.put_asset(Asset(url=str(path), media_type="audio/wav"))
        assert asset.sha256 == hashlib.sha256(b"RIFF....WAVE").hexdigest()
        assert asset.size_bytes == 12
        assert sink.store.get("sha256:" + asset.sha256) == b"RIFF....WAVE"
        assert sink.put_assets([Asset(url=path.as_uri(), media_type="audio/wav")])[0].sha256 == asset.sha256
        with pytest.raises(SinkError):
            sink.put_asset(Asset(url="https://example.test/x.wav", media_type="audio/wav"))
