package seqcore

import (
	"errors"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// Block is one block of a model's graph.
type Block struct {
	Name   string // the block's name in the graph ("rnn")
	Plugin string // the registry entry implementing it ("recurrent/lstm")
}

// StateTensor describes one named tensor of a stream's recurrent state.
type StateTensor struct {
	Name  string  // "rnn.h"
	DType DType   // element type
	Shape []int64 // extents, outermost first
	Bytes int     // size in bytes
}

// modelInfo is what a model says about itself. A model is immutable once
// loaded, so it is read once and shared by the model's handles and streams.
type modelInfo struct {
	inputKind   InputKind
	inputWidth  int
	outputWidth int
	logits      bool
	blocks      []Block
	stateBytes  int
	weightBytes int
	weightDType DType
	states      []StateTensor
	tokenizer   Tokenizer
}

func readModelInfo(raw cseqcore.Model) *modelInfo {
	info := &modelInfo{
		inputKind:   InputKind(raw.Input_kind()),
		inputWidth:  int(raw.Input_width()),
		outputWidth: int(raw.Output_width()),
		logits:      raw.Output_is_logits() != 0,
		stateBytes:  int(raw.State_bytes()),
		weightBytes: int(raw.Weight_bytes()),
		weightDType: DType(raw.Weight_dtype()),
		tokenizer:   Tokenizer(raw.Tokenizer_kind()),
	}
	for i, n := int64(0), raw.Block_count(); i < n; i++ {
		info.blocks = append(info.blocks, Block{Name: raw.Block_name(i), Plugin: raw.Block_plugin(i)})
	}
	for i, n := int64(0), raw.State_count(); i < n; i++ {
		t := StateTensor{
			Name:  raw.State_name(i),
			DType: DType(raw.State_dtype(i)),
			Bytes: int(raw.State_nbytes(i)),
		}
		ndim := raw.State_ndim(i)
		t.Shape = make([]int64, ndim)
		for axis := 0; axis < ndim; axis++ {
			t.Shape[axis] = raw.State_dim(i, axis)
		}
		info.states = append(info.states, t)
	}
	return info
}

func (info *modelInfo) state(name string) (StateTensor, bool) {
	for _, t := range info.states {
		if t.Name == name {
			return t, true
		}
	}
	return StateTensor{}, false
}

// Model is a loaded model: a block graph with its weights on one runtime.
// It is immutable and may be shared by any number of goroutines and streams.
//
// The information methods (InputWidth, Blocks, StateLayout, ...) keep working
// after Close; Describe and NewStream need an open model.
type Model struct {
	mu   sync.RWMutex // read-held by calls in flight, write-held by Close
	raw  cseqcore.Model
	info *modelInfo
}

// LoadModel loads a model file onto the library's process-wide CPU runtime
// (one thread per core): a native libseqcore file, or a PyTorch nn.LSTM /
// nn.GRU state dict saved as safetensors. Every header field, offset, shape
// and config value is checked; a bad file gives an error (ErrIO, ErrFormat,
// ErrConfig, ErrShape, ...), never a crash.
func LoadModel(path string) (*Model, error) { return loadModelFile(nil, path) }

// LoadModelBytes loads a model from the bytes of a model file, as LoadModel.
// The bytes are only read during the call.
func LoadModelBytes(data []byte) (*Model, error) { return loadModelBytes(nil, data) }

// LoadOptions says how a model is loaded (seqc_load_options). The zero
// value is the default.
type LoadOptions struct {
	// WeightDType is the precision the weight matrices are held in:
	// DTypeF32 (the default), DTypeBF16 or DTypeF16, whatever the file
	// stores. On a CUDA runtime the matrices are stored in that dtype and
	// multiplied with f32 accumulation; on the CPU they are rounded to it and
	// computed in f32. Biases, norms and the state stay f32. Another dtype
	// makes the load fail with ErrDType.
	WeightDType DType
}

// LoadModelWith is LoadModel with options, such as the precision of the
// weights:
//
//	m, err := seqcore.LoadModelWith(path, seqcore.LoadOptions{WeightDType: seqcore.DTypeBF16})
func LoadModelWith(path string, opts LoadOptions) (*Model, error) {
	return loadModelFileWith(nil, path, opts)
}

// LoadModelBytesWith is LoadModelBytes with options.
func LoadModelBytesWith(data []byte, opts LoadOptions) (*Model, error) {
	return loadModelBytesWith(nil, data, opts)
}

func loadModelFile(rt cseqcore.Runtime, path string) (m *Model, err error) {
	defer recoverError(&err)
	return newModel(cseqcore.Model_load_file(rt, path), nil)
}

func loadModelBytes(rt cseqcore.Runtime, data []byte) (m *Model, err error) {
	defer recoverError(&err)
	return newModel(cseqcore.Model_load_buffer(rt, data), nil)
}

func weightDTypeArg(opts LoadOptions) (int, error) {
	if !fitsInt32(int(opts.WeightDType)) {
		return 0, errorf(ErrDType, "weight dtype %d is not a dtype", int(opts.WeightDType))
	}
	return int(opts.WeightDType), nil
}

func loadModelFileWith(rt cseqcore.Runtime, path string, opts LoadOptions) (m *Model, err error) {
	dtype, err := weightDTypeArg(opts)
	if err != nil {
		return nil, err
	}
	defer recoverError(&err)
	return newModel(cseqcore.Model_load_file_with(rt, path, dtype), nil)
}

func loadModelBytesWith(rt cseqcore.Runtime, data []byte, opts LoadOptions) (m *Model, err error) {
	dtype, err := weightDTypeArg(opts)
	if err != nil {
		return nil, err
	}
	defer recoverError(&err)
	return newModel(cseqcore.Model_load_buffer_with(rt, data, dtype), nil)
}

// newModel wraps a new SWIG handle, which it owns from here on, with the
// model's information (read from the model when info is nil). It is called
// under recoverError; if reading the information fails, the handle is
// deleted before the panic goes on.
func newModel(raw cseqcore.Model, info *modelInfo) (*Model, error) {
	ok := false
	defer func() {
		if !ok {
			cseqcore.DeleteModel(raw)
		}
	}()
	if info == nil {
		info = readModelInfo(raw)
	}
	m := &Model{raw: raw, info: info}
	ok = true
	openHandles.Add(1)
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close releases this handle's reference to the model. Streams of the model
// keep it alive as long as they exist. Closing twice is a no-op; Close
// always returns nil.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.raw == nil {
		return nil
	}
	runtime.SetFinalizer(m, nil)
	raw := m.raw
	m.raw = nil
	openHandles.Add(-1)
	return deleteHandle(func() { cseqcore.DeleteModel(raw) })
}

