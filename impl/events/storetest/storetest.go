// Package storetest is the conformance suite every store.Store implementation passes: dedup,
// fan-out, claims racing from several goroutines and handles, lease expiry and takeover, fencing
// of late results, paging and filters, migrations run again and concurrently, persistence across
// reopening, and the inbound side (the inbox's dedup, merges and leases, refs, subscriptions).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
)

// Opener opens a new handle on one database (as another instance would); the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the suite. newDB makes a fresh, empty database for one subtest and returns its Opener.
func Run(t *testing.T, newDB func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"MigrationsIdempotentAndConcurrent", testMigrations},
		{"PersistsAcrossReopen", testReopen},
		{"TransitionDedupAndFanOut", testTransition},
		{"TransitionRaceOneEvent", testTransitionRace},
		{"ClaimRaceEachOnce", testClaimRace},
		{"LeaseExpiryTakeoverAndFencing", testLeaseTakeover},
		{"RetryAndEndpointHealth", testRetryAndHealth},
		{"EndpointsCRUDAndPaging", testEndpoints},
		{"EventPagingAndFilters", testEventPaging},
		{"RedeliverRecoverRelease", testRedeliver},
		{"PurgePastRetention", testPurge},
		{"PollLeases", testPolls},
		{"TokenBucketShared", testTokens},
		{"InboxDedupAndRearm", testInbox},
		{"InboxRetryLeasesAndPurge", testInboxRetryAndLeases},
		{"InboxRaces", testInboxRaces},
		{"RefsAndOpenLinks", testRefsAndOpenLinks},
		{"ProviderWebhooks", testProviderWebhooks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newDB(t))
		})
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func opened(t *testing.T, open Opener) store.Store {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func endpoint(id string, types ...string) store.Endpoint {
	return store.Endpoint{ID: id, URL: "https://hooks.example.com/" + id, EventTypes: types, Secret: "plain:whsec_x", CreatedAt: t0, UpdatedAt: t0}
}

// emit is a decide function that moves the link to status and emits one event for it.
func emit(linkID, status string, at time.Time) func(store.LinkState) (store.Change, error) {
	return func(cur store.LinkState) (store.Change, error) {
		if cur.Status == status || cur.Status == "closed" {
			return store.Change{State: cur}, nil
		}
		next := cur
		next.Status, next.Sequence = status, cur.Sequence+1
		typ := "payment_link." + status
		return store.Change{State: next, Events: []store.Event{{
			ID: store.NewID("evt", at), Type: typ, Provider: "hub2", LinkID: linkID, DedupKey: "hub2:" + linkID + ":" + typ,
			OccurredAt: at, Payload: []byte(fmt.Sprintf(`{"type":%q,"sequence":%d}`, typ, next.Sequence)),
		}}}, nil
	}
}

func testMigrations(t *testing.T, open Opener) {
	var wg sync.WaitGroup
	stores := make([]store.Store, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i] = opened(t, open)
		}()
	}
	wg.Wait()
	for _, s := range stores {
		if s == nil {
			t.Fatal("an open failed")
		}
	}
	// Open again: nothing left to apply, data intact.
	_, err := stores[0].Transition(context.Background(), "l1", "hub2", t0, emit("l1", "created", t0))
	must(t, err)
	again := opened(t, open)
	evs, err := again.ListEvents(context.Background(), store.EventQuery{})
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("events after reopening = %d", len(evs))
	}
}

func testReopen(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	must(t, s.CreateEndpoint(ctx, endpoint("we_1")))
	_, err := s.Transition(ctx, "l1", "hub2", t0, emit("l1", "completed", t0))
	must(t, err)
	must(t, s.Close())
	s = opened(t, open)
	st, err := s.LinkState(ctx, "l1")
	must(t, err)
	if st.Status != "completed" || st.Sequence != 1 {
		t.Fatalf("state after reopen = %+v", st)
	}
	ds, err := s.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: "we_1"})
	must(t, err)
	if len(ds) != 1 || ds[0].Status != store.DeliveryPending {
		t.Fatalf("deliveries after reopen = %+v", ds)
	}
}

