#!/usr/bin/env python3
"""Make the HF differential goldens of tests/core/tokenizer/ (checked by
tests/core/test_tokenizer.cpp, test case tokenizer/hf_goldens).

Two steps, because the texts need Python 3.11's unicodedata (Unicode 14, the
version of src/io/unicode_tables.inc: random code points are drawn among the
assigned ones) and HF `tokenizers` runs elsewhere (the GPU machine has it):

  /usr/bin/python3 tests/core/tokenizer/make_goldens.py texts /tmp/tok/texts.json
  bible -l1000000 "Gen1:1-Rev22:21" | head -c 2500000 > /tmp/tok/kjv.txt   # bible-kjv
  python3 tests/core/tokenizer/make_goldens.py hf /tmp/tok    # tokenizers 0.23.2
  /usr/bin/python3 tests/core/tokenizer/make_goldens.py subset /tmp/tok tests/core/tokenizer

`hf` trains one byte-level BPE (3000 tokens, GPT-NeoX's layout: NFC,
ByteLevel without prefix space, <|endoftext|> and <|padding|> special, and
non-special normalized added tokens of 8, 4 and 2 spaces) on the KJV text
plus the test texts, then derives variants and encodes every text with each:

  neox             as trained
  prefix_template  no normalizer, add_prefix_space, merges in the legacy "a b"
                   form, a TemplateProcessing post-processor "<s> $A </s>"
                   (ids_add_special)
  split_gpt2       Sequence[Split(GPT-2 regex), ByteLevel(use_regex=false)]
  split_cl100k     Sequence[Split(cl100k/Llama-3 regex), ByteLevel(...)],
                   ignore_merges
  strip            added tokens with lstrip, rstrip and single_word, and
                   encode_special_tokens (ids_special_as_text)

For each text: the ids (add_special_tokens=False), HF's decode with and
without skip_special_tokens; and decode of 300 random id sequences.
`subset` keeps the first 301 texts and 100 decode cases of four variants
(split_gpt2 gives the same ids as neox) in the layout the test reads:
<variant>/tokenizer.json, golden.json, decode.json.
"""
import copy
import json
import os
import random
import sys


def make_texts(out):
    import unicodedata
    rng = random.Random(1234)
    ascii_words = "the and of to in that he shall unto for I his a LORD they be is him not them it with all thou was God which my me said but ye their have will thee from as are when this out were upon man by you Israel king son up there hath then people came had house into on her come one we children s day land".split()
    contractions = ["'s","'t","'re","'ve","'m","'ll","'d","'S","'LL","'D","'x","''","'"," '", "n't", "don't", "I'll", "we're", "it's"]
    punct = list(".,;:!?-()[]{}\"'`~@#$%^&*_+=<>/\\|")
    digits = list("0123456789") + ["٣","٤","۵","१","²","³","½","¼","Ⅻ","ⅷ","〇","五","𝟗","①"]
    spaces = [" ","  ","   ","\t","\n","\n\n","\r\n","\r","\x0b","\x0c","\x1c","\x1d","\x1e","\x1f","\x85","\xa0","\u1680","\u2000","\u2003","\u200a","\u2028","\u2029","\u202f","\u205f","\u3000","\u200b","\ufeff","\u180e"," \n"," \t ","\n "]
    accents = ["é","è","ü","ñ","Å","Å","Å","e\u0301","a\u0323\u0302","a\u0302\u0323","o\u0308\u0304","ȫ","ḗ","ñ","\u1100\u1161\u11a8","각","가\u11a8","Ω","Ω","ﬁ","ǅ","ς","ß","İ","ı","K","ﬀ","ℌ","\u0344","\u0958","\u2126","\u212b","\u1e0b\u0323","d\u0307\u0323","q\u0307\u0323"]
    scripts = ["日本語","中文字符","한국어","Здравствуйте","Ελληνικά","עברית","العربية","हिन्दी","தமிழ்","ไทย","ქართული","Հայերեն","ᚠᚢᚦ","𐌰𐌱","𝔘𝔫𝔦","ʼ","ˆ","ǂ"]
    emoji = ["😀","👍🏽","👨‍👩‍👧‍👦","🇫🇷","❤️","✨","🤖","☃","©","®","™","€","£","¥","∑","√","∞","≠","→","⌘","\u00ad","\ue000","\U000f0000","\u0301","\u0300x","\x00","\x01","\x7f","\x80","\x9f"]
    special = ["<|endoftext|>","<|padding|>","<|endof","<|endoftext|","<s>","</s>","<mask>"," <mask> ","[X]","a[X]b"," [X] ","<|endoftext|><|endoftext|>"]
    pools = [ascii_words]*6 + [contractions, punct, digits, spaces, spaces, accents, scripts, emoji, special]
    def rand_cp():
        while True:
            c = rng.randrange(0x20, 0x30000)
            if 0xd800 <= c < 0xe000: continue
            if unicodedata.category(chr(c)) == 'Cn': continue
            return chr(c)
    def text(n):
        parts = []
        for _ in range(n):
            r = rng.random()
            if r < 0.05: parts.append(rand_cp())
            elif r < 0.1: parts.append(str(rng.randrange(0, 10**rng.randrange(1, 8))))
            else:
                p = rng.choice(pools); parts.append(rng.choice(p))
            if rng.random() < 0.5: parts.append(" ")
        return "".join(parts)
    fixed = ["", " ", "  ", "\n", "a", " a", "  a", "hello world", "Hello  world", "Hello   world!", "don't", "I'll go", "it's 'll 'LL", "x'sy", "12345 678", " 1 2", "a\n\nb", "a \n b", "tab\there", "end   ", "   ", "\t\t", "café", "cafe\u0301", "日本語のテキスト", "👍🏽 ok", "<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|padding|>", "<mask>", "x <mask> y", "[X]", "a[X]", "a [X] b", "ʼs", "a\u00a0b", "a\u3000b", "a\x1cb", "\u2028", "ǅemo", "Å", "\u212b", "가\u11a8", "\u1100\u1161\u11a8", "  \n  ", "word\u0301\u0301", "99bottles", "Ⅻ12", "²³", "The LORD is my shepherd; I shall not want.", "And God said, Let there be light: and there was light."]
    cases = fixed + [text(rng.randrange(1, 25)) for _ in range(3000)]
    # some long texts
    for k in range(4):
        cases.append("".join(text(30) for _ in range(60)))
    json.dump(cases, open(out, "w"), ensure_ascii=True)
    print(len(cases), "texts")