func (m *Model) enter() (cseqcore.Model, error) {
	if m == nil {
		return nil, nilError("Model")
	}
	m.mu.RLock()
	if m.raw == nil {
		m.mu.RUnlock()
		return nil, closedError("Model")
	}
	return m.raw, nil
}

func (m *Model) leave() { m.mu.RUnlock() }

func (m *Model) information() *modelInfo {
	if m == nil {
		return &modelInfo{inputKind: -1}
	}
	return m.info
}

// InputKind says whether the model consumes token ids or float frames.
func (m *Model) InputKind() InputKind { return m.information().inputKind }

// InputWidth returns the floats per input frame, or the vocabulary size of a
// token model.
func (m *Model) InputWidth() int { return m.information().inputWidth }

// OutputWidth returns the floats per output position (the logits of a
// language model).
func (m *Model) OutputWidth() int { return m.information().outputWidth }

// OutputIsLogits reports whether the output is logits over the token
// vocabulary, so that sampling and generation apply.
func (m *Model) OutputIsLogits() bool { return m.information().logits }

// Blocks returns the blocks of the model's graph, in order.
func (m *Model) Blocks() []Block {
	return append([]Block(nil), m.information().blocks...)
}

// StateBytes returns the bytes of recurrent state one stream holds.
func (m *Model) StateBytes() int { return m.information().stateBytes }

// WeightBytes returns the bytes of weights as held on the device.
func (m *Model) WeightBytes() int { return m.information().weightBytes }

// WeightDType returns the precision the weight matrices are held in:
// DTypeF32 unless the model was loaded with other LoadOptions.
func (m *Model) WeightDType() DType { return m.information().weightDType }

// StateLayout returns the named tensors that make up a stream's state, as
// read and written by Stream.ReadState and Stream.WriteState.
func (m *Model) StateLayout() []StateTensor {
	states := m.information().states
	out := make([]StateTensor, len(states))
	for i, t := range states {
		t.Shape = append([]int64(nil), t.Shape...)
		out[i] = t
	}
	return out
}

// Describe returns the model as JSON: graph, configs, widths, state layout,
// fingerprint and metadata.
func (m *Model) Describe() (json string, err error) {
	raw, err := m.enter()
	if err != nil {
		return "", err
	}
	defer m.leave()
	defer recoverError(&err)
	return raw.Describe(), nil
}

// NewStream creates a stream of the model at position 0, with zero state,
// greedy sampling and seed 0. The stream keeps the model alive.
func (m *Model) NewStream() (*Stream, error) {
	raw, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer m.leave()
	return newStream(m.info, func() cseqcore.Stream { return cseqcore.NewStream(raw) })
}

// Tokenizer is the kind of tokenizer a model carries (seqc_tokenizer_kind).
type Tokenizer int

const (
	// TokenizerNone: the model takes frames, or token ids made elsewhere.
	TokenizerNone Tokenizer = 0
	// TokenizerBytes: token id = byte value (vocabulary 256).
	TokenizerBytes Tokenizer = 1
	// TokenizerBPE: HuggingFace byte-level BPE from a tokenizer.json,
	// encoding exactly as HF tokenizers does.
	TokenizerBPE Tokenizer = 2
)

