package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// testResolver reads bodies of the form "check:<own id>,<own id>" (links of its provider),
// "ref:<ref>" (links found by ref) or anything else (re-check the candidates).
type testResolver struct {
	provider string
	mu       sync.Mutex
	calls    int
	block    chan struct{} // when set, Resolve waits on it
	entered  chan struct{}
}

func (r *testResolver) Refs(l paylink.Link) []string {
	return []string{"ref:" + l.Reference}
}

func (r *testResolver) Resolve(ctx context.Context, m InboundMessage, l *Lookup) error {
	r.mu.Lock()
	r.calls++
	block, entered := r.block, r.entered
	r.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		<-block
	}
	body := string(m.Body)
	var ids []paylink.ID
	switch {
	case strings.HasPrefix(body, "check:"):
		for _, own := range strings.Split(strings.TrimPrefix(body, "check:"), ",") {
			ids = append(ids, paylink.NewID(r.provider, own))
		}
	case strings.HasPrefix(body, "ref:"):
		var err error
		if ids, err = l.LinksByRef(ctx, []string{body}, 10); err != nil {
			return err
		}
	default:
		var err error
		if ids, err = l.Candidates(ctx); err != nil {
			return err
		}
	}
	for _, id := range ids {
		if _, _, err := l.Check(ctx, id); err != nil && !errors.Is(err, paylink.ErrNotFound) {
			return err
		}
	}
	return nil
}

