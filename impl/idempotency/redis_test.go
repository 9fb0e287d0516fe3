package idempotency_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/idempotency"
	"github.com/paylinks/paylinks/impl/internal/redistest"
)

func TestRedisStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	// Two stores stand for two instances sharing one Redis.
	a, err := idempotency.NewRedis(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := idempotency.NewRedis(srv.URL)
	defer a.Close()
	defer b.Close()

	if res, err := a.Acquire(ctx, "k1", "fp", time.Minute); res != nil || err != nil {
		t.Fatalf("first claim: %v %v", res, err)
	}
	if _, err := b.Acquire(ctx, "k1", "fp", time.Minute); !errors.Is(err, idempotency.ErrInFlight) {
		t.Fatalf("claim on the other instance: %v, want ErrInFlight", err)
	}
	if err := a.Save(ctx, "k1", "fp", idempotency.Response{Status: 201, Body: []byte(`{"id":"x"}`)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := b.Acquire(ctx, "k1", "fp", time.Minute)
	if err != nil || res == nil || res.Status != 201 || string(res.Body) != `{"id":"x"}` {
		t.Fatalf("replay on the other instance: %+v %v", res, err)
	}
	if _, err := b.Acquire(ctx, "k1", "other", time.Minute); !errors.Is(err, idempotency.ErrMismatch) {
		t.Fatalf("other request: %v, want ErrMismatch", err)
	}

	// Concurrent requests on both instances: one runs.
	var runs atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		store := a
		if i%2 == 1 {
			store = b
		}
		g := &idempotency.Guard{Store: store, Poll: 5 * time.Millisecond}
		wg.Go(func() {
			res, _, err := g.Do(ctx, "k2", "fp", func() (idempotency.Response, bool) {
				runs.Add(1)
				time.Sleep(30 * time.Millisecond)
				return idempotency.Response{Status: 200, Body: []byte("once")}, true
			})
			if err != nil || string(res.Body) != "once" {
				t.Errorf("%q %v", res.Body, err)
			}
		})
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("ran %d times across instances, want once", n)
	}

	srv.Stop()
	if _, err := a.Acquire(ctx, "k3", "fp", time.Minute); !errors.Is(err, idempotency.ErrUnavailable) {
		t.Errorf("with Redis down: %v, want ErrUnavailable", err)
	}
	if a.Ping(ctx) == nil {
		t.Error("Ping succeeded with Redis down")
	}
}
