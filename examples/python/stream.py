#!/usr/bin/env python3
"""stream.py: the core workflow of libseqcore from Python.

Load the bundled language model, generate text token by token (printing it
as it comes), snapshot the stream half-way, restore the snapshot into a new
stream, and show that both streams continue identically.

Usage: python3 examples/python/stream.py [MODEL]
       (default: models/kjv-lstm.safetensors in this repository)

Run it from a build tree with PYTHONPATH=<build>/bindings/python, or after
installing the package (pip install .).
"""

from __future__ import annotations

import codecs
import pathlib
import sys
from typing import Iterable, List

import seqcore

PROMPT = "In the beginning"
HALF = 150  # tokens (bytes) generated before and after the snapshot


def show(tokens: Iterable[int]) -> List[int]:
    """Print byte tokens as UTF-8 text as they arrive; return them."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    seen = []
    for tok in tokens:
        seen.append(tok)
        sys.stdout.write(decoder.decode(bytes((tok,))))
        sys.stdout.flush()
    sys.stdout.write(decoder.decode(b"", final=True))
    return seen


def main(argv: List[str]) -> int:
    default = pathlib.Path(__file__).resolve().parents[2] / "models" / "kjv-lstm.safetensors"
    path = pathlib.Path(argv[1]) if len(argv) > 1 else default

    with seqcore.Model.load(path) as model, model.stream() as a:
        print(f"loaded {path}: {model!r}")
        if not model.is_language_model or model.vocab_size != 256:
            print("this example needs a byte-level language model", file=sys.stderr)
            return 2

        a.set_sampling(temperature=0.8, top_k=40, top_p=0.95)
        a.seed(2024)

        # First half: the prompt, then one sampled token at a time.
        print(f"\n--- generating ---\n{PROMPT}", end="")
        first = show(a.generate(PROMPT.encode(), HALF))

        # generate() has not fed its last token yet: the snapshot holds the
        # state after the prompt and all but that token, plus the sampler's
        # random generator, so that token continues either stream.
        pending = first[-1]
        blob = a.snapshot()
        print(f"\n\n--- snapshot at position {a.position}: {len(blob)} bytes ---")

        with model.stream() as b:
            b.restore(blob)
            print("--- stream A continues ---")
            rest_a = show(a.generate([pending], HALF))
            print("\n--- stream B (restored) continues ---")
            rest_b = show(b.generate([pending], HALF))

    same = rest_a == rest_b
    print(f"\n\nafter {HALF} more tokens the streams are {'identical' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except seqcore.Error as e:
        print(f"error: {e} ({e.status.name if isinstance(e.status, seqcore.Status) else e.status})",
              file=sys.stderr)
        sys.exit(1)
