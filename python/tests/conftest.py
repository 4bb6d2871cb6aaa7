"""Shared fixtures: a fresh store per test, and the `cairn` binary for cross-checks against the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
VECTORS = REPOSITORY / "spec" / "vectors" / "genblaze"


def cairn_binary() -> Path | None:
    """The `cairn` CLI: $CAIRN_BIN, else the debug build of this repository."""
    given = os.environ.get("CAIRN_BIN")
    if given:
        return Path(given)
    built = REPOSITORY / ".build" / "debug" / "cairn"
    return built if built.is_file() else None


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    """Runs the `cairn` CLI hermetically (no CAIRN_HOME, cwd in the test's own directory)."""
    binary = cairn_binary()
    if binary is None:
        pytest.skip("the cairn CLI is not built (swift build), and CAIRN_BIN is not set")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CAIRN_HOME"}
        env["CAIRN_HOME"] = str(tmp_path / "no-store-here")
        done = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, cwd=tmp_path)
        if check and done.returncode != 0:
            raise AssertionError(f"cairn {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def run_json(*args: str) -> Any:
        return json.loads(run(*args).stdout)

    run.json = run_json  # type: ignore[attr-defined]
    return run
