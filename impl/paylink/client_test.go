package paylink_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// start is when every sandbox clock of these tests begins.
var start = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

// world is every provider of kits.All, adapter against sandbox, served by one httptest server as
// `paylinks serve` mounts them, all on one clock so that creation times interleave across providers.
type world struct {
	clock *sandbox.Clock
	sims  map[string]sandbox.Simulator
	srv   *httptest.Server
	// client is over every adapter, in kits order.
	client    *paylink.Client
	providers []paylink.Provider
	// listable are the providers that list, in kits order; unlisted those that do not.
	listable, unlisted []string
	// calls counts the requests that reached a provider API (the control API not included).
	calls atomic.Int64
	n     int // links created so far, to number their descriptions and references
}

// secret is the one credential of the provider the world's sandboxes accept.
func secret(k kits.Kit) string { return k.Credentials[0].Sandbox + "-s3cr3t-" + k.Name }

func newWorld(t *testing.T, opts ...paylink.ClientOption) *world {
	t.Helper()
	w := &world{clock: sandbox.NewClock(start), sims: map[string]sandbox.Simulator{}}
	var sims []sandbox.Simulator
	for i, k := range kits.All {
		sim := k.NewSandbox(sandbox.Config{Clock: w.clock, Seed: uint64(i + 1), Credentials: []string{secret(k)}})
		w.sims[k.Name] = sim
		sims = append(sims, sim)
	}
	h := sandbox.Handler("/sandbox", sims...)
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/_control/") {
			w.calls.Add(1)
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	w.providers = w.adapters(t, "")
	for _, p := range w.providers {
		if p.Capabilities().Supports(paylink.OpList) {
			w.listable = append(w.listable, p.Name())
		} else {
			w.unlisted = append(w.unlisted, p.Name())
		}
	}
	if len(w.listable) < 2 || len(w.unlisted) == 0 {
		t.Fatalf("the list tests need two providers that list and one that does not: %v, %v", w.listable, w.unlisted)
	}
	c, err := paylink.NewClient(w.providers, append([]paylink.ClientOption{paylink.WithClock(w.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.client = c
	return w
}

// adapters returns every kit's adapter calling the world's sandboxes, the one of refused with a
// credential its sandbox refuses.
func (w *world) adapters(t *testing.T, refused string) []paylink.Provider {
	t.Helper()
	var out []paylink.Provider
	for _, k := range kits.All {
		creds := k.SandboxCredentials()
		creds[k.Credentials[0].Name] = secret(k)
		if k.Name == refused {
			creds[k.Credentials[0].Name] += "-refused"
		}
		a, err := k.NewAdapter(w.srv.URL+"/sandbox/"+k.Name, creds, &http.Client{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// input is a valid create at the provider, its kit's sample numbered so that no two are alike.
func (w *world) input(provider string) paylink.CreateInput {
	w.n++
	k, _ := kits.Lookup(provider)
	in := k.Sample()
	if in.Amount != nil {
		in.Amount.Minor *= int64(w.n)
	}
	if in.Description != "" {
		in.Description = fmt.Sprintf("%s %d", in.Description, w.n)
	}
	if in.Reference != "" {
		in.Reference = fmt.Sprintf("%s-%d", in.Reference, w.n)
	}
	in.ExpiresAt = start.Add(30 * 24 * time.Hour) // some providers expire links in minutes by default
	return in
}

// create creates a link at the provider through the Client.
func (w *world) create(t *testing.T, provider string) paylink.Link {
	t.Helper()
	l, err := w.client.Create(context.Background(), w.input(provider))
	if err != nil {
		t.Fatalf("creating at %s: %v", provider, err)
	}
	return l
}

// spread is the provider of the i-th link of a mixed batch: two of three at the first provider
// that lists (MijnKlantportaal, whose pages of 15 are the hardest to merge), the others at the
// other listing providers in turn.
func (w *world) spread(i int) string {
	if i%3 != 2 {
		return w.listable[0]
	}
	return w.listable[1+(i/3)%(len(w.listable)-1)]
}

// createSpread creates n links, a second apart, as spread says, and returns them oldest first.
func (w *world) createSpread(t *testing.T, n int) []paylink.Link {
	t.Helper()
	var out []paylink.Link
	for i := range n {
		out = append(out, w.create(t, w.spread(i)))
		w.tick(t)
	}
	return out
}

func (w *world) tick(t *testing.T) {
	t.Helper()
	if err := w.clock.Advance(time.Second); err != nil {
		t.Fatal(err)
	}
}

// pay simulates a successful payment of the link.
func (w *world) pay(t *testing.T, l paylink.Link) {
	t.Helper()
	if err := w.sims[l.Provider].Pay(l.ProviderLinkID); err != nil {
		t.Fatalf("paying %s: %v", l.ID, err)
	}
}

// pages reads every page of q with List and NextCursor.
func pages(t *testing.T, c *paylink.Client, q paylink.ListQuery) [][]paylink.Link {
	t.Helper()
	var out [][]paylink.Link
	for range 1000 {
		p, err := c.List(context.Background(), q)
		if err != nil {
			t.Fatalf("List(%+v) after %d pages: %v", q, len(out), err)
		}
		out = append(out, p.Links)
		if p.NextCursor == "" {
			return out
		}
		q.Cursor = p.NextCursor
	}
	t.Fatalf("List(%+v) did not end after 1000 pages", q)
	return nil
}

// all reads every link of q through All.
func all(t *testing.T, c *paylink.Client, q paylink.ListQuery) []paylink.Link {
	t.Helper()
	var out []paylink.Link
	for l, err := range c.All(context.Background(), q) {
		if err != nil {
			t.Fatalf("All(%+v) after %d links: %v", q, len(out), err)
		}
		out = append(out, l)
		if len(out) > 10000 {
			t.Fatalf("All(%+v) does not end", q)
		}
	}
	return out
}

// checkNewestFirst checks the links are in the Client's total order: newest first, then by id
// descending, which also means no link comes twice.
func checkNewestFirst(t *testing.T, links []paylink.Link) {
	t.Helper()
	for i := 1; i < len(links); i++ {
		a, b := links[i-1], links[i]
		if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID <= b.ID) {
			t.Errorf("links %d and %d out of order: %s %s, then %s %s", i-1, i,
				a.CreatedAt.Format(time.RFC3339Nano), a.ID, b.CreatedAt.Format(time.RFC3339Nano), b.ID)
		}
	}
}

// checkSame checks got holds each of want exactly once, and nothing else.
func checkSame(t *testing.T, got, want []paylink.Link) {
	t.Helper()
	seen := map[paylink.ID]int{}
	for _, l := range got {
		seen[l.ID]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	wanted := map[paylink.ID]bool{}
	for _, l := range want {
		wanted[l.ID] = true
		if seen[l.ID] == 0 {
			t.Errorf("%s (%s, created %s) never listed", l.ID, l.Provider, l.CreatedAt.Format(time.RFC3339))
		}
	}
	for id := range seen {
		if !wanted[id] {
			t.Errorf("%s listed but not expected", id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("listed %d links, want %d", len(got), len(want))
	}
}

// checkViolation checks err is a ValidationError with exactly the fields.
func checkViolation(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ve *paylink.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, paylink.ErrInvalidInput) {
		t.Fatalf("err = %v, want a *ValidationError at %v", err, fields)
	}
	var got []string
	for _, v := range ve.Violations {
		got = append(got, v.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("violations at %v, want %v (%v)", got, fields, err)
	}
}

func amount(t *testing.T, currency, value string) *paylink.Amount {
	t.Helper()
	a, err := paylink.ParseAmount(currency, value)
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestNewClientRefusesDuplicateProvider(t *testing.T) {
	t.Parallel()
	a, b := &stub{name: "a"}, &stub{name: "a"}
	if _, err := paylink.NewClient([]paylink.Provider{a, b}); err == nil {
		t.Error("NewClient with two providers named a succeeded")
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	for _, k := range kits.All {
		p := k.Name
		in := w.input(p)
		l, err := w.client.Create(ctx, in)
		if err != nil {
			t.Fatalf("Create at %s: %v", p, err)
		}
		provider, linkID, err := l.ID.Parse()
		if err != nil || provider != p || linkID != l.ProviderLinkID || l.Provider != p || linkID == "" {
			t.Errorf("Create at %s = id %q (parses to %q, %q, %v), provider %q, provider link id %q", p, l.ID, provider, linkID, err, l.Provider, l.ProviderLinkID)
		}
		if l.Status != paylink.StatusActive || !l.CreatedAt.Equal(start) {
			t.Errorf("Create at %s = status %s, created %v; want active, created %v", p, l.Status, l.CreatedAt, start)
		}
		if (in.Amount == nil) != (l.Amount == nil) || (in.Amount != nil && *in.Amount != *l.Amount) {
			t.Errorf("Create at %s: amount %v, asked %v", p, l.Amount, in.Amount)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	past := start.Add(-time.Minute)
	tests := []struct {
		name string
		in   func() paylink.CreateInput
		// fields of the ValidationError; or, with unsupported set, the field of the UnsupportedError
		fields      []string
		unsupported string
	}{
		{"unknown provider", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.Provider = "stripe"
			return in
		}, []string{"/provider"}, ""},
		{"no provider", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.Provider = ""
			return in
		}, []string{"/provider"}, ""},
		{"provider in another case", func() paylink.CreateInput {
			in := w.input("hub2")
			in.Provider = "Hub2"
			return in
		}, []string{"/provider"}, ""},
		{"amount missing at mijnklantportaal", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.Amount = nil
			return in
		}, []string{"/amount"}, ""},
		{"amount missing at hub2", func() paylink.CreateInput {
			in := w.input("hub2")
			in.Amount = nil
			return in
		}, []string{"/amount"}, ""},
		{"amount at telness", func() paylink.CreateInput {
			in := w.input("telness")
			in.Amount = amount(t, "EUR", "10.00")
			return in
		}, nil, "/amount"},
		{"XOF at mijnklantportaal", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.Amount = amount(t, "XOF", "1000")
			return in
		}, []string{"/amount/currency"}, ""},
		{"EUR at hub2", func() paylink.CreateInput {
			in := w.input("hub2")
			in.Amount = amount(t, "EUR", "10.00")
			return in
		}, []string{"/amount/currency"}, ""},
		{"zero at mijnklantportaal", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.Amount = amount(t, "EUR", "0.00")
			return in
		}, []string{"/amount/value"}, ""},
		{"negative at mijnklantportaal", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.Amount = amount(t, "EUR", "-1.00")
			return in
		}, []string{"/amount/value"}, ""},
		{"zero at hub2", func() paylink.CreateInput {
			in := w.input("hub2")
			in.Amount = amount(t, "XOF", "0")
			return in
		}, []string{"/amount/value"}, ""},
		{"expiry in the past at mijnklantportaal", func() paylink.CreateInput {
			in := w.input("mijnklantportaal")
			in.ExpiresAt = past
			return in
		}, []string{"/expiresAt"}, ""},
		{"expiry in the past at hub2", func() paylink.CreateInput {
			in := w.input("hub2")
			in.ExpiresAt = past
			return in
		}, []string{"/expiresAt"}, ""},
		{"expiry in the past at telness", func() paylink.CreateInput {
			in := w.input("telness")
			in.ExpiresAt = past
			return in
		}, []string{"/expiresAt"}, ""},
		{"expiry now", func() paylink.CreateInput {
			in := w.input("hub2")
			in.ExpiresAt = start
			return in
		}, []string{"/expiresAt"}, ""},
		{"every violation at once", func() paylink.CreateInput {
			in := w.input("hub2")
			in.Amount = amount(t, "EUR", "-5.00")
			in.ExpiresAt = past
			return in
		}, []string{"/amount/currency", "/amount/value", "/expiresAt"}, ""},
		{"reusable at telness", func() paylink.CreateInput {
			in := w.input("telness")
			in.Reusable = true
			return in
		}, nil, "/reusable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.calls.Load()
			_, err := w.client.Create(context.Background(), tt.in())
			if tt.unsupported != "" {
				var ue *paylink.UnsupportedError
				if !errors.As(err, &ue) || !errors.Is(err, paylink.ErrUnsupported) || ue.Field != tt.unsupported {
					t.Errorf("err = %v, want an *UnsupportedError at %s", err, tt.unsupported)
				}
			} else {
				checkViolation(t, err, tt.fields...)
			}
			if n := w.calls.Load() - before; n != 0 {
				t.Errorf("%d requests reached the providers; the Client should refuse before calling", n)
			}
		})
	}
}

func TestCreateFutureExpiryFollowsTheClock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	in := w.input("hub2")
	in.ExpiresAt = start.Add(time.Hour)
	if _, err := w.client.Create(context.Background(), in); err != nil {
		t.Fatalf("expiry an hour ahead of the clock: %v", err)
	}
	if err := w.clock.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	in = w.input("hub2")
	in.ExpiresAt = start.Add(time.Hour)
	_, err := w.client.Create(context.Background(), in)
	checkViolation(t, err, "/expiresAt")
}

func TestGetAndClose(t *testing.T) {
	t.Parallel()
	for _, k := range kits.All {
		p := k.Name
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ctx := context.Background()
			created := w.create(t, p)

			got, err := w.client.Get(ctx, created.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got.ID != created.ID || got.Provider != p || got.ProviderLinkID != created.ProviderLinkID || got.Status != paylink.StatusActive {
				t.Errorf("Get = %s %s %s %s, want %s %s %s active", got.ID, got.Provider, got.ProviderLinkID, got.Status, created.ID, p, created.ProviderLinkID)
			}

			closed, err := w.client.Close(ctx, created.ID, paylink.CloseInput{})
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
			if closed.ID != created.ID || closed.Provider != p || closed.Status != paylink.StatusClosed {
				t.Errorf("Close = %s %s %s, want %s %s closed", closed.ID, closed.Provider, closed.Status, created.ID, p)
			}
			if got, err := w.client.Get(ctx, created.ID); err != nil || got.Status != paylink.StatusClosed {
				t.Errorf("Get after Close = %s, %v; want closed", got.Status, err)
			}
			_, err = w.client.Close(ctx, created.ID, paylink.CloseInput{})
			if !errors.Is(err, paylink.ErrAlreadyClosed) {
				t.Errorf("Close again: %v, want ErrAlreadyClosed", err)
			}

			paid := w.create(t, p)
			w.pay(t, paid)
			if got, err := w.client.Get(ctx, paid.ID); err != nil || got.Status != paylink.StatusCompleted {
				t.Errorf("Get of a paid link = %s, %v; want completed", got.Status, err)
			}
			_, err = w.client.Close(ctx, paid.ID, paylink.CloseInput{})
			if !errors.Is(err, paylink.ErrNotClosable) || errors.Is(err, paylink.ErrAlreadyClosed) {
				t.Errorf("Close of a paid link: %v, want ErrNotClosable", err)
			}

			// An id of this provider that the provider does not know.
			unknown := paylink.NewID(p, created.ProviderLinkID+"x")
			if _, err := w.client.Get(ctx, unknown); !errors.Is(err, paylink.ErrNotFound) {
				t.Errorf("Get(%s): %v, want ErrNotFound", unknown, err)
			}
			if _, err := w.client.Close(ctx, unknown, paylink.CloseInput{}); !errors.Is(err, paylink.ErrNotFound) {
				t.Errorf("Close(%s): %v, want ErrNotFound", unknown, err)
			}
		})
	}
}

func TestRoutingRefusesForeignIDs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	l := w.create(t, "hub2")
	_, linkID, _ := l.ID.Parse()
	before := w.calls.Load()
	for _, id := range []paylink.ID{
		paylink.NewID("stripe", linkID), // a provider that is not configured
		paylink.NewID("Hub2", linkID),   // names are exact
		paylink.ID(linkID),              // the provider's own id is not a paylinks id
		"",
		"hub2_",
		"hub2_!!",
	} {
		if _, err := w.client.Get(ctx, id); !errors.Is(err, paylink.ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
		}
		if _, err := w.client.Close(ctx, id, paylink.CloseInput{}); !errors.Is(err, paylink.ErrNotFound) {
			t.Errorf("Close(%q): %v, want ErrNotFound", id, err)
		}
	}
	if n := w.calls.Load() - before; n != 0 {
		t.Errorf("%d requests reached the providers for ids no provider owns", n)
	}
	// The link itself is untouched.
	if got, err := w.client.Get(ctx, l.ID); err != nil || got.Status != paylink.StatusActive {
		t.Errorf("Get(%s) = %s, %v", l.ID, got.Status, err)
	}
}

func TestCloseUnsupported(t *testing.T) {
	t.Parallel()
	s := &stub{name: "readonly", ops: []paylink.Operation{paylink.OpGet}}
	c, err := paylink.NewClient([]paylink.Provider{s})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Close(context.Background(), paylink.NewID("readonly", "x"), paylink.CloseInput{})
	if !errors.Is(err, paylink.ErrUnsupported) {
		t.Errorf("Close at a provider without close: %v, want ErrUnsupported", err)
	}
	if s.closes.Load() != 0 {
		t.Error("the provider's Close was called")
	}
}

func TestListAcrossProviders(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	created := w.createSpread(t, 40) // 27 at the first (two page boundaries at MijnKlantportaal), 13 at the others
	for _, p := range w.unlisted {
		w.create(t, p) // a provider that cannot list: skipped, not an error
		w.tick(t)
	}

	for _, limit := range []int{1, 6, 7, 15, 16, 39, 40, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			t.Parallel()
			q := paylink.ListQuery{Limit: limit}
			ps := pages(t, w.client, q)
			var listed []paylink.Link
			for i, p := range ps {
				if len(p) > limit {
					t.Errorf("page %d has %d links, limit %d", i, len(p), limit)
				}
				if i < len(ps)-1 && len(p) != limit {
					t.Errorf("page %d of %d has %d links, want a full page of %d", i, len(ps), len(p), limit)
				}
				listed = append(listed, p...)
			}
			if want := (len(created) + limit - 1) / limit; len(ps) != want {
				t.Errorf("%d pages, want %d", len(ps), want)
			}
			checkSame(t, listed, created)
			checkNewestFirst(t, listed)

			it := all(t, w.client, q)
			checkSame(t, it, created)
			checkNewestFirst(t, it)
		})
	}

	t.Run("default limit", func(t *testing.T) {
		t.Parallel()
		p, err := w.client.List(context.Background(), paylink.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Links) != 20 || p.NextCursor == "" {
			t.Errorf("List without limit: %d links, next cursor %q; want 20 and a cursor", len(p.Links), p.NextCursor)
		}
		// The newest link first: the last one created.
		if p.Links[0].ID != created[len(created)-1].ID {
			t.Errorf("first link %s, want the newest %s", p.Links[0].ID, created[len(created)-1].ID)
		}
	})
}

// TestListTies lists links made within the same second, as a batch job makes them: the order is
// still total (ties by id), and paging neither skips nor repeats one, also where the tie spans
// MijnKlantportaal's pages of 15.
func TestListTies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var created []paylink.Link
	for range 3 {
		// 17 a second at the first provider, so that seconds straddle MijnKlantportaal's pages of 15.
		for i := range 22 {
			p := w.listable[0]
			if i%4 == 3 {
				p = w.listable[1+i%(len(w.listable)-1)]
			}
			created = append(created, w.create(t, p))
		}
		w.tick(t)
	}
	for _, limit := range []int{1, 4, 7, 15, 16, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			t.Parallel()
			var listed []paylink.Link
			for _, p := range pages(t, w.client, paylink.ListQuery{Limit: limit}) {
				listed = append(listed, p...)
			}
			checkSame(t, listed, created)
			checkNewestFirst(t, listed)
		})
	}
}

