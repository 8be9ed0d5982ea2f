// Package cseqcore is the raw SWIG layer of the Go binding: the go tool runs
// SWIG on cseqcore.swig (a link to bindings/swig/seqcore.i) and compiles the
// generated wrapper with cgo. It is internal; use package seqcore.
//
// Every function of this package may panic with a library failure (see
// DecodePanic); package seqcore recovers those into errors.
package cseqcore

// The linker flags must come from a hand-written file: "#cgo" lines that
// SWIG inserts are ignored when the go tool runs SWIG. The -I lets SWIG (the
// go tool passes -I flags on to it) find the Go overlays of seqcore.i.

/*
#cgo pkg-config: seqcore
#cgo CPPFLAGS: -I${SRCDIR}/../../../swig
*/
import "C"
