package idempotency

import (
	"context"
	"errors"
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
	if _, err := m.Acquire(ctx, "k", "a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire(ctx, "k", "a", time.Minute); !errors.Is(err, ErrInFlight) {
		t.Fatalf("second acquire: %v, want ErrInFlight", err)
	}
	if err := m.Save(ctx, "k", "a", Response{Status: 200}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24*time.Hour - time.Second)
	if res, err := m.Acquire(ctx, "k", "b", time.Minute); !errors.Is(err, ErrMismatch) || res != nil {
		t.Fatalf("before expiry: %v %v, want ErrMismatch", res, err)
	}
	now = now.Add(2 * time.Second)
	if res, err := m.Acquire(ctx, "k", "b", time.Minute); err != nil || res != nil {
		t.Fatalf("after expiry: %v %v, want a fresh claim", res, err)
	}
}

// failingSave is a store that claims keys but cannot keep answers.
type failingSave struct{ *Memory }

func (failingSave) Save(context.Context, string, string, Response, time.Duration) error {
	return ErrUnavailable
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

	t.Run("an answer that cannot be stored is still returned", func(t *testing.T) {
		t.Parallel()
		g := &Guard{Store: failingSave{NewMemory()}}
		runs := 0
		res, replayed, err := g.Do(ctx, "k", "fp", func() (Response, bool) {
			runs++
			return Response{Status: 201, Body: []byte("made")}, true
		})
		if !errors.Is(err, ErrNotSaved) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("err %v, want ErrNotSaved wrapping the store's error", err)
		}
		if runs != 1 || replayed || string(res.Body) != "made" {
			t.Errorf("runs %d replayed %v body %q, want the answer of the single run", runs, replayed, res.Body)
		}
	})
}
