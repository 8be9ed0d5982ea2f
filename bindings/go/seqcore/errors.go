package seqcore

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// Status is a libseqcore status code. The values are those of the C ABI,
// pinned forever. A Status is an error too, so that
//
//	errors.Is(err, seqcore.ErrShape)
//
// reports whether err is a library failure with that status.
type Status int

// The status codes of the C ABI (seqc_status).
const (
	OK Status = 0
	// A nil or closed handle, a bad enum value, a token outside the
	// vocabulary, frames given to a token model or tokens to a frame model.
	ErrInvalidArgument Status = -1
	// An allocation failed.
	ErrOutOfMemory Status = -2
	// A file could not be opened, read or written.
	ErrIO Status = -3
	// A model file or snapshot is malformed (truncated, bad offsets, bad JSON).
	ErrFormat Status = -4
	// A format version this library does not read.
	ErrVersion Status = -5
	// A snapshot's checksum does not match its bytes.
	ErrChecksum Status = -6
	// A config value of the model is invalid.
	ErrConfig Status = -7
	// A block names a plugin the registry does not know.
	ErrUnknownPlugin Status = -8
	// A weight tensor a block needs is not in the file.
	ErrMissingTensor Status = -9
	// A tensor or buffer has the wrong shape or length.
	ErrShape Status = -10
	// A tensor has a dtype that is not accepted there.
	ErrDType Status = -11
	// A snapshot of another model, or streams of different models mixed.
	ErrMismatch Status = -12
	// A caller buffer is too small.
	ErrBufferTooSmall Status = -13
	// A named item (state tensor, registry entry) does not exist.
	ErrNotFound Status = -14
	// A valid request this build, device or plugin cannot do.
	ErrUnsupported Status = -15
	// The requested device does not exist or has no driver.
	ErrNoDevice Status = -16
	// The stream is in use by a call on another goroutine.
	ErrBusy Status = -17
	// A bug in the library or in this binding; the message says where.
	ErrInternal Status = -18
)

// String returns the library's English name of the status ("invalid
// argument"); unknown codes give "unknown status".
func (s Status) String() string {
	if s < -1<<31 || s > 1<<31-1 {
		return "unknown status"
	}
	return cseqcore.Status_string(int(s))
}

// Error makes a Status usable as an error, mainly as the target of errors.Is.
func (s Status) Error() string { return "seqcore: " + s.String() }

// ErrClosed matches (with errors.Is) the error returned by any call on a
// handle that has been closed. Such errors are *Error values with status
// ErrInvalidArgument.
var ErrClosed = errors.New("seqcore: handle is closed")

// Error is a failure reported by libseqcore or by this binding.
type Error struct {
	// Status is the library's status code.
	Status Status
	// Message is the detail message (the library's seqc_last_error text).
	Message string

	closed bool
}

// Error returns "seqcore: <status>: <message>".
func (e *Error) Error() string {
	if e.Message == "" {
		return "seqcore: " + e.Status.String()
	}
	return "seqcore: " + e.Status.String() + ": " + e.Message
}

// Is reports whether e matches target: a Status equal to e's status, an
// *Error with the same status, or ErrClosed for a closed handle.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Status:
		return e.Status == t
	case *Error:
		return t != nil && e.Status == t.Status
	}
	return e.closed && target == ErrClosed
}

func errorf(status Status, format string, args ...interface{}) error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

func closedError(kind string) error {
	return &Error{Status: ErrInvalidArgument, Message: kind + " is closed", closed: true}
}

func nilError(kind string) error {
	return &Error{Status: ErrInvalidArgument, Message: "nil *" + kind}
}

// recoverError turns a panic of the SWIG layer into the error *errp; used as
// "defer recoverError(&err)" around every call into it. Any other panic
// (which would be a bug) becomes an ErrInternal error too: none escapes.
func recoverError(errp *error) {
	r := recover()
	if r == nil {
		return
	}
	if status, message, ok := cseqcore.DecodePanic(r); ok {
		*errp = &Error{Status: Status(status), Message: message}
		return
	}
	if e, ok := r.(runtime.Error); ok && strings.Contains(e.Error(), "cgo argument has Go pointer") {
		*errp = &Error{Status: ErrInvalidArgument, Message: "a slice argument lies in memory that also " +
			"holds Go pointers (a field of a struct with pointers, say), which cgo refuses to pass to C: " +
			"use a slice of its own allocation (" + e.Error() + ")"}
		return
	}
	*errp = &Error{Status: ErrInternal, Message: fmt.Sprintf("unexpected panic in the Go binding: %v", r)}
}
