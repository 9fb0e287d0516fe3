package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

// Past the retention, a finished link's events go; the link seen again later (a late webhook, a
// sweep) makes no new event, since its state is kept. A negative retention keeps everything.
func TestPurgePastTheRetention(t *testing.T) {
	for _, tt := range []struct {
		name      string
		retention time.Duration
		purged    int
	}{
		{"default 30 days", 0, 2},
		{"kept forever", -1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Retention = tt.retention })
			ctx := context.Background()
			l := link("hub2", "pl_old", paylink.StatusActive)
			created, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
			must(t, err)
			l.Status = paylink.StatusCompleted
			_, err = e.svc.Observe(ctx, Observation{Link: l, Source: SourcePoll})
			must(t, err)

			e.clock.Advance(29 * 24 * time.Hour)
			if n, err := e.svc.Purge(ctx); err != nil || n != 0 {
				t.Fatalf("purge within the retention = %d, %v", n, err)
			}
			e.clock.Advance(2 * 24 * time.Hour)
			if n, err := e.svc.Purge(ctx); err != nil || n != tt.purged {
				t.Fatalf("purge = %d, %v; want %d", n, err, tt.purged)
			}
			_, err = e.svc.GetEvent(ctx, created[0].ID)
			if gone := errors.Is(err, ErrNotFound); gone != (tt.purged > 0) {
				t.Fatalf("the created event after the purge: %v", err)
			}
			again, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceProviderWebhook})
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("seen again after the purge: %v, want no event", types(again))
			}
		})
	}
}

// Concurrent Watch calls (creates through the passthrough) are grouped into transactions: each
// returns once its own link is stored, and every link is polled.
func TestConcurrentWatchesAreAllStored(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := paylink.NewID("hub2", fmt.Sprintf("pl_%02d", i))
			if err := e.svc.Watch(ctx, id); err != nil {
				errs <- err
				return
			}
			// Stored when Watch returns.
			if st, err := e.svc.Store().LinkState(ctx, string(id)); err != nil || st.NextPollAt.IsZero() {
				errs <- fmt.Errorf("%s after Watch: %+v %v", id, st, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := e.svc.Watch(ctx, "nonsense"); err == nil {
		t.Error("an id that is not a paylinks id was watched")
	}
}
