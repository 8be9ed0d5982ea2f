//go:build !race

package seqcore

const raceEnabled = false
