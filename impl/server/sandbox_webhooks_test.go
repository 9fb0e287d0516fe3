package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// The sandboxes' own webhooks, end to end in sandbox mode with no configuration: a payment on a
// sandbox's checkout page makes the sandbox call paylinks' inbound endpoint, signed its provider's
// way; paylinks confirms with the provider's GET and emits one payment_link.completed, source
// provider_webhook, to the merchant's endpoint. The switches prove the rest: a dropped webhook is
// caught by the poller, a copy or a late one makes no second event, a forged one makes none.

// sandboxWebhookProviders are the sandboxes that call paylinks.
var sandboxWebhookProviders = []string{"mijnklantportaal", "hub2", "mollie"}

// sandboxServer starts a sandbox-mode server polling on the schedule (1h: the webhook is what finds
// a change), with a receiver endpoint for every event.
func sandboxServer(t *testing.T, poll string) (*testServer, *api.ClientWithResponses, *eventstest.Receiver) {
	t.Helper()
	ts := start(t, Config{Events: EventsConfig{PollSchedule: poll, RetrySchedule: "0s,50ms"}})
	c := ts.client(t, DemoAPIKey)
	rcv := eventstest.NewReceiver(t)
	ep, err := c.CreateWebhookEndpointWithResponse(context.Background(), api.CreateWebhookEndpointRequest{Url: rcv.URL()})
	if err != nil || ep.JSON201 == nil {
		t.Fatalf("endpoint: %v", err)
	}
	rcv.SetSecrets(ep.JSON201.Secret)
	return ts, c, rcv
}

// webhooksOf is the sender of the provider's sandbox.
func (ts *testServer) webhooksOf(t *testing.T, provider string) *sandbox.Webhooks {
	t.Helper()
	sim, ok := ts.Simulator(provider)
	if !ok {
		t.Fatalf("%s runs on no sandbox", provider)
	}
	n, ok := sim.(sandbox.Notifier)
	if !ok {
		t.Fatalf("the %s sandbox sends no webhooks", provider)
	}
	return n.Webhooks()
}

// payOnCheckout pays the link as a person does, with the checkout page's Pay button.
func payOnCheckout(t *testing.T, link api.PaymentLink) {
	t.Helper()
	res, err := http.PostForm(*link.Url+"/pay", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("checkout pay: %d", res.StatusCode)
	}
}

// waitLog waits until the sandbox's log has n attempts matching ok, and returns them.
func waitLog(t *testing.T, wh *sandbox.Webhooks, n int, ok func(sandbox.WebhookAttempt) bool) []sandbox.WebhookAttempt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []sandbox.WebhookAttempt
		for _, a := range wh.Log() {
			if ok(a) {
				found = append(found, a)
			}
		}
		if len(found) >= n {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching webhook attempts after 10 s, want %d; log %+v", len(found), n, wh.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// paymentAttempt matches the log's calls about a payment: every call but MijnKlantportaal's
// created and expired.
func paymentAttempt(a sandbox.WebhookAttempt) bool {
	return !strings.HasSuffix(a.Event, "-created") && !strings.HasSuffix(a.Event, "-expired")
}

// completedOnce checks that the merchant got exactly one payment_link.completed for the link, from
// the source given.
func completedOnce(t *testing.T, ts *testServer, rcv *eventstest.Receiver, linkID, source string) {
	t.Helper()
	ev := waitFor(t, rcv, linkID, "payment_link.completed")
	if ev.Data.Source != source || !ev.verified || ev.Data.Link.Status != api.PaymentLinkStatusCompleted {
		t.Errorf("completed event: source %s (want %s), verified %v, status %s", ev.Data.Source, source, ev.verified, ev.Data.Link.Status)
	}
	settle(t, ts)
	if n, sources := count(t, rcv, linkID, "payment_link.completed"); n != 1 {
		t.Errorf("%d completed events (%v), want 1", n, sources)
	}
}

func TestSandboxWebhooksReachTheMerchant(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "1h")
	for _, provider := range sandboxWebhookProviders {
		t.Run(provider, func(t *testing.T) {
			link := createLink(t, c, provider, "")
			payOnCheckout(t, link)
			completedOnce(t, ts, rcv, link.Id, "provider_webhook")
			wh := ts.webhooksOf(t, provider)
			for _, a := range waitLog(t, wh, 1, paymentAttempt) {
				if a.Result != sandbox.ResultDelivered || a.Status != http.StatusOK || a.URL != ts.URL+"/webhooks/"+provider+kindPath(a.Event, provider) {
					t.Errorf("attempt %+v", a)
				}
			}
		})
	}
	// Mollie's links were given paylinks' inbound URL; one given by the caller is kept.
	body := sampleCreate("mollie")
	mine := "https://shop.example/hooks/mollie"
	body.ProviderOptions.Mollie.WebhookUrl = &mine
	res, err := c.CreatePaymentLinkWithResponse(context.Background(), nil, body)
	if err != nil || res.JSON201 == nil {
		t.Fatalf("create: %v", err)
	}
	raw, err := c.GetPaymentLinkWithResponse(context.Background(), res.JSON201.Id, &api.GetPaymentLinkParams{Expand: &api.Expand{"raw"}})
	if err != nil || raw.JSON200 == nil || !strings.Contains(string(raw.Body), `"webhookUrl":"`+mine+`"`) {
		t.Errorf("the caller's webhookUrl: %v %s", err, raw.Body)
	}
}

