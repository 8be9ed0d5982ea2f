//go:build race

package seqcore

// The race detector's shadow memory grows with every allocation, so the
// resident-memory bound of TestLeak does not apply under -race.
const raceEnabled = true
