package hub2_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/inbound"
	hub2in "github.com/paylinks/paylinks/impl/inbound/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2 "github.com/paylinks/paylinks/impl/sandbox/hub2"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestWebhookConformance holds the sandbox's calls to what every sandbox that sends webhooks does,
// verified as paylinks verifies Hub2's calls.
func TestWebhookConformance(t *testing.T) {
	sandboxtest.RunWebhookConformance(t, sandboxtest.WebhookHarness{
		SimHarness: harness,
		Subscribe: func(t *testing.T, baseURL, credential, target string) sandboxtest.Subscription {
			hc := sandboxtest.Client(t, baseURL, api.GetSpec)
			c, err := api.NewClientWithResponses(baseURL, api.WithHTTPClient(hc), api.WithRequestEditorFn(auth(credential, "16", "sandbox")))
			if err != nil {
				t.Fatal(err)
			}
			return sandboxtest.Subscription{Secrets: []string{subscribe(t, c, target, hub2.EventPaymentSuccess).Secret}}
		},
		Verify: func(h http.Header, body []byte, secrets []string) error {
			_, err := hub2in.VerifySignature(h.Get(hub2in.Header), body, secrets)
			return err
		},
		Paid: hub2.EventPaymentSuccess,
	})
}

func subscribe(t *testing.T, c *api.ClientWithResponses, url string, events ...string) api.Webhook {
	t.Helper()
	res, err := c.CreateWebhookWithResponse(context.Background(), api.CreateWebhookRequest{Url: url, Events: events, Description: ptr("paylinks")})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Fatalf("subscribe: %d %s", res.StatusCode(), res.Body)
	}
	return *res.JSON201
}

// Subscribing answers 201 with the secret (hex, as in Hub2's example) and Hub2's millisecond
// times; refusals come in Hub2's error body.
func TestCreateWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Credentials: []string{"sk_test"}})
	res, err := e.client.CreateWebhookWithResponse(context.Background(), api.CreateWebhookRequest{
		Url: "https://paylinks.example.com/webhooks/hub2", Events: hub2in.DefaultEvents, Description: ptr("paylinks")})
	if err != nil || res.JSON201 == nil {
		t.Fatalf("POST /webhooks: %v %d %s", err, res.StatusCode(), res.Body)
	}
	w := res.JSON201
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(w.Secret) || !strings.HasPrefix(w.Id, "wh_") || w.Url != "https://paylinks.example.com/webhooks/hub2" ||
		!slices.Equal(*w.Events, hub2in.DefaultEvents) || *w.Status != "active" || *w.Description != "paylinks" {
		t.Errorf("webhook %+v", w)
	}
	if !strings.Contains(string(res.Body), `"createdAt":"2024-01-15T12:00:00.000Z"`) {
		t.Errorf("times not in Hub2's layout: %s", res.Body)
	}
	for _, tt := range []struct{ name, body string }{
		{"no events", `{"url":"https://paylinks.example.com/x","events":[]}`},
		{"empty event", `{"url":"https://paylinks.example.com/x","events":[""]}`},
		{"no url", `{"events":["payment.succeeded"]}`},
		{"relative url", `{"url":"/webhooks/hub2","events":["payment.succeeded"]}`},
		{"not http", `{"url":"ftp://paylinks.example.com/x","events":["payment.succeeded"]}`},
	} {
		res, err := e.client.CreateWebhookWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(tt.body))
		if err != nil || res.JSON400 == nil || res.JSON400.Status != 400 || res.JSON400.Message == "" {
			t.Errorf("%s: %v %d %s", tt.name, err, res.StatusCode(), res.Body)
		}
	}
	res, err = e.client.CreateWebhookWithResponse(context.Background(), api.CreateWebhookRequest{Url: "https://x.example/h", Events: []string{"payment.failed"}}, auth("wrong", "16", "sandbox"))
	if err != nil || res.StatusCode() != http.StatusUnauthorized {
		t.Errorf("wrong key: %v %d", err, res.StatusCode())
	}
}

