package seqcore

import (
	"sort"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// StepMany steps several streams of one model by one position each, in one
// batched call: row i of frames (InputWidth floats) goes to streams[i], and
// row i of the result (OutputWidth floats) comes from it. The streams may be
// at different positions; the results are bit for bit those of stepping each
// stream alone. Streams must be distinct and of the same model
// (ErrMismatch otherwise). On failure no stream changes.
func StepMany(streams []*Stream, frames []float32) ([]float32, error) {
	out := make([]float32, len(streams)*batchOutputWidth(streams))
	if err := StepManyInto(streams, frames, out); err != nil {
		return nil, err
	}
	return out, nil
}

// StepManyInto is StepMany writing into out (len(streams) x OutputWidth
// floats); an empty out skips the outputs.
func StepManyInto(streams []*Stream, frames, out []float32) error {
	return stepMany(streams, func(b cseqcore.StreamBatch) { b.Step(frames, out) })
}

// StepManyTokens is StepMany for token models: one token id per stream.
func StepManyTokens(streams []*Stream, tokens []int32) ([]float32, error) {
	out := make([]float32, len(streams)*batchOutputWidth(streams))
	if err := StepManyTokensInto(streams, tokens, out); err != nil {
		return nil, err
	}
	return out, nil
}

// StepManyTokensInto is StepManyTokens writing into out, as StepManyInto.
func StepManyTokensInto(streams []*Stream, tokens []int32, out []float32) error {
	return stepMany(streams, func(b cseqcore.StreamBatch) { b.Step_tokens(tokens, out) })
}

// GenerateMany is generation over several streams of one language model in
// one batched call: tokens[i] (one token id) is fed to streams[i], and
// element i of the result is the token sampled next from it, with that
// stream's own sampling settings and generator. Each result is exactly what
// streams[i].Generate(tokens[i]) would return; feed prompts with Generate or
// ForwardTokens first. As with Generate, the returned tokens have not been
// fed yet:
//
//	last, err := seqcore.GenerateMany(streams, first)
//	for err == nil && ... {
//		last, err = seqcore.GenerateMany(streams, last)
//	}
//
// Streams must be distinct and of the same model (ErrMismatch otherwise); a
// token outside the vocabulary or a model that does not map tokens to
// logits gives ErrInvalidArgument, and not one token per stream ErrShape.
// On failure no stream changes.
func GenerateMany(streams []*Stream, tokens []int32) ([]int32, error) {
	out := make([]int32, len(streams))
	if err := GenerateManyInto(streams, tokens, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GenerateManyInto is GenerateMany writing the tokens into out, which must
// hold at least len(streams) elements.
func GenerateManyInto(streams []*Stream, tokens, out []int32) error {
	return stepMany(streams, func(b cseqcore.StreamBatch) { b.Generate(tokens, out) })
}

func batchOutputWidth(streams []*Stream) int {
	if len(streams) == 0 {
		return 0
	}
	return streams[0].outputWidth()
}

// stepMany holds every stream open (in the order of their ids, so that two
// overlapping calls cannot deadlock against a Close), builds a SWIG batch of
// them and runs step on it.
func stepMany(streams []*Stream, step func(cseqcore.StreamBatch)) (err error) {
	order := make([]*Stream, len(streams))
	for i, s := range streams {
		if s == nil {
			return errorf(ErrInvalidArgument, "stream %d is nil", i)
		}
		order[i] = s
	}
	sort.Slice(order, func(i, j int) bool { return order[i].id < order[j].id })
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			return errorf(ErrInvalidArgument, "a stream appears twice in one batched call")
		}
	}
	for i, s := range order {
		if _, err := s.enter(); err != nil {
			for _, held := range order[:i] {
				held.leave()
			}
			return err
		}
	}
	defer func() {
		for _, s := range order {
			s.leave()
		}
	}()

	defer recoverError(&err)
	batch := cseqcore.NewStreamBatch()
	defer cseqcore.DeleteStreamBatch(batch)
	for _, s := range streams {
		batch.Add(s.raw)
	}
	step(batch)
	return nil
}
