package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/internal/pgtest"
	"github.com/paylinks/paylinks/impl/paylink"
)

func TestObserveTransitions(t *testing.T) {
	const (
		A = paylink.StatusActive
		C = paylink.StatusCompleted
		X = paylink.StatusExpired
		Z = paylink.StatusClosed
		U = paylink.StatusUnknown
	)
	tests := []struct {
		name   string
		seen   []paylink.Status
		want   string // the events of each observation
		status paylink.Status
	}{
		{"created", []paylink.Status{A}, "[[payment_link.created]]", A},
		{"created then paid", []paylink.Status{A, A, C}, "[[payment_link.created] [] [payment_link.completed]]", C},
		{"first seen paid", []paylink.Status{C}, "[[payment_link.created payment_link.completed]]", C},
		{"first seen closed", []paylink.Status{Z}, "[[payment_link.created payment_link.closed]]", Z},
		{"expired", []paylink.Status{A, X}, "[[payment_link.created] [payment_link.expired]]", X},
		{"unknown never completes", []paylink.Status{A, U, U}, "[[payment_link.created] [] []]", A},
		{"unknown then paid", []paylink.Status{A, U, C}, "[[payment_link.created] [] [payment_link.completed]]", C},
		{"first seen unknown", []paylink.Status{U, C}, "[[payment_link.created] [payment_link.completed]]", C},
		{"terminal is final", []paylink.Status{A, Z, C, A, X}, "[[payment_link.created] [payment_link.closed] [] [] []]", Z},
		{"a status paylinks does not know", []paylink.Status{A, "refunded"}, "[[payment_link.created] []]", A},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			var got [][]Type
			l := link("hub2", "pl_1", A)
			for _, st := range tt.seen {
				l.Status = st
				evs, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
				must(t, err)
				got = append(got, append([]Type{}, types(evs)...))
				e.clock.Advance(time.Second)
			}
			if fmt.Sprint(got) != tt.want {
				t.Fatalf("events = %v, want %s", got, tt.want)
			}
			st, err := e.svc.Store().LinkState(ctx, string(l.ID))
			must(t, err)
			if paylink.Status(st.Status) != tt.status {
				t.Fatalf("stored status %q, want %q", st.Status, tt.status)
			}
			if terminal(tt.status) != st.NextPollAt.IsZero() {
				t.Fatalf("terminal %s but next poll %v", tt.status, st.NextPollAt)
			}
		})
	}
}

func TestEventPayload(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	l := link("telness", "o-1", paylink.StatusActive)
	_, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
	must(t, err)
	l.Status, l.CompletedAt = paylink.StatusCompleted, t0.Add(90*time.Second)
	e.clock.Advance(2 * time.Minute)
	evs, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourcePoll, LinkJSON: json.RawMessage(`{"id":"given"}`)})
	must(t, err)
	stored, err := e.svc.GetEvent(ctx, evs[0].ID)
	must(t, err)
	raw, _ := e.svc.Store().GetEvent(ctx, evs[0].ID)
	want := fmt.Sprintf(`{"id":%q,"type":"payment_link.completed","timestamp":"2026-03-01T12:01:30Z","data":{"link":{"id":"given"},"previousStatus":"active","source":"poll","sequence":2}}`, evs[0].ID)
	if string(raw.Payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", raw.Payload, want)
	}
	if stored.Provider != "telness" || stored.LinkID != string(l.ID) || *stored.Data.PreviousStatus != "active" {
		t.Fatalf("stored = %+v", stored)
	}
	created, _ := e.svc.ListEvents(ctx, EventFilter{Type: string(LinkCreated)})
	b, _ := json.Marshal(created.Items[0])
	if !json.Valid(b) || created.Items[0].Data.PreviousStatus != nil || created.Items[0].Data.Sequence != 1 {
		t.Fatalf("created = %s", b)
	}
	var m map[string]map[string]any
	_ = json.Unmarshal(b, &m)
	if v, ok := m["data"]["previousStatus"]; !ok || v != nil {
		t.Fatalf("previousStatus of created must be null: %s", b)
	}
}

// A poll and an API close of the same link race, from goroutines on two instances (two
// Services on one SQLite file, two store handles): one closed event.
func TestObserveRaceOneEventSQLite(t *testing.T) {
	a := newEnv(t, nil)
	dir := a.svc.cfg.DataDir
	b := newEnv(t, func(c *Config) { c.Store = sqliteStore(t, dir) })
	testObserveRace(t, a, b)
}

func TestObserveRaceOneEventPostgres(t *testing.T) {
	url := pgtest.NewDB(t)
	a := newEnv(t, func(c *Config) { c.DatabaseURL = url })
	b := newEnv(t, func(c *Config) { c.DatabaseURL = url })
	testObserveRace(t, a, b)
}

func testObserveRace(t *testing.T, a, b *env) {
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		l := link("hub2", fmt.Sprint("race-", i), paylink.StatusActive)
		_, err := a.svc.Observe(ctx, Observation{Link: l, Source: SourceAPI})
		must(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []Event
		for k := 0; k < 6; k++ {
			svc, src, st := a.svc, SourceAPI, paylink.StatusClosed
			if k%2 == 1 {
				svc, src = b.svc, SourcePoll
			}
			if k == 5 {
				st = paylink.StatusCompleted // a different terminal status loses too: terminal is final
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := l
				o.Status = st
				evs, err := svc.Observe(ctx, Observation{Link: o, Source: src})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got = append(got, evs...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		all, err := a.svc.ListEvents(ctx, EventFilter{LinkID: string(l.ID)})
		must(t, err)
		if len(got) != 1 || len(all.Items) != 2 || all.Items[0].Data.Sequence != 2 {
			t.Fatalf("round %d: emitted %v, stored %v", i, types(got), types(all.Items))
		}
	}
}

func TestObserveRejectsBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RenderLink = nil })
	ctx := context.Background()
	if _, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "x", paylink.StatusActive), Source: "sms"}); err == nil {
		t.Fatal("unknown source accepted")
	}
	if _, err := e.svc.Observe(ctx, Observation{Link: paylink.Link{}, Source: SourceAPI}); err == nil {
		t.Fatal("link without id accepted")
	}
	if _, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "x", paylink.StatusActive), Source: SourceAPI}); err == nil {
		t.Fatal("no renderer and no JSON accepted")
	}
	if err := e.svc.Watch(ctx, "garbage"); err == nil {
		t.Fatal("Watch of a bad id accepted")
	}
}

func TestSequenceCountsTransitions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	l := link("mijnklantportaal", "pl_9", paylink.StatusExpired)
	evs, err := e.svc.Observe(ctx, Observation{Link: l, Source: SourcePoll})
	must(t, err)
	if len(evs) != 2 || evs[0].Data.Sequence != 1 || evs[1].Data.Sequence != 2 || evs[0].ID >= evs[1].ID {
		t.Fatalf("events = %+v", evs)
	}
	st, _ := e.svc.Store().LinkState(ctx, string(l.ID))
	if st.Sequence != 2 {
		t.Fatalf("sequence = %d", st.Sequence)
	}
	if _, err := e.svc.Store().(*store.SQL).DB().Exec(`SELECT 1`); err != nil {
		t.Fatal(err)
	}
}