def run_hf(work):
    from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,  # noqa: F401
                            pre_tokenizers, processors, trainers)
    import tokenizers
    texts = json.load(open(os.path.join(work, "texts.json")))
    kjv = open(os.path.join(work, "kjv.txt"), encoding="ascii").read().split("\n")
    GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    CL100K = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    out = work
    corpus = kjv + texts[:2000] * 3
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.add_tokens([AddedToken(" " * k, normalized=True, special=False) for k in (8, 4, 2)])
    base = json.loads(tok.to_str())
    variants = {}
    variants["neox"] = base
    v = copy.deepcopy(base)
    v["normalizer"] = None
    v["pre_tokenizer"]["add_prefix_space"] = True
    v["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in v["model"]["merges"]]
    variants["prefix_template"] = v
    v = copy.deepcopy(base)
    v["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    variants["split_gpt2"] = v
    v = copy.deepcopy(base)
    v["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": CL100K}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    v["model"]["ignore_merges"] = True
    variants["split_cl100k"] = v
    v = copy.deepcopy(base)
    v["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}]}
    variants["strip"] = v
    for name, j in variants.items():
        t = Tokenizer.from_str(json.dumps(j))
        if name == "prefix_template":
            t.add_special_tokens(["<s>", "</s>"])
            t.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                special_tokens=[("<s>", t.token_to_id("<s>")), ("</s>", t.token_to_id("</s>"))])
        if name == "strip":
            t.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False),
                                  AddedToken("<sep>", lstrip=False, rstrip=True, special=True, normalized=False)])
            t.add_tokens([AddedToken("[X]", single_word=True, normalized=False, special=False),
                          AddedToken("<i>", single_word=True, normalized=True, special=False)])
        tj = json.loads(t.to_str())
        cases = []
        for s in texts:
            c = {"text": s}
            e = t.encode(s, add_special_tokens=False)
            c["ids"] = e.ids
            if name == "prefix_template":
                c["ids_special"] = t.encode(s, add_special_tokens=True).ids
            if name == "strip":
                t.encode_special_tokens = True
                c["ids_nospecial"] = t.encode(s, add_special_tokens=False).ids
                t.encode_special_tokens = False
            c["decode"] = t.decode(c["ids"], skip_special_tokens=False)
            c["decode_skip"] = t.decode(c["ids"], skip_special_tokens=True)
            cases.append(c)
        # decode of arbitrary id sequences (lossy UTF-8 at token joins)
        import random
        rng = random.Random(7)
        n = t.get_vocab_size(with_added_tokens=True)
        dec = []
        for _ in range(300):
            ids = [rng.randrange(n) for _ in range(rng.randrange(0, 12))]
            dec.append({"ids": ids, "decode": t.decode(ids, skip_special_tokens=False),
                        "decode_skip": t.decode(ids, skip_special_tokens=True)})
        tokens = [t.id_to_token(i) for i in range(n)]
        r = {"tokenizers_version": tokenizers.__version__, "tokenizer": tj, "cases": cases, "decode_cases": dec, "tokens": tokens}
        p = os.path.join(out, "hf_" + name + ".json")
        json.dump(r, open(p, "w"), ensure_ascii=True)
        print(name, "vocab", n, "cases", len(cases), os.path.getsize(p), flush=True)


def subset(work, dst):
    for name in ["neox", "prefix_template", "split_cl100k", "strip"]:
        r = json.load(open(os.path.join(work, "hf_" + name + ".json")))
        d = os.path.join(dst, "hf_" + name)
        os.makedirs(d, exist_ok=True)
        json.dump(r["tokenizer"], open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False,
                  separators=(",", ":"))
        gold = []
        for c in r["cases"][:301]:
            g = {"text": c["text"], "ids": c["ids"], "decoded": c["decode"], "decoded_skip": c["decode_skip"]}
            if "ids_special" in c:
                g["ids_add_special"] = c["ids_special"]
            if "ids_nospecial" in c:
                g["ids_special_as_text"] = c["ids_nospecial"]
            gold.append(g)
        dec = [{"ids": c["ids"], "decoded": c["decode"], "decoded_skip": c["decode_skip"]}
               for c in r["decode_cases"][:100]]
        for fname, rows in (("golden.json", gold), ("decode.json", dec)):
            with open(os.path.join(d, fname), "w") as f:
                f.write("[\n" + ",\n".join(json.dumps(g, ensure_ascii=True, separators=(",", ":"))
                                            for g in rows) + "\n]\n")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("texts", "hf", "subset"):
        sys.exit(__doc__)
    if sys.argv[1] == "texts":
        make_texts(sys.argv[2])
    elif sys.argv[1] == "hf":
        run_hf(sys.argv[2])
    else:
        subset(sys.argv[2], sys.argv[3])