func testTransition(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	must(t, s.CreateEndpoint(ctx, endpoint("we_all")))
	must(t, s.CreateEndpoint(ctx, endpoint("we_completed", "payment_link.completed")))
	hub2Only := endpoint("we_mkp")
	hub2Only.Providers = []string{"mijnklantportaal"}
	must(t, s.CreateEndpoint(ctx, hub2Only))
	off := endpoint("we_off")
	off.Disabled = true
	must(t, s.CreateEndpoint(ctx, off))

	evs, err := s.Transition(ctx, "l1", "hub2", t0, emit("l1", "completed", t0))
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("inserted = %d", len(evs))
	}
	// A second decision that emits the same dedup key (state lost, say) inserts nothing.
	evs, err = s.Transition(ctx, "l1", "hub2", t0, func(cur store.LinkState) (store.Change, error) {
		ch, _ := emit("l1", "completed", t0)(store.LinkState{})
		ch.State = cur
		return ch, nil
	})
	must(t, err)
	if len(evs) != 0 {
		t.Fatalf("a dedup conflict inserted %d events", len(evs))
	}
	all, _ := s.ListEvents(ctx, store.EventQuery{})
	if len(all) != 1 {
		t.Fatalf("events = %d", len(all))
	}
	got := map[string]int{}
	for _, id := range []string{"we_all", "we_completed", "we_mkp", "we_off"} {
		ds, err := s.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: id})
		must(t, err)
		got[id] = len(ds)
	}
	if want := map[string]int{"we_all": 1, "we_completed": 1, "we_mkp": 0, "we_off": 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries per endpoint = %v, want %v", got, want)
	}
	// decide failing rolls everything back.
	boom := errors.New("boom")
	if _, err := s.Transition(ctx, "l2", "hub2", t0, func(store.LinkState) (store.Change, error) { return store.Change{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.LinkState(ctx, "l2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state of a rolled back transition: %v", err)
	}
}

// Many goroutines on two handles race to close the same link: one event, sequence 1.
func testTransitionRace(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	must(t, a.CreateEndpoint(ctx, endpoint("we_1")))
	var wg sync.WaitGroup
	var mu sync.Mutex
	inserted := 0
	for i := 0; i < 16; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs, err := s.Transition(ctx, "l1", "hub2", t0, emit("l1", "closed", t0))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inserted += len(evs)
			mu.Unlock()
		}()
	}
	wg.Wait()
	evs, _ := a.ListEvents(ctx, store.EventQuery{LinkID: "l1"})
	ds, _ := a.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: "we_1"})
	st, _ := a.LinkState(ctx, "l1")
	if inserted != 1 || len(evs) != 1 || len(ds) != 1 || st.Sequence != 1 {
		t.Fatalf("inserted %d, stored %d events, %d deliveries, sequence %d; want 1 each", inserted, len(evs), len(ds), st.Sequence)
	}
}

// seedDeliveries makes n events with one pending delivery each to we_1, due at t0.
func seedDeliveries(t *testing.T, s store.Store, n int) {
	ctx := context.Background()
	must(t, s.CreateEndpoint(ctx, endpoint("we_1")))
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("l%04d", i)
		_, err := s.Transition(ctx, id, "hub2", t0, emit(id, "completed", t0))
		must(t, err)
	}
}

func testClaimRace(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	const n = 120
	seedDeliveries(t, a, n)
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cs, err := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: fmt.Sprintf("w%d", i), Now: t0, LeaseFor: time.Minute, Limit: 7})
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					claimed[c.Delivery.ID]++
					if c.Endpoint.ID != "we_1" || len(c.Event.Payload) == 0 || c.Delivery.Attempt != 0 {
						t.Errorf("claim lacks data: %+v", c)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("claimed %d distinct deliveries, want %d", len(claimed), n)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Fatalf("delivery %s claimed %d times", id, c)
		}
	}
}