func TestListIsStableWhileLinksAreCreated(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	original := w.createSpread(t, 33)
	ctx := context.Background()

	first, err := w.client.List(ctx, paylink.ListQuery{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	var added []paylink.Link
	for i := range 5 {
		added = append(added, w.create(t, w.spread(i)))
		w.tick(t)
	}
	// More links between later pages too, which keeps pushing MijnKlantportaal's pages down.
	listed := slices.Clone(first.Links)
	q := paylink.ListQuery{Limit: 7, Cursor: first.NextCursor}
	for q.Cursor != "" {
		p, err := w.client.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, p.Links...)
		for _, p := range w.listable {
			added = append(added, w.create(t, p))
		}
		w.tick(t)
		q.Cursor = p.NextCursor
	}
	checkSame(t, listed, original)
	checkNewestFirst(t, listed)

	// A fresh listing has them all.
	checkSame(t, all(t, w.client, paylink.ListQuery{Limit: 7}), append(original, added...))
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	created := w.createSpread(t, 36)
	// Pay every fourth link and close every fifth one that is still open.
	byStatus := map[paylink.Status][]paylink.Link{}
	for i, l := range created {
		switch {
		case i%4 == 0:
			w.pay(t, l)
			byStatus[paylink.StatusCompleted] = append(byStatus[paylink.StatusCompleted], l)
		case i%5 == 0:
			if _, err := w.client.Close(ctx, l.ID, paylink.CloseInput{}); err != nil {
				t.Fatal(err)
			}
			byStatus[paylink.StatusClosed] = append(byStatus[paylink.StatusClosed], l)
		default:
			byStatus[paylink.StatusActive] = append(byStatus[paylink.StatusActive], l)
		}
	}
	at := func(provider string, links []paylink.Link) []paylink.Link {
		var out []paylink.Link
		for _, l := range links {
			if l.Provider == provider {
				out = append(out, l)
			}
		}
		return out
	}

	type listTest struct {
		name string
		q    paylink.ListQuery
		want []paylink.Link
	}
	tests := []listTest{
		{"completed", paylink.ListQuery{Status: paylink.StatusCompleted}, byStatus[paylink.StatusCompleted]},
		{"closed", paylink.ListQuery{Status: paylink.StatusClosed}, byStatus[paylink.StatusClosed]},
		{"active", paylink.ListQuery{Status: paylink.StatusActive}, byStatus[paylink.StatusActive]},
		{"expired", paylink.ListQuery{Status: paylink.StatusExpired}, nil},
		{"unknown", paylink.ListQuery{Status: paylink.StatusUnknown}, nil},
	}
	for _, p := range w.listable {
		tests = append(tests,
			listTest{p, paylink.ListQuery{Provider: p}, at(p, created)},
			listTest{"active at " + p, paylink.ListQuery{Provider: p, Status: paylink.StatusActive}, at(p, byStatus[paylink.StatusActive])},
			listTest{"completed at " + p, paylink.ListQuery{Provider: p, Status: paylink.StatusCompleted}, at(p, byStatus[paylink.StatusCompleted])},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, limit := range []int{3, 7} {
				q := tt.q
				q.Limit = limit
				var listed []paylink.Link
				for _, p := range pages(t, w.client, q) {
					listed = append(listed, p...)
				}
				checkSame(t, listed, tt.want)
				checkNewestFirst(t, listed)
				for _, l := range listed {
					if (q.Provider != "" && l.Provider != q.Provider) || (q.Status != "" && l.Status != q.Status) {
						t.Errorf("%s (%s, %s) listed for %+v", l.ID, l.Provider, l.Status, q)
					}
				}
			}
		})
	}
}

func TestListRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.createSpread(t, 12)

	cursorOf := func(c *paylink.Client, q paylink.ListQuery) string {
		t.Helper()
		q.Limit = 2
		p, err := c.List(ctx, q)
		if err != nil || p.NextCursor == "" {
			t.Fatalf("List(%+v) = cursor %q, %v", q, p.NextCursor, err)
		}
		return p.NextCursor
	}
	plain := cursorOf(w.client, paylink.ListQuery{})
	ofFirst := cursorOf(w.client, paylink.ListQuery{Provider: w.listable[0]})
	ofActive := cursorOf(w.client, paylink.ListQuery{Status: paylink.StatusActive})

	other, err := paylink.NewClient(w.providers, paylink.WithCursorKey([]byte("another instance's key")))
	if err != nil {
		t.Fatal(err)
	}
	foreign := cursorOf(other, paylink.ListQuery{})

	payload, mac, _ := strings.Cut(plain, ".")
	tests := []struct {
		name  string
		q     paylink.ListQuery
		field string
	}{
		{"cursor with a provider filter added", paylink.ListQuery{Provider: w.listable[0], Cursor: plain}, "query.cursor"},
		{"cursor with a status filter added", paylink.ListQuery{Status: paylink.StatusActive, Cursor: plain}, "query.cursor"},
		{"cursor with its provider filter dropped", paylink.ListQuery{Cursor: ofFirst}, "query.cursor"},
		{"cursor with its provider filter changed", paylink.ListQuery{Provider: w.listable[1], Cursor: ofFirst}, "query.cursor"},
		{"cursor with its status filter changed", paylink.ListQuery{Status: paylink.StatusClosed, Cursor: ofActive}, "query.cursor"},
		{"cursor of another key", paylink.ListQuery{Cursor: foreign}, "query.cursor"},
		{"truncated cursor", paylink.ListQuery{Cursor: plain[:len(plain)-3]}, "query.cursor"},
		{"cursor without signature", paylink.ListQuery{Cursor: payload}, "query.cursor"},
		{"signature alone", paylink.ListQuery{Cursor: "." + mac}, "query.cursor"},
		{"cursor with the signature of another", paylink.ListQuery{Cursor: payload + "." + strings.SplitN(foreign, ".", 2)[1]}, "query.cursor"},
		{"garbage cursor", paylink.ListQuery{Cursor: "page=2"}, "query.cursor"},
		{"unknown status", paylink.ListQuery{Status: "paid"}, "query.status"},
		{"unknown provider", paylink.ListQuery{Provider: "stripe"}, "query.provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := w.client.List(ctx, tt.q)
			checkViolation(t, err, tt.field)
		})
	}

	t.Run("every single-character change", func(t *testing.T) {
		t.Parallel()
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
		for i := range len(plain) {
			for _, r := range []byte{alphabet[(strings.IndexByte(alphabet, plain[i])+1)%len(alphabet)], '='} {
				b := []byte(plain)
				b[i] = r
				_, err := w.client.List(ctx, paylink.ListQuery{Limit: 2, Cursor: string(b)})
				var ve *paylink.ValidationError
				if !errors.As(err, &ve) || ve.Violations[0].Field != "query.cursor" {
					t.Errorf("cursor changed at %d to %q: %v, want a violation at query.cursor", i, r, err)
				}
			}
		}
	})

	t.Run("named provider without list", func(t *testing.T) {
		t.Parallel()
		_, err := w.client.List(ctx, paylink.ListQuery{Provider: w.unlisted[0]})
		var ue *paylink.UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, paylink.ErrUnsupported) || ue.Provider != w.unlisted[0] {
			t.Errorf("List at %s: %v, want its *UnsupportedError", w.unlisted[0], err)
		}
	})

	t.Run("cursor of an instance with the same key", func(t *testing.T) {
		t.Parallel()
		key := []byte("shared by every instance")
		a, _ := paylink.NewClient(w.providers, paylink.WithCursorKey(key))
		b, _ := paylink.NewClient(w.providers, paylink.WithCursorKey(key))
		first, err := a.List(ctx, paylink.ListQuery{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		rest := all(t, b, paylink.ListQuery{Limit: 5, Cursor: first.NextCursor})
		if got := len(first.Links) + len(rest); got != 12 {
			t.Errorf("listed %d links across two instances, want 12", got)
		}
	})
}

func TestListProviderAuthFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.createSpread(t, 3)
	// The second provider's adapter with a key its sandbox refuses; the first still fine.
	first, refused := w.listable[0], w.listable[1]
	c, err := paylink.NewClient(w.adapters(t, refused))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(context.Background(), paylink.ListQuery{})
	var pe *paylink.ProviderError
	if !errors.As(err, &pe) || pe.Provider != refused || !errors.Is(err, paylink.ErrProviderAuth) {
		t.Errorf("List with %s refusing the key: %v, want its *ProviderError matching ErrProviderAuth", refused, err)
	}
	// Listing the first alone still works.
	if p, err := c.List(context.Background(), paylink.ListQuery{Provider: first}); err != nil || len(p.Links) != 2 {
		t.Errorf("List at %s = %d links, %v; want 2", first, len(p.Links), err)
	}
}

