package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
)

func message(provider, key string, repeatable bool, body string) store.InboxMessage {
	return store.InboxMessage{ID: store.NewID("ibx", t0), Provider: provider, Kind: "payment-link-paid", DedupKey: key, Repeatable: repeatable, Body: []byte(body)}
}

func receive(t *testing.T, s store.Store, m store.InboxMessage, at time.Time, want string) store.InboxMessage {
	t.Helper()
	got, stored, err := s.Receive(context.Background(), m, at)
	must(t, err)
	if got != want {
		t.Fatalf("receive %s/%s: %s, want %s", m.Provider, m.DedupKey, got, want)
	}
	return stored
}

func claimInbox(t *testing.T, s store.Store, owner string, at time.Time) []store.InboxMessage {
	t.Helper()
	ms, err := s.ClaimInbox(context.Background(), store.InboxClaim{Owner: owner, Now: at, LeaseFor: time.Minute, Limit: 100})
	must(t, err)
	return ms
}

// testInbox: a message is durable with its exact bytes, copies are merged while it is pending and
// make it resolve again if they arrive during its resolution; after resolution a copy of an event
// id is dropped and a copy of a content hash is resolved again.
func testInbox(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	body := "{\"id\":\"plk_1\"}\x00\xff not utf-8"
	m := receive(t, s, message("mijnklantportaal", "h1", true, body), t0, store.Received)
	if m.Status != store.InboxPending || m.Hints != 0 || !m.NextAttemptAt.Equal(t0) || !bytes.Equal(m.Body, []byte(body)) {
		t.Fatalf("received %+v", m)
	}
	// The same key at another provider is another message.
	receive(t, s, message("hub2", "h1", false, "{}"), t0, store.Received)
	if m2 := receive(t, s, message("mijnklantportaal", "h1", true, body), t0.Add(time.Second), store.Merged); m2.ID != m.ID || m2.Hints != 1 {
		t.Fatalf("merged into %+v", m2)
	}

	// Claimed; a copy arrives during the resolution: done is not applied, it resolves again.
	cs := claimInbox(t, s, "A", t0.Add(2*time.Second))
	if len(cs) != 2 {
		t.Fatalf("claimed %d, want 2", len(cs))
	}
	c := cs[slices.IndexFunc(cs, func(x store.InboxMessage) bool { return x.ID == m.ID })]
	hub := cs[slices.IndexFunc(cs, func(x store.InboxMessage) bool { return x.Provider == "hub2" })]
	if c.Attempt != 1 || c.LeaseOwner == "" || !bytes.Equal(c.Body, []byte(body)) {
		t.Fatalf("claim %+v", c)
	}
	if again := claimInbox(t, s, "B", t0.Add(2*time.Second)); len(again) != 0 {
		t.Fatal("a leased message was claimed twice")
	}
	receive(t, s, message("mijnklantportaal", "h1", true, body), t0.Add(3*time.Second), store.Merged)
	ok, err := s.FinishInbox(ctx, store.InboxResult{ID: c.ID, Owner: c.LeaseOwner, Hints: c.Hints, Status: store.InboxDone}, t0.Add(4*time.Second))
	must(t, err)
	if ok {
		t.Fatal("done applied although a copy arrived during the resolution")
	}
	cs = claimInbox(t, s, "A", t0.Add(4*time.Second))
	if len(cs) != 1 || cs[0].ID != m.ID || cs[0].Hints != 2 {
		t.Fatalf("after a copy during resolution: %+v", cs)
	}
	ok, err = s.FinishInbox(ctx, store.InboxResult{ID: cs[0].ID, Owner: cs[0].LeaseOwner, Hints: cs[0].Hints, Status: store.InboxDone}, t0.Add(5*time.Second))
	must(t, err)
	if !ok {
		t.Fatal("done not applied")
	}
	// A copy of a resolved content hash is resolved again, backoff restarted.
	if a := receive(t, s, message("mijnklantportaal", "h1", true, body), t0.Add(6*time.Second), store.Again); a.Status != store.InboxPending || a.Attempt != 0 {
		t.Fatalf("again: %+v", a)
	}
	// A copy of a resolved event id is a duplicate.
	_, err = s.FinishInbox(ctx, store.InboxResult{ID: hub.ID, Owner: hub.LeaseOwner, Hints: hub.Hints, Status: store.InboxDone}, t0.Add(7*time.Second))
	must(t, err)
	if d := receive(t, s, message("hub2", "h1", false, "{}"), t0.Add(8*time.Second), store.Duplicate); d.Status != store.InboxDone {
		t.Fatalf("duplicate of %+v", d)
	}
	list, err := s.ListInbox(ctx, store.InboxQuery{Provider: "hub2"})
	must(t, err)
	if len(list) != 1 || list[0].Status != store.InboxDone || list[0].Hints != 0 {
		t.Fatalf("hub2 inbox %+v", list)
	}
	if _, _, err := s.Receive(ctx, store.InboxMessage{ID: "x", Provider: "hub2"}, t0); err == nil {
		t.Fatal("a message without a dedup key was stored")
	}
}

