package events

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// pollTimes steps the clock by step until end, running the poller each time, and returns the
// offsets from t0 at which the link was polled.
func (e *env) pollTimes(t *testing.T, id paylink.ID, step, end time.Duration) []time.Duration {
	t.Helper()
	var at []time.Duration
	for e.clock.Now().Sub(t0) < end {
		e.clock.Advance(step)
		before := e.getter.count(id)
		if _, err := e.svc.Poller().RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if e.getter.count(id) > before {
			at = append(at, e.clock.Now().Sub(t0))
		}
	}
	return at
}

func secs(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprint(d.Seconds()))
	}
	return fmt.Sprint(out)
}

func TestPollCadenceExpiryAndStop(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PollSchedule = "10s:1m,1m" })
	ctx := context.Background()
	l := link("telness", "o-1", paylink.StatusActive)
	l.ExpiresAt = t0.Add(42 * time.Second)
	e.getter.set(l)
	_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
	must(t, err)
	got := e.pollTimes(t, l.ID, time.Second, 3*time.Minute)
	// Every 10 s for a minute, one poll 5 s after expiresAt, then every minute.
	if want := "[10 20 30 40 47 50 60 120 180]"; secs(got) != want {
		t.Fatalf("polls at %s, want %s", secs(got), want)
	}
	// The provider reports it expired: one expired event (source poll), and polling stops.
	l.Status = paylink.StatusExpired
	e.getter.set(l)
	got = e.pollTimes(t, l.ID, 10*time.Second, 10*time.Minute)
	if len(got) != 1 {
		t.Fatalf("polls after expiry: %s", secs(got))
	}
	p, _ := e.svc.ListEvents(ctx, EventFilter{LinkID: string(l.ID), Type: string(LinkExpired)})
	if len(p.Items) != 1 || p.Items[0].Data.Source != SourcePoll {
		t.Fatalf("expired events = %+v", p.Items)
	}
	st, _ := e.svc.Store().LinkState(ctx, string(l.ID))
	if !st.NextPollAt.IsZero() {
		t.Fatal("a terminal link is still scheduled")
	}
}

func TestPollBackoffAndNotFound(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PollSchedule = "10s" })
	ctx := context.Background()
	l := link("hub2", "pl_1", paylink.StatusActive)
	e.getter.set(l)
	_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
	must(t, err)
	e.getter.fail(l.ID, &paylink.ProviderError{Provider: "hub2", Kind: paylink.ErrProviderUnavailable, Status: 503})
	got := e.pollTimes(t, l.ID, time.Second, 160*time.Second)
	// Failures back off: 10 s, then 10, 20, 40, 80 s after each failure.
	if want := "[10 20 40 80 160]"; secs(got) != want {
		t.Fatalf("polls at %s, want %s", secs(got), want)
	}
	st, _ := e.svc.Store().LinkState(ctx, string(l.ID))
	if st.Failures != 5 {
		t.Fatalf("failures = %d", st.Failures)
	}
	// Recovered: back on the schedule, failures reset.
	e.getter.fail(l.ID, nil)
	got = e.pollTimes(t, l.ID, time.Second, 420*time.Second)
	// The poll after the fifth failure was due 160 s later (320 s), then every 10 s again.
	if len(got) != 11 || got[0] != 320*time.Second || got[1] != 330*time.Second {
		t.Fatalf("polls after recovery: %s", secs(got))
	}
	if st, _ = e.svc.Store().LinkState(ctx, string(l.ID)); st.Failures != 0 {
		t.Fatalf("failures after recovery = %d", st.Failures)
	}
	// The provider forgets the link: polling stops.
	e.getter.fail(l.ID, fmt.Errorf("%w: gone", paylink.ErrNotFound))
	got = e.pollTimes(t, l.ID, 10*time.Second, 20*time.Minute)
	if len(got) != 1 {
		t.Fatalf("polls after not found: %s", secs(got))
	}
}

// A link paylinks is told about (Watch) is polled at once; already paid, it emits created and
// completed, both from the poll.
func TestWatchToldLink(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	l := link("telness", "inv-7", paylink.StatusCompleted)
	e.getter.set(l)
	must(t, e.svc.Watch(ctx, l.ID))
	must(t, e.svc.Watch(ctx, l.ID)) // twice is once
	n, err := e.svc.Poller().RunOnce(ctx)
	must(t, err)
	p, _ := e.svc.ListEvents(ctx, EventFilter{LinkID: string(l.ID)})
	if n != 1 || fmt.Sprint(types(p.Items)) != "[payment_link.completed payment_link.created]" || p.Items[0].Data.Source != SourcePoll {
		t.Fatalf("polled %d, events %v", n, types(p.Items))
	}
	e.clock.Advance(48 * time.Hour)
	if n, _ := e.svc.Poller().RunOnce(ctx); n != 0 {
		t.Fatal("a completed link is polled again")
	}
}

// The budget holds across instances: two Services on one store share the provider's bucket.
func TestPollBudgetShared(t *testing.T) {
	budget := map[string]store.Rate{"mijnklantportaal": {Per: 6, Every: time.Minute, Burst: 3}}
	a := newEnv(t, func(c *Config) { c.PollSchedule = "1s"; c.PollBudgets = budget })
	b := newEnv(t, func(c *Config) {
		c.Store = sqliteStore(t, a.svc.cfg.DataDir)
		c.PollSchedule = "1s"
		c.PollBudgets = budget
		c.Clock = a.clock.Now
		c.Getter = a.getter
	})
	ctx := context.Background()
	var ids []paylink.ID
	for i := 0; i < 10; i++ {
		l := link("mijnklantportaal", fmt.Sprint("pl_", i), paylink.StatusActive)
		a.getter.set(l)
		ids = append(ids, l.ID)
		_, err := a.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
		must(t, err)
	}
	tel := link("telness", "o-free", paylink.StatusActive)
	a.getter.set(tel)
	_, err := a.svc.Observe(ctx, Observation{Link: tel, Source: SourceAPI})
	must(t, err)
	total := func() int {
		n := 0
		for _, id := range ids {
			n += a.getter.count(id)
		}
		return n
	}
	for s := 0; s < 60; s++ {
		a.clock.Advance(time.Second)
		var wg sync.WaitGroup
		for _, svc := range []*Service{a.svc, b.svc} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Poller().RunOnce(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	// One minute: the burst of 3 plus 6 refilled, whatever the number of instances.
	if n := total(); n < 8 || n > 9 {
		t.Fatalf("MijnKlantportaal polled %d times in a minute with a budget of 3 + 6/min", n)
	}
	// The budget throttles only its provider.
	if n := a.getter.count(tel.ID); n < 50 {
		t.Fatalf("Telness (no budget) polled %d times in 60 s at 1 s", n)
	}
}

func TestPollNeedsGetter(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Getter = nil })
	if _, err := e.svc.Poller().RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce without a Getter succeeded")
	}
}