// stub is a Provider whose List is a function of the test; it only lists.
type stub struct {
	name   string
	ops    []paylink.Operation
	list   func(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error)
	closes atomic.Int64
}

func (s *stub) Name() string { return s.name }
func (s *stub) Capabilities() paylink.Capabilities {
	ops := s.ops
	if ops == nil {
		ops = []paylink.Operation{paylink.OpList}
	}
	return paylink.Capabilities{Operations: ops}
}
func (s *stub) Create(context.Context, paylink.CreateInput) (paylink.Link, error) {
	return paylink.Link{}, paylink.Unsupported(s.name, "", "stub")
}
func (s *stub) Get(context.Context, string) (paylink.Link, error) {
	return paylink.Link{}, paylink.Unsupported(s.name, "", "stub")
}
func (s *stub) List(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
	return s.list(ctx, q)
}
func (s *stub) Close(context.Context, string, paylink.CloseInput) (paylink.Link, error) {
	s.closes.Add(1)
	return paylink.Link{}, paylink.Unsupported(s.name, "", "stub")
}

// waitLong bounds how long a stub waits for something that happens at once when the Client is
// right; reaching it fails the test rather than hanging it.
const waitLong = 10 * time.Second

func TestListCallsProvidersConcurrently(t *testing.T) {
	t.Parallel()
	// Each provider's List waits until the other's has started too: called one after the other,
	// the first would wait in vain.
	var entered sync.WaitGroup
	entered.Add(2)
	bothIn := make(chan struct{})
	go func() { entered.Wait(); close(bothIn) }()
	slow := func(name string) *stub {
		return &stub{name: name, list: func(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
			if q.Page == "" {
				entered.Done()
			}
			select {
			case <-bothIn:
			case <-time.After(waitLong):
				return paylink.PageResult{}, fmt.Errorf("%s: the other provider's List did not start while this one ran: providers are listed one after the other", name)
			}
			time.Sleep(10 * time.Millisecond) // a slow provider
			return paylink.PageResult{Links: []paylink.Link{{ProviderLinkID: name + "-1", CreatedAt: start}}}, nil
		}}
	}
	c, err := paylink.NewClient([]paylink.Provider{slow("a"), slow("b")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.List(context.Background(), paylink.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Links) != 2 || p.Links[0].Provider != "b" || p.Links[1].Provider != "a" || p.NextCursor != "" {
		t.Errorf("List = %+v", p)
	}
}

func TestListFailsWithTheFailingProvidersError(t *testing.T) {
	t.Parallel()
	failure := &paylink.ProviderError{Provider: "broken", Kind: paylink.ErrProviderUnavailable, Status: 503, Message: "maintenance"}
	for _, brokenFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("broken registered first %t", brokenFirst), func(t *testing.T) {
			t.Parallel()
			broken := &stub{name: "broken", list: func(context.Context, paylink.PageQuery) (paylink.PageResult, error) {
				return paylink.PageResult{}, failure
			}}
			// healthy answers only once its call is cancelled, as an adapter whose request is cut
			// off does: with context.Canceled, as TransportError returns it.
			cancelled := make(chan struct{})
			healthy := &stub{name: "healthy", list: func(ctx context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
				select {
				case <-ctx.Done():
					close(cancelled)
					return paylink.PageResult{}, paylink.TransportError("healthy", ctx.Err())
				case <-time.After(waitLong):
					return paylink.PageResult{}, errors.New("healthy: the List call was not cancelled after the other provider failed")
				}
			}}
			ps := []paylink.Provider{healthy, broken}
			if brokenFirst {
				ps = []paylink.Provider{broken, healthy}
			}
			c, err := paylink.NewClient(ps)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.List(context.Background(), paylink.ListQuery{})
			var pe *paylink.ProviderError
			if !errors.As(err, &pe) || pe != failure || !errors.Is(err, paylink.ErrProviderUnavailable) {
				t.Errorf("List = %v, want the broken provider's error", err)
			}
			select {
			case <-cancelled:
			default:
				t.Error("the healthy provider's List was not cancelled")
			}
		})
	}
}