// kindPath is the path segment MijnKlantportaal's records add to the inbound URL (one per type).
func kindPath(event, provider string) string {
	if provider == "mijnklantportaal" {
		return "/" + event
	}
	return ""
}

// Dropped: the poller (at a fast schedule here) catches the payment.
func TestSandboxWebhookDroppedThePollerCatchesIt(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "50ms")
	for _, provider := range sandboxWebhookProviders {
		if err := ts.webhooksOf(t, provider).Set(sandbox.Switches{Mode: sandbox.Drop}); err != nil {
			t.Fatal(err)
		}
	}
	for _, provider := range sandboxWebhookProviders {
		t.Run(provider, func(t *testing.T) {
			link := createLink(t, c, provider, "")
			payOnCheckout(t, link)
			completedOnce(t, ts, rcv, link.Id, "poll")
			if a := waitLog(t, ts.webhooksOf(t, provider), 1, paymentAttempt); a[0].Result != sandbox.ResultDropped {
				t.Errorf("log %+v", a)
			}
		})
	}
}

// Duplicated: both copies are received, one event.
func TestSandboxWebhookDuplicatedOneEvent(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "1h")
	for _, provider := range sandboxWebhookProviders {
		if err := ts.webhooksOf(t, provider).Set(sandbox.Switches{Mode: sandbox.Duplicate}); err != nil {
			t.Fatal(err)
		}
	}
	for _, provider := range sandboxWebhookProviders {
		t.Run(provider, func(t *testing.T) {
			link := createLink(t, c, provider, "")
			payOnCheckout(t, link)
			completedOnce(t, ts, rcv, link.Id, "provider_webhook")
			wh := ts.webhooksOf(t, provider)
			waitLog(t, wh, 1, func(a sandbox.WebhookAttempt) bool { return paymentAttempt(a) && a.Copy })
			for _, a := range waitLog(t, wh, 2, paymentAttempt) {
				if a.Status != http.StatusOK {
					t.Errorf("%+v: both copies are received", a)
				}
			}
		})
	}
}

// Delayed behind a poll: the poller emits first, the late webhook makes no second event.
func TestSandboxWebhookDelayedBehindAPollOneEvent(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "50ms")
	for _, provider := range sandboxWebhookProviders {
		if err := ts.webhooksOf(t, provider).Set(sandbox.Switches{Mode: sandbox.Delay, Delay: 1500 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	for _, provider := range sandboxWebhookProviders {
		t.Run(provider, func(t *testing.T) {
			link := createLink(t, c, provider, "")
			payOnCheckout(t, link)
			if ev := waitFor(t, rcv, link.Id, "payment_link.completed"); ev.Data.Source != "poll" {
				t.Errorf("source %s, want poll (the webhook is held)", ev.Data.Source)
			}
			waitLog(t, ts.webhooksOf(t, provider), 1, func(a sandbox.WebhookAttempt) bool {
				return paymentAttempt(a) && a.Result == sandbox.ResultDelivered
			})
			completedOnce(t, ts, rcv, link.Id, "poll")
		})
	}
}

// Mis-signed: paylinks answers 401 (the log shows it), and no event comes of it. Mollie signs
// nothing, so it has no forgery to refuse: its webhooks are hints confirmed by a GET.
func TestSandboxWebhookMisSignedNoEvent(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "1h")
	for _, provider := range []string{"mijnklantportaal", "hub2"} {
		t.Run(provider, func(t *testing.T) {
			wh := ts.webhooksOf(t, provider)
			if err := wh.Set(sandbox.Switches{MisSign: true}); err != nil {
				t.Fatal(err)
			}
			link := createLink(t, c, provider, "")
			payOnCheckout(t, link)
			for _, a := range waitLog(t, wh, 1, paymentAttempt) {
				if a.Status != http.StatusUnauthorized || a.Signature != sandbox.SignatureForged {
					t.Errorf("attempt %+v, want a forged call answered 401", a)
				}
			}
			settle(t, ts)
			if n, _ := count(t, rcv, link.Id, "payment_link.completed"); n != 0 {
				t.Errorf("%d completed events from a forged webhook", n)
			}
			if !strings.Contains(ts.get(t, "/metrics"), `paylinks_inbound_webhooks_total{provider="`+provider+`",result="bad_signature",signature=""}`) {
				t.Error("the refusal is not counted")
			}
		})
	}
}

// A secret rotation at Hub2 (control API): paylinks knows only the previous secret, which signs
// s0 for 24 hours; the webhook is accepted and makes the event.
func TestSandboxWebhookHub2RotationS0(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "1h")
	res, err := http.Post(ts.URL+"/sandbox/hub2/_control/webhooks/rotate", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("rotate: %d", res.StatusCode)
	}
	link := createLink(t, c, "hub2", "")
	payOnCheckout(t, link)
	completedOnce(t, ts, rcv, link.Id, "provider_webhook")
	for _, a := range waitLog(t, ts.webhooksOf(t, "hub2"), 1, paymentAttempt) {
		if a.Status != http.StatusOK {
			t.Errorf("attempt %+v", a)
		}
	}
	if !strings.Contains(ts.get(t, "/metrics"), `paylinks_inbound_webhooks_total{provider="hub2",result="received",signature="s0"}`) {
		t.Error("the call was not verified by s0")
	}
}