func result(c store.Claim, status string, at time.Time) store.Result {
	return store.Result{DeliveryID: c.Delivery.ID, EndpointID: c.Endpoint.ID, Owner: c.Owner, Attempt: c.Delivery.Attempt + 1, Status: status, EndpointOK: status == store.DeliveryDelivered,
		Record: store.Attempt{StartedAt: at, Duration: 20 * time.Millisecond, HTTPStatus: 200, Outcome: store.OutcomeSucceeded, Response: "ok\x00\xff"}}
}

func testLeaseTakeover(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	seedDeliveries(t, a, 1)
	ca, err := a.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 10})
	must(t, err)
	if len(ca) != 1 {
		t.Fatalf("A claimed %d", len(ca))
	}
	if cb, _ := b.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "B", Now: t0.Add(59 * time.Second), LeaseFor: time.Minute, Limit: 10}); len(cb) != 0 {
		t.Fatal("B claimed a delivery under A's live lease")
	}
	// A stalls; its lease expires; B takes over.
	cb, err := b.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "B", Now: t0.Add(61 * time.Second), LeaseFor: time.Minute, Limit: 10})
	must(t, err)
	if len(cb) != 1 || cb[0].Delivery.Attempt != 1 {
		t.Fatalf("B's takeover: %+v", cb)
	}
	// A's late result is fenced off: logged, not applied.
	applied, err := a.CompleteDeliveries(ctx, []store.Result{result(ca[0], store.DeliveryDelivered, t0)}, t0.Add(62*time.Second))
	must(t, err)
	if applied[0] {
		t.Fatal("a result of an expired, taken-over lease was applied")
	}
	failed := result(cb[0], store.DeliveryPending, t0.Add(61*time.Second))
	failed.Record.Outcome, failed.Record.HTTPStatus, failed.EndpointOK = store.OutcomeFailed, 500, false
	failed.NextAttemptAt, failed.ScheduleIndex = t0.Add(5*time.Minute), 1
	applied, err = b.CompleteDeliveries(ctx, []store.Result{failed}, t0.Add(62*time.Second))
	must(t, err)
	if !applied[0] {
		t.Fatal("the live lease's result was not applied")
	}
	// Applying the same result twice is fenced by the attempt number.
	if applied, _ = b.CompleteDeliveries(ctx, []store.Result{failed}, t0.Add(63*time.Second)); applied[0] {
		t.Fatal("a result was applied twice")
	}
	ds, err := a.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: "we_1"})
	must(t, err)
	d := ds[0]
	if d.Status != store.DeliveryPending || d.Attempt != 2 || d.ScheduleIndex != 1 || !d.NextAttemptAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("delivery = %+v", d)
	}
	var outcomes []string
	for _, at := range d.Attempts {
		outcomes = append(outcomes, at.Outcome)
	}
	sort.Strings(outcomes)
	// abandoned (A's lease, recorded by B's claim), late (A's result), failed (B's), late (B's replay)
	if fmt.Sprint(outcomes) != "[abandoned failed late late]" {
		t.Fatalf("attempt log = %v", outcomes)
	}
	for _, at := range d.Attempts {
		if at.Outcome == store.OutcomeLate && at.Response != "ok\uFFFD\uFFFD" && at.HTTPStatus == 200 {
			t.Fatalf("response excerpt not sanitized: %q", at.Response)
		}
	}
	// The retry is not due before its time, and is after.
	if cs, _ := b.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "B", Now: t0.Add(4 * time.Minute), LeaseFor: time.Minute, Limit: 10}); len(cs) != 0 {
		t.Fatal("claimed before next_attempt_at")
	}
	if cs, _ := a.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: t0.Add(6 * time.Minute), LeaseFor: time.Minute, Limit: 10}); len(cs) != 1 || cs[0].Delivery.Attempt != 2 {
		t.Fatalf("retry claim = %+v", cs)
	}
}

