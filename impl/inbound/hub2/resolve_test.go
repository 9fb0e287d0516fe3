package hub2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	hub2api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/inbound/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
	hub2adapter "github.com/paylinks/paylinks/impl/providers/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
)

// counting is the events engine's Getter, counting the reads of each link.
type counting struct {
	*paylink.Client
	mu    sync.Mutex
	reads map[paylink.ID]int
}

func (c *counting) Get(ctx context.Context, id paylink.ID) (paylink.Link, error) {
	c.mu.Lock()
	c.reads[id]++
	c.mu.Unlock()
	return c.Client.Get(ctx, id)
}

func (c *counting) take() map[paylink.ID]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads
	c.reads = map[paylink.ID]int{}
	return r
}

type resolveEnv struct {
	sb     *hub2sandbox.Sandbox
	client *counting
	events *events.Service
	direct *hub2api.ClientWithResponses // the provider's API, as a merchant's other systems use it
}

func newResolveEnv(t *testing.T) *resolveEnv {
	t.Helper()
	sb := hub2sandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 11})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	adapter, err := hub2adapter.New(hub2adapter.Config{BaseURL: srv.URL, APIKey: "k", MerchantID: "m", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := paylink.NewClient([]paylink.Provider{adapter})
	if err != nil {
		t.Fatal(err)
	}
	c := &counting{Client: pc, reads: map[paylink.ID]int{}}
	in, err := hub2.New(inbound.Deps{Lister: pc})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := events.Open(context.Background(), events.Config{DataDir: t.TempDir(), Getter: c, PollSchedule: "1h",
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		RenderLink: func(l paylink.Link) (json.RawMessage, error) { return json.Marshal(l.ID) },
		Resolvers:  inbound.Resolvers([]inbound.Provider{in}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	direct, err := hub2api.NewClientWithResponses(srv.URL, hub2api.WithRequestEditorFn(adapter.Authorize))
	if err != nil {
		t.Fatal(err)
	}
	return &resolveEnv{sb: sb, client: c, events: svc, direct: direct}
}

// create makes a link through paylinks (observed: source api).
func (e *resolveEnv) create(t *testing.T, ref string) paylink.Link {
	t.Helper()
	l, err := e.client.Create(context.Background(), paylink.CreateInput{Provider: "hub2", Amount: &paylink.Amount{Currency: "XOF", Minor: 1000}, Description: "Order", Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.events.Observe(context.Background(), events.Observation{Link: l, Source: events.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	return l
}

// attempts returns the intent ids of the link's attempts, as Hub2 reports them.
func (e *resolveEnv) intents(t *testing.T, own string) []string {
	t.Helper()
	res, err := e.direct.GetPaymentLinkWithResponse(context.Background(), own)
	if err != nil || res.JSON200 == nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range *res.JSON200.PaymentAttempts {
		out = append(out, *a.IntentId)
	}
	return out
}

// webhook keeps a body as a verified Hub2 webhook and resolves it.
func (e *resolveEnv) webhook(t *testing.T, body string) map[paylink.ID]int {
	t.Helper()
	e.client.take()
	if _, err := e.events.Receive(context.Background(), events.Inbound{Provider: "hub2", DedupKey: inbound.HashKey("", []byte(body)), Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.events.Inbox().RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("resolved %d: %v", n, err)
	}
	return e.client.take()
}

func (e *resolveEnv) types(t *testing.T, id paylink.ID) []string {
	t.Helper()
	p, err := e.events.ListEvents(context.Background(), events.EventFilter{LinkID: string(id)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range p.Items {
		out = append(out, fmt.Sprintf("%s/%s", ev.Type, ev.Data.Source))
	}
	slices.Sort(out)
	return out
}

func TestResolveMapsPaymentsToLinks(t *testing.T) {
	e := newResolveEnv(t)
	ctx := context.Background()
	byRef := e.create(t, "ORDER-1")
	byIntent := e.create(t, "ORDER-2")
	other := e.create(t, "ORDER-3")

	// The intent index: a failed attempt seen by a poll makes its intent known.
	if err := e.sb.Fail(byIntent.ProviderLinkID); err != nil {
		t.Fatal(err)
	}
	polled, err := e.client.Client.Get(ctx, byIntent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.events.Observe(ctx, events.Observation{Link: polled, Source: events.SourcePoll}); err != nil {
		t.Fatal(err)
	}
	failedIntent := e.intents(t, byIntent.ProviderLinkID)[0]
	if err := e.sb.Pay(byIntent.ProviderLinkID); err != nil {
		t.Fatal(err)
	}
	reads := e.webhook(t, fmt.Sprintf(`{"id":"evt_a","type":"payment.failed","data":{"id":"pay_x","intentId":%q,"status":"failed"}}`, failedIntent))
	if len(reads) != 1 || reads[byIntent.ID] != 1 {
		t.Errorf("an indexed intent read %v, want its link only", reads)
	}
	if got := e.types(t, byIntent.ID); !slices.Equal(got, []string{"payment_link.completed/provider_webhook", "payment_link.created/api"}) {
		t.Errorf("indexed intent: %v", got)
	}

	// The purchase reference: known since the link was created through paylinks.
	if err := e.sb.Pay(byRef.ProviderLinkID); err != nil {
		t.Fatal(err)
	}
	reads = e.webhook(t, `{"type":"payment_intent.succeeded","data":{"id":"pi_unseen","purchaseReference":"ORDER-1","status":"successful"}}`)
	if len(reads) != 1 || reads[byRef.ID] != 1 {
		t.Errorf("a known reference read %v", reads)
	}
	if got := e.types(t, byRef.ID); len(got) != 2 || got[0] != "payment_link.completed/provider_webhook" {
		t.Errorf("by reference: %v", got)
	}

	// A forged payment naming nothing known: the open links are re-read (other only, the others are
	// completed), the recent completed links listed, and nothing happens.
	reads = e.webhook(t, `{"type":"payment.succeeded","data":{"id":"pay_forged","intentId":"pi_forged","status":"successful"}}`)
	if len(reads) != 1 || reads[other.ID] != 1 {
		t.Errorf("forged: read %v, want the open link only", reads)
	}
	if got := e.types(t, other.ID); len(got) != 1 {
		t.Errorf("forged webhook made events: %v", got)
	}
}

// A link paylinks never saw (made at Hub2 directly), paid: the webhook's intent is found by the
// sweep of completed links, and the link tells its story (source provider_webhook).
func TestResolveSweepsCompletedLinks(t *testing.T) {
	e := newResolveEnv(t)
	ctx := context.Background()
	res, err := e.direct.CreatePaymentLinkWithResponse(ctx, hub2api.CreatePaymentLinkRequest{PurchaseReference: "POS-9", Amount: 500, Currency: "XOF", Country: ptr("CI")})
	if err != nil || res.JSON201 == nil {
		t.Fatalf("direct create: %v %s", err, res.Body)
	}
	own := res.JSON201.Id
	if err := e.sb.Pay(own); err != nil {
		t.Fatal(err)
	}
	intent := e.intents(t, own)[0]
	e.webhook(t, fmt.Sprintf(`{"id":"evt_s","type":"payment_intent.succeeded","data":{"id":%q,"status":"successful"}}`, intent))
	id := paylink.NewID("hub2", own)
	if got := e.types(t, id); !slices.Equal(got, []string{"payment_link.completed/provider_webhook", "payment_link.created/provider_webhook"}) {
		t.Fatalf("swept link: %v", got)
	}
	// Its intent is indexed now: the same event again reads it directly.
	ms, _ := e.events.Store().ListInbox(ctx, store.InboxQuery{})
	if len(ms) != 1 || ms[0].Status != store.InboxDone {
		t.Fatalf("inbox %+v", ms)
	}
	if reads := e.webhook(t, fmt.Sprintf(`{"type":"payment.succeeded","data":{"intentId":%q}}`, intent)); len(reads) != 1 || reads[id] != 1 {
		t.Errorf("after the sweep: read %v", reads)
	}
}

func ptr[T any](v T) *T { return &v }
