"""The exported symbols of libseqcore.so are exactly the functions declared
with SEQC_API in the public headers, and the soname carries the ABI major.

usage: test_abi.py LIBSEQCORE_SO INCLUDE_DIR
"""
import glob
import os
import re
import subprocess
import sys


def declared(include_dir):
    names = set()
    for path in glob.glob(os.path.join(include_dir, "seqcore", "*.h")):
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments may mention names
        for m in re.finditer(r"SEQC_API\s+[^;(]*?\b(seqc_\w+)\s*\(", text):
            names.add(m.group(1))
    return names


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W", "D", "B", "R", "i", "V"):
            syms.add(parts[2].split("@")[0])
    return syms


def soname(lib):
    out = subprocess.run(["objdump", "-p", lib], check=True, capture_output=True, text=True).stdout
    m = re.search(r"SONAME\s+(\S+)", out)
    return m.group(1) if m else None


def main():
    lib, include_dir = sys.argv[1], sys.argv[2]
    want, have = declared(include_dir), exported(lib)
    failures = 0
    if not want:
        print("FAIL: no SEQC_API declarations found")
        failures += 1
    for name in sorted(want - have):
        print(f"FAIL: declared but not exported: {name}")
        failures += 1
    for name in sorted(have - want):
        print(f"FAIL: exported but not declared in the public header: {name}")
        failures += 1
    header = open(os.path.join(include_dir, "seqcore", "seqcore.h"), encoding="utf-8").read()
    abi = re.search(r"#define SEQC_ABI_VERSION (\d+)", header).group(1)
    so = soname(lib)
    if so != f"libseqcore.so.{abi}":
        print(f"FAIL: soname is {so}, expected libseqcore.so.{abi}")
        failures += 1
    print(f"{len(want)} functions declared, {len(have)} exported, soname {so}")
    print(f"{0 if failures else 1} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