func (r *testResolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func inboxEnv(t *testing.T, edit func(*Config)) (*env, *testResolver) {
	r := &testResolver{provider: "hub2"}
	e := newEnv(t, func(c *Config) {
		c.Resolvers = map[string]Resolver{"hub2": r}
		c.Inbox.RetrySchedule = "now,10s,1m"
		if edit != nil {
			edit(c)
		}
	})
	return e, r
}

func (e *env) receive(t *testing.T, body, key string) string {
	t.Helper()
	out, err := e.svc.Receive(context.Background(), Inbound{Provider: "hub2", Kind: "payment.succeeded", DedupKey: key, Body: []byte(body)})
	must(t, err)
	return out
}

func (e *env) runInbox(t *testing.T) int {
	t.Helper()
	n, err := e.svc.Inbox().RunOnce(context.Background())
	must(t, err)
	return n
}

func (e *env) events(t *testing.T, id paylink.ID) []Event {
	t.Helper()
	p, err := e.svc.ListEvents(context.Background(), EventFilter{LinkID: string(id)})
	must(t, err)
	return p.Items
}

// A webhook is a hint: the event comes from the provider's answer, with source provider_webhook,
// and a body claiming what the provider does not say changes nothing.
func TestInboxConfirmsByGet(t *testing.T) {
	e, _ := inboxEnv(t, nil)
	ctx := context.Background()
	paid, open := link("hub2", "pl_paid", paylink.StatusActive), link("hub2", "pl_open", paylink.StatusActive)
	for _, l := range []paylink.Link{paid, open} {
		e.getter.set(l)
		_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
		must(t, err)
	}
	paid.Status = paylink.StatusCompleted
	e.getter.set(paid)
	if got := e.receive(t, "check:pl_paid,pl_open,pl_unknown", "evt_1"); got != store.Received {
		t.Fatalf("receive: %s", got)
	}
	if n := e.runInbox(t); n != 1 {
		t.Fatalf("resolved %d", n)
	}
	evs := e.events(t, paid.ID)
	if len(evs) != 2 || evs[0].Type != LinkCompleted || evs[0].Data.Source != SourceProviderWebhook {
		t.Fatalf("paid link events %+v", evs)
	}
	// The open link was read too, and stays as the provider says: no event.
	if evs := e.events(t, open.ID); len(evs) != 1 || e.getter.count(open.ID) != 1 {
		t.Fatalf("open link: %d events, %d reads", len(evs), e.getter.count(open.ID))
	}
	// Resolved: a copy of the same event id is a duplicate and reads nothing.
	if got := e.receive(t, "check:pl_paid", "evt_1"); got != store.Duplicate {
		t.Fatalf("copy: %s", got)
	}
	if n := e.runInbox(t); n != 0 {
		t.Fatalf("resolved a duplicate: %d", n)
	}
	ms, err := e.svc.Store().ListInbox(ctx, store.InboxQuery{})
	must(t, err)
	if len(ms) != 1 || ms[0].Status != store.InboxDone {
		t.Fatalf("inbox %+v", ms)
	}
}

// A provider that does not answer: retried on the schedule, then given up (failed).
func TestInboxRetriesThenGivesUp(t *testing.T) {
	e, r := inboxEnv(t, nil)
	ctx := context.Background()
	l := link("hub2", "pl_down", paylink.StatusActive)
	e.getter.fail(l.ID, paylink.TransportError("hub2", errors.New("connection refused")))
	e.receive(t, "check:pl_down", "evt_down")
	for i, step := range []time.Duration{0, 10 * time.Second, time.Minute} {
		e.clock.Advance(step - time.Millisecond)
		if step > 0 && e.runInbox(t) != 0 {
			t.Fatalf("try %d ran before its time", i+1)
		}
		e.clock.Advance(time.Millisecond)
		if e.runInbox(t) != 1 {
			t.Fatalf("try %d did not run", i+1)
		}
	}
	ms, err := e.svc.Store().ListInbox(ctx, store.InboxQuery{})
	must(t, err)
	if len(ms) != 1 || ms[0].Status != store.InboxFailed || ms[0].Attempt != 3 || !strings.Contains(ms[0].LastError, "connection refused") {
		t.Fatalf("after the schedule: %+v", ms)
	}
	if r.count() != 3 {
		t.Fatalf("%d resolutions", r.count())
	}
}

// A copy arriving while its message is being resolved makes it resolve once more, so news it
// carries (Mollie sends the same body for every status change) is not lost.
func TestInboxCopyDuringResolution(t *testing.T) {
	e, r := inboxEnv(t, nil)
	ctx := context.Background()
	l := link("hub2", "pl_1", paylink.StatusActive)
	e.getter.set(l)
	r.block, r.entered = make(chan struct{}), make(chan struct{}, 1)
	e.svc.Receive(ctx, Inbound{Provider: "hub2", DedupKey: "sha256:x", Repeatable: true, Body: []byte("check:pl_1")})
	done := make(chan int)
	go func() { n, _ := e.svc.Inbox().RunOnce(ctx); done <- n }()
	<-r.entered
	// The resolution has started (and read active); the link is paid and the same body arrives.
	if got := e.receive(t, "check:pl_1", "sha256:x"); got != store.Merged {
		t.Fatalf("copy during resolution: %s", got)
	}
	close(r.block)
	<-done
	r.mu.Lock()
	r.block, r.entered = nil, nil
	r.mu.Unlock()
	l.Status = paylink.StatusCompleted
	e.getter.set(l)
	if n := e.runInbox(t); n != 1 {
		t.Fatalf("the message was not resolved again (%d)", n)
	}
	if evs := e.events(t, l.ID); len(evs) != 2 || evs[0].Type != LinkCompleted {
		t.Fatalf("events %v", types(evs))
	}
	// Resolved; the same body again (repeatable) is resolved again.
	if got := e.receive(t, "check:pl_1", "sha256:x"); got != store.Again {
		t.Fatalf("copy after resolution: %s", got)
	}
}

// A body naming no link re-checks the provider's open links, bounded by Candidates and the
// shared re-check budget; other providers' links are not touched.
func TestInboxCandidatesBounded(t *testing.T) {
	e, _ := inboxEnv(t, func(c *Config) {
		c.Inbox.Candidates = 5
		c.Inbox.RecheckBudget = store.Rate{Per: 1, Every: time.Hour, Burst: 3}
	})
	ctx := context.Background()
	var ids []paylink.ID
	for _, own := range []string{"a", "b", "c", "d", "e", "f"} {
		l := link("hub2", own, paylink.StatusActive)
		e.getter.set(l)
		_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
		must(t, err)
		ids = append(ids, l.ID)
		e.clock.Advance(time.Second)
	}
	other := link("telness", "t", paylink.StatusActive)
	_, err := e.svc.Observe(ctx, Observation{Link: other, Source: SourceAPI})
	must(t, err)
	e.receive(t, "garbage", "sha256:g")
	e.runInbox(t)
	read := 0
	for _, id := range ids {
		read += e.getter.count(id)
	}
	// 5 candidates, 3 tokens: the three most recently watched.
	if read != 3 || e.getter.count(ids[5]) != 1 || e.getter.count(ids[0]) != 0 || e.getter.count(other.ID) != 0 {
		t.Fatalf("re-checked %d links", read)
	}
	e.receive(t, "garbage 2", "sha256:g2")
	e.runInbox(t)
	if read2 := e.getter.count(ids[5]); read2 != 1 {
		t.Fatalf("the empty budget did not stop re-checks: %d", read2)
	}
}

// The ids a provider's webhooks name are kept whenever a link is observed, and find it.
func TestInboxRefsKeptOnObserve(t *testing.T) {
	e, _ := inboxEnv(t, nil)
	ctx := context.Background()
	l := link("hub2", "pl_ref", paylink.StatusActive)
	l.Reference = "ORDER-9"
	e.getter.set(l)
	_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
	must(t, err)
	l.Status = paylink.StatusCompleted
	e.getter.set(l)
	e.receive(t, "ref:ORDER-9", "evt_r")
	e.runInbox(t)
	if evs := e.events(t, l.ID); len(evs) != 2 || evs[0].Data.Source != SourceProviderWebhook {
		t.Fatalf("events %v", types(evs))
	}
}

// A webhook speaks for its own provider only.
func TestLookupStaysWithItsProvider(t *testing.T) {
	e, _ := inboxEnv(t, nil)
	ctx := context.Background()
	l := &Lookup{s: e.svc, provider: "hub2"}
	if _, _, err := l.Check(ctx, paylink.NewID("telness", "x")); err == nil {
		t.Fatal("a hub2 webhook checked a telness link")
	}
	if _, err := l.Observe(ctx, link("telness", "x", paylink.StatusCompleted)); err == nil {
		t.Fatal("a hub2 webhook observed a telness link")
	}
}

// Received but not resolved when the process stops: the next process resolves it.
func TestInboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first, _ := inboxEnv(t, func(c *Config) { c.DataDir = dir })
	l := link("hub2", "pl_restart", paylink.StatusCompleted)
	first.receive(t, "check:pl_restart", "evt_restart")
	must(t, first.svc.Close())

	second, _ := inboxEnv(t, func(c *Config) { c.DataDir = dir })
	second.getter.set(l)
	if n := second.runInbox(t); n != 1 {
		t.Fatalf("resolved %d after restart", n)
	}
	if evs := second.events(t, l.ID); len(evs) != 2 || evs[0].Type != LinkCompleted || evs[0].Data.Source != SourceProviderWebhook {
		t.Fatalf("events %v", types(evs))
	}
}

