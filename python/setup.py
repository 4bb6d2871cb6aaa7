"""Build step of the cairn-store package: bundles libcairn.so (the C ABI of include/cairn.h) in the wheel.

The library comes from, in order: $CAIRN_LIBRARY (a libcairn.so built elsewhere), or
../scripts/build-libcairn.sh run in this repository (needs the Swift toolchain; reuses an up-to-date build).
The wheel is tagged for this platform but not for a Python version: the binding is ctypes, not an extension.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent


def _library() -> Path:
    given = os.environ.get("CAIRN_LIBRARY")
    if given:
        path = Path(given)
        if not path.is_file():
            raise SystemExit(f"cairn-store: CAIRN_LIBRARY={given} is not a file")
        return path
    script = REPOSITORY / "scripts" / "build-libcairn.sh"
    if not script.is_file():
        raise SystemExit(
            "cairn-store: no libcairn.so: set CAIRN_LIBRARY to a built library, or build from the Cairn repository "
            "(scripts/build-libcairn.sh needs the Swift toolchain)"
        )
    out = subprocess.run(["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return REPOSITORY / out.splitlines()[-1]


class BuildWithLibrary(build_py):
    """build_py that also copies libcairn.so into the package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "cairn" / "libcairn.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_library(), target)


class PlatformWheel(bdist_wheel):
    """A wheel for this platform (it holds a shared library) and any Python 3."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
