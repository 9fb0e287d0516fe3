package inbound

import "time"

// SetKeyTimes sets how long read secrets are fresh and usable, for a test that does not run in
// parallel (the parallel ones wait for it); the returned function restores them.
func SetKeyTimes(fresh, usable time.Duration) (restore func()) {
	f, u := keysFor, keysUsable
	keysFor, keysUsable = fresh, usable
	return func() { keysFor, keysUsable = f, u }
}
