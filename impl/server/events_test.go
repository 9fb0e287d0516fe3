package server

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// sampleCreate is the create body of the provider's kit sample, which its sandbox accepts.
func sampleCreate(provider string) api.CreatePaymentLinkRequest {
	k, ok := kits.Lookup(provider)
	if !ok {
		return api.CreatePaymentLinkRequest{Provider: provider}
	}
	b, err := kits.CreateBody(k.Sample())
	var body api.CreatePaymentLinkRequest
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err != nil {
		panic(fmt.Sprintf("the sample of %s: %v", provider, err))
	}
	return body
}

// webhookEvent is a delivery as the receiver got it.
type webhookEvent struct {
	ID   string
	Type string
	Data struct {
		Link           api.PaymentLink
		PreviousStatus *string
		Source         string
		Sequence       int64
	}
	verified bool
	webhook  string
}

func decodeDeliveries(t *testing.T, reqs []eventstest.Request) []webhookEvent {
	t.Helper()
	out := make([]webhookEvent, 0, len(reqs))
	for _, r := range reqs {
		var e webhookEvent
		if err := json.Unmarshal(r.Body, &e); err != nil {
			t.Fatalf("delivery body %q: %v", r.Body, err)
		}
		e.verified, e.webhook = r.VerifyOK, r.ID
		out = append(out, e)
	}
	return out
}

// eventsServer starts a sandbox-mode server polling every few milliseconds, with a receiver
// registered as a webhook endpoint.
func eventsServer(t *testing.T) (*testServer, *api.ClientWithResponses, *eventstest.Receiver) {
	t.Helper()
	return eventsServerPolling(t, "20ms")
}

// eventsServerPolling is eventsServer with the poller on schedule.
func eventsServerPolling(t *testing.T, schedule string) (*testServer, *api.ClientWithResponses, *eventstest.Receiver) {
	t.Helper()
	ts := start(t, Config{Events: EventsConfig{PollSchedule: schedule, RetrySchedule: "0s,50ms,100ms"}})
	c := ts.client(t, DemoAPIKey)
	rcv := eventstest.NewReceiver(t)
	res, err := c.CreateWebhookEndpointWithResponse(context.Background(), api.CreateWebhookEndpointRequest{Url: rcv.URL(), Description: ptr("test receiver")})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Fatalf("create endpoint: %d %s", res.StatusCode(), res.Body)
	}
	if !strings.HasPrefix(res.JSON201.Secret, "whsec_") {
		t.Fatalf("secret %q", res.JSON201.Secret)
	}
	rcv.SetSecrets(res.JSON201.Secret)
	return ts, c, rcv
}

