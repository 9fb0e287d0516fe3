package events

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/internal/pgtest"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Two instances (dispatchers running in the background, real clock) on one PostgreSQL: every
// event × endpoint is delivered successfully exactly once.
func TestTwoDispatchersPostgresDeliverOnce(t *testing.T) {
	url := pgtest.NewDB(t)
	mk := func() *Service {
		svc, err := Open(context.Background(), Config{DatabaseURL: url, AllowPrivate: true, RenderLink: render,
			Delivery: DeliveryConfig{Idle: 20 * time.Millisecond, PerEndpoint: 4, Concurrency: 16}})
		must(t, err)
		t.Cleanup(func() { svc.Close() })
		return svc
	}
	a, b := mk(), mk()
	ctx := context.Background()
	var rcvs []*eventstest.Receiver
	for i := 0; i < 3; i++ {
		rcv := eventstest.NewReceiver(t)
		_, secret, err := a.CreateEndpoint(ctx, EndpointInput{URL: rcv.URL()})
		must(t, err)
		rcv.SetSecrets(secret)
		rcvs = append(rcvs, rcv)
	}
	a.Start()
	b.Start()
	const links = 40
	var wg sync.WaitGroup
	for i := 0; i < links; i++ {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Observe(ctx, Observation{Link: link("hub2", fmt.Sprint("pl_", i), paylink.StatusCompleted), Source: SourcePoll})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, rcv := range rcvs {
		rcv.Wait(2*links, 30*time.Second)
		time.Sleep(200 * time.Millisecond) // let a duplicate, if any, arrive
		reqs := rcv.Requests()
		seen := map[string]int{}
		for _, r := range reqs {
			if !r.VerifyOK {
				t.Fatalf("unverified request: %v", r.VerifyErr)
			}
			seen[r.ID]++
		}
		if len(seen) != 2*links || len(reqs) != 2*links {
			t.Fatalf("receiver got %d requests for %d events, want each once of %d", len(reqs), len(seen), 2*links)
		}
	}
	must(t, a.Stop(ctx))
	must(t, b.Stop(ctx))
	n, _, err := a.Store().Backlog(ctx)
	must(t, err)
	if n != 0 {
		t.Fatalf("backlog %d after every delivery", n)
	}
}

// An instance that dies mid-delivery (claims, never reports) has its leases taken over by
// another once they expire; the dead attempt stays in the log as abandoned; the late result of
// the dead instance, if it ever comes, is ignored.
func TestKilledDispatcherIsTakenOverPostgres(t *testing.T) {
	url := pgtest.NewDB(t)
	clock := eventstest.NewClock(t0)
	mk := func() *Service {
		svc, err := Open(context.Background(), Config{DatabaseURL: url, AllowPrivate: true, RenderLink: render, Clock: clock.Now,
			Delivery: DeliveryConfig{Jitter: -1, LeaseFor: time.Minute}})
		must(t, err)
		t.Cleanup(func() { svc.Close() })
		return svc
	}
	a, b := mk(), mk()
	ctx := context.Background()
	rcv := eventstest.NewReceiver(t)
	rcv.SetNow(clock.Now)
	ep, secret, err := a.CreateEndpoint(ctx, EndpointInput{URL: rcv.URL()})
	must(t, err)
	rcv.SetSecrets(secret)
	for i := 0; i < 5; i++ {
		_, err := a.Observe(ctx, Observation{Link: link("hub2", fmt.Sprint("pl_", i), paylink.StatusActive), Source: SourceAPI})
		must(t, err)
	}
	// "a" claims everything and dies before posting (kill -9 between claim and result).
	claims, err := a.Store().ClaimDeliveries(ctx, store.ClaimQuery{Owner: "a", Now: clock.Now(), LeaseFor: time.Minute, Limit: 100})
	must(t, err)
	if len(claims) != 5 {
		t.Fatalf("a claimed %d", len(claims))
	}
	if n, _ := b.Dispatcher().RunOnce(ctx); n != 0 {
		t.Fatal("b took deliveries under a live lease")
	}
	clock.Advance(61 * time.Second)
	if n, _ := b.Dispatcher().RunOnce(ctx); n != 5 {
		t.Fatalf("b took over %d of 5 expired leases", n)
	}
	// a's ghost reports success for one: ignored.
	applied, err := a.Store().CompleteDeliveries(ctx, []store.Result{{DeliveryID: claims[0].Delivery.ID, Owner: claims[0].Owner, Attempt: 1,
		Status: store.DeliveryDelivered, Record: store.Attempt{StartedAt: t0, Outcome: store.OutcomeSucceeded}}}, clock.Now())
	must(t, err)
	if applied[0] {
		t.Fatal("a dead instance's late result was applied")
	}
	ds, err := b.EndpointDeliveries(ctx, ep.ID, DeliveryFilter{})
	must(t, err)
	for _, d := range ds.Items {
		if d.Status != store.DeliveryDelivered {
			t.Fatalf("delivery %s is %s", d.ID, d.Status)
		}
		var outcomes []string
		for _, at := range d.Attempts {
			outcomes = append(outcomes, at.Outcome)
		}
		// abandoned (a's claim), the ghost's late result for one of them, then b's success
		if outcomes[0] != store.OutcomeAbandoned || outcomes[len(outcomes)-1] != store.OutcomeSucceeded || (len(outcomes) == 3) != (d.ID == claims[0].Delivery.ID) {
			t.Fatalf("attempt log of %s: %v", d.ID, outcomes)
		}
	}
	if n := len(rcv.Requests()); n != 5 {
		t.Fatalf("receiver got %d", n)
	}
}

// Stop lets an attempt in flight finish and stores its result; a second Service on the same
// SQLite file (a restart) carries on with what is left.
func TestGracefulStopAndRestartSQLite(t *testing.T) {
	e, rcv, ep := stopMidAttempt(t, 300*time.Millisecond, 5*time.Second)
	ctx := context.Background()
	d := e.deliveries(t, ep.ID)[0]
	if d.Status != store.DeliveryDelivered || len(d.Attempts) != 1 {
		t.Fatalf("after a graceful stop: %s, %d attempts", d.Status, len(d.Attempts))
	}
	// Events stored while stopped are delivered by the next instance on the same file.
	_, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_2", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	dir := e.svc.cfg.DataDir
	must(t, e.svc.Close())
	next := newEnv(t, func(c *Config) { c.DataDir = dir; c.Clock = e.clock.Now; c.Delivery.Idle = 10 * time.Millisecond })
	next.svc.Start()
	rcv.Wait(2, 5*time.Second)
	for _, r := range rcv.Requests() {
		if !r.VerifyOK {
			t.Fatalf("after restart: %v", r.VerifyErr)
		}
	}
}

// stopMidAttempt starts a Service whose receiver answers after answerIn, and stops it while the
// first attempt is in flight, giving Stop the deadline stopIn.
func stopMidAttempt(t *testing.T, answerIn, stopIn time.Duration) (*env, *eventstest.Receiver, Endpoint) {
	e := newEnv(t, func(c *Config) { c.Delivery.Idle = 10 * time.Millisecond; c.Delivery.Timeout = 10 * time.Second })
	ctx := context.Background()
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{})
	rcv.Script(eventstest.Action{Sleep: answerIn})
	_, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_1", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	e.svc.Start()
	rcv.Wait(1, 5*time.Second)
	stopCtx, cancel := context.WithTimeout(ctx, stopIn)
	defer cancel()
	must(t, e.svc.Stop(stopCtx))
	return e, rcv, ep
}

