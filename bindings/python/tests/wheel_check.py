#!/usr/bin/env python3
"""Check that `pip install .` works with Debian's tools, offline.

  wheel_check.py --source REPO --work DIR

1. Copies the source tree (without .git, build directories and .mesonpy-*
   leftovers) to DIR/src: meson-python writes .mesonpy-* files into the tree
   it builds, and the real source tree must stay untouched.
2. Builds the wheel: python3 -m pip wheel --no-build-isolation --no-deps
   (meson-python from python3-mesonpy; the extension embeds the library).
3. Installs it into a throw-away venv (--system-site-packages, for numpy and
   pytest) and, from a neutral directory, imports seqcore from the venv and
   runs the binding's pytest suite against the installed package.

Exits non-zero on any failure. Run by `meson test python-wheel` (suite slow).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

HERE = pathlib.Path(__file__).resolve().parent


def run(*cmd: object, cwd: pathlib.Path | None = None, env: dict | None = None) -> None:
    args = [os.fspath(c) for c in cmd]
    print("+", " ".join(args), flush=True)
    subprocess.run(args, cwd=cwd, env=env, check=True)


def copy_source(source: pathlib.Path, dest: pathlib.Path, work: pathlib.Path) -> None:
    def ignore(directory: str, names: list) -> set:
        skipped = set()
        for name in names:
            path = pathlib.Path(directory, name)
            if name in (".git", "__pycache__") or fnmatch.fnmatch(name, ".mesonpy-*"):
                skipped.add(name)
            elif path.is_dir() and ((path / "meson-private").is_dir() or path.resolve() == work):
                skipped.add(name)  # a build directory, or our own work directory
        return skipped

    shutil.copytree(source, dest, ignore=ignore, symlinks=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, type=pathlib.Path)
    parser.add_argument("--work", required=True, type=pathlib.Path)
    opts = parser.parse_args()
    source = opts.source.resolve()
    work = opts.work.resolve()

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    src, dist, venv, neutral = work / "src", work / "dist", work / "venv", work / "run"
    copy_source(source, src, work)
    neutral.mkdir()

    env = dict(os.environ)
    env.update({
        "PIP_NO_INDEX": "1",              # offline: nothing from PyPI
        "PIP_NO_CACHE_DIR": "1",          # nothing written to ~/.cache
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop("PYTHONPATH", None)  # the venv must use the installed package

    python = sys.executable
    run(python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", dist, src,
        cwd=neutral, env=env)
    wheels = sorted(dist.glob("seqcore-*.whl"))
    if len(wheels) != 1:
        print(f"expected one wheel in {dist}, found {wheels}", file=sys.stderr)
        return 1
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    print(f"{wheel.name}: {len(names)} files")
    for name in names:
        print("  " + name)
    for must in ("seqcore/__init__.py", "seqcore/py.typed", "seqcore/_stream.py"):
        if must not in names:
            print(f"the wheel lacks {must}", file=sys.stderr)
            return 1
    if not any(fnmatch.fnmatch(n, "seqcore/_native.*.so") for n in names):
        print("the wheel lacks the extension seqcore/_native.*.so", file=sys.stderr)
        return 1

    run(python, "-m", "venv", "--system-site-packages", "--without-pip", venv, env=env)
    vpython = venv / "bin" / "python"
    run(vpython, "-m", "pip", "install", "--no-deps", wheel, cwd=neutral, env=env)

    smoke = (
        "import pathlib, sys, seqcore\n"
        "where = pathlib.Path(seqcore.__file__).resolve()\n"
        "assert pathlib.Path(sys.prefix).resolve() in where.parents, where\n"
        "m = seqcore.Model.load(sys.argv[1])\n"
        "with m.stream() as s:\n"
        "    text = ''.join(s.generate_text('In the beginning', 40))\n"
        "print(f'seqcore {seqcore.version()} from {where.parent}: {text!r}')\n"
    )
    token_model = env.get("SEQC_TEST_TOKEN_MODEL", os.fspath(source / "models" / "kjv-lstm.safetensors"))
    run(vpython, "-c", smoke, token_model, cwd=neutral, env=env)

    # The whole pytest suite, against the installed package.
    run(vpython, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", HERE, HERE,
        cwd=neutral, env=env)
    print("wheel check passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        print(f"failed ({e.returncode}): {' '.join(map(str, e.cmd))}", file=sys.stderr)
        sys.exit(1)
