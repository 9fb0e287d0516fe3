package idempotency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ok := func(body string) func() (Response, bool) {
		return func() (Response, bool) { return Response{Status: 201, Body: []byte(body)}, true }
	}
	tests := []struct {
		name         string
		first, again string // fingerprints
		keepFirst    bool
		wantErr      error
		wantReplayed bool
		wantBody     string
	}{
		{"same request is replayed", "a", "a", true, nil, true, "first"},
		{"different request is refused", "a", "b", true, ErrMismatch, false, ""},
		{"released answer runs again", "a", "a", false, nil, false, "second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &Guard{Store: NewMemory()}
			_, _, err := g.Do(ctx, "k", tt.first, func() (Response, bool) { return Response{Status: 201, Body: []byte("first")}, tt.keepFirst })
			if err != nil {
				t.Fatal(err)
			}
			res, replayed, err := g.Do(ctx, "k", tt.again, ok("second"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if replayed != tt.wantReplayed || (tt.wantErr == nil && string(res.Body) != tt.wantBody) {
				t.Errorf("replayed %v body %q, want %v %q", replayed, res.Body, tt.wantReplayed, tt.wantBody)
			}
		})
	}
}

func TestGuardConcurrentRequestsRunOnce(t *testing.T) {
	t.Parallel()
	g := &Guard{Store: NewMemory(), Poll: time.Millisecond}
	var runs atomic.Int32
	var wg sync.WaitGroup
	bodies := make([]string, 50)
	for i := range bodies {
		wg.Go(func() {
			res, _, err := g.Do(context.Background(), "k", "fp", func() (Response, bool) {
				runs.Add(1)
				time.Sleep(20 * time.Millisecond)
				return Response{Status: 201, Body: []byte("only")}, true
			})
			if err != nil {
				t.Error(err)
			}
			bodies[i] = string(res.Body)
		})
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("ran %d times, want once", n)
	}
	for i, b := range bodies {
		if b != "only" {
			t.Errorf("request %d got %q", i, b)
		}
	}
}

func TestMemoryExpiry(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := m.Acquire(ctx, "k", "a", time.Minute, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire(ctx, "k", "a", time.Minute, 24*time.Hour); !errors.Is(err, ErrInFlight) {
		t.Fatalf("second acquire: %v, want ErrInFlight", err)
	}
	if err := m.Save(ctx, "k", "a", Response{Status: 200}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24*time.Hour - time.Second)
	if res, err := m.Acquire(ctx, "k", "b", time.Minute, 24*time.Hour); !errors.Is(err, ErrMismatch) || res != nil {
		t.Fatalf("before expiry: %v %v, want ErrMismatch", res, err)
	}
	now = now.Add(2 * time.Second)
	if res, err := m.Acquire(ctx, "k", "b", time.Minute, 24*time.Hour); err != nil || res != nil {
		t.Fatalf("after expiry: %v %v, want a fresh claim", res, err)
	}
}

func TestGuardFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a panicking request frees its key", func(t *testing.T) {
		t.Parallel()
		g := &Guard{Store: NewMemory()}
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic was swallowed")
				}
			}()
			_, _, _ = g.Do(ctx, "k", "fp", func() (Response, bool) { panic("boom") })
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, replayed, err := g.Do(ctx, "k", "fp", func() (Response, bool) { return Response{Status: 201}, true })
			if err != nil || replayed || res.Status != 201 {
				t.Errorf("retry after panic: %v %v %v, want a fresh run", res, replayed, err)
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("retry after a panic waits for the lock to expire")
		}
	})

	t.Run("an answer that cannot be stored yet is returned, replayed and stored later", func(t *testing.T) {
		t.Parallel()
		store := &flakyStore{Memory: NewMemory()}
		store.failSaves.Store(true)
		g := &Guard{Store: store}
		defer g.Close(ctx)
		runs := 0
		run := func() (Response, bool) {
			runs++
			return Response{Status: 201, Body: []byte("made")}, true
		}
		res, replayed, err := g.Do(ctx, "k", "fp", run)
		if !errors.Is(err, ErrNotSaved) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("err %v, want ErrNotSaved wrapping the store's error", err)
		}
		if runs != 1 || replayed || string(res.Body) != "made" {
			t.Errorf("runs %d replayed %v body %q, want the answer of the single run", runs, replayed, res.Body)
		}
		// While the store refuses, a retry on this instance gets the answer kept in memory.
		res, replayed, err = g.Do(ctx, "k", "fp", run)
		if err != nil || !replayed || string(res.Body) != "made" || runs != 1 {
			t.Errorf("retry while the store is down: %q replayed %v %v after %d runs, want the kept answer", res.Body, replayed, err, runs)
		}
		if _, _, err := g.Do(ctx, "k", "other", run); !errors.Is(err, ErrMismatch) {
			t.Errorf("another request with the key: %v, want ErrMismatch", err)
		}
		// Once the store takes answers again, the background save stores it.
		store.failSaves.Store(false)
		deadline := time.Now().Add(5 * time.Second)
		for g.Pending() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		stored, err := store.Memory.Acquire(ctx, "k", "fp", time.Minute, time.Hour)
		if err != nil || stored == nil || string(stored.Body) != "made" {
			t.Errorf("after the store came back: %v %v, want the answer stored", stored, err)
		}
	})

	t.Run("an answer without a status is never stored", func(t *testing.T) {
		t.Parallel()
		g := &Guard{Store: NewMemory()}
		defer g.Close(ctx)
		if _, _, err := g.Do(ctx, "k", "fp", func() (Response, bool) { return Response{}, true }); err != nil {
			t.Fatal(err)
		}
		res, replayed, err := g.Do(ctx, "k", "fp", func() (Response, bool) { return Response{Status: 201, Body: []byte("real")}, true })
		if err != nil || replayed || res.Status != 201 {
			t.Errorf("retry after an answer without status: %+v replayed %v %v, want a fresh run", res, replayed, err)
		}
	})

	t.Run("a claim that outlives its deadline is never run again", func(t *testing.T) {
		t.Parallel()
		m := NewMemory()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		m.now = func() time.Time { return now }
		g := &Guard{Store: m, LockTTL: time.Minute, MaxWait: 20 * time.Millisecond, Poll: time.Millisecond}
		defer g.Close(ctx)
		// The claim of an instance that died (or lost its store) mid-request.
		if _, err := m.Acquire(ctx, "k", "fp", time.Minute, DefaultTTL); err != nil {
			t.Fatal(err)
		}
		ran := false
		run := func() (Response, bool) { ran = true; return Response{Status: 201}, true }
		if _, _, err := g.Do(ctx, "k", "fp", run); !errors.Is(err, ErrInFlight) {
			t.Errorf("before the deadline: %v, want ErrInFlight once MaxWait is over", err)
		}
		now = now.Add(time.Hour)
		if _, _, err := g.Do(ctx, "k", "fp", run); !errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("after the deadline: %v, want ErrOutcomeUnknown", err)
		}
		if ran {
			t.Error("the request ran a second time under the key")
		}
	})
}

