package store

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns prefix + "_" + a ULID: unique, and sorting by time. Within one process the ids
// strictly increase (monotonic entropy), so an event id doubles as a cursor.
func NewID(prefix string, now time.Time) string {
	idMu.Lock()
	id, err := ulid.New(ulid.Timestamp(now), idEntropy)
	if err != nil {
		// The monotonic entropy overflows only after 2^80 ids in one millisecond, or when now moves
		// backwards far enough to make the time part smaller: fall back to fresh entropy.
		id = ulid.MustNew(ulid.Timestamp(now), rand.Reader)
	}
	idMu.Unlock()
	return prefix + "_" + id.String()
}

// IDTime returns the time encoded in an id made by NewID, and false for anything else.
func IDTime(id string) (time.Time, bool) {
	for i := 0; i < len(id); i++ {
		if id[i] == '_' {
			u, err := ulid.ParseStrict(id[i+1:])
			if err != nil {
				return time.Time{}, false
			}
			return ulid.Time(u.Time()), true
		}
	}
	return time.Time{}, false
}

// FloorID returns the smallest id with that prefix at the instant t: every id NewID makes at t
// or later sorts after it.
func FloorID(prefix string, t time.Time) string {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(t))
	return prefix + "_" + id.String()
}
