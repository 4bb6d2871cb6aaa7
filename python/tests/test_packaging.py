"""The installed package's bundled libcairn.so: self-contained (no Swift shared library needed), exporting only the
C ABI of include/cairn.h, and loadable by a Python started with an empty environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cairn

from conftest import REPOSITORY

BUNDLED = Path(cairn.__file__).resolve().parent / "libcairn.so"


def test_bundled_library_needs_no_swift_runtime() -> None:
    if shutil.which("ldd") is None:
        pytest.skip("ldd is not installed")
    needed = subprocess.run(["ldd", str(BUNDLED)], capture_output=True, text=True, check=True).stdout
    assert "swift" not in needed.lower(), needed
    assert "not found" not in needed, needed


def test_bundled_library_exports_only_the_c_abi() -> None:
    if shutil.which("nm") is None:
        pytest.skip("nm is not installed")
    listing = subprocess.run(["nm", "-D", "--defined-only", str(BUNDLED)], capture_output=True, text=True).stdout
    # Global symbols only (an uppercase type letter); the version script leaves the rest local.
    exported = {
        fields[-1].split("@")[0]
        for fields in (line.split() for line in listing.splitlines())
        if len(fields) >= 3 and fields[-2].isupper()
    }
    exported.discard("CAIRN_1")
    header = (REPOSITORY / "include" / "cairn.h").read_text()
    declared = set(re.findall(r"\b(cairn_[a-z_]+)\(", header))
    assert exported == declared


def test_loads_with_an_empty_environment(tmp_path: Path) -> None:
    code = "import sys, cairn; cairn.Store(sys.argv[1]).put(b'x'); print(cairn.library_version)"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s")], capture_output=True, text=True, env={})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == cairn.__version__