// Started, the inbox works on its own: Receive wakes it.
func TestInboxRunsWhenStarted(t *testing.T) {
	e, r := inboxEnv(t, func(c *Config) { c.Inbox.Idle = time.Hour; c.Clock = nil })
	e.svc.Start()
	l := link("hub2", "pl_live", paylink.StatusCompleted)
	e.getter.set(l)
	e.receive(t, "check:pl_live", "evt_live")
	deadline := time.Now().Add(5 * time.Second)
	for len(e.events(t, l.ID)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not resolved; %d resolutions", r.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// MijnKlantportaal's re-checks have their own, smaller budget by default: the poller already
// takes half of the provider's 60 requests a minute.
func TestInboxRecheckBudgetOfMijnKlantportaal(t *testing.T) {
	r := &testResolver{provider: "mijnklantportaal"}
	e := newEnv(t, func(c *Config) { c.Resolvers = map[string]Resolver{"mijnklantportaal": r} })
	ctx := context.Background()
	for i := range 14 {
		l := link("mijnklantportaal", fmt.Sprintf("plk_%d", i), paylink.StatusActive)
		e.getter.set(l)
		_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
		must(t, err)
	}
	_, err := e.svc.Receive(ctx, Inbound{Provider: "mijnklantportaal", DedupKey: "k", Body: []byte("unreadable")})
	must(t, err)
	e.runInbox(t)
	read := 0
	for i := range 14 {
		read += e.getter.count(paylink.NewID("mijnklantportaal", fmt.Sprintf("plk_%d", i)))
	}
	if burst := DefaultRecheckBudgets["mijnklantportaal"].Burst; read != burst {
		t.Fatalf("re-checked %d links, want the budget's burst %d", read, burst)
	}
}
