package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/internal/pgtest"
	"github.com/paylinks/paylinks/impl/paylink"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// render is a stand-in for the server's rendering of a link.
func render(l paylink.Link) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"id": l.ID, "provider": l.Provider, "status": l.Status})
}

// fakeGetter answers the poller from a table the test edits.
type fakeGetter struct {
	mu    sync.Mutex
	links map[paylink.ID]paylink.Link
	errs  map[paylink.ID]error
	calls map[paylink.ID]int
}

func newGetter() *fakeGetter {
	return &fakeGetter{links: map[paylink.ID]paylink.Link{}, errs: map[paylink.ID]error{}, calls: map[paylink.ID]int{}}
}

func (g *fakeGetter) Get(_ context.Context, id paylink.ID) (paylink.Link, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls[id]++
	if err := g.errs[id]; err != nil {
		return paylink.Link{}, err
	}
	l, ok := g.links[id]
	if !ok {
		return paylink.Link{}, fmt.Errorf("%w: %s", paylink.ErrNotFound, id)
	}
	return l, nil
}

func (g *fakeGetter) set(l paylink.Link) {
	g.mu.Lock()
	g.links[l.ID] = l
	g.mu.Unlock()
}

func (g *fakeGetter) fail(id paylink.ID, err error) {
	g.mu.Lock()
	g.errs[id] = err
	g.mu.Unlock()
}

func (g *fakeGetter) count(id paylink.ID) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[id]
}

func link(provider, own string, st paylink.Status) paylink.Link {
	return paylink.Link{ID: paylink.NewID(provider, own), Provider: provider, ProviderLinkID: own, Status: st, CreatedAt: t0}
}

type env struct {
	svc    *Service
	clock  *eventstest.Clock
	getter *fakeGetter
}

// newEnv opens a Service on a fresh SQLite file (or on the store given) with a fake clock, no
// jitter and loopback allowed.
func newEnv(t testing.TB, edit func(*Config)) *env {
	t.Helper()
	clock := eventstest.NewClock(t0)
	g := newGetter()
	cfg := Config{
		DataDir:      t.TempDir(),
		AllowPrivate: true,
		Clock:        clock.Now,
		Getter:       g,
		RenderLink:   render,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Delivery:     DeliveryConfig{Jitter: -1, Timeout: 2 * time.Second},
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return &env{svc: svc, clock: clock, getter: g}
}

// sqliteStore opens another handle on the SQLite file of dir.
func sqliteStore(t testing.TB, dir string) store.Store {
	s, err := store.OpenSQLite(context.Background(), filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func types(evs []Event) []Type {
	var out []Type
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}
