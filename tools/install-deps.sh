#!/usr/bin/env bash
# Installs what building, running and testing libseqcore needs, from
# Debian 12's packages only. Safe to run again.
set -euo pipefail
packages=(
  meson ninja-build pkg-config cmake g++ binutils      # build (cmake finds doctest)
  doctest-dev nlohmann-json3-dev libxxhash-dev          # library and test dependencies
  libopenblas-dev                                       # GEMM baseline in bench/
  python3 python3-numpy python3-torch                   # oracle tests, training script
  bible-kjv                                             # the training text (bench/README, models/README)
  swig python3-dev python3-pytest python3-mypy          # Python binding (SWIG + numpy.i), its type check
  python3-mesonpy python3-pip patchelf                  # pip install . (meson-python)
  default-jdk-headless junit5                           # Java binding and its JUnit 5 tests
  golang-go                                             # Go binding (go test, no downloads)
  bindgen libclang-dev                                  # Rust seqcore-sys (cargo is preinstalled)
  valgrind                                              # leak check of the C examples
)
# Rust: the machine image has rustup's cargo; fall back to Debian's.
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  packages+=(cargo)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
