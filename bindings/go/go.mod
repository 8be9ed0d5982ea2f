module github.com/libseqcore/libseqcore/bindings/go

go 1.19
