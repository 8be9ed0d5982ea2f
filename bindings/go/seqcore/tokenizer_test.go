package seqcore

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Text through the model's tokenizer: the byte-level identity, and a BPE
// model whose tokenizer.json was made with HF tokenizers (the expected ids
// are HF's, from tests/oracle/tokenizer/kjv_bpe_nfc_specials/golden.json).

func bpeModel(t testing.TB) *Model {
	return mustLoad(t, testFile(t, "SEQC_TEST_BPE_MODEL", "../../common/tiny-bpe.safetensors"))
}

var hfGolden = []struct {
	text string
	nfc  string
	ids  []int32
}{
	{"In the beginning God created the heaven and the earth.", "",
		[]int32{42, 79, 260, 297, 72, 266, 79, 292, 390, 281, 574, 284, 260, 519, 391, 269, 260, 641, 15}},
	{"before<|endoftext|>after", "", []int32{67, 70, 408, 0, 66, 71, 440}},
	{"combining e\u0301 accent", "combining \u00e9 accent", []int32{68, 305, 67, 266, 292, 222, 129, 104, 669, 362}},
	{"emoji \U0001F642\U0001F680 and \u2728 sparkles", "",
		[]int32{489, 80, 75, 74, 222, 174, 255, 249, 226, 174, 255, 250, 224, 269, 222, 160, 252, 103, 425, 335, 76, 594}},
	{"a  b   c    d", "", []int32{66, 222, 272, 222, 222, 281, 222, 222, 222, 288}},
	{"", "", []int32{}},
}

func TestTokenizerKinds(t *testing.T) {
	if k := bpeModel(t).Tokenizer(); k != TokenizerBPE {
		t.Errorf("bpe model: %v", k)
	}
	if k := tokenModel(t).Tokenizer(); k != TokenizerBytes {
		t.Errorf("byte model: %v", k)
	}
	if k := frameModel(t).Tokenizer(); k != TokenizerNone || k.String() != "none" {
		t.Errorf("frame model: %v", k)
	}
}

func TestTokenizeMatchesHF(t *testing.T) {
	m := bpeModel(t)
	for _, g := range hfGolden {
		ids, err := m.Tokenize(g.text)
		if err != nil || !reflect.DeepEqual(ids, g.ids) {
			t.Errorf("Tokenize(%q) = %v, %v; want %v", g.text, ids, err, g.ids)
		}
		want := g.text
		if g.nfc != "" {
			want = g.nfc
		}
		text, err := m.Detokenize(g.ids)
		if err != nil || text != want {
			t.Errorf("Detokenize(%v) = %q, %v; want %q", g.ids, text, err, want)
		}
	}
}

func TestTokenizerSpecials(t *testing.T) {
	m := bpeModel(t)
	b, err := m.DetokenizeBytes([]int32{67, 70, 408, 0, 66, 71, 440}, SkipSpecial)
	if err != nil || string(b) != "beforeafter" {
		t.Errorf("skip special: %q, %v", b, err)
	}
	plain := must(m.TokenizeWith("before<|endoftext|>after", SpecialAsText)).of(t)
	for _, id := range plain {
		if id == 0 {
			t.Errorf("SpecialAsText matched the special token: %v", plain)
		}
	}
	if text := must(m.Detokenize(plain)).of(t); text != "before<|endoftext|>after" {
		t.Errorf("round trip %q", text)
	}
	if a, b := must(m.Tokenize("x")).of(t), must(m.TokenizeWith("x", AddSpecial)).of(t); !reflect.DeepEqual(a, b) {
		t.Errorf("no BOS/EOS expected: %v vs %v", a, b)
	}
	if id, ok, err := m.TokenID("<|endoftext|>"); id != 0 || !ok || err != nil {
		t.Errorf("TokenID: %d %v %v", id, ok, err)
	}
	if _, ok, err := m.TokenID("no such token"); ok || err != nil {
		t.Errorf("TokenID of nothing: %v %v", ok, err)
	}
	if b := must(m.TokenBytes(0, SkipSpecial)).of(t); len(b) != 0 {
		t.Errorf("skipped special token bytes %q", b)
	}
}

func TestTokenizerBytesAndUTF8(t *testing.T) {
	m := bpeModel(t)
	if b := must(m.TokenBytes(129, 0)).of(t); !bytes.Equal(b, []byte{0xc3}) {
		t.Errorf("TokenBytes(129) = %x", b)
	}
	for _, c := range []struct {
		ids  []int32
		want string
	}{{[]int32{129}, "\uFFFD"}, {[]int32{174, 255}, "\uFFFD"}, {[]int32{129, 104}, "\u00e9"}, {[]int32{700, 703}, ""}} {
		if s := must(m.Detokenize(c.ids)).of(t); s != c.want {
			t.Errorf("Detokenize(%v) = %q, want %q (HF's lossy UTF-8)", c.ids, s, c.want)
		}
	}
	raw := "\xff\xfe ok \xc3"
	if b := must(m.DetokenizeBytes(must(m.Tokenize(raw)).of(t), 0)).of(t); string(b) != raw {
		t.Errorf("raw bytes round trip: %q", b)
	}
	if _, err := m.Detokenize([]int32{704}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("id outside the vocabulary: %v", err)
	}
	long := strings.Repeat("In the beginning \u00e9\u65e5 ", 5000)
	if s := must(m.Detokenize(must(m.Tokenize(long)).of(t))).of(t); s != long {
		t.Errorf("long text does not round-trip")
	}
	if lossyUTF8([]byte("a\xe6\x97b\xf0\x9f\x99")) != "a\uFFFDb\uFFFD" {
		t.Errorf("lossyUTF8 = %q", lossyUTF8([]byte("a\xe6\x97b\xf0\x9f\x99")))
	}
}

func TestTokenizerBytesIdentity(t *testing.T) {
	m := tokenModel(t)
	if ids := must(m.Tokenize("h\u00e9llo")).of(t); !reflect.DeepEqual(ids, []int32{104, 0xc3, 0xa9, 108, 108, 111}) {
		t.Errorf("bytes tokenizer: %v", ids)
	}
	if s := must(m.Detokenize([]int32{104, 0xc3, 0xa9})).of(t); s != "h\u00e9" {
		t.Errorf("bytes detokenize: %q", s)
	}
}

func TestTokenizerErrors(t *testing.T) {
	f := frameModel(t)
	if _, err := f.Tokenize("x"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("frame model Tokenize: %v", err)
	}
	m, err := LoadModel(testFile(t, "SEQC_TEST_BPE_MODEL", "../../common/tiny-bpe.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := m.Tokenize("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("closed model: %v", err)
	}
}

func TestGenerateTextBPE(t *testing.T) {
	m := bpeModel(t)
	s, r := mustStream(t, m), mustStream(t, m)
	for _, x := range []*Stream{s, r} {
		if err := x.SetSampling(1.0, 0, 1.0); err != nil {
			t.Fatal(err)
		}
		if err := x.SetSeed(7); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := s.GenerateText(&out, "In the beginning", 40); err != nil {
		t.Fatal(err)
	}
	g := r.Generator(must(m.TokenizeWith("In the beginning", AddSpecial)).of(t))
	var want []byte
	for i := 0; i < 40; i++ {
		tok := must(g.Next()).of(t)
		if b := must(m.TokenBytes(tok, SkipSpecial)).of(t); len(b) == 0 && len(must(m.TokenBytes(tok, 0)).of(t)) > 0 {
			break
		}
		want = append(want, must(m.TokenBytes(tok, 0)).of(t)...)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("GenerateText wrote %q, the tokens say %q", out.Bytes(), want)
	}
}
