#!/usr/bin/env python3
"""King James Bible text for the demo language model (models/kjv-lstm.safetensors).

Source: the `bible` command of Debian's `bible-kjv` package, whose data is the
`bible-kjv-text` package (`apt-get install bible-kjv`). The text is public domain.

`bible -l1000000 "Gen1:1-Rev22:21"` prints every chapter as a heading line
(`Genesis 1`) followed by verses (`  1 In the beginning ...`); the huge line width
keeps each verse on one line, and continuation lines are joined anyway in case a
version of `bible` still wraps them.

Layout produced here (plain ASCII, '\\n' line ends, one blank line between chapters):

    Genesis 1
    1:1 In the beginning God created the heaven and the earth.
    1:2 And the earth was without form, and void; ...

    Genesis 2
    2:1 Thus the heavens and the earth were finished, ...

Split: the 1189 chapters are numbered 0..1188 in canonical order; chapter i goes to
validation when i % 50 == 49 (23 chapters spread over both testaments, about 2% of the
bytes) and to training otherwise. Each split is the concatenation of its chapters in
order, so it is one contiguous stream.

Usage:
    /usr/bin/python3 tools/kjv_text.py --out-dir /tmp/kjv    # writes kjv-train.txt, kjv-val.txt
"""

import argparse
import os
import re
import subprocess
import sys

VAL_EVERY = 50  # chapter i is held out when i % VAL_EVERY == VAL_EVERY - 1
EXPECTED_CHAPTERS = 1189
EXPECTED_VERSES = 31102

_HEADING = re.compile(r"^((?:[1-3] )?[A-Z][A-Za-z ]*?) (\d+)$")
_VERSE = re.compile(r"^ +(\d+) (.*)$")


def bible_raw(bible_cmd="bible"):
    """Return the raw output of `bible` for the whole canon (str)."""
    try:
        out = subprocess.run([bible_cmd, "-l1000000", "Gen1:1-Rev22:21"],
                             check=True, stdout=subprocess.PIPE).stdout
    except FileNotFoundError:
        sys.exit("kjv_text: the `bible` command is missing; install it with "
                 "`apt-get install bible-kjv` (Debian/Ubuntu)")
    return out.decode("ascii")


def parse(raw):
    """Parse `bible` output into [(book, chapter, [(verse, text), ...]), ...]."""
    chapters = []
    verses = None
    for line in raw.split("\n"):
        line = line.rstrip()
        if not line:
            continue
        m = _VERSE.match(line)
        if m:
            if verses is None:
                raise ValueError("verse before the first chapter heading: %r" % line)
            verses.append([int(m.group(1)), m.group(2).strip()])
            continue
        m = _HEADING.match(line)
        # A wrapped continuation line could in principle look like a heading; a heading
        # always starts a new chapter whose verses restart at 1, which we check below.
        if m and (verses is None or verses):
            verses = []
            chapters.append((m.group(1), int(m.group(2)), verses))
            continue
        if not verses:
            raise ValueError("unexpected line: %r" % line)
        verses[-1][1] += " " + line.strip()  # continuation of a wrapped verse
    for book, ch, vs in chapters:
        if [v for v, _ in vs] != list(range(1, len(vs) + 1)):
            raise ValueError("verses of %s %d are not numbered 1..n" % (book, ch))
    return [(b, c, [(v, t) for v, t in vs]) for b, c, vs in chapters]


def format_chapter(book, chapter, verses):
    lines = ["%s %d" % (book, chapter)]
    lines += ["%d:%d %s" % (chapter, v, " ".join(t.split())) for v, t in verses]
    return "\n".join(lines) + "\n"


def corpus(bible_cmd="bible"):
    """Return (train_text, val_text, info) as ASCII str."""
    chapters = parse(bible_raw(bible_cmd))
    nverses = sum(len(vs) for _, _, vs in chapters)
    if len(chapters) != EXPECTED_CHAPTERS or nverses != EXPECTED_VERSES:
        raise ValueError("expected %d chapters / %d verses, got %d / %d"
                         % (EXPECTED_CHAPTERS, EXPECTED_VERSES, len(chapters), nverses))
    train, val, val_names = [], [], []
    for i, (book, ch, vs) in enumerate(chapters):
        text = format_chapter(book, ch, vs)
        if i % VAL_EVERY == VAL_EVERY - 1:
            val.append(text)
            val_names.append("%s %d" % (book, ch))
        else:
            train.append(text)
    train_text, val_text = "\n".join(train), "\n".join(val)
    train_text.encode("ascii")  # the Debian text is pure ASCII; fail loudly otherwise
    val_text.encode("ascii")
    info = {"chapters": len(chapters), "verses": nverses,
            "train_bytes": len(train_text), "val_bytes": len(val_text),
            "val_chapters": val_names}
    return train_text, val_text, info


def debian_version(package="bible-kjv-text"):
    """Installed version of a Debian package, or None."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        return None
    v = out.stdout.decode().strip()
    return v if out.returncode == 0 and v else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--bible", default="bible", help="path of the `bible` command")
    args = ap.parse_args()
    train, val, info = corpus(args.bible)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, text in (("kjv-train.txt", train), ("kjv-val.txt", val)):
        with open(os.path.join(args.out_dir, name), "w", encoding="ascii", newline="\n") as f:
            f.write(text)
    print("chapters %d, verses %d, train %d bytes, val %d bytes (%.2f%%)"
          % (info["chapters"], info["verses"], info["train_bytes"], info["val_bytes"],
             100.0 * info["val_bytes"] / (info["train_bytes"] + info["val_bytes"])))
    print("validation chapters: " + ", ".join(info["val_chapters"]))


if __name__ == "__main__":
    main()