// testInboxRetryAndLeases: a retry waits for its time; an unfinished lease expires and is taken
// over; a result of a lost lease is ignored; failed is final; purge keeps what is pending.
func testInboxRetryAndLeases(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	for i := range 3 {
		receive(t, a, message("hub2", fmt.Sprint("k", i), false, "{}"), t0, store.Received)
	}
	cs := claimInbox(t, a, "A", t0)
	if len(cs) != 3 {
		t.Fatalf("claimed %d", len(cs))
	}
	retry, lost, fail := cs[0], cs[1], cs[2]
	ok, err := a.FinishInbox(ctx, store.InboxResult{ID: retry.ID, Owner: retry.LeaseOwner, Status: store.InboxPending, NextAttemptAt: t0.Add(10 * time.Second), Error: "provider down"}, t0)
	must(t, err)
	if !ok {
		t.Fatal("retry not applied")
	}
	if got := claimInbox(t, b, "B", t0.Add(9*time.Second)); len(got) != 0 {
		t.Fatalf("claimed %d before the retry is due", len(got))
	}
	if got := claimInbox(t, b, "B", t0.Add(10*time.Second)); len(got) != 1 || got[0].ID != retry.ID || got[0].Attempt != 2 || got[0].LastError != "provider down" {
		t.Fatalf("retry claim %+v", got)
	}
	_, err = a.FinishInbox(ctx, store.InboxResult{ID: fail.ID, Owner: fail.LeaseOwner, Status: store.InboxFailed, Error: "gave up"}, t0)
	must(t, err)
	// The lease of lost expires: B takes it over, A's late result is ignored.
	got := claimInbox(t, b, "B", t0.Add(time.Minute+time.Millisecond))
	if len(got) != 1 || got[0].ID != lost.ID {
		t.Fatalf("takeover %+v", got)
	}
	if ok, err := a.FinishInbox(ctx, store.InboxResult{ID: lost.ID, Owner: lost.LeaseOwner, Status: store.InboxDone}, t0.Add(time.Minute)); err != nil || ok {
		t.Fatalf("late result applied: %v %v", ok, err)
	}
	n, oldest, err := a.InboxBacklog(ctx)
	must(t, err)
	if n != 2 || !oldest.Equal(t0) {
		t.Fatalf("backlog %d %v", n, oldest)
	}
	if ok, err := b.FinishInbox(ctx, store.InboxResult{ID: lost.ID, Owner: got[0].LeaseOwner, Status: store.InboxDone}, t0.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("owner's result: %v %v", ok, err)
	}
	purged, err := a.PurgeInbox(ctx, t0.Add(2*time.Minute))
	must(t, err)
	if purged != 2 {
		t.Fatalf("purged %d, want the done and the failed one", purged)
	}
	left, err := a.ListInbox(ctx, store.InboxQuery{})
	must(t, err)
	if len(left) != 1 || left[0].ID != retry.ID {
		t.Fatalf("left %+v", left)
	}
}

