"""The package's type hints hold: mypy --strict on the package and on the
example (skipped where mypy is not installed; Debian: python3-mypy)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import seqcore

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python" / "stream.py"


@pytest.mark.parametrize("target", ["package", "example"])
def test_mypy_strict(target):
    pytest.importorskip("mypy")
    if target == "example" and not EXAMPLE.is_file():
        pytest.skip("the example is not next to these tests")
    package_root = pathlib.Path(seqcore.__file__).resolve().parent.parent
    args = ["-p", "seqcore"] if target == "package" else [os.fspath(EXAMPLE)]
    env = dict(os.environ)
    if package_root.name not in ("site-packages", "dist-packages"):  # a build tree
        env["MYPYPATH"] = os.fspath(package_root)  # (installed: found as PEP 561 package)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull, *args],
        env=env, cwd=package_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