func testRetryAndHealth(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	seedDeliveries(t, s, 3)
	cs, err := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 10})
	must(t, err)
	if len(cs) != 3 {
		t.Fatalf("claimed %d", len(cs))
	}
	// First a failure: the endpoint starts failing.
	fail := result(cs[0], store.DeliveryFailed, t0)
	fail.Record.Outcome = store.OutcomeFailed
	_, err = s.CompleteDeliveries(ctx, []store.Result{fail}, t0)
	must(t, err)
	ep, _ := s.GetEndpoint(ctx, "we_1")
	if !ep.FailingSince.Equal(t0) || ep.Disabled {
		t.Fatalf("after a failure: %+v", ep)
	}
	// A success clears the streak.
	_, err = s.CompleteDeliveries(ctx, []store.Result{result(cs[1], store.DeliveryDelivered, t0.Add(time.Hour))}, t0.Add(time.Hour))
	must(t, err)
	if ep, _ = s.GetEndpoint(ctx, "we_1"); !ep.FailingSince.IsZero() {
		t.Fatalf("a success left failing_since %v", ep.FailingSince)
	}
	// Failing since t0+2h, then a failure 6 days later with a 5-day threshold disables it.
	must(t, s.CreateEndpoint(ctx, endpoint("we_2")))
	_, err = s.UpdateEndpoint(ctx, "we_1", t0, func(e *store.Endpoint) error { e.FailingSince = t0.Add(2 * time.Hour); return nil })
	must(t, err)
	late := result(cs[2], store.DeliveryPending, t0.Add(6*24*time.Hour))
	late.Record.Outcome, late.NextAttemptAt = store.OutcomeFailed, t0.Add(7*24*time.Hour)
	late.DisableIfFailingSince = t0.Add(24 * time.Hour)
	_, err = s.CompleteDeliveries(ctx, []store.Result{late}, t0.Add(6*24*time.Hour))
	must(t, err)
	ep, _ = s.GetEndpoint(ctx, "we_1")
	if !ep.Disabled || ep.DisabledReason == "" {
		t.Fatalf("an endpoint failing for days is not disabled: %+v", ep)
	}
	if n, _, _ := s.Backlog(ctx); n != 0 {
		t.Fatalf("backlog counts a disabled endpoint's deliveries: %d", n)
	}
	if cs, _ := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: t0.Add(8 * 24 * time.Hour), LeaseFor: time.Minute, Limit: 10}); len(cs) != 0 {
		t.Fatal("claimed a delivery of a disabled endpoint")
	}
	// Re-enabling makes its pending delivery due now.
	now := t0.Add(6*24*time.Hour + time.Minute)
	_, err = s.UpdateEndpoint(ctx, "we_1", now, func(e *store.Endpoint) error { e.Disabled = false; return nil })
	must(t, err)
	if n, oldest, _ := s.Backlog(ctx); n != 1 || !oldest.Equal(t0) {
		t.Fatalf("backlog = %d since %v", n, oldest)
	}
	if cs, _ := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: now, LeaseFor: time.Minute, Limit: 10}); len(cs) != 1 {
		t.Fatalf("claims after re-enabling = %d", len(cs))
	}
	// A 410-style disable.
	cs2, _ := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: now.Add(2 * time.Minute), LeaseFor: time.Minute, Limit: 10})
	if len(cs2) == 1 {
		gone := result(cs2[0], store.DeliveryFailed, now)
		gone.DisableEndpoint = "the endpoint answered 410 Gone"
		_, err = s.CompleteDeliveries(ctx, []store.Result{gone}, now)
		must(t, err)
		if ep, _ = s.GetEndpoint(ctx, "we_1"); !ep.Disabled || ep.DisabledReason != "the endpoint answered 410 Gone" {
			t.Fatalf("410: %+v", ep)
		}
	}
}