// testInboxRaces: copies received at once make one message; claimers racing get each message once.
func testInboxRaces(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := opened(t, open), opened(t, open)
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	for i := range 8 {
		s := []store.Store{a, b}[i%2]
		wg.Go(func() {
			got, _, err := s.Receive(ctx, store.InboxMessage{ID: store.NewID("ibx", t0), Provider: "hub2", DedupKey: "same", Body: []byte("{}")}, t0)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			outcomes[got]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if outcomes[store.Received] != 1 || outcomes[store.Merged] != 7 {
		t.Fatalf("outcomes %v", outcomes)
	}
	for i := range 40 {
		receive(t, a, message("mijnklantportaal", fmt.Sprint("m", i), true, "{}"), t0, store.Received)
	}
	seen := map[string]int{}
	for i, s := range []store.Store{a, b, a, b} {
		wg.Go(func() {
			for {
				cs, err := s.ClaimInbox(ctx, store.InboxClaim{Owner: fmt.Sprint("c", i), Now: t0, LeaseFor: time.Minute, Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 41 {
		t.Fatalf("claimed %d messages, want 41", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s claimed %d times", id, n)
		}
	}
}

// testRefsAndOpenLinks: refs stored with a transition (and on their own) find their links; open
// links are the provider's non-terminal ones, the most recently watched first.
func testRefsAndOpenLinks(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	withRefs := func(status string, refs ...string) func(store.LinkState) (store.Change, error) {
		return func(cur store.LinkState) (store.Change, error) {
			cur.Status = status
			return store.Change{State: cur, Refs: refs}, nil
		}
	}
	_, err := s.Transition(ctx, "hub2_a", "hub2", t0, withRefs("active", "pi_1", "pay_1", "ref:ORDER-1"))
	must(t, err)
	_, err = s.Transition(ctx, "hub2_b", "hub2", t0.Add(time.Second), withRefs("active", "ref:ORDER-1", "pi_2", "pi_2"))
	must(t, err)
	// Seen again: known refs are kept, new ones added.
	_, err = s.Transition(ctx, "hub2_a", "hub2", t0.Add(2*time.Second), withRefs("completed", "pi_1", "pi_3"))
	must(t, err)
	must(t, s.AddLinkRefs(ctx, "hub2", "hub2_c", []string{"pi_4"}, t0))
	for _, tt := range []struct {
		refs []string
		want []string
	}{
		{[]string{"pi_1"}, []string{"hub2_a"}},
		{[]string{"pi_3"}, []string{"hub2_a"}},
		{[]string{"ref:ORDER-1"}, []string{"hub2_b", "hub2_a"}},
		{[]string{"pi_2", "pi_4", "nothing"}, []string{"hub2_b", "hub2_c"}},
		{[]string{"nothing"}, nil},
	} {
		got, err := s.LinksByRef(ctx, "hub2", tt.refs, 10)
		must(t, err)
		if !slices.Equal(got, tt.want) {
			t.Errorf("LinksByRef(%v) = %v, want %v", tt.refs, got, tt.want)
		}
	}
	if got, _ := s.LinksByRef(ctx, "mijnklantportaal", []string{"pi_1"}, 10); len(got) != 0 {
		t.Errorf("refs leak across providers: %v", got)
	}
	terminal := []string{"completed", "expired", "closed"}
	must(t, s.Watch(ctx, []store.WatchedLink{{LinkID: "hub2_w", Provider: "hub2"}}, t0.Add(3*time.Second), t0.Add(3*time.Second), terminal))
	must(t, s.Watch(ctx, []store.WatchedLink{{LinkID: "telness_x", Provider: "telness"}}, t0.Add(4*time.Second), t0, terminal))
	ls, err := s.OpenLinks(ctx, "hub2", terminal, 10)
	must(t, err)
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.LinkID)
	}
	if !slices.Equal(ids, []string{"hub2_w", "hub2_b"}) {
		t.Errorf("open hub2 links %v, want the watched one then b (a is completed)", ids)
	}
	if ls, _ := s.OpenLinks(ctx, "hub2", terminal, 1); len(ls) != 1 {
		t.Errorf("limit ignored: %d", len(ls))
	}
}

// testProviderWebhooks: subscriptions are created, replaced and listed by provider.
func testProviderWebhooks(t *testing.T, open Opener) {
	ctx := context.Background()
	s := opened(t, open)
	w := store.ProviderWebhook{Provider: "mijnklantportaal", Name: "payment-link-paid", RemoteID: "wbh_1", URL: "https://p.example/webhooks/mijnklantportaal/payment-link-paid",
		Events: []string{"payment-link-paid"}, Secret: "sealed:1", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.PutProviderWebhook(ctx, w))
	must(t, s.PutProviderWebhook(ctx, store.ProviderWebhook{Provider: "hub2", Name: "default", URL: "https://p.example/webhooks/hub2",
		Events: []string{"payment.succeeded", "payment.failed"}, Secret: "sealed:2", CreatedAt: t0, UpdatedAt: t0}))
	w.Secret, w.PreviousSecret, w.PreviousSecretUntil, w.UpdatedAt = "sealed:3", "sealed:1", t0.Add(24*time.Hour), t0.Add(time.Hour)
	must(t, s.PutProviderWebhook(ctx, w))
	got, err := s.ProviderWebhooks(ctx, "mijnklantportaal")
	must(t, err)
	if len(got) != 1 || got[0].Secret != "sealed:3" || got[0].PreviousSecret != "sealed:1" || !got[0].PreviousSecretUntil.Equal(t0.Add(24*time.Hour)) ||
		!got[0].CreatedAt.Equal(t0) || !got[0].UpdatedAt.Equal(t0.Add(time.Hour)) || got[0].RemoteID != "wbh_1" {
		t.Fatalf("after replace: %+v", got)
	}
	all, err := s.ProviderWebhooks(ctx, "")
	must(t, err)
	if len(all) != 2 || all[0].Provider != "hub2" || !slices.Equal(all[0].Events, []string{"payment.succeeded", "payment.failed"}) {
		t.Fatalf("all: %+v", all)
	}
	if err := s.PutProviderWebhook(ctx, store.ProviderWebhook{Provider: "hub2", Name: "x"}); err == nil {
		t.Fatal("a subscription without a secret was stored")
	}
}