// dropSandboxWebhooks has every sandbox that sends webhooks drop them, leaving the poller as the
// only source of events.
func dropSandboxWebhooks(t *testing.T, ts *testServer) {
	t.Helper()
	for _, kit := range kits.All {
		if sim, ok := ts.Simulator(kit.Name); ok {
			if n, ok := sim.(sandbox.Notifier); ok {
				if err := n.Webhooks().Set(sandbox.Switches{Mode: sandbox.Drop}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// waitFor waits until the receiver got an event of that type for the link.
func waitFor(t *testing.T, rcv *eventstest.Receiver, linkID, typ string) webhookEvent {
	t.Helper()
	// Generous: the race detector and every other test of the package share two cores.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range decodeDeliveries(t, rcv.Requests()) {
			if e.Type == typ && e.Data.Link.Id == linkID {
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s for %s; received %d deliveries", typ, linkID, len(rcv.Requests()))
	return webhookEvent{}
}

func TestPaidLinkReachesTheMerchantForEveryProvider(t *testing.T) {
	t.Parallel()
	ts, c, rcv := eventsServer(t)
	ctx := context.Background()
	// The poller's path: the sandboxes' webhooks are dropped (sandbox_webhooks_test.go has theirs).
	dropSandboxWebhooks(t, ts)
	for _, kit := range kits.All {
		t.Run(kit.Name, func(t *testing.T) {
			created, err := c.CreatePaymentLinkWithResponse(ctx, nil, sampleCreate(kit.Name))
			if err != nil || created.JSON201 == nil {
				t.Fatalf("create: %v %s", err, created.Body)
			}
			link := created.JSON201
			ev := waitFor(t, rcv, link.Id, "payment_link.created")
			if !ev.verified || ev.Data.Source != "api" || ev.Data.Sequence != 1 || ev.Data.PreviousStatus != nil || ev.Data.Link.Status != api.PaymentLinkStatusActive {
				t.Errorf("created event: %+v", ev)
			}

			// A person pays on the checkout page: the poller sees it at the provider.
			res, err := http.PostForm(*link.Url+"/pay", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			ev = waitFor(t, rcv, link.Id, "payment_link.completed")
			if !ev.verified {
				t.Error("the completed event's signature does not verify")
			}
			if ev.Data.Source != "poll" || ev.Data.Sequence != 2 || ev.Data.PreviousStatus == nil || *ev.Data.PreviousStatus != "active" {
				t.Errorf("completed event: source %s, sequence %d, previous %v", ev.Data.Source, ev.Data.Sequence, ev.Data.PreviousStatus)
			}
			got, err := c.GetPaymentLinkWithResponse(ctx, link.Id, nil)
			if err != nil || got.JSON200 == nil {
				t.Fatal(err)
			}
			// data.link is exactly what GET returns.
			want, _ := json.Marshal(got.JSON200)
			have, _ := json.Marshal(ev.Data.Link)
			if string(want) != string(have) {
				t.Errorf("data.link\n%s\nGET\n%s", have, want)
			}

			// Later polls see nothing new: one event per transition.
			time.Sleep(100 * time.Millisecond)
			n := 0
			for _, e := range decodeDeliveries(t, rcv.Requests()) {
				if e.Data.Link.Id == link.Id && e.Type == "payment_link.completed" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d completed deliveries, want 1", n)
			}
		})
	}
	_ = ts
}

func TestClosedThroughTheAPIEmitsOnce(t *testing.T) {
	t.Parallel()
	// No poll and no sandbox webhook in the way: either could see the closed link at the provider
	// before the API records it, and tell it first (source poll or provider_webhook; the API then
	// emits nothing, the events package's own tests hold that). Here the API must tell it.
	ts, c, rcv := eventsServerPolling(t, "1h")
	dropSandboxWebhooks(t, ts)
	ctx := context.Background()
	created, err := c.CreatePaymentLinkWithResponse(ctx, nil, sampleCreate("hub2"))
	if err != nil || created.JSON201 == nil {
		t.Fatal(err)
	}
	id := created.JSON201.Id
	closed, err := c.ClosePaymentLinkWithResponse(ctx, id, nil)
	if err != nil || closed.JSON200 == nil {
		t.Fatalf("close: %v", err)
	}
	ev := waitFor(t, rcv, id, "payment_link.closed")
	if ev.Data.Source != "api" || ev.Data.Sequence != 2 {
		t.Errorf("closed event: %+v", ev.Data)
	}
	time.Sleep(100 * time.Millisecond) // anything told twice would be listed by now
	list, err := c.ListEventsWithResponse(ctx, &api.ListEventsParams{LinkId: &id})
	if err != nil || list.JSON200 == nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range list.JSON200.Data {
		types = append(types, string(e.Type))
	}
	if strings.Join(types, ",") != "payment_link.closed,payment_link.created" {
		t.Errorf("events of the link, newest first: %v", types)
	}
}

func TestEventsAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{APIKeys: []string{"k"}, Providers: map[string]ProviderConfig{}})
	tests := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"no url", "POST", "/v1/webhook-endpoints", `{}`, 422, "/url"},
		{"not a url", "POST", "/v1/webhook-endpoints", `{"url":"::nope"}`, 422, "/url"},
		{"other scheme", "POST", "/v1/webhook-endpoints", `{"url":"ftp://example.com/x"}`, 422, "/url"},
		{"unknown event type", "POST", "/v1/webhook-endpoints", `{"url":"https://example.com/x","eventTypes":["payment_link.paid"]}`, 422, "/eventTypes/0"},
		{"unknown provider", "POST", "/v1/webhook-endpoints", `{"url":"https://example.com/x","providers":["nobody"]}`, 422, "/providers/0"},
		{"unknown field", "POST", "/v1/webhook-endpoints", `{"url":"https://example.com/x","secret":"mine"}`, 422, "/secret"},
		{"bad cursor", "GET", "/v1/events?cursor=abc", "", 422, "query.cursor"},
		{"unknown type filter", "GET", "/v1/events?type=nope", "", 400, "query.type"},
		{"limit too big", "GET", "/v1/events?limit=1000", "", 400, "query.limit"},
		{"bad Last-Event-ID", "GET", "/v1/events/stream?after=evt_zzz", "", 422, "header.Last-Event-ID"},
		{"unknown stream type", "GET", "/v1/events/stream?type=nope", "", 422, "query.type"},
		{"overlap too long", "POST", "/v1/webhook-endpoints/we_x/rotate-secret", `{"previousSecretExpiresIn":700000}`, 422, "/previousSecretExpiresIn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, p := ts.do(t, tt.method, tt.path, "k", tt.body, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, p)
			}
			vs, _ := p["violations"].([]any)
			var fields []string
			for _, v := range vs {
				fields = append(fields, fmt.Sprint(v.(map[string]any)["field"]))
			}
			if !strings.Contains(strings.Join(fields, " "), tt.field) {
				t.Errorf("violations %v do not name %s (%v)", fields, tt.field, p)
			}
		})
	}
	for _, path := range []string{"/v1/events/evt_01JDQ4K5Z8X9M2N3P4Q5R6S7T8", "/v1/webhook-endpoints/we_01JDQ4K5Z8X9M2N3P4Q5R6S7T8"} {
		if status, _, p := ts.do(t, "GET", path, "k", "", nil); status != 404 || p["code"] != "not_found" {
			t.Errorf("GET %s: %d %v", path, status, p)
		}
	}
}

func TestEndpointTargetsInLiveMode(t *testing.T) {
	t.Parallel()
	live := start(t, Config{APIKeys: []string{"k"}, Providers: map[string]ProviderConfig{
		"hub2": {BaseURL: "https://api.hub2.example", Credentials: map[string]string{"api_key": "a", "merchant_id": "m", "environment": "sandbox"}}}})
	for _, u := range []string{"http://example.com/hooks", "https://127.0.0.1/hooks", "https://10.1.2.3/hooks", "https://[::1]/hooks", "https://169.254.169.254/latest"} {
		status, _, p := live.do(t, "POST", "/v1/webhook-endpoints", "k", `{"url":"`+u+`"}`, nil)
		if status != 422 {
			t.Errorf("%s: %d %v, want 422", u, status, p)
		}
	}
	allowed := start(t, Config{APIKeys: []string{"k"}, Events: EventsConfig{AllowPrivate: true}, Providers: map[string]ProviderConfig{
		"hub2": {BaseURL: "https://api.hub2.example", Credentials: map[string]string{"api_key": "a", "merchant_id": "m", "environment": "sandbox"}}}})
	if status, _, p := allowed.do(t, "POST", "/v1/webhook-endpoints", "k", `{"url":"http://127.0.0.1:9/hooks"}`, nil); status != 201 {
		t.Errorf("with AllowPrivate: %d %v", status, p)
	}
}

func TestEventStreamResumes(t *testing.T) {
	t.Parallel()
	ts, c, _ := eventsServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	read := func(after string, n int, types string) []string {
		t.Helper()
		url := ts.URL + "/v1/events/stream"
		if types != "" {
			url += "?type=" + types
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
		if after != "" {
			req.Header.Set("Last-Event-ID", after)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		var ids []string
		sc := bufio.NewScanner(res.Body)
		var id, typ string
		for sc.Scan() && len(ids) < n {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var e api.Event
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e); err != nil || e.Id != id || string(e.Type) != typ {
					t.Fatalf("message %s %s %s: %v", id, typ, line, err)
				}
				ids = append(ids, id)
			}
		}
		return ids
	}

	// Three links, then a stream from the beginning of the log resumed after the first event.
	var created []string
	for range 3 {
		res, err := c.CreatePaymentLinkWithResponse(ctx, nil, sampleCreate("mijnklantportaal"))
		if err != nil || res.JSON201 == nil {
			t.Fatal(err)
		}
		created = append(created, res.JSON201.Id)
	}
	list, err := c.ListEventsWithResponse(ctx, &api.ListEventsParams{Type: ptr(api.EventTypePaymentLinkCreated)})
	if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 3 {
		t.Fatalf("list: %v", list)
	}
	oldest := list.JSON200.Data[2].Id
	got := read(oldest, 2, "")
	if len(got) != 2 || got[0] != list.JSON200.Data[1].Id || got[1] != list.JSON200.Data[0].Id {
		t.Errorf("resumed after %s: %v, want the two later events %s %s", oldest, got, list.JSON200.Data[1].Id, list.JSON200.Data[0].Id)
	}

	// A live stream filtered on closes sees a close made after it started.
	done := make(chan []string, 1)
	go func() { done <- read("", 1, "payment_link.closed") }()
	time.Sleep(200 * time.Millisecond)
	if res, err := c.ClosePaymentLinkWithResponse(ctx, created[0], nil); err != nil || res.JSON200 == nil {
		t.Fatal(err)
	}
	select {
	case ids := <-done:
		ev, err := c.GetEventWithResponse(ctx, ids[0])
		if err != nil || ev.JSON200 == nil || ev.JSON200.Type != api.EventTypePaymentLinkClosed || ev.JSON200.Data.Link.Id != created[0] {
			t.Errorf("streamed %v: %+v", ids, ev)
		}
	case <-ctx.Done():
		t.Fatal("the live stream got nothing")
	}
}

func TestEndpointLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	ts, c, rcv := eventsServer(t)
	ctx := context.Background()
	eps, err := c.ListWebhookEndpointsWithResponse(ctx, nil)
	if err != nil || eps.JSON200 == nil || len(eps.JSON200.Data) != 1 {
		t.Fatalf("list: %v", eps)
	}
	if strings.Contains(string(eps.Body), "whsec_") {
		t.Error("a list answer carries a secret")
	}
	id := eps.JSON200.Data[0].Id

	// A test event reaches the endpoint, signed.
	tev, err := c.TestWebhookEndpointWithResponse(ctx, id)
	if err != nil || tev.JSON202 == nil {
		t.Fatalf("test: %v", err)
	}
	reqs := rcv.Wait(1, 5*time.Second)
	if reqs[0].ID != tev.JSON202.Id || !reqs[0].VerifyOK {
		t.Errorf("test delivery %s verified=%v, want %s", reqs[0].ID, reqs[0].VerifyOK, tev.JSON202.Id)
	}

	// Rotation: the new secret verifies; during the overlap the old one does too.
	rot, err := c.RotateWebhookEndpointSecretWithResponse(ctx, id, api.RotateSecretRequest{})
	if err != nil || rot.JSON200 == nil || rot.JSON200.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotate: %v %s", err, rot.Body)
	}
	rcv.SetSecrets(rot.JSON200.Secret)
	tev2, _ := c.TestWebhookEndpointWithResponse(ctx, id)
	reqs = rcv.Wait(2, 5*time.Second)
	if reqs[1].ID != tev2.JSON202.Id || !reqs[1].VerifyOK || len(strings.Fields(reqs[1].Header.Get("webhook-signature"))) != 2 {
		t.Errorf("after rotation: verified=%v signatures %q", reqs[1].VerifyOK, reqs[1].Header.Get("webhook-signature"))
	}

	// The attempt log of the event (the attempt is recorded once the answer is in).
	var d api.Delivery
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ds, err := c.ListEventDeliveriesWithResponse(ctx, tev2.JSON202.Id)
		if err != nil || ds.JSON200 == nil || len(ds.JSON200.Data) != 1 {
			t.Fatalf("deliveries: %v", err)
		}
		if d = ds.JSON200.Data[0]; d.Status != api.DeliveryStatusPending {
			break
		}
	}
	if d.Status != api.DeliveryStatusDelivered || len(d.Attempts) != 1 || d.Attempts[0].HttpStatus == nil || *d.Attempts[0].HttpStatus != 200 {
		t.Errorf("delivery %+v", d)
	}

	// Disable, then delete.
	off := true
	up, err := c.UpdateWebhookEndpointWithResponse(ctx, id, api.UpdateWebhookEndpointRequest{Disabled: &off})
	if err != nil || up.JSON200 == nil || !up.JSON200.Disabled {
		t.Fatalf("disable: %v", err)
	}
	if status, _, p := ts.do(t, "POST", "/v1/webhook-endpoints/"+id+"/test", DemoAPIKey, "", nil); status != 422 {
		t.Errorf("test of a disabled endpoint: %d %v", status, p)
	}
	del, err := c.DeleteWebhookEndpointWithResponse(ctx, id)
	if err != nil || del.StatusCode() != 204 {
		t.Fatalf("delete: %v", err)
	}
	if got, _ := c.GetWebhookEndpointWithResponse(ctx, id); got.StatusCode() != 404 {
		t.Errorf("get after delete: %d", got.StatusCode())
	}
}