func testEndpoints(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	var ids []string
	for i := 0; i < 5; i++ {
		e := endpoint(store.NewID("we", t0.Add(time.Duration(i)*time.Second)), "payment_link.completed", "payment_link.closed")
		e.Providers = []string{"hub2"}
		must(t, s.CreateEndpoint(ctx, e))
		ids = append(ids, e.ID)
	}
	got, err := s.GetEndpoint(ctx, ids[0])
	must(t, err)
	if fmt.Sprint(got.EventTypes, got.Providers) != "[payment_link.completed payment_link.closed] [hub2]" {
		t.Fatalf("endpoint = %+v", got)
	}
	page1, err := s.ListEndpoints(ctx, "", 3)
	must(t, err)
	page2, err := s.ListEndpoints(ctx, page1[len(page1)-1].ID, 3)
	must(t, err)
	var listed []string
	for _, e := range append(page1, page2...) {
		listed = append(listed, e.ID)
	}
	want := append([]string(nil), ids...)
	sort.Sort(sort.Reverse(sort.StringSlice(want)))
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("pages = %v, want %v", listed, want)
	}
	upd, err := s.UpdateEndpoint(ctx, ids[0], t0.Add(time.Hour), func(e *store.Endpoint) error { e.URL = "https://new.example.com/"; e.EventTypes = nil; return nil })
	must(t, err)
	if upd.URL != "https://new.example.com/" || upd.EventTypes != nil || !upd.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("updated = %+v", upd)
	}
	if _, err := s.UpdateEndpoint(ctx, "we_nope", t0, func(*store.Endpoint) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	must(t, s.DeleteEndpoint(ctx, ids[0], t0))
	if _, err := s.GetEndpoint(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, ids[0], t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func testEventPaging(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	var all []string
	for i := 0; i < 25; i++ {
		prov := []string{"hub2", "telness"}[i%2]
		typ := []string{"payment_link.created", "payment_link.completed", "payment_link.closed"}[i%3]
		ev := store.Event{ID: store.NewID("evt", t0.Add(time.Duration(i)*time.Second)), Type: typ, Provider: prov, LinkID: fmt.Sprintf("l%d", i%4),
			DedupKey: fmt.Sprint("k", i), OccurredAt: t0, Payload: []byte(`{}`)}
		must(t, s.InsertEvents(ctx, []store.Event{ev}, "", t0))
		all = append(all, ev.ID)
	}
	// Newest first, pages of 10 via Before.
	var seen []string
	before := ""
	for {
		page, err := s.ListEvents(ctx, store.EventQuery{Before: before, Limit: 10})
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, e.ID)
		}
		before = page[len(page)-1].ID
	}
	want := append([]string(nil), all...)
	sort.Sort(sort.Reverse(sort.StringSlice(want)))
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("paging lost or reordered events:\n got %v\nwant %v", seen, want)
	}
	for _, q := range []store.EventQuery{{Type: "payment_link.closed"}, {Provider: "telness"}, {LinkID: "l1"}, {Type: "payment_link.completed", Provider: "hub2"}} {
		evs, err := s.ListEvents(ctx, q)
		must(t, err)
		if len(evs) == 0 {
			t.Fatalf("%+v: nothing", q)
		}
		for _, e := range evs {
			if (q.Type != "" && e.Type != q.Type) || (q.Provider != "" && e.Provider != q.Provider) || (q.LinkID != "" && e.LinkID != q.LinkID) {
				t.Fatalf("%+v returned %+v", q, e)
			}
		}
	}
	after, err := s.EventsAfter(ctx, all[19], 100)
	must(t, err)
	if len(after) != 5 || after[0].ID != all[20] || after[4].ID != all[24] {
		t.Fatalf("EventsAfter = %d events", len(after))
	}
	got, err := s.GetEvent(ctx, all[3])
	must(t, err)
	if got.ID != all[3] || string(got.Payload) != "{}" {
		t.Fatalf("GetEvent = %+v", got)
	}
	if _, err := s.GetEvent(ctx, "evt_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetEvent unknown: %v", err)
	}
}