func (k Tokenizer) String() string {
	switch k {
	case TokenizerNone:
		return "none"
	case TokenizerBytes:
		return "bytes"
	case TokenizerBPE:
		return "bpe"
	}
	return "Tokenizer(" + itoa(int(k)) + ")"
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Flags of TokenizeWith and of the Detokenize / TokenBytes variants.
const (
	// AddSpecial adds the tokenizer's BOS/EOS around the text (HF's
	// add_special_tokens); the GPT-NeoX tokenizer adds none.
	AddSpecial = 1
	// SpecialAsText does not match special tokens such as "<|endoftext|>" in
	// the text (for untrusted input).
	SpecialAsText = 2
	// SkipSpecial leaves special tokens out of decoded text.
	SkipSpecial = 1
)

// Tokenizer returns the model's tokenizer kind.
func (m *Model) Tokenizer() Tokenizer { return m.information().tokenizer }

// Tokenize returns the token ids of text (any bytes: invalid UTF-8 encodes
// byte by byte), without BOS/EOS and with special tokens matched. A model
// without a tokenizer gives ErrUnsupported.
func (m *Model) Tokenize(text string) ([]int32, error) { return m.TokenizeWith(text, 0) }

// TokenizeWith is Tokenize with flags (AddSpecial, SpecialAsText).
func (m *Model) TokenizeWith(text string, flags int) (ids []int32, err error) {
	raw, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer m.leave()
	defer recoverError(&err)
	data := []byte(text)
	// A byte-level tokenizer gives at most one id per byte, plus a few specials.
	ids = make([]int32, len(data)+8)
	n := int(raw.Tokenize_into(data, flags, ids))
	if n > len(ids) {
		ids = make([]int32, n)
		n = int(raw.Tokenize_into(data, flags, ids))
	}
	return ids[:n:n], nil
}

// DetokenizeBytes returns the bytes of the text of ids. Ids the tokenizer
// has no token for (padding rows of a larger embedding) give none; an id
// outside the vocabulary gives ErrInvalidArgument.
func (m *Model) DetokenizeBytes(ids []int32, flags int) (text []byte, err error) {
	raw, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer m.leave()
	defer recoverError(&err)
	buf := make([]byte, 4*len(ids)+16)
	n := int(raw.Detokenize_into(ids, flags, buf))
	if n > len(buf) {
		buf = make([]byte, n)
		n = int(raw.Detokenize_into(ids, flags, buf))
	}
	return buf[:n:n], nil
}

// Detokenize returns the text of ids. Bytes that are not UTF-8 become U+FFFD,
// one per maximal invalid subsequence, as HF's decode does.
func (m *Model) Detokenize(ids []int32) (string, error) {
	b, err := m.DetokenizeBytes(ids, 0)
	if err != nil {
		return "", err
	}
	return lossyUTF8(b), nil
}

// TokenBytes returns the bytes of one token, for streaming: they may end
// inside a UTF-8 character, so join consecutive tokens' bytes before
// decoding. flags: SkipSpecial gives nothing for a special token.
func (m *Model) TokenBytes(id int32, flags int) (b []byte, err error) {
	raw, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer m.leave()
	defer recoverError(&err)
	buf := make([]byte, 64)
	n := int(raw.Token_bytes_into(int(id), flags, buf))
	if n > len(buf) {
		buf = make([]byte, n)
		n = int(raw.Token_bytes_into(int(id), flags, buf))
	}
	return buf[:n:n], nil
}

// TokenID returns the id of a token given by its spelling: a special
// token's text ("<|endoftext|>") or a vocabulary entry as the tokenizer.json
// writes it. ok is false when there is none.
func (m *Model) TokenID(token string) (id int32, ok bool, err error) {
	raw, err := m.enter()
	if err != nil {
		return -1, false, err
	}
	defer m.leave()
	err = func() (err error) {
		defer recoverError(&err)
		id = int32(raw.Token_id([]byte(token)))
		return nil
	}()
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return -1, false, nil
		}
		return -1, false, err
	}
	return id, true, nil
}

// lossyUTF8 replaces each maximal invalid subsequence of b with U+FFFD (the
// Unicode "best practice", as Rust's from_utf8_lossy and so HF do).
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		// The longest prefix of a valid sequence starting at b[i].
		c0 := b[i]
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c0 >= 0xC2 && c0 <= 0xDF:
			need = 1
		case c0 >= 0xE0 && c0 <= 0xEF:
			need = 2
			if c0 == 0xE0 {
				lo = 0xA0
			} else if c0 == 0xED {
				hi = 0x9F
			}
		case c0 >= 0xF0 && c0 <= 0xF4:
			need = 3
			if c0 == 0xF0 {
				lo = 0x90
			} else if c0 == 0xF4 {
				hi = 0x8F
			}
		}
		k := 1
		if need > 0 && i+1 < len(b) && b[i+1] >= lo && b[i+1] <= hi {
			k = 2
			for k <= need && i+k < len(b) && b[i+k]&0xC0 == 0x80 {
				k++
			}
		}
		out = append(out, "\uFFFD"...)
		i += k
	}
	return string(out)
}