// The calls as HUB2-37/38 have them: the envelope {id, type, createdAt, data} with the payment or
// the payment intent, signed s1 over the raw body, accepted by paylinks' verifier and free of drift
// from the curated WebhookEvent; ids that tie them to the link (the attempt's pay_ and pi_, the
// purchase reference); only the events subscribed to, only for the subscriber's merchant and
// environment.
func TestWebhookCallFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	all := sandboxtest.NewReceiver(t)
	paidOnly := sandboxtest.NewReceiver(t)
	otherMerchant := sandboxtest.NewReceiver(t)
	secret := subscribe(t, e.client, all.URL, hub2.EventIntentCreated, hub2.EventPaymentSuccess, hub2.EventIntentSucceeded, hub2.EventPaymentFailed).Secret
	subscribe(t, e.client, paidOnly.URL, hub2.EventPaymentSuccess)
	subscribe(t, newClient(t, e.srv.URL, auth("sk_test", "17", "sandbox")), otherMerchant.URL, hub2in.DefaultEvents...)
	verifier, err := hub2in.New(inbound.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	keys := inbound.Keyring{}
	keys.Add("", secret)

	link := e.create(t, order(1000))
	if err := e.sb.Fail(link.Id); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(link.Id); err != nil {
		t.Fatal(err)
	}
	calls := all.Wait(t, 5)
	e.sb.Webhooks().Wait()
	got := e.get(t, link.Id)
	atts := *got.PaymentAttempts
	type envelope struct {
		ID, Type, CreatedAt string
		Data                struct {
			ID, IntentID, Status, PurchaseReference string
			Amount                                  int64
			Currency                                string
			Payments                                []map[string]any
		}
	}
	var types []string
	ids := map[string]bool{}
	for _, c := range calls {
		if ct := c.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if h := c.Header.Get(hub2.SignatureHeader); !regexp.MustCompile(`^s1=[0-9a-f]{64}$`).MatchString(h) || h != hub2.Sign(c.Body, secret, "") {
			t.Errorf("%s %q", hub2.SignatureHeader, h)
		}
		call := inbound.Call{Header: c.Header, Body: c.Body}
		if acc, err := verifier.Verify(call, keys); err != nil || acc.Signature != "s1" || acc.Ignore || acc.DedupKey == "" {
			t.Errorf("verified %+v %v", acc, err)
		}
		if drift := verifier.Drift(call); drift != nil {
			t.Errorf("drift from WebhookEvent: %v", drift)
		}
		var ev envelope
		if err := json.Unmarshal(c.Body, &ev); err != nil || !strings.HasPrefix(ev.ID, "evt_") || ids[ev.ID] || ev.CreatedAt != "2024-01-15T12:00:00.000Z" {
			t.Errorf("envelope %s", c.Body)
		}
		ids[ev.ID] = true
		types = append(types, ev.Type)
		d := ev.Data
		switch ev.Type {
		case hub2.EventPaymentSuccess, hub2.EventPaymentFailed:
			a := atts[slices.IndexFunc(atts, func(a api.PaymentAttempt) bool { return a.Id == d.ID })]
			if d.IntentID != *a.IntentId || d.Status != a.Status || d.Amount != 1000 || d.Currency != "XOF" {
				t.Errorf("%s: data %+v, attempt %+v", ev.Type, d, a)
			}
		default:
			if !strings.HasPrefix(d.ID, "pi_") || d.PurchaseReference != "ORDER-12345" || !slices.ContainsFunc(atts, func(a api.PaymentAttempt) bool { return *a.IntentId == d.ID }) {
				t.Errorf("%s: data %+v", ev.Type, d)
			}
			if ev.Type == hub2.EventIntentSucceeded && (d.Status != "successful" || len(d.Payments) != 1 || d.Payments[0]["id"] != atts[1].Id) {
				t.Errorf("%s: data %+v", ev.Type, d)
			}
		}
		if h := hub2in.ReadHints(c.Body); len(h.Refs) == 0 {
			t.Errorf("%s names nothing paylinks can tie to the link: %s", ev.Type, c.Body)
		}
	}
	// A few calls are in flight at once, so they may arrive in any order (as at any provider).
	want := []string{hub2.EventPaymentFailed, hub2.EventPaymentSuccess, hub2.EventIntentCreated, hub2.EventIntentCreated, hub2.EventIntentSucceeded}
	if slices.Sort(types); !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
	if n := len(paidOnly.Calls()); n != 1 {
		t.Errorf("the payment.succeeded subscriber got %d calls", n)
	}
	if n := len(otherMerchant.Calls()); n != 0 {
		t.Errorf("another merchant's subscriber got %d calls", n)
	}
	// Expiry and close call nobody: Hub2 has no link events.
	expiring := e.create(t, order(500))
	if res, err := e.client.ClosePaymentLinkWithResponse(context.Background(), e.create(t, order(700)).Id); err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("close: %v", err)
	}
	if err := e.clock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if e.get(t, expiring.Id).Status != api.PaymentLinkStatusExpired {
		t.Fatal("not expired")
	}
	e.sb.Webhooks().Wait()
	if n := len(all.Calls()); n != 5 {
		t.Errorf("%d calls after a close and an expiry, want none more", n)
	}
}

// A rotation (control API) gives a new secret: s1 is signed with it and s0 with the previous one
// for 24 hours of the sandbox clock, so a receiver that knows only the previous one still
// verifies; then s0 is gone.
func TestWebhookRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	rcv := sandboxtest.NewReceiver(t)
	old := subscribe(t, e.client, rcv.URL, hub2.EventPaymentSuccess)
	res, err := http.Post(e.srv.URL+"/sandbox/hub2/_control/webhooks/rotate", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct{ Data []sandbox.RotatedSecret }
	err = json.NewDecoder(res.Body).Decode(&rotated)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(rotated.Data) != 1 {
		t.Fatalf("rotate: %d %v %+v", res.StatusCode, err, rotated)
	}
	r := rotated.Data[0]
	if r.ID != old.Id || r.Secret == old.Secret || !r.PreviousUntil.Equal(start.Add(24*time.Hour)) {
		t.Errorf("rotated %+v", r)
	}
	pay := func() sandboxtest.Call {
		t.Helper()
		if err := e.sb.Pay(e.create(t, order(1000)).Id); err != nil {
			t.Fatal(err)
		}
		calls := rcv.Wait(t, len(rcv.Calls())+1)
		return calls[len(calls)-1]
	}
	c := pay()
	if h := c.Header.Get(hub2.SignatureHeader); h != hub2.Sign(c.Body, r.Secret, old.Secret) {
		t.Errorf("during the rotation: %q", h)
	}
	for _, secrets := range [][]string{{old.Secret}, {r.Secret}} {
		if which, err := hub2in.VerifySignature(c.Header.Get(hub2in.Header), c.Body, secrets); err != nil || which != map[bool]string{true: "s0", false: "s1"}[secrets[0] == old.Secret] {
			t.Errorf("verified with %v: %s %v", secrets, which, err)
		}
	}
	if err := e.clock.Advance(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	c = pay()
	if h := c.Header.Get(hub2.SignatureHeader); h != hub2.Sign(c.Body, r.Secret, "") {
		t.Errorf("24 hours later: %q", h)
	}
	if _, err := hub2in.VerifySignature(c.Header.Get(hub2in.Header), c.Body, []string{old.Secret}); err == nil {
		t.Error("the previous secret still verifies after 24 hours")
	}
}