func testRedeliver(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	seedDeliveries(t, s, 2)
	cs, err := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 10})
	must(t, err)
	// Release one lease (graceful stop), fail the other for good.
	must(t, s.ReleaseDeliveries(ctx, map[string]string{cs[0].Delivery.ID: cs[0].Owner}))
	fail := result(cs[1], store.DeliveryFailed, t0)
	fail.Record.Outcome = store.OutcomeFailed
	_, err = s.CompleteDeliveries(ctx, []store.Result{fail}, t0)
	must(t, err)
	again, _ := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "B", Now: t0, LeaseFor: time.Minute, Limit: 10})
	if len(again) != 1 || again[0].Delivery.ID != cs[0].Delivery.ID || again[0].Delivery.Attempt != 0 {
		t.Fatalf("a released delivery is not claimable at once without an abandoned attempt: %+v", again)
	}
	// Recover: failed deliveries created in the window come back.
	if n, err := s.Recover(ctx, "we_1", t0.Add(time.Second), t0.Add(time.Hour), t0); err != nil || n != 0 {
		t.Fatalf("recover outside the window = %d, %v", n, err)
	}
	if n, err := s.Recover(ctx, "we_1", t0.Add(-time.Hour), t0.Add(time.Hour), t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("recover = %d, %v", n, err)
	}
	if _, err := s.Recover(ctx, "we_nope", t0, t0, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("recover unknown endpoint: %v", err)
	}
	ds, _ := s.ListDeliveries(ctx, store.DeliveryQuery{EventID: cs[1].Event.ID})
	if len(ds) != 1 || ds[0].Status != store.DeliveryPending || ds[0].ScheduleIndex != 0 {
		t.Fatalf("recovered = %+v", ds)
	}
	// Redeliver to an endpoint created after the event: a new delivery.
	must(t, s.CreateEndpoint(ctx, endpoint("we_new")))
	if n, err := s.Redeliver(ctx, cs[1].Event.ID, "we_new", t0); err != nil || n != 1 {
		t.Fatalf("redeliver to a new endpoint = %d, %v", n, err)
	}
	if ds, _ := s.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: "we_new"}); len(ds) != 1 {
		t.Fatalf("deliveries of we_new = %d", len(ds))
	}
	if _, err := s.Redeliver(ctx, "evt_nope", "", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redeliver unknown event: %v", err)
	}
	if _, err := s.Redeliver(ctx, cs[1].Event.ID, "we_nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redeliver to unknown endpoint: %v", err)
	}
	// Deleting an endpoint cancels its pending deliveries.
	must(t, s.DeleteEndpoint(ctx, "we_new", t0))
	if ds, _ := s.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: "we_new"}); ds[0].Status != store.DeliveryCanceled {
		t.Fatalf("after delete: %+v", ds[0])
	}
	// InsertEvents to one endpoint only.
	ev := store.Event{ID: store.NewID("evt", t0), Type: "webhook_endpoint.test", DedupKey: "test:1", OccurredAt: t0, Payload: []byte(`{}`)}
	must(t, s.CreateEndpoint(ctx, endpoint("we_other")))
	must(t, s.InsertEvents(ctx, []store.Event{ev}, "we_other", t0))
	ds, _ = s.ListDeliveries(ctx, store.DeliveryQuery{EventID: ev.ID})
	if len(ds) != 1 || ds[0].EndpointID != "we_other" {
		t.Fatalf("test event deliveries = %+v", ds)
	}
	if err := s.InsertEvents(ctx, []store.Event{ev}, "we_gone", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("InsertEvents to unknown endpoint: %v", err)
	}
}