// Moving the sandbox clock (control API) past a MijnKlantportaal link's expiry makes the sandbox
// call payment-link-expired at once, and paylinks emits payment_link.expired from it.
func TestSandboxWebhookExpiryByTheClock(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "1h")
	body := sampleCreate("mijnklantportaal")
	tomorrow := time.Now().Add(24 * time.Hour)
	body.ExpiresAt = &tomorrow
	res, err := c.CreatePaymentLinkWithResponse(context.Background(), nil, body)
	if err != nil || res.JSON201 == nil {
		t.Fatalf("create: %v %s", err, res.Body)
	}
	link := res.JSON201
	// Its created call resolved first, nothing reads the link any more (the poller is hourly): only
	// the clock can make it expire.
	waitLog(t, ts.webhooksOf(t, "mijnklantportaal"), 1, func(a sandbox.WebhookAttempt) bool { return a.Event == "payment-link-created" })
	settle(t, ts)
	adv, err := http.Post(ts.URL+"/sandbox/mijnklantportaal/_control/clock/advance?by=72h", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	adv.Body.Close()
	ev := waitFor(t, rcv, link.Id, "payment_link.expired")
	if ev.Data.Source != "provider_webhook" || ev.Data.Link.Status != api.PaymentLinkStatusExpired {
		t.Errorf("expired event: source %s, status %s", ev.Data.Source, ev.Data.Link.Status)
	}
	waitLog(t, ts.webhooksOf(t, "mijnklantportaal"), 1, func(a sandbox.WebhookAttempt) bool {
		return a.Event == "payment-link-expired" && a.Status == http.StatusOK
	})
}

// A burst of payments on Mollie's sandbox (whose calls name only a payment, so each costs a
// re-check of the open links) all reach the merchant by webhook: the sandboxes have no rate limit
// for the re-checks to respect.
func TestSandboxWebhookBurstIsNotLeftToThePoller(t *testing.T) {
	t.Parallel()
	ts, c, rcv := sandboxServer(t, "1h")
	var links []api.PaymentLink
	for range 40 {
		links = append(links, createLink(t, c, "mollie", ""))
	}
	for _, l := range links {
		payOnCheckout(t, l)
	}
	for _, l := range links {
		if ev := waitFor(t, rcv, l.Id, "payment_link.completed"); ev.Data.Source != "provider_webhook" {
			t.Errorf("%s: source %s", l.Id, ev.Data.Source)
		}
	}
	_ = ts
}

// TestSandboxWebhooksKeepToThePublicInternet subscribes, through the passthrough, a URL on
// loopback at a sandboxed MijnKlantportaal of a live deployment, then makes a link there. The
// sandbox's deliveries follow the policy of paylinks' own deliveries: in a live deployment no
// private, loopback or link-local target (an API key must not make paylinks call into its own
// network and read the status from the sandbox's log), unless PAYLINKS_WEBHOOK_ALLOW_PRIVATE.
func TestSandboxWebhooksKeepToThePublicInternet(t *testing.T) {
	t.Parallel()
	for _, allowPrivate := range []bool{false, true} {
		t.Run(fmt.Sprint("allow private ", allowPrivate), func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			t.Cleanup(internal.Close)
			up := newUpstream(t, answer(404, "application/json", `{}`))
			ts := start(t, Config{APIKeys: []string{"key"}, SandboxProviders: []string{"mijnklantportaal"},
				Providers: map[string]ProviderConfig{"telness": {BaseURL: up.URL, Credentials: map[string]string{"api_key": "telness-key-1234"}}},
				Events:    EventsConfig{AllowPrivate: allowPrivate}})
			if status, _, raw := ts.raw(t, "POST", "/providers/mijnklantportaal/webhooks", "key", `{"url":"`+internal.URL+`/admin","type":"payment-link-created"}`, nil); status != 201 && status != 200 {
				t.Fatalf("subscribe: %d %s", status, raw)
			}
			if status, _, raw := ts.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, nil); status != 201 {
				t.Fatalf("create: %d %s", status, raw)
			}
			var log string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				_, _, log = ts.raw(t, "GET", "/sandbox/mijnklantportaal/_control/webhooks/log", "key", "", nil)
				if strings.Contains(log, internal.URL) {
					break
				}
			}
			if !strings.Contains(log, internal.URL) {
				t.Fatalf("no delivery to the subscribed URL was attempted:\n%s", log)
			}
			if got := hits.Load(); allowPrivate != (got > 0) {
				t.Errorf("the loopback receiver got %d calls, allowed %v:\n%s", got, allowPrivate, log)
			}
		})
	}
}