// An interrupted attempt (Stop's deadline passes) is logged and due again at once.
func TestStopDeadlineInterruptsAttempt(t *testing.T) {
	e, _, ep := stopMidAttempt(t, 5*time.Second, 100*time.Millisecond)
	ctx := context.Background()
	d := e.deliveries(t, ep.ID)[0]
	if d.Status != store.DeliveryPending || len(d.Attempts) != 1 || !d.NextAttemptAt.Equal(e.clock.Now()) {
		t.Fatalf("after an interrupted attempt: %+v", d)
	}
	ep2, _ := e.svc.GetEndpoint(ctx, ep.ID)
	raw, _ := e.svc.Store().GetEndpoint(ctx, ep2.ID)
	if !raw.FailingSince.IsZero() {
		t.Fatal("our own shutdown counted against the endpoint")
	}
}

func TestStream(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.StreamPoll = 20 * time.Millisecond })
	other := newEnv(t, func(c *Config) { c.Store = sqliteStore(t, e.svc.cfg.DataDir); c.Clock = e.clock.Now })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "old", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	e.clock.Advance(time.Minute)
	got := make(chan Event, 100)
	done := make(chan error, 1)
	go func() { done <- e.svc.Stream(ctx, "", func(ev Event) error { got <- ev; return nil }) }()
	time.Sleep(50 * time.Millisecond)
	// This instance's events and another instance's both arrive, in order, once.
	_, err = e.svc.Observe(ctx, Observation{Link: link("hub2", "a", paylink.StatusCompleted), Source: SourceAPI})
	must(t, err)
	_, err = other.svc.Observe(ctx, Observation{Link: link("hub2", "b", paylink.StatusActive), Source: SourcePoll})
	must(t, err)
	var ids []string
	var ts []Type
	for len(ids) < 3 {
		select {
		case ev := <-got:
			ids, ts = append(ids, ev.ID), append(ts, ev.Type)
		case <-time.After(5 * time.Second):
			t.Fatalf("stream got %v", ts)
		}
	}
	if fmt.Sprint(ts) != "[payment_link.created payment_link.completed payment_link.created]" || !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Fatalf("stream = %v %v", ts, ids)
	}
	select {
	case ev := <-got:
		t.Fatalf("extra event %v (old %v)", ev, old)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	must(t, <-done)
	// Resuming after an id replays what followed it.
	resumed := []string{}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel2()
	}()
	must(t, e.svc.Stream(ctx2, old[0].ID, func(ev Event) error { resumed = append(resumed, ev.ID); return nil }))
	if fmt.Sprint(resumed) != fmt.Sprint(ids) {
		t.Fatalf("resumed %v, want %v", resumed, ids)
	}
	if err := e.svc.Stream(context.Background(), "nonsense", func(Event) error { return nil }); field(err) != "header.Last-Event-ID" {
		t.Fatalf("bad Last-Event-ID: %v", err)
	}
	since, err := e.svc.Since(context.Background(), old[0].ID, 10)
	must(t, err)
	if len(since) != 3 {
		t.Fatalf("Since = %d", len(since))
	}
}

func TestDataDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		flag string
		env  func(string) string
		want string
	}{
		{"/flag", env("PAYLINKS_DATA_DIR", "/env", "HOME", "/home/u"), "/flag"},
		{"", env("PAYLINKS_DATA_DIR", "/env", "HOME", "/home/u"), "/env"},
		{"", env("XDG_DATA_HOME", "/xdg", "HOME", "/home/u"), "/xdg/paylinks"},
		{"", env("XDG_DATA_HOME", "rel", "HOME", "/home/u"), "/home/u/.local/share/paylinks"},
		{"", env("HOME", "/home/u"), "/home/u/.local/share/paylinks"},
	}
	for _, tt := range tests {
		got, err := DataDir(tt.flag, tt.env)
		if err != nil || got != tt.want {
			t.Errorf("DataDir(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
		}
	}
	if _, err := DataDir("", env()); err == nil {
		t.Fatal("no HOME and no setting: want an error, not the working directory")
	}
}
