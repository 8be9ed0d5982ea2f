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
)
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
