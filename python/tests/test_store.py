"""The Store API over libcairn.so: put, get, open, has, size, put_many, durability; the CLI sees the same store."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

import cairn


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_put_get_has_size_round_trip(store_path: Path) -> None:
    with cairn.Store(store_path) as store:
        digest = store.put(b"hello")
        assert digest == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        assert store.has(digest) and digest in store
        assert store.get(digest) == b"hello"
        assert store.size(digest) == 5
        assert store.put(bytearray(b"hello")) == digest
        assert store.put(memoryview(b"hello")) == digest
        assert store.put(b"") == sha(b"")
        assert store.get(sha(b"")) == b""


def test_put_file_and_put_many(store_path: Path, tmp_path: Path) -> None:
    files = []
    for i in range(20):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(f"file {i}".encode() * (i + 1))
        files.append(path)
    with cairn.Store(store_path) as store:
        assert store.put(files[0]) == sha(files[0].read_bytes())
        assert store.put(str(files[1])) == sha(files[1].read_bytes())
        digests = store.put_many(files, jobs=4)
        assert digests == [sha(f.read_bytes()) for f in files]
        assert store.put_many([b"a", b"b"]) == [sha(b"a"), sha(b"b")]
        assert store.put_many([]) == []


def test_put_many_checks_every_file_first(store_path: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(b"good bytes")
    with cairn.Store(store_path) as store:
        with pytest.raises(cairn.CairnError) as caught:
            store.put_many([good, tmp_path / "missing.bin"])
        assert "missing.bin" in str(caught.value)
        assert caught.value.exit_code == 2
        assert not store.has(sha(b"good bytes"))


def test_open_streams_verified_bytes(store_path: Path) -> None:
    data = bytes(range(256)) * 10_000
    with cairn.Store(store_path) as store:
        digest = store.put(data)
        with store.open(digest) as f:
            assert isinstance(f, io.BufferedReader)
            head = f.read(10)
            rest = f.read()
        assert head + rest == data
        chunks = []
        with store.open(digest) as f:
            while chunk := f.read(4096):
                chunks.append(chunk)
        assert b"".join(chunks) == data


def test_corrupt_object_raises_on_get_and_at_the_end_of_a_stream(store_path: Path) -> None:
    with cairn.Store(store_path) as store:
        digest = store.put(b"intact bytes")
        hex_digest = digest.split(":")[1]
        path = store_path / "objects" / "sha256" / hex_digest[:2] / hex_digest
        path.chmod(0o644)
        path.write_bytes(b"intact bytez")
        with pytest.raises(cairn.CorruptError) as caught:
            store.get(digest)
        assert caught.value.exit_code == 1 and digest in str(caught.value)
        with store.open(digest) as f, pytest.raises(cairn.CorruptError):
            f.read()


def test_cli_reads_what_python_wrote_and_the_other_way(store_path: Path, tmp_path: Path, cli: Any) -> None:
    with cairn.Store(store_path) as store:
        digest = store.put(b"from python")
    assert cli("cat", "--store", str(store_path), digest).stdout == "from python"
    source = tmp_path / "cli.txt"
    source.write_bytes(b"from the cli")
    cli("put", "--store", str(store_path), str(source))
    with cairn.Store(store_path, create=False) as store:
        assert store.get(sha(b"from the cli")) == b"from the cli"


def test_durability_modes(tmp_path: Path) -> None:
    for mode in ("object", "batch", "none", None):
        with cairn.Store(tmp_path / f"s-{mode}", durability=mode) as store:
            assert store.get(store.put(b"x")) == b"x"
    with pytest.raises(cairn.UsageError):
        cairn.Store(tmp_path / "bad", durability="sometimes")


def test_open_without_create_and_version(tmp_path: Path) -> None:
    with pytest.raises(cairn.NotAStoreError) as caught:
        cairn.Store(tmp_path / "nothing", create=False)
    assert caught.value.exit_code == 2 and "cairn init" in str(caught.value)
    assert cairn.library_version == cairn.__version__