// A test event reaches an endpoint whatever its event-type filter says.
func TestTestEventIgnoresTheTypeFilter(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	c := ts.client(t, DemoAPIKey)
	rcv := eventstest.NewReceiver(t)
	ep, err := c.CreateWebhookEndpointWithResponse(context.Background(), api.CreateWebhookEndpointRequest{Url: rcv.URL(),
		EventTypes: &[]api.EventType{api.EventTypePaymentLinkCompleted}})
	if err != nil || ep.JSON201 == nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(ep.JSON201.Secret)
	tev, err := c.TestWebhookEndpointWithResponse(context.Background(), ep.JSON201.Id)
	if err != nil || tev.JSON202 == nil {
		t.Fatal(err)
	}
	if got := rcv.Wait(1, 5*time.Second); got[0].ID != tev.JSON202.Id || !got[0].VerifyOK {
		t.Errorf("test delivery %s verified=%v", got[0].ID, got[0].VerifyOK)
	}
}

// createExample finds the create operation of the provider's curated spec, and the first example
// of its request body.
func createExample(t *testing.T, kit kits.Kit) (path string, body []byte) {
	t.Helper()
	doc, err := kit.Spec()
	if err != nil {
		t.Fatal(err)
	}
	for p, item := range doc.Paths.Map() {
		op := item.Post
		if op == nil || op.OperationID != createOperation {
			continue
		}
		prop := cmp.Or(kit.LinkIDProperty, "id")
		for _, code := range []int{http.StatusCreated, http.StatusOK} {
			if res := op.Responses.Status(code); res != nil {
				if len(res.Value.Content) != 1 {
					t.Fatalf("the %s answer of %s %s has %d media types, want one", http.StatusText(code), kit.Name, createOperation, len(res.Value.Content))
				}
				if m := slices.Collect(maps.Values(res.Value.Content))[0]; m.Schema.Value.Properties[prop] == nil {
					t.Errorf("the %s answer of %s %s has no property %q (Kit.LinkIDProperty)", http.StatusText(code), kit.Name, createOperation, prop)
				}
			}
		}
		media := op.RequestBody.Value.Content.Get("application/json")
		if media == nil {
			t.Fatalf("%s %s takes no JSON body", kit.Name, createOperation)
		}
		// Take an example of a link a payment completes (not a reusable one), without its expiry
		// (the examples' dates are in the past by now) and without a webhook URL (off loopback);
		// both are optional everywhere.
		candidates := []any{media.Example}
		for _, name := range slices.Sorted(maps.Keys(media.Examples)) {
			candidates = append(candidates, media.Examples[name].Value.Value)
		}
		for _, example := range candidates {
			ex, ok := example.(map[string]any)
			if !ok || ex["reusable"] == true || ex["type"] == "multi_use" {
				continue
			}
			ex = maps.Clone(ex)
			for k := range ex {
				if name := strings.ToLower(k); strings.Contains(name, "expir") || strings.Contains(name, "webhook") {
					delete(ex, k)
				}
			}
			body, err := json.Marshal(ex)
			if err != nil {
				t.Fatal(err)
			}
			return p, body
		}
		t.Fatalf("%s %s has no request example of a single-use link", kit.Name, createOperation)
	}
	t.Fatalf("the %s spec has no POST operation %s", kit.Name, createOperation)
	return "", nil
}

