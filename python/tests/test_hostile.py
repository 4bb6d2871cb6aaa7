"""Bad input through the binding: wrong types, invalid digests, truncated and hostile manifests, closed handles,
threads, and thousands of random calls. Each must raise a clear CairnError (or give a verdict), never crash."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import cairn

from conftest import VECTORS

ABSENT = "sha256:" + "0" * 64


def basic_manifest() -> bytes:
    return (VECTORS / "cases" / "d_basic.json").read_bytes()


@pytest.mark.parametrize("value", [None, 42, 3.5, ["a"], {"a": 1}, object()])
def test_wrong_types_raise_type_errors(store_path: Path, value: Any) -> None:
    with cairn.Store(store_path) as store:
        for call in (store.put, store.get, store.has, store.open, store.made, store.used, store.lineage):
            with pytest.raises(cairn.CairnTypeError) as caught:
                call(value)
            assert isinstance(caught.value, TypeError) and isinstance(caught.value, cairn.CairnError)
            assert type(value).__name__ in str(caught.value)
        with pytest.raises(cairn.CairnTypeError):
            cairn.verify(value)
        with pytest.raises(cairn.CairnTypeError):
            cairn.Store(value)


@pytest.mark.parametrize(
    "digest",
    ["", "sha256:", "sha256:abc", "SHA256:" + "0" * 64, "sha256:" + "A" * 64, "md5:" + "0" * 32, "sha256:" + "g" * 64,
     "sha256:" + "0" * 65, "blake2b-256:" + "0" * 63, "\udcff", "sha256:\x00" + "0" * 63],
)
def test_invalid_digests_are_usage_errors(store_path: Path, digest: str) -> None:
    with cairn.Store(store_path) as store:
        for call in (store.get, store.has, store.open, store.size, store.made, store.used):
            with pytest.raises(cairn.UsageError) as caught:
                call(digest)
            assert caught.value.exit_code == 2
            assert str(caught.value)


def test_absent_objects_are_not_found(store_path: Path) -> None:
    with cairn.Store(store_path) as store:
        assert not store.has(ABSENT)
        for call in (store.get, store.open, store.size):
            with pytest.raises(cairn.NotFoundError) as caught:
                call(ABSENT)
            assert caught.value.exit_code == 1 and ABSENT in str(caught.value)
        assert store.made(ABSENT) == [] and store.used(ABSENT) == []
        with pytest.raises(cairn.NotFoundError):
            store.lineage("no-such-run")
        with pytest.raises(cairn.NotFoundError):
            store.manifest("no-such-run")
        with pytest.raises(cairn.CairnIOError):
            store.put(store_path / "no-such-file")
        with pytest.raises(cairn.MalformedError):
            store.put(store_path)  # a directory


def test_truncated_and_hostile_manifests_give_verdicts_and_refuse_import(store_path: Path) -> None:
    good = basic_manifest()
    hostile = [
        good[: len(good) // 2],
        b"",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        b'{"run": ' * 5000,
        b"null",
        b'{"schema_version": "1.5"}',
        good.replace(b'"canonical_hash":"', b'"canonical_hash":"00', 1),
        good + b"trailing",
        json.dumps({"run": {"steps": [{"assets": [1] * 1000}]}}).encode(),
        b'{"a": 1e999999}',
        b'"\\ud800"',
    ]
    with cairn.Store(store_path) as store:
        for data in hostile:
            verdict = cairn.verify(data)
            assert not verdict.ok and verdict.exit_code in (1, 2)
            assert (verdict.error is not None) == (verdict.outcome == "refused")
            with pytest.raises((cairn.VerificationError, cairn.MalformedError)) as caught:
                store.import_manifest(data)
            assert caught.value.exit_code in (1, 2) and str(caught.value)
        assert store.log() == []
        assert store.verify_ledger()["ok"] is True


def test_verify_many_matches_verify_one_by_one() -> None:
    files = sorted((VECTORS / "cases").glob("*.json"))
    datas = [f.read_bytes() for f in files]

    def comparable(v: cairn.Verdict) -> cairn.Verdict:
        # An asset without asset_id gets a fresh random one on every read (as in genblaze): compare the counts.
        return v._replace(  # type: ignore[arg-type]
            unverified_sha256_ids=len(v.unverified_sha256_ids), invalid_metadata_ids=len(v.invalid_metadata_ids)
        )

    assert [comparable(v) for v in cairn.verify_many(datas)] == [comparable(cairn.verify(d)) for d in datas]
    assert [comparable(v) for v in cairn.verify_many(files)] == [comparable(cairn.verify(f)) for f in files]
    expected = [json.loads(line) for line in (VECTORS / "expected.jsonl").read_text().splitlines()]
    by_case = {e["case"]: e for e in expected}
    for f, verdict in zip(files, cairn.verify_many(datas)):
        e = by_case[f.stem]
        assert verdict.hash_ok == e["hash_ok"], f.stem
        assert verdict.verify_ok == e["verify_ok"], f.stem
        if "unverified_sha256_count" in e:
            assert len(verdict.unverified_sha256_ids) == e["unverified_sha256_count"], f.stem
            assert len(verdict.invalid_metadata_ids) == e["invalid_metadata_count"], f.stem
        if e.get("canonical_hash"):
            assert verdict.canonical_hash == e["canonical_hash"], f.stem


def test_closed_store_raises_and_close_is_idempotent(store_path: Path) -> None:
    store = cairn.Store(store_path)
    digest = store.put(b"x")
    reader = store.open(digest)
    store.close()
    store.close()
    assert store.closed
    for call in (store.get, store.has, store.put, store.made, store.used, store.lineage, store.open):
        with pytest.raises(cairn.ClosedError) as caught:
            call(digest)
        assert "closed" in str(caught.value)
    with pytest.raises(cairn.ClosedError):
        store.log()
    # A reader opened before keeps working on its own handle.
    assert reader.read() == b"x"
    reader.close()
    with pytest.raises(ValueError):
        reader.read()


def test_threads_share_one_store(store_path: Path) -> None:
    store = cairn.Store(store_path)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(200):
                data = f"{worker}-{i}".encode()
                digest = store.put(data)
                assert store.get(digest) == data
                assert store.has(digest)
                with pytest.raises(cairn.UsageError):
                    store.has("bad digest")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert errors == []
    manifest = basic_manifest()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.import_manifest(manifest, skip_existing=True), range(16)))
    assert sum(not r["already_present"] for r in results) == 1
    assert len(store.log()) == 1

    # Closing while other threads call: each call either runs or raises ClosedError.
    stop = threading.Event()
    outcomes: list[str] = []

    def hammer() -> None:
        while not stop.is_set():
            try:
                store.has(ABSENT)
                outcomes.append("ran")
            except cairn.ClosedError:
                outcomes.append("closed")
                return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    store.close()
    stop.set()
    for t in threads:
        t.join()
    assert outcomes.count("closed") == 4


def random_value(rng: random.Random, digests: list[str]) -> Any:
    choice = rng.randrange(12)
    if choice == 0:
        return rng.choice(digests) if digests else ABSENT
    if choice == 1:
        return rng.randbytes(rng.randrange(0, 64))
    if choice == 2:
        return "sha256:" + "".join(rng.choice("0123456789abcdefXYZ") for _ in range(rng.choice([63, 64, 65])))
    if choice == 3:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(0, 20)))
    if choice == 4:
        return rng.choice([None, 0, -1, 2**70, 1.5, [], {}, (), b"", ""])
    if choice == 5:
        good = basic_manifest()
        cut = rng.randrange(len(good) + 1)
        return good[:cut] + rng.randbytes(rng.randrange(0, 8)) + good[cut:]
    if choice == 6:
        return "/nonexistent/" + str(rng.random())
    if choice == 7:
        return bytearray(rng.randbytes(16))
    if choice == 8:
        return "no-such-run-" + str(rng.randrange(10))
    if choice == 9:
        return ABSENT
    if choice == 10:
        return basic_manifest()
    return memoryview(rng.randbytes(8))


def test_thousands_of_random_calls_never_crash(store_path: Path) -> None:
    rng = random.Random(15)
    store = cairn.Store(store_path)
    digests: list[str] = []
    calls = [
        store.put, store.get, store.has, store.size, store.made, store.used, store.lineage, store.manifest,
        store.import_manifest, store.verify, cairn.verify, lambda v: cairn.verify_many([v, v]),
        lambda v: store.open(v).read(), lambda v: store.put_many([v]),
    ]
    counts = {"ok": 0, "error": 0}
    for _ in range(5000):
        call = rng.choice(calls)
        value = random_value(rng, digests)
        try:
            result = call(value)
            counts["ok"] += 1
            if isinstance(result, str) and result.startswith("sha256:"):
                digests.append(result)
        except cairn.CairnError as exc:
            assert str(exc), f"empty message from {call} on {value!r}"
            assert exc.exit_code in (1, 2)
            counts["error"] += 1
    store.close()
    with pytest.raises(cairn.ClosedError):
        store.get(ABSENT)
    assert counts["ok"] > 500 and counts["error"] > 500, counts
    with cairn.Store(store_path) as again:
        assert again.verify_ledger()["ok"] is True