// flakyStore is a Memory whose saves and releases fail while told to.
type flakyStore struct {
	*Memory
	failSaves atomic.Bool
}

func (f *flakyStore) Save(ctx context.Context, key, fp string, res Response, ttl time.Duration) error {
	if f.failSaves.Load() {
		return ErrUnavailable
	}
	return f.Memory.Save(ctx, key, fp, res, ttl)
}

// TestMemoryBound fills a small store: the oldest answers are forgotten to stay within the bound,
// claims of running requests never are, and the store reports its size.
func TestMemoryBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const limit = 64 << 10
	m := NewMemorySized(limit)
	body := make([]byte, 1000)
	if _, err := m.Acquire(ctx, "running", "fp", time.Hour, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		key := fmt.Sprint("k", i)
		if _, err := m.Acquire(ctx, key, "fp", time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := m.Save(ctx, key, "fp", Response{Status: 201, Body: body}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	records, bytes := m.Size()
	if m.Evicted() != int64(1000-(records-1)) {
		t.Errorf("%d evictions counted, want %d (1000 answers, %d kept)", m.Evicted(), 1000-(records-1), records-1)
	}
	if bytes > limit || records < 30 {
		t.Errorf("%d records of %d bytes, want at most %d bytes and many records", records, bytes, limit)
	}
	if res, err := m.Acquire(ctx, "k999", "fp", time.Minute, time.Hour); err != nil || res == nil {
		t.Errorf("newest answer: %v %v, want it kept", res, err)
	}
	if res, err := m.Acquire(ctx, "k0", "other", time.Minute, time.Hour); err != nil || res != nil {
		t.Errorf("oldest answer: %v %v, want it forgotten", res, err)
	}
	if _, err := m.Acquire(ctx, "running", "fp", time.Hour, time.Hour); !errors.Is(err, ErrInFlight) {
		t.Errorf("claim of a running request: %v, want it kept (ErrInFlight)", err)
	}
}

// savesStore counts the saves that reach it.
type savesStore struct {
	*Memory
	saves atomic.Int32
}

func (s *savesStore) Save(ctx context.Context, key, fp string, res Response, ttl time.Duration) error {
	s.saves.Add(1)
	return s.Memory.Save(ctx, key, fp, res, ttl)
}

// An answer whose day ran out while it waited to be written is not saved (at Close the time left
// is computed; a non-positive TTL would keep a Redis record for good).
func TestExpiredPendingAnswerIsNotSaved(t *testing.T) {
	st := &savesStore{Memory: NewMemory()}
	g := &Guard{Store: st}
	if err := g.writeOnce(context.Background(), "k", "fp", &Response{Status: 201}, -time.Second); err != nil {
		t.Fatal(err)
	}
	if err := g.writeOnce(context.Background(), "k2", "fp", &Response{Status: 201}, 0); err != nil {
		t.Fatal(err)
	}
	if n := st.saves.Load(); n != 0 {
		t.Errorf("%d saves of expired answers", n)
	}
	if err := g.writeOnce(context.Background(), "k3", "fp", &Response{Status: 201}, time.Hour); err != nil || st.saves.Load() != 1 {
		t.Errorf("a live answer: %v, %d saves", err, st.saves.Load())
	}
}
