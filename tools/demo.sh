#!/usr/bin/env bash
# README command one: install what is needed, build, and stream text from the
# bundled Mamba language model (models/kjv-mamba: a HuggingFace directory with
# its BPE tokenizer, loaded directly). MODEL=models/kjv-lstm.safetensors
# streams from the byte-level LSTM instead.
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
model="${MODEL:-models/kjv-mamba}"
exec "$B/tools/seqcore" generate "$model" --prompt "$prompt" --tokens 300 \
  --temperature 0.8 --seed "${SEED:-$RANDOM}" "$@"
