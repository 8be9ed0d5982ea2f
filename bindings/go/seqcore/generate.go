package seqcore

import "io"

// Generator streams the tokens a stream generates, one per Next call: the
// first call feeds the prompt, each later call the token returned last.
//
//	g := stream.Generator(seqcore.ByteTokens("In the beginning"))
//	for i := 0; i < 100; i++ {
//		tok, err := g.Next()
//		if err != nil { return err }
//		fmt.Printf("%c", byte(tok))
//	}
//
// The Generator drives its stream: other calls on the stream in between
// (Snapshot, Fork, ...) are fine, and act at the point reached.
type Generator struct {
	s    *Stream
	feed []int32 // what the next call feeds
	last []int32 // one token; its own allocation, as cgo requires
}

// Generator returns a Generator that starts by feeding prompt (copied) to
// the stream. To continue a stream that has already generated, pass the
// last token generated as the prompt.
func (s *Stream) Generator(prompt []int32) *Generator {
	return &Generator{s: s, feed: append([]int32(nil), prompt...), last: make([]int32, 1)}
}

// Next feeds the pending tokens and returns the next token. After an error
// the stream is unchanged, and Next may be called again (e.g. after
// ErrBusy).
func (g *Generator) Next() (int32, error) {
	tok, err := g.s.Generate(g.feed...)
	if err != nil {
		return -1, err
	}
	g.last[0] = tok
	g.feed = g.last
	return tok, nil
}

// ByteTokens returns the bytes of text as token ids, the tokenization of
// byte-level language models (vocabulary 256).
func ByteTokens(text string) []int32 {
	tokens := make([]int32, len(text))
	for i := 0; i < len(text); i++ {
		tokens[i] = int32(text[i])
	}
	return tokens
}

// GenerateText generates n tokens after prompt through the model's
// tokenizer and writes each token's bytes to w as soon as it is sampled (a
// character split over several tokens arrives in pieces; w joins them). A
// BPE tokenizer encodes the prompt with its BOS, if it has one, and
// generation ends early at a special token (end of text), which is not
// written. A token model of 256 ids without a tokenizer is taken as
// byte-level (there a token outside 0..255 gives ErrUnsupported). The stream
// can go on generating afterwards (Generate with the last token).
func (s *Stream) GenerateText(w io.Writer, prompt string, n int) error {
	if s.information().tokenizer == TokenizerNone {
		return s.generateBytes(w, prompt, n)
	}
	m, err := s.Model()
	if err != nil {
		return err
	}
	defer m.Close()
	ids, err := m.TokenizeWith(prompt, AddSpecial)
	if err != nil {
		return err
	}
	g := s.Generator(ids)
	for i := 0; i < n; i++ {
		tok, err := g.Next()
		if err != nil {
			return err
		}
		b, err := m.TokenBytes(tok, 0)
		if err != nil {
			return err
		}
		if len(b) > 0 {
			plain, err := m.TokenBytes(tok, SkipSpecial)
			if err != nil {
				return err
			}
			if len(plain) == 0 {
				return nil // a special token: end of text
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stream) generateBytes(w io.Writer, prompt string, n int) error {
	g := s.Generator(ByteTokens(prompt))
	var b [1]byte
	for i := 0; i < n; i++ {
		tok, err := g.Next()
		if err != nil {
			return err
		}
		if tok < 0 || tok > 255 {
			return errorf(ErrUnsupported, "token %d is not a byte: GenerateText needs a byte-level model", tok)
		}
		b[0] = byte(tok)
		if _, err := w.Write(b[:]); err != nil {
			return err
		}
	}
	return nil
}
