package idempotency_test

import (
	"context"
	"errors"
	"fmt"
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

	if res, err := a.Acquire(ctx, "k1", "fp", time.Minute, time.Hour); res != nil || err != nil {
		t.Fatalf("first claim: %v %v", res, err)
	}
	if _, err := b.Acquire(ctx, "k1", "fp", time.Minute, time.Hour); !errors.Is(err, idempotency.ErrInFlight) {
		t.Fatalf("claim on the other instance: %v, want ErrInFlight", err)
	}
	if err := a.Save(ctx, "k1", "fp", idempotency.Response{Status: 201, Body: []byte(`{"id":"x"}`)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := b.Acquire(ctx, "k1", "fp", time.Minute, time.Hour)
	if err != nil || res == nil || res.Status != 201 || string(res.Body) != `{"id":"x"}` {
		t.Fatalf("replay on the other instance: %+v %v", res, err)
	}
	if _, err := b.Acquire(ctx, "k1", "other", time.Minute, time.Hour); !errors.Is(err, idempotency.ErrMismatch) {
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
	if _, err := a.Acquire(ctx, "k3", "fp", time.Minute, time.Hour); !errors.Is(err, idempotency.ErrUnavailable) {
		t.Errorf("with Redis down: %v, want ErrUnavailable", err)
	}
	if a.Ping(ctx) == nil {
		t.Error("Ping succeeded with Redis down")
	}
}

// TestRedisLostBetweenRunAndSave cuts one instance off Redis while its request runs, as a
// partition or a Redis restart would: the key must never run a second time. The other instance's
// retries get ErrInFlight, then ErrOutcomeUnknown once the claim's deadline passed, instead of
// running it again; the first instance replays its answer from memory and stores it as soon as
// Redis is back, after which every instance replays it.
func TestRedisLostBetweenRunAndSave(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	proxy, proxyURL := srv.Proxy(t)
	ctx := context.Background()
	viaProxy, err := idempotency.NewRedis(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := idempotency.NewRedis(srv.URL)
	defer viaProxy.Close()
	defer direct.Close()
	const lockTTL = 2 * time.Second
	a := &idempotency.Guard{Store: viaProxy, LockTTL: lockTTL, Poll: 5 * time.Millisecond, SaveTimeout: 200 * time.Millisecond}
	b := &idempotency.Guard{Store: direct, LockTTL: lockTTL, MaxWait: 50 * time.Millisecond, Poll: 5 * time.Millisecond}
	defer a.Close(ctx)
	defer b.Close(ctx)

	var runs atomic.Int32
	create := func() (idempotency.Response, bool) {
		n := runs.Add(1)
		return idempotency.Response{Status: 201, Body: []byte(fmt.Sprint("link ", n))}, true
	}
	res, _, err := a.Do(ctx, "k", "fp", func() (idempotency.Response, bool) {
		proxy.Cut() // Redis goes away while the provider is answering
		return create()
	})
	if !errors.Is(err, idempotency.ErrNotSaved) || string(res.Body) != "link 1" {
		t.Fatalf("first request: %q %v, want its answer and ErrNotSaved", res.Body, err)
	}
	if _, _, err := b.Do(ctx, "k", "fp", create); !errors.Is(err, idempotency.ErrInFlight) {
		t.Errorf("retry on the other instance before the claim's deadline: %v, want ErrInFlight", err)
	}
	time.Sleep(lockTTL)
	if _, _, err := b.Do(ctx, "k", "fp", create); !errors.Is(err, idempotency.ErrOutcomeUnknown) {
		t.Errorf("retry on the other instance after the claim's deadline: %v, want ErrOutcomeUnknown", err)
	}
	if res, replayed, err := a.Do(ctx, "k", "fp", create); err != nil || !replayed || string(res.Body) != "link 1" {
		t.Errorf("retry on the first instance while cut off: %q %v %v, want the answer it kept", res.Body, replayed, err)
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for a.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if res, replayed, err := b.Do(ctx, "k", "fp", create); err != nil || !replayed || string(res.Body) != "link 1" {
		t.Errorf("retry on the other instance once Redis is back: %q %v %v, want the first answer", res.Body, replayed, err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the key ran %d times, want once", n)
	}
}