// TestEveryProviderNamesItsCreateOperation holds the curated specs to the operationId the
// passthrough recognises a create by (and to an id in its answer), so links created through it
// are watched whichever provider made them.
func TestEveryProviderNamesItsCreateOperation(t *testing.T) {
	for _, kit := range kits.All {
		t.Run(kit.Name, func(t *testing.T) {
			createExample(t, kit)
		})
	}
}

// TestPassthroughCreatedLinksAreWatched: a link created through a provider's own API at paylinks
// (the passthrough) is watched like one created through the unified API: the merchant is told it
// was created and that it was paid.
func TestPassthroughCreatedLinksAreWatched(t *testing.T) {
	t.Parallel()
	ts, c, rcv := eventsServer(t)
	ctx := context.Background()
	dropSandboxWebhooks(t, ts) // the poller must find them
	for _, kit := range kits.All {
		t.Run(kit.Name, func(t *testing.T) {
			path, body := createExample(t, kit)
			status, _, answer := ts.raw(t, http.MethodPost, "/providers/"+kit.Name+path, DemoAPIKey, string(body), map[string]string{"Content-Type": "application/json"})
			if status/100 != 2 {
				t.Fatalf("passthrough create: %d %s", status, answer)
			}
			linkID := kit.CreatedLinkID([]byte(answer))
			if linkID == "" {
				t.Fatalf("the provider's answer has no id in %q: %s", kit.LinkIDProperty, answer)
			}
			id := string(paylink.NewID(kit.Name, linkID))
			ev := waitFor(t, rcv, id, "payment_link.created")
			if !ev.verified || ev.Data.Link.Status != api.PaymentLinkStatusActive {
				t.Errorf("created event: %+v", ev)
			}
			got, err := c.GetPaymentLinkWithResponse(ctx, id, nil)
			if err != nil || got.JSON200 == nil || got.JSON200.Url == nil {
				t.Fatalf("get %s: %v", id, err)
			}
			res, err := http.PostForm(*got.JSON200.Url+"/pay", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode >= 400 {
				t.Fatalf("pay %s: %s", *got.JSON200.Url, res.Status)
			}
			if ev := waitFor(t, rcv, id, "payment_link.completed"); ev.Data.Source != "poll" || ev.Data.Sequence != 2 {
				t.Errorf("completed event: source %s, sequence %d", ev.Data.Source, ev.Data.Sequence)
			}
		})
	}
}

// PAYLINKS_EVENTS_RETENTION reads durations and days, "forever", and refuses the rest naming it.
func TestFromEnvEventsRetention(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 0, "720h": 720 * time.Hour, "7d": 7 * 24 * time.Hour, "forever": -1} {
		cfg, err := FromEnv(func(k string) string {
			if k == "PAYLINKS_EVENTS_RETENTION" {
				return v
			}
			return ""
		})
		if err != nil || cfg.Events.Retention != want {
			t.Errorf("%q: %s, %v; want %s", v, cfg.Events.Retention, err, want)
		}
	}
	for _, v := range []string{"30", "10m", "-1h", "0", "month", "99999999d"} {
		_, err := FromEnv(func(k string) string {
			if k == "PAYLINKS_EVENTS_RETENTION" {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "PAYLINKS_EVENTS_RETENTION") {
			t.Errorf("%q: %v, want an error naming the variable", v, err)
		}
	}
}
