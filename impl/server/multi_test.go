package server

import (
	"context"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/internal/pgtest"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Three instances on one PostgreSQL, in front of one provider (a Hub2 sandbox standing in for the
// real one): every event is emitted once and delivered once, whichever instance polls, and a poll
// racing an API close of the same link makes one event.
func TestInstancesShareOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDB(t)
	provider := hub2sandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 42})
	upstream := httptest.NewServer(provider.Handler())
	t.Cleanup(upstream.Close)

	var instances []*testServer
	for range 3 {
		instances = append(instances, start(t, Config{
			APIKeys: []string{"k"},
			Providers: map[string]ProviderConfig{"hub2": {BaseURL: upstream.URL, Credentials: map[string]string{
				"api_key": "a", "merchant_id": "m", "environment": "sandbox"}}},
			Events: EventsConfig{DatabaseURL: dsn, AllowPrivate: true, PollSchedule: "20ms", RetrySchedule: "0s,50ms"},
		}))
	}
	ctx := context.Background()
	clients := make([]*api.ClientWithResponses, len(instances))
	for i, ts := range instances {
		clients[i] = ts.client(t, "k")
	}
	rcv := eventstest.NewReceiver(t)
	ep, err := clients[0].CreateWebhookEndpointWithResponse(ctx, api.CreateWebhookEndpointRequest{Url: rcv.URL()})
	if err != nil || ep.JSON201 == nil {
		t.Fatalf("endpoint: %v %s", err, ep.Body)
	}
	rcv.SetSecrets(ep.JSON201.Secret)

	// Links created on every instance, paid at the provider: each instance's poller may see them.
	var links []api.PaymentLink
	for i := range 6 {
		res, err := clients[i%3].CreatePaymentLinkWithResponse(ctx, nil, sampleCreate("hub2"))
		if err != nil || res.JSON201 == nil {
			t.Fatalf("create: %v %s", err, res.Body)
		}
		links = append(links, *res.JSON201)
	}
	for _, l := range links[:4] {
		if err := provider.Pay(l.ProviderLinkId); err != nil {
			t.Fatal(err)
		}
	}
	// Two links closed through one instance while the others poll them.
	var wg sync.WaitGroup
	for i, l := range links[4:] {
		wg.Go(func() {
			if res, err := clients[i+1].ClosePaymentLinkWithResponse(ctx, l.Id, nil); err != nil || res.JSON200 == nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	wg.Wait()
	for _, l := range links[:4] {
		waitFor(t, rcv, l.Id, "payment_link.completed")
	}
	for _, l := range links[4:] {
		waitFor(t, rcv, l.Id, "payment_link.closed")
	}
	time.Sleep(300 * time.Millisecond) // more polls, on every instance

	// 6 created + 4 completed + 2 closed, each delivered exactly once.
	seen := map[string]int{}
	for _, r := range rcv.Requests() {
		if !r.VerifyOK {
			t.Errorf("delivery %s does not verify: %v", r.ID, r.VerifyErr)
		}
		seen[r.ID]++
	}
	if len(seen) != 12 {
		t.Errorf("%d distinct events delivered, want 12", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	// Every instance lists the same log.
	for i, c := range clients {
		list, err := c.ListEventsWithResponse(ctx, &api.ListEventsParams{Limit: ptr(100)})
		if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 12 {
			t.Errorf("instance %d lists %v events", i, list)
		}
	}
	for _, l := range links[4:] {
		list, _ := clients[0].ListEventsWithResponse(ctx, &api.ListEventsParams{LinkId: &l.Id, Type: ptr(api.EventTypePaymentLinkClosed)})
		if n := len(list.JSON200.Data); n != 1 {
			t.Errorf("link %s has %d closed events", l.Id, n)
		}
	}
}
