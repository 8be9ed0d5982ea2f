module github.com/libseqcore/libseqcore/examples/go

go 1.19

require github.com/libseqcore/libseqcore/bindings/go v0.0.0

replace github.com/libseqcore/libseqcore/bindings/go => ../../bindings/go
