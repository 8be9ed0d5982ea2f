// Package seqcore is the Go binding of libseqcore, an embeddable runtime for
// stateful sequence models (LSTM and GRU language and signal models).
//
// A [Model] is loaded once (from a file or from bytes) and shared by any
// number of goroutines. Each sequence being processed gets its own [Stream],
// which holds the recurrent state, the position and the sampler:
//
//	model, err := seqcore.LoadModel("models/kjv-lstm.safetensors")
//	if err != nil { ... }
//	defer model.Close()
//
//	stream, err := model.NewStream()
//	if err != nil { ... }
//	defer stream.Close()
//
//	logits, err := stream.ForwardTokens(seqcore.ByteTokens("In the beginning"), seqcore.OutputLast)
//
// # Ownership
//
// Every handle ([Runtime], [Model], [Stream]) owns a library object and must
// be released with Close. Close is idempotent, and handles may be closed in
// any order: a stream keeps its model alive and a model its runtime, so
// closing a model while its streams are still in use is safe. Any call on a
// closed handle (or on a nil handle) returns an error matching [ErrClosed]
// (or [ErrInvalidArgument]) instead of crashing. A finalizer releases a
// handle that becomes unreachable without Close, but only as a safety net:
// the garbage collector does not see the native memory a handle holds and
// may run late or never, so always call Close.
//
// # Errors
//
// Failures are returned as *[Error], carrying the library's [Status] and
// message. Statuses are also errors, so errors.Is(err, seqcore.ErrShape)
// tests the status, and errors.As retrieves the *Error. No function of this
// package panics: the SWIG layer underneath reports library failures with a
// panic that the binding recovers into an error within the same call.
//
// # Concurrency
//
// Runtimes, models, the registry and the version functions may be used from
// any goroutine. A stream is not safe for concurrent use: use each stream
// from one goroutine at a time (it may move between goroutines). Two calls
// that do overlap on one stream are detected by the library; the second
// fails with [ErrBusy] and leaves the stream unchanged. Close waits for the
// calls in flight on that handle to return.
//
// # Slices
//
// Inputs ([]float32 frames, []int32 tokens, []byte buffers) are handed to the
// library without copying, for the duration of the call only. Methods that
// produce floats come in two forms: one that allocates and returns the
// result (Step, Forward, ...) and one that writes into a caller slice
// (StepInto, ForwardInto, ...) for allocation-free loops.
//
// # Building
//
// The package uses cgo and runs SWIG on the shared interface
// (bindings/swig/seqcore.i) through the go tool. It needs swig, a C compiler
// and libseqcore found by pkg-config ("seqcore"); see bindings/go/README.md.
package seqcore
