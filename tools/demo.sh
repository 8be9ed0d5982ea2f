#!/usr/bin/env bash
# README command one: install what is needed, build, and stream text from the
# bundled byte-level LSTM language model.
#   tools/demo.sh [PROMPT] [extra seqcore generate options]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
B=build
if [ ! -f "$B/build.ninja" ]; then
  meson setup "$B" --buildtype=release >/dev/null
fi
ninja -C "$B" tools/seqcore >/dev/null
prompt="${1:-And God said}"
shift || true
exec "$B/tools/seqcore" generate models/kjv-lstm.safetensors --prompt "$prompt" --tokens 600 \
  --temperature 0.7 --seed "${SEED:-$RANDOM}" "$@"