func testPolls(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	terminal := []string{"completed", "expired", "closed"}
	// Thirty links in one call (one transaction), as concurrent creates are grouped.
	var links []store.WatchedLink
	for i := 0; i < 30; i++ {
		links = append(links, store.WatchedLink{LinkID: fmt.Sprintf("l%02d", i), Provider: "telness"})
	}
	must(t, a.Watch(ctx, links, t0, t0.Add(time.Second), terminal))
	// A terminal link is not watched again; an already watched one keeps its schedule.
	_, err := a.Transition(ctx, "done", "telness", t0, emit("done", "closed", t0))
	must(t, err)
	must(t, a.Watch(ctx, []store.WatchedLink{{LinkID: "done", Provider: "telness"}, {LinkID: "l00", Provider: "telness"}}, t0, t0.Add(time.Hour), terminal))
	if st, _ := a.LinkState(ctx, "done"); !st.NextPollAt.IsZero() {
		t.Fatal("a terminal link was watched again")
	}
	if cs, _ := a.ClaimPolls(ctx, store.PollClaim{Owner: "A", Now: t0, LeaseFor: time.Minute, Limit: 100}); len(cs) != 0 {
		t.Fatal("claimed polls before they are due")
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i, s := range []store.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cs, err := s.ClaimPolls(ctx, store.PollClaim{Owner: fmt.Sprint("p", i), Now: t0.Add(2 * time.Second), LeaseFor: time.Minute, Limit: 4})
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.LinkID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 30 {
		t.Fatalf("claimed %d links, want 30", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("link %s claimed %d times", id, n)
		}
	}
	st, _ := a.LinkState(ctx, "l05")
	// A finish by a stranger is ignored; the owner's applies.
	must(t, a.FinishPoll(ctx, store.PollDone{LinkID: "l05", Owner: "stranger", NextPollAt: t0.Add(time.Hour)}))
	must(t, b.FinishPoll(ctx, store.PollDone{LinkID: "l05", Owner: st.LeaseOwner, NextPollAt: t0.Add(10 * time.Second), Failures: 2}))
	if st, _ = a.LinkState(ctx, "l05"); !st.NextPollAt.Equal(t0.Add(10*time.Second)) || st.Failures != 2 || st.LeaseOwner != "" {
		t.Fatalf("after finish: %+v", st)
	}
	// Unfinished leases expire and are taken over.
	cs, err := b.ClaimPolls(ctx, store.PollClaim{Owner: "B", Now: t0.Add(2*time.Second + time.Minute + time.Millisecond), LeaseFor: time.Minute, Limit: 100})
	must(t, err)
	if len(cs) != 30 { // 29 expired leases, and l05, due again
		t.Fatalf("took over %d expired poll leases, want 30", len(cs))
	}
	// Stop watching.
	must(t, b.FinishPoll(ctx, store.PollDone{LinkID: cs[0].LinkID, Owner: cs[0].LeaseOwner}))
	if st, _ = a.LinkState(ctx, cs[0].LinkID); !st.NextPollAt.IsZero() {
		t.Fatal("a link told to stop is still scheduled")
	}
}

func testTokens(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	r := store.Rate{Per: 60, Every: time.Minute, Burst: 10}
	total := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, s := range []store.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 5; k++ {
				got, _, err := s.TakeTokens(ctx, "mkp", r, 3, t0)
				if err != nil {
					t.Error(i, err)
					return
				}
				mu.Lock()
				total += got
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if total != 10 {
		t.Fatalf("took %d tokens at one instant from a bucket of 10", total)
	}
	got, wait, err := a.TakeTokens(ctx, "mkp", r, 1, t0)
	must(t, err)
	if got != 0 || wait <= 0 || wait > 1100*time.Millisecond {
		t.Fatalf("empty bucket: got %d, wait %v", got, wait)
	}
	// 60/min refills one per second: 30 s later, 10 (the burst caps it at 10, not 30).
	if got, _, _ = b.TakeTokens(ctx, "mkp", r, 100, t0.Add(30*time.Second)); got != 10 {
		t.Fatalf("after 30 s: %d tokens", got)
	}
	if got, _, _ = a.TakeTokens(ctx, "mkp", r, 100, t0.Add(32*time.Second)); got != 2 {
		t.Fatalf("after 2 more seconds: %d tokens", got)
	}
	if got, _, _ = a.TakeTokens(ctx, "other", store.Rate{}, 7, t0); got != 7 {
		t.Fatalf("no rate = unlimited, got %d", got)
	}
}

// testPurge: events past the retention go with their deliveries and attempts, unless a delivery
// is still pending; link states stay (a link seen again is not new), refs of finished links go.
func testPurge(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	terminal := []string{"completed", "expired", "closed"}
	must(t, s.CreateEndpoint(ctx, endpoint("we_1")))
	withRefs := func(linkID, status string, at time.Time, refs ...string) func(store.LinkState) (store.Change, error) {
		return func(cur store.LinkState) (store.Change, error) {
			ch, err := emit(linkID, status, at)(cur)
			ch.Refs = refs
			return ch, err
		}
	}
	// "done" and "done2" finished long ago and were delivered; "waiting" still has its delivery
	// pending; "open" is active and recent.
	for _, l := range []struct {
		id, status string
		at         time.Time
		refs       []string
	}{
		{"done", "completed", t0, []string{"pi_done"}},
		{"done2", "closed", t0.Add(time.Second), nil},
		{"waiting", "completed", t0, nil},
		{"open", "active", t0.Add(40 * 24 * time.Hour), []string{"pi_open"}},
	} {
		_, err := s.Transition(ctx, l.id, "hub2", l.at, withRefs(l.id, l.status, l.at, l.refs...))
		must(t, err)
	}
	cs, err := s.ClaimDeliveries(ctx, store.ClaimQuery{Owner: "A", Now: t0.Add(41 * 24 * time.Hour), LeaseFor: time.Minute, Limit: 10})
	must(t, err)
	var rs []store.Result
	for _, c := range cs {
		if c.Event.LinkID != "waiting" {
			rs = append(rs, result(c, store.DeliveryDelivered, t0))
		}
	}
	if len(rs) != 3 {
		t.Fatalf("claimed %d deliveries, want 4 (3 to complete)", len(cs))
	}
	_, err = s.CompleteDeliveries(ctx, rs, t0)
	must(t, err)

	before := t0.Add(30 * 24 * time.Hour)
	if n, err := s.PurgeEvents(ctx, before, terminal, 1); err != nil || n != 1 {
		t.Fatalf("purge with limit 1 = %d, %v", n, err)
	}
	if n, err := s.PurgeEvents(ctx, before, terminal, 10); err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want the other delivered old event", n, err)
	}
	if n, err := s.PurgeEvents(ctx, before, terminal, 10); err != nil || n != 0 {
		t.Fatalf("purge again = %d, %v", n, err)
	}
	evs, err := s.ListEvents(ctx, store.EventQuery{Limit: 10})
	must(t, err)
	var left []string
	for _, e := range evs {
		left = append(left, e.LinkID)
	}
	sort.Strings(left)
	if fmt.Sprint(left) != "[open waiting]" {
		t.Fatalf("events left of links %v, want open and waiting", left)
	}
	if ds, err := s.ListDeliveries(ctx, store.DeliveryQuery{EndpointID: "we_1"}); err != nil || len(ds) != 2 {
		t.Fatalf("deliveries left %d, %v, want those of open and waiting", len(ds), err)
	}
	for _, id := range []string{"done", "done2"} {
		st, err := s.LinkState(ctx, id)
		if err != nil || st.Status == "" {
			t.Fatalf("state of %s after purge: %+v %v (kept, so that it is not new if seen again)", id, st, err)
		}
	}
	if got, _ := s.LinksByRef(ctx, "hub2", []string{"pi_done"}, 10); len(got) != 0 {
		t.Errorf("refs of a finished link past the retention kept: %v", got)
	}
	if got, _ := s.LinksByRef(ctx, "hub2", []string{"pi_open"}, 10); len(got) != 1 {
		t.Errorf("refs of an open link purged: %v", got)
	}
}