func TestListCancelledByCaller(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.createSpread(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.client.List(ctx, paylink.ListQuery{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestAll(t *testing.T) {
	t.Parallel()
	t.Run("stops when the caller does", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int64
		s := &stub{name: "a", list: func(context.Context, paylink.PageQuery) (paylink.PageResult, error) {
			calls.Add(1)
			var links []paylink.Link
			for i := range 10 {
				links = append(links, paylink.Link{ProviderLinkID: fmt.Sprint(i), CreatedAt: start.Add(-time.Duration(i) * time.Second)})
			}
			return paylink.PageResult{Links: links}, nil
		}}
		c, _ := paylink.NewClient([]paylink.Provider{s})
		n := 0
		for _, err := range c.All(context.Background(), paylink.ListQuery{Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if got := calls.Load(); got != 2 {
			t.Errorf("%d List calls to yield 3 links in pages of 2, want 2", got)
		}
	})
	t.Run("yields the error once", func(t *testing.T) {
		t.Parallel()
		s := &stub{name: "a", list: func(context.Context, paylink.PageQuery) (paylink.PageResult, error) {
			return paylink.PageResult{}, paylink.TransportError("a", errors.New("connection reset"))
		}}
		c, _ := paylink.NewClient([]paylink.Provider{s})
		var errs []error
		for l, err := range c.All(context.Background(), paylink.ListQuery{}) {
			if err == nil {
				t.Errorf("yielded %+v", l)
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], paylink.ErrProviderUnavailable) {
			t.Errorf("All yielded %v, want one ErrProviderUnavailable", errs)
		}
	})
}

// closer is a Provider whose close and get answers are set by the test.
type closer struct {
	closeAnswer paylink.Link
	closeErr    error
	getAnswer   paylink.Link
	getErr      error
	gets        atomic.Int64
}

func (c *closer) Name() string { return "closer" }
func (c *closer) Capabilities() paylink.Capabilities {
	return paylink.Capabilities{Operations: []paylink.Operation{paylink.OpGet, paylink.OpClose}}
}
func (c *closer) Create(context.Context, paylink.CreateInput) (paylink.Link, error) {
	return paylink.Link{}, paylink.Unsupported(c.Name(), "", "stub")
}
func (c *closer) Get(context.Context, string) (paylink.Link, error) {
	c.gets.Add(1)
	return c.getAnswer, c.getErr
}
func (c *closer) List(context.Context, paylink.PageQuery) (paylink.PageResult, error) {
	return paylink.PageResult{}, paylink.Unsupported(c.Name(), "", "stub")
}
func (c *closer) Close(context.Context, string, paylink.CloseInput) (paylink.Link, error) {
	return c.closeAnswer, c.closeErr
}

// A close refused as not closable is explained once, by the Client, from the link's status: the
// adapters' providers answer closed, paid and expired links alike.
func TestCloseRefusalIsExplained(t *testing.T) {
	t.Parallel()
	refusal := &paylink.ProviderError{Provider: "closer", Kind: paylink.ErrNotClosable, Status: 409, Code: "not-active", Message: "Payment link is not active"}
	link := func(s paylink.Status) paylink.Link { return paylink.Link{ProviderLinkID: "l1", Status: s} }
	tests := []struct {
		name     string
		closeErr error
		readBack paylink.Link
		readErr  error
		want     error
		reads    int64
		detail   string
	}{
		{"closed", refusal, link(paylink.StatusClosed), nil, paylink.ErrAlreadyClosed, 1, "Payment link is not active"},
		{"paid", refusal, link(paylink.StatusCompleted), nil, paylink.ErrNotClosable, 1, ""},
		{"expired", refusal, link(paylink.StatusExpired), nil, paylink.ErrNotClosable, 1, ""},
		{"a status added later", refusal, link(paylink.StatusUnknown), nil, paylink.ErrNotClosable, 1, ""},
		{"still open: the provider knows a reason paylinks does not", refusal, link(paylink.StatusActive), nil, paylink.ErrProvider, 1, ""},
		{"unreadable", refusal, paylink.Link{}, &paylink.ProviderError{Provider: "closer", Kind: paylink.ErrProviderUnavailable}, paylink.ErrNotClosable, 1, "reading its status failed"},
		{"not a ProviderError", fmt.Errorf("refused: %w", paylink.ErrNotClosable), link(paylink.StatusClosed), nil, paylink.ErrAlreadyClosed, 1, "refused"},
		{"already closed, said by the adapter", &paylink.ProviderError{Provider: "closer", Kind: paylink.ErrAlreadyClosed}, link(paylink.StatusActive), nil, paylink.ErrAlreadyClosed, 0, ""},
	}
	others := []error{paylink.ErrAlreadyClosed, paylink.ErrNotClosable, paylink.ErrProvider}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &closer{closeErr: tt.closeErr, getAnswer: tt.readBack, getErr: tt.readErr}
			c, err := paylink.NewClient([]paylink.Provider{p})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Close(context.Background(), paylink.NewID("closer", "l1"), paylink.CloseInput{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Close: %v, want %v", err, tt.want)
			}
			for _, o := range others {
				if !errors.Is(o, tt.want) && errors.Is(err, o) {
					t.Errorf("Close: %v also matches %v", err, o)
				}
			}
			if n := p.gets.Load(); n != tt.reads {
				t.Errorf("read the link %d times, want %d", n, tt.reads)
			}
			var pe *paylink.ProviderError
			if errors.As(tt.closeErr, &pe) && pe.Status != 0 && (!errors.As(err, &pe) || pe.Status != 409 || pe.Code != "not-active") {
				t.Errorf("the provider's status and code are lost: %#v", err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("Close: %q does not say %q", err, tt.detail)
			}
		})
	}
}

// Every error of the Client matches a sentinel: what an adapter returns unclassified is wrapped
// once, and a link without its id, or another link than asked, is the provider's contract broken.
func TestAdapterErrorsAreClassified(t *testing.T) {
	t.Parallel()
	plain := errors.New("socket closed unexpectedly")
	tests := []struct {
		name    string
		closeAs paylink.Link
		err     error
		want    error
	}{
		{"a plain error", paylink.Link{}, plain, paylink.ErrProvider},
		{"a bare deadline", paylink.Link{}, context.DeadlineExceeded, paylink.ErrProviderTimeout},
		{"the caller's cancellation, as it is", paylink.Link{}, context.Canceled, context.Canceled},
		{"classified already", paylink.Link{}, paylink.ErrNotFound, paylink.ErrNotFound},
		{"a link without its id", paylink.Link{Status: paylink.StatusClosed}, nil, paylink.ErrContractViolation},
		{"another link", paylink.Link{ProviderLinkID: "l2", Status: paylink.StatusClosed}, nil, paylink.ErrContractViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &closer{closeAnswer: tt.closeAs, closeErr: tt.err, getErr: tt.err, getAnswer: tt.closeAs}
			c, err := paylink.NewClient([]paylink.Provider{p})
			if err != nil {
				t.Fatal(err)
			}
			_, cerr := c.Close(context.Background(), paylink.NewID("closer", "l1"), paylink.CloseInput{})
			_, gerr := c.Get(context.Background(), paylink.NewID("closer", "l1"))
			for op, err := range map[string]error{"Close": cerr, "Get": gerr} {
				var pe *paylink.ProviderError
				if !errors.Is(err, tt.want) {
					t.Errorf("%s: %v, want %v", op, err, tt.want)
				}
				if !errors.Is(tt.want, context.Canceled) && !errors.Is(tt.err, paylink.ErrNotFound) && (!errors.As(err, &pe) || pe.Provider != "closer") {
					t.Errorf("%s: %#v is not a ProviderError of closer", op, err)
				}
				if errors.Is(tt.err, plain) && !errors.Is(err, plain) {
					t.Errorf("%s: %v lost the adapter's error", op, err)
				}
			}
		})
	}
}

// An operation the capabilities leave out is refused before the adapter is called.
func TestOperationsOutsideTheCapabilities(t *testing.T) {
	t.Parallel()
	s := &stub{name: "lister"} // lists only
	c, err := paylink.NewClient([]paylink.Provider{s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, cerr := c.Create(ctx, paylink.CreateInput{Provider: "lister"})
	_, gerr := c.Get(ctx, paylink.NewID("lister", "l1"))
	_, xerr := c.Close(ctx, paylink.NewID("lister", "l1"), paylink.CloseInput{})
	for op, err := range map[string]error{"Create": cerr, "Get": gerr, "Close": xerr} {
		var ue *paylink.UnsupportedError
		if !errors.As(err, &ue) || ue.Provider != "lister" || ue.Reason == "stub" {
			t.Errorf("%s: %v, want the Client's ErrUnsupported", op, err)
		}
	}
	if s.closes.Load() != 0 {
		t.Error("the adapter's Close was called")
	}
}

// A close is only a close when the link ends up closed: a provider answering success with a link
// that is still open (and reads back open) has not closed it, whatever its status code said.
func TestCloseIsVerified(t *testing.T) {
	t.Parallel()
	link := func(s paylink.Status, provider string) paylink.Link {
		return paylink.Link{ProviderLinkID: "l1", Status: s, ProviderStatus: provider}
	}
	closed, open, paid := link(paylink.StatusClosed, "closed"), link(paylink.StatusActive, "open"), link(paylink.StatusCompleted, "paid")
	tests := []struct {
		name      string
		answer    paylink.Link
		readBack  paylink.Link
		readErr   error
		wantErr   string // empty: the close succeeds with a closed link
		wantReads int64
	}{
		{name: "closed at once", answer: closed, readBack: open, wantReads: 0},
		{name: "stale answer, closed when read back", answer: open, readBack: closed, wantReads: 1},
		{name: "still open", answer: open, readBack: open, wantErr: `answered the close with the link in status "open" and reads it back in status "open"`, wantReads: 1},
		{name: "paid instead", answer: paid, readBack: paid, wantErr: `status "paid" and reads it back in status "paid"`, wantReads: 1},
		{name: "open, read back fails", answer: open, readErr: &paylink.ProviderError{Provider: "closer", Kind: paylink.ErrProviderUnavailable},
			wantErr: "reading it again failed", wantReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &closer{closeAnswer: tt.answer, getAnswer: tt.readBack, getErr: tt.readErr}
			c, err := paylink.NewClient([]paylink.Provider{p})
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.Close(context.Background(), paylink.NewID("closer", "l1"), paylink.CloseInput{})
			if got := p.gets.Load(); got != tt.wantReads {
				t.Errorf("read the link %d times, want %d", got, tt.wantReads)
			}
			if tt.wantErr == "" {
				if err != nil || l.Status != paylink.StatusClosed || l.ID != paylink.NewID("closer", "l1") {
					t.Fatalf("Close = %+v, %v; want the closed link", l, err)
				}
				return
			}
			var pe *paylink.ProviderError
			if !errors.Is(err, paylink.ErrNotHonoured) || !errors.As(err, &pe) || pe.Provider != "closer" {
				t.Fatalf("Close = %+v, %v; want a ProviderError matching ErrNotHonoured", l, err)
			}
			if !strings.Contains(err.Error(), "did not close the payment link") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
		})
	}
}

// shifting is a page-numbered provider (three links a page, newest first) in which a link is
// created right after its first page is read: every later page starts with the link that ended
// the page before, as MijnKlantportaal's pages do when links are created between two reads.
func shifting(statuses map[string]paylink.Status) *stub {
	at := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	link := func(i int) paylink.Link {
		id := fmt.Sprintf("l%d", i)
		s, ok := statuses[id]
		if !ok {
			s = paylink.StatusActive
		}
		return paylink.Link{ProviderLinkID: id, Status: s, CreatedAt: at.Add(-time.Duration(i) * time.Minute)}
	}
	var (
		mu    sync.Mutex
		links = []paylink.Link{link(1), link(2), link(3), link(4), link(5), link(6)}
	)
	return &stub{name: "paged", list: func(_ context.Context, q paylink.PageQuery) (paylink.PageResult, error) {
		mu.Lock()
		defer mu.Unlock()
		n := 1
		if q.Page != "" {
			n, _ = strconv.Atoi(q.Page)
		}
		from := min(3*(n-1), len(links))
		res := paylink.PageResult{Links: slices.Clone(links[from:min(from+3, len(links))])}
		if from+3 < len(links) {
			res.Next = strconv.Itoa(n + 1)
		}
		if len(links) == 6 {
			links = append([]paylink.Link{link(0)}, links...)
		}
		return res, nil
	}}
}

func providerIDs(links []paylink.Link) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.ProviderLinkID
	}
	return out
}

// Pages that shift between two reads give a link twice; the merged list holds it once.
func TestListHoldsEachLinkOnce(t *testing.T) {
	t.Parallel()
	c, err := paylink.NewClient([]paylink.Provider{shifting(nil)})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.List(context.Background(), paylink.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(providerIDs(page.Links), " "); got != "l1 l2 l3 l4 l5 l6" {
		t.Errorf("list %s, want l1 to l6 once each", got)
	}
}

// A link read twice must not count twice towards a page either: the list would then end early,
// without a cursor, while links are left to read.
func TestListCountsARepeatedLinkOnce(t *testing.T) {
	t.Parallel()
	closed := map[string]paylink.Status{"l2": paylink.StatusClosed, "l4": paylink.StatusClosed, "l5": paylink.StatusClosed}
	c, err := paylink.NewClient([]paylink.Provider{shifting(closed)})
	if err != nil {
		t.Fatal(err)
	}
	got := all(t, c, paylink.ListQuery{Status: paylink.StatusActive, Limit: 2})
	if ids := strings.Join(providerIDs(got), " "); ids != "l1 l3 l6" {
		t.Errorf("active links %s, want l1 l3 l6", ids)
	}
}

// checkTimeOrder checks the links come newest first; links of the same instant may come in any
// order that lists each once (checkSame).
func checkTimeOrder(t *testing.T, links []paylink.Link) {
	t.Helper()
	for i := 1; i < len(links); i++ {
		if links[i-1].CreatedAt.Before(links[i].CreatedAt) {
			t.Errorf("links %d and %d out of order: %s, then %s", i-1, i, links[i-1].CreatedAt, links[i].CreatedAt)
		}
	}
}

// TestListBurstLargerThanOneCallReads makes more links in one second at MijnKlantportaal than one
// List call reads (its pages hold 15), between other seconds' links of both providers: the merged
// list must list each exactly once, newest first, instead of failing after so many pages.
func TestListBurstLargerThanOneCallReads(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var created []paylink.Link
	created = append(created, w.createSpread(t, 6)...)
	for i := range 1600 {
		p := "mijnklantportaal"
		if i%200 == 7 {
			p = "hub2"
		}
		created = append(created, w.create(t, p))
	}
	w.tick(t)
	created = append(created, w.createSpread(t, 6)...)
	// Pay some of the burst, to list them by status too.
	var completed []paylink.Link
	for i, l := range created {
		if i%97 == 3 {
			w.pay(t, l)
			completed = append(completed, l)
		}
	}
	t.Run("listed", func(t *testing.T) { listBurst(t, w, created, completed) })
	// Links made while the burst is listed push MijnKlantportaal's pages down: still each once.
	q := paylink.ListQuery{Limit: 50}
	var listed []paylink.Link
	for {
		p, err := w.client.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, p.Links...)
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
		w.create(t, "mijnklantportaal")
		w.create(t, "mijnklantportaal")
	}
	checkSame(t, listed, created)
	checkTimeOrder(t, listed)
}

func listBurst(t *testing.T, w *world, created, completed []paylink.Link) {
	for _, q := range []paylink.ListQuery{
		{Limit: 100},
		{Limit: 37},
		{Limit: 100, Provider: "mijnklantportaal"},
		{Limit: 10, Status: paylink.StatusCompleted},
	} {
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) {
			t.Parallel()
			want := created
			if q.Status != "" {
				want = completed
			}
			if q.Provider != "" {
				var at []paylink.Link
				for _, l := range want {
					if l.Provider == q.Provider {
						at = append(at, l)
					}
				}
				want = at
			}
			var listed []paylink.Link
			for _, p := range pages(t, w.client, q) {
				if len(p) > q.Limit {
					t.Errorf("a page of %d links, limit %d", len(p), q.Limit)
				}
				listed = append(listed, p...)
			}
			checkSame(t, listed, want)
			checkTimeOrder(t, listed)
		})
	}
}

// TestListSparseFilter asks for the completed links when only the oldest of many is: reading all of
// MijnKlantportaal's pages takes several calls, each returning what it is sure of with a cursor,
// instead of the list failing for everyone.
func TestListSparseFilter(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var created []paylink.Link
	for i := range 1600 {
		created = append(created, w.create(t, "mijnklantportaal"))
		if i%3 == 0 {
			w.tick(t)
		}
	}
	w.pay(t, created[0])
	for _, q := range []paylink.ListQuery{{Status: paylink.StatusCompleted}, {Status: paylink.StatusCompleted, Provider: "mijnklantportaal"}} {
		ps := pages(t, w.client, q)
		var listed []paylink.Link
		for _, p := range ps {
			listed = append(listed, p...)
		}
		checkSame(t, listed, created[:1])
		if len(ps) > 1600/15/20+2 {
			t.Errorf("%d calls to list one link: each call should read many provider pages", len(ps))
		}
	}
}
