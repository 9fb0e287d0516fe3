package sandbox

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestReplaysLookupDoesNotWalkEveryKey uses many keys, then more: looking a key up and expiring old
// ones must not visit every record kept (it did, making a simulator quadratic over a day of keyed
// requests), while records still expire after their retention.
func TestReplaysLookupDoesNotWalkEveryKey(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	clock := NewClock(t0)
	m := NewReplays(clock, 24*time.Hour)
	const keys = 5000
	for i := range keys {
		scope := "k\x00" + strconv.Itoa(i)
		if _, err := m.Begin(scope, "fp"); err != nil {
			t.Fatal(err)
		}
		m.Finish(scope, Answer{Status: 201, Body: []byte(`{}`)})
		_ = clock.Advance(time.Millisecond)
	}
	m.examined = 0
	_ = clock.Advance(time.Minute)
	for i := range 100 {
		if _, err := m.Begin("new\x00"+strconv.Itoa(i), "fp"); err != nil {
			t.Fatal(err)
		}
	}
	if m.examined > 200 {
		t.Errorf("100 new keys examined %d records of %d kept: every lookup walks them all", m.examined, keys)
	}
	if a, err := m.Begin("k\x000", "fp"); a == nil || err != nil {
		t.Errorf("key 0 a minute later: %v %v, want its stored answer", a, err)
	}
	_ = clock.Advance(24*time.Hour - time.Minute - 4*time.Second)
	if a, err := m.Begin("k\x000", "other"); a != nil || err != nil {
		t.Errorf("key 0 after 24 h: %v %v, want it forgotten", a, err)
	}
	if _, err := m.Begin("k\x004999", "other"); !errors.Is(err, ErrKeyReused) {
		t.Errorf("the last key just before its 24 h: %v, want it still kept", err)
	}
}

// BenchmarkReplaysBegin is one new key among a day's worth of keys already used.
func BenchmarkReplaysBegin(b *testing.B) {
	m := NewReplays(NewClock(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)), 24*time.Hour)
	for i := range 100_000 {
		m.Begin("old\x00"+strconv.Itoa(i), "fp")
	}
	for i := 0; b.Loop(); i++ {
		m.Begin("new\x00"+strconv.Itoa(i), "fp")
	}
}
