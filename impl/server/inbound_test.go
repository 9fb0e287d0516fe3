package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/inbound"
	hub2in "github.com/paylinks/paylinks/impl/inbound/hub2"
	"github.com/paylinks/paylinks/impl/inbound/inboundtest"
	mkpin "github.com/paylinks/paylinks/impl/inbound/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	molliesandbox "github.com/paylinks/paylinks/impl/sandbox/mollie"
)

// liveProviders stand in for the real Hub2 and MijnKlantportaal: their sandboxes served on their
// own, behind fakes of the webhook-registration APIs (inboundtest: their secrets and failures are
// the test's to set; the sandboxes' own registration is tested in sandbox_webhooks_test.go).
type liveProviders struct {
	hub2    *hub2sandbox.Sandbox
	mkp     *mkpsandbox.Sandbox
	hub2API *inboundtest.Hub2
	mkpAPI  *inboundtest.MKP
	cfg     map[string]ProviderConfig
}

func newLiveProviders(t *testing.T) *liveProviders {
	t.Helper()
	lp := &liveProviders{
		hub2: hub2sandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 42}),
		mkp:  mkpsandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 43, CheckoutBase: "http://127.0.0.1:1/checkout"}),
	}
	lp.hub2API = &inboundtest.Hub2{Fallback: lp.hub2.Handler()}
	lp.mkpAPI = &inboundtest.MKP{Fallback: lp.mkp.Handler()}
	h, m := httptest.NewServer(lp.hub2API), httptest.NewServer(lp.mkpAPI)
	t.Cleanup(h.Close)
	t.Cleanup(m.Close)
	lp.cfg = map[string]ProviderConfig{
		"hub2":             {BaseURL: h.URL, Credentials: map[string]string{"api_key": "a", "merchant_id": "m", "environment": "sandbox"}},
		"mijnklantportaal": {BaseURL: m.URL, Credentials: map[string]string{"token": "t"}},
	}
	return lp
}

// liveServer starts a live-mode server on the providers, polling hourly (so what arrives in
// seconds came by webhook), with a receiver endpoint.
func liveServer(t *testing.T, lp *liveProviders, edit func(*Config)) (*testServer, *api.ClientWithResponses, *eventstest.Receiver) {
	t.Helper()
	cfg := Config{APIKeys: []string{"k"}, Providers: lp.cfg, Events: EventsConfig{AllowPrivate: true, PollSchedule: "1h", RetrySchedule: "0s,50ms"}}
	if edit != nil {
		edit(&cfg)
	}
	ts := start(t, cfg)
	c := ts.client(t, "k")
	rcv := eventstest.NewReceiver(t)
	ep, err := c.CreateWebhookEndpointWithResponse(context.Background(), api.CreateWebhookEndpointRequest{Url: rcv.URL()})
	if err != nil || ep.JSON201 == nil {
		t.Fatalf("endpoint: %v", err)
	}
	rcv.SetSecrets(ep.JSON201.Secret)
	return ts, c, rcv
}

// post plays the provider: a POST to paylinks' inbound route.
func (ts *testServer) post(t *testing.T, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	status, _, b := ts.raw(t, http.MethodPost, path, "", body, header)
	return status, b
}

func createLink(t *testing.T, c *api.ClientWithResponses, provider, reference string) api.PaymentLink {
	t.Helper()
	body := sampleCreate(provider)
	if reference != "" {
		body.Reference = &reference
	}
	res, err := c.CreatePaymentLinkWithResponse(context.Background(), nil, body)
	if err != nil || res.JSON201 == nil {
		t.Fatalf("create: %v %s", err, res.Body)
	}
	return *res.JSON201
}

// count counts the deliveries of an event type for a link, and the sources they name.
func count(t *testing.T, rcv *eventstest.Receiver, linkID, typ string) (int, []string) {
	t.Helper()
	n, seen := 0, map[string]bool{}
	var sources []string
	for _, e := range decodeDeliveries(t, rcv.Requests()) {
		if e.Type == typ && e.Data.Link.Id == linkID && !seen[e.ID] {
			seen[e.ID] = true
			n++
			sources = append(sources, e.Data.Source)
		}
	}
	return n, sources
}

// settle waits until the inbox has nothing left to resolve and the dispatcher has had time to
// deliver.
func settle(t *testing.T, ts *testServer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _, err := ts.Events().Store().InboxBacklog(context.Background())
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox backlog %d after 10 s (%v)", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}

func register(t *testing.T, c *api.ClientWithResponses, providers ...string) api.ProviderWebhooksList {
	t.Helper()
	body := api.RegisterProviderWebhooksRequest{}
	if len(providers) > 0 {
		body.Providers = &providers
	}
	res, err := c.RegisterProviderWebhooksWithResponse(context.Background(), body)
	if err != nil || res.JSON200 == nil {
		t.Fatalf("register: %v %d %s", err, res.StatusCode(), res.Body)
	}
	return *res.JSON200
}

// Hub2, end to end: paylinks registers at Hub2, a link is paid, Hub2's signed webhook makes exactly
// one payment_link.completed (source provider_webhook); a copy makes none; a mis-signed call is a
// 401; during a secret rotation s0 is accepted; a forged "paid" for an open link makes nothing; an
// unreadable body makes nothing but what reading the open links confirms.
func TestHub2WebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	lp := newLiveProviders(t)
	ts, c, rcv := liveServer(t, lp, nil)
	reg := register(t, c, "hub2")
	if len(reg.Data) != 1 || len(reg.Data[0].Subscriptions) != 1 || *reg.Data[0].Subscriptions[0].Outcome != "created" {
		t.Fatalf("registered %+v", reg.Data)
	}
	hooks := lp.hub2API.Webhooks()
	if len(hooks) != 1 || hooks[0].Url != ts.URL+"/webhooks/hub2" {
		t.Fatalf("hub2 subscriptions %+v", hooks)
	}
	secret := hooks[0].Secret
	signed := func(body, s1, s0 string) map[string]string {
		return map[string]string{"Hub2-Signature": hub2in.Sign([]byte(body), s1, s0), "Content-Type": "application/json"}
	}

	paid := createLink(t, c, "hub2", "ORDER-PAID")
	if err := lp.hub2.Pay(paid.ProviderLinkId); err != nil {
		t.Fatal(err)
	}
	event := `{"id":"evt_1","type":"payment_intent.succeeded","data":{"id":"pi_1","purchaseReference":"ORDER-PAID","status":"successful"}}`
	if status, b := ts.post(t, "/webhooks/hub2", signed(event, secret, ""), event); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, b)
	}
	ev := waitFor(t, rcv, paid.Id, "payment_link.completed")
	if ev.Data.Source != "provider_webhook" || !ev.verified || ev.Data.Link.Status != api.PaymentLinkStatusCompleted {
		t.Errorf("completed event: source %s, verified %v", ev.Data.Source, ev.verified)
	}
	// The same webhook again: acknowledged, no second event.
	if status, b := ts.post(t, "/webhooks/hub2", signed(event, secret, ""), event); status != http.StatusOK || !strings.Contains(b, "duplicate") {
		t.Errorf("copy: %d %s", status, b)
	}
	// Mis-signed: 401, nothing kept.
	forged := `{"id":"evt_2","type":"payment_intent.succeeded","data":{"purchaseReference":"ORDER-OPEN"}}`
	if status, b := ts.post(t, "/webhooks/hub2", signed(forged, "not-the-secret", ""), forged); status != http.StatusUnauthorized || !strings.Contains(b, "unauthorized") {
		t.Errorf("mis-signed: %d %s", status, b)
	}

	// A forged "paid" for a link that is open: signed (say, a replay of another event's secret), read
	// at Hub2, still active: nothing.
	open := createLink(t, c, "hub2", "ORDER-OPEN")
	claim := `{"id":"evt_3","type":"payment_intent.succeeded","data":{"id":"pi_3","purchaseReference":"ORDER-OPEN","status":"successful"}}`
	if status, _ := ts.post(t, "/webhooks/hub2", signed(claim, secret, ""), claim); status != http.StatusOK {
		t.Fatalf("claim: %d", status)
	}

	// A rotation at Hub2: the new secret signs s1 (paylinks does not know it yet), the old one s0.
	rotated := createLink(t, c, "hub2", "ORDER-ROTATED")
	if err := lp.hub2.Pay(rotated.ProviderLinkId); err != nil {
		t.Fatal(err)
	}
	during := `{"id":"evt_4","type":"payment.succeeded","data":{"id":"pay_4","purchaseReference":"ORDER-ROTATED"}}`
	if status, b := ts.post(t, "/webhooks/hub2", signed(during, "the-new-secret", secret), during); status != http.StatusOK {
		t.Fatalf("s0 during a rotation: %d %s", status, b)
	}
	waitFor(t, rcv, rotated.Id, "payment_link.completed")

	// An unreadable body, signed: the open Hub2 links are read; only what Hub2 says counts.
	quiet := createLink(t, c, "hub2", "ORDER-QUIET")
	if err := lp.hub2.Pay(quiet.ProviderLinkId); err != nil {
		t.Fatal(err)
	}
	garbage := "this is not json"
	if status, b := ts.post(t, "/webhooks/hub2", signed(garbage, secret, ""), garbage); status != http.StatusOK {
		t.Fatalf("unreadable: %d %s", status, b)
	}
	waitFor(t, rcv, quiet.Id, "payment_link.completed")
	settle(t, ts)

	for _, l := range []api.PaymentLink{paid, rotated, quiet} {
		if n, src := count(t, rcv, l.Id, "payment_link.completed"); n != 1 || src[0] != "provider_webhook" {
			t.Errorf("%s: %d completed events from %v, want one from provider_webhook", *l.Reference, n, src)
		}
	}
	if n, _ := count(t, rcv, open.Id, "payment_link.completed"); n != 0 {
		t.Errorf("the forged paid made %d completed events", n)
	}
	// Counted by result and signature.
	status, _, metrics := ts.raw(t, http.MethodGet, "/metrics", "", "", nil)
	for _, want := range []string{
		`paylinks_inbound_webhooks_total{provider="hub2",result="received",signature="s1"} 3`,
		`paylinks_inbound_webhooks_total{provider="hub2",result="received",signature="s0"} 1`,
		`paylinks_inbound_webhooks_total{provider="hub2",result="duplicate",signature="s1"} 1`,
		`paylinks_inbound_webhooks_total{provider="hub2",result="bad_signature",signature=""} 1`,
		`paylinks_inbox_resolutions_total{outcome="done",provider="hub2"} 4`,
	} {
		if status != 200 || !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "paylinks_inbound_webhooks_total", "paylinks_inbox_resolutions_total"))
		}
	}
}

// MijnKlantportaal, end to end: registration lists first and creates one record per link type;
// the provider's call (signature form undocumented) is accepted and counted by form; a secret of
// another type, an unknown type and a type of no link are refused; no answer shows a secret.
func TestMijnKlantportaalWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	lp := newLiveProviders(t)
	ts, c, rcv := liveServer(t, lp, nil)
	reg := register(t, c)
	var mkp api.ProviderWebhooks
	for _, p := range reg.Data {
		if p.Provider == "mijnklantportaal" {
			mkp = p
		}
	}
	if len(mkp.Subscriptions) != 3 || mkp.SecretSource != "stored" || mkp.Registration != "api" {
		t.Fatalf("mkp after register %+v", mkp)
	}
	records := lp.mkpAPI.Records()
	secrets := map[string]string{}
	for _, r := range records {
		if r.Url != ts.URL+"/webhooks/mijnklantportaal/"+r.Type {
			t.Errorf("record %s points at %s", r.Type, r.Url)
		}
		secrets[r.Type] = r.Secret
	}
	register(t, c, "mijnklantportaal")
	if lp.mkpAPI.Creates() != 3 {
		t.Fatalf("%d records created after registering twice, want 3", lp.mkpAPI.Creates())
	}
	// Nothing shows a secret.
	for _, path := range []string{"/v1/provider-webhooks"} {
		_, _, b := ts.raw(t, http.MethodGet, path, "k", "", nil)
		for _, s := range secrets {
			if strings.Contains(b, s) {
				t.Fatalf("%s shows a secret: %s", path, b)
			}
		}
	}

	link := createLink(t, c, "mijnklantportaal", "")
	if err := lp.mkp.Pay(link.ProviderLinkId); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"id":%q,"status":"paid"}`, link.ProviderLinkId)
	mac := hex.EncodeToString(inbound.HMACSHA256(secrets["payment-link-paid"], []byte(body)))
	for _, tt := range []struct {
		path, sig string
		want      int
	}{
		{"/webhooks/mijnklantportaal/payment-link-paid", hex.EncodeToString(inbound.HMACSHA256(secrets["payment-link-created"], []byte(body))), 401},
		{"/webhooks/mijnklantportaal/payment-link-refunded", mac, 404},
		{"/webhooks/mijnklantportaal/invoice-paid", mac, 422},
		{"/webhooks/mijnklantportaal", mac, 404},
		{"/webhooks/mijnklantportaal/payment-link-paid", mac, 200},
	} {
		if status, b := ts.post(t, tt.path, map[string]string{mkpin.Header: tt.sig}, body); status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.path, status, b, tt.want)
		}
	}
	ev := waitFor(t, rcv, link.Id, "payment_link.completed")
	if ev.Data.Source != "provider_webhook" {
		t.Errorf("source %s", ev.Data.Source)
	}
	_, _, metrics := ts.raw(t, http.MethodGet, "/metrics", "", "", nil)
	if !strings.Contains(metrics, `paylinks_inbound_webhooks_total{provider="mijnklantportaal",result="received",signature="hmac-sha256-hex"} 1`) {
		t.Error("the signature form is not counted")
	}
	if !strings.Contains(ts.logs.String(), "hex HMAC-SHA256 of the raw body") {
		t.Error("the assumption is not logged")
	}
}

// A webhook and a poll seeing the same payment at once make one event.
func TestWebhookAndPollRaceToOneEvent(t *testing.T) {
	t.Parallel()
	lp := newLiveProviders(t)
	ts, c, rcv := liveServer(t, lp, func(cfg *Config) {
		cfg.Events.PollSchedule = "10ms"
		cfg.Inbound.Secrets = map[string]string{"hub2": "by-hand-secret"}
	})
	var links []api.PaymentLink
	for i := range 5 {
		l := createLink(t, c, "hub2", fmt.Sprintf("RACE-%d", i))
		links = append(links, l)
		if err := lp.hub2.Pay(l.ProviderLinkId); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"id":"evt_r%d","type":"payment.succeeded","data":{"purchaseReference":"RACE-%d"}}`, i, i)
		if status, b := ts.post(t, "/webhooks/hub2", map[string]string{"Hub2-Signature": hub2in.Sign([]byte(body), "by-hand-secret", "")}, body); status != 200 {
			t.Fatalf("webhook: %d %s", status, b)
		}
	}
	for _, l := range links {
		waitFor(t, rcv, l.Id, "payment_link.completed")
	}
	settle(t, ts)
	for _, l := range links {
		if n, src := count(t, rcv, l.Id, "payment_link.completed"); n != 1 {
			t.Errorf("%s: %d completed events (%v)", *l.Reference, n, src)
		}
	}
}

// stoppable runs a real server on a loopback port until the test ends, or until the test calls
// the stop func it returns.
func stoppable(t *testing.T, cfg Config) (*testServer, func()) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = NewLogger(logs, -4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &testServer{Server: srv, URL: "http://" + cfg.Addr, logs: logs}, stop
}

// A webhook stored, not resolved yet, when the process stops is resolved by the next process on
// the same data directory: durable before acknowledged.
func TestInboxSurvivesRestart(t *testing.T) {
	t.Parallel()
	lp := newLiveProviders(t)
	dir := t.TempDir()
	cfg := Config{APIKeys: []string{"k"}, Providers: lp.cfg, Inbound: InboundConfig{Secrets: map[string]string{"hub2": "by-hand-secret"}},
		Events: EventsConfig{DataDir: dir, AllowPrivate: true, PollSchedule: "1h"}}
	first := cfg
	// The first process receives but does not resolve (as if it stopped right after answering).
	first.Events.Tune = func(c *events.Config) { c.Resolvers = nil }
	ts, stop := stoppable(t, first)
	c := ts.client(t, "k")
	l := createLink(t, c, "hub2", "ORDER-RESTART")
	if err := lp.hub2.Pay(l.ProviderLinkId); err != nil {
		t.Fatal(err)
	}
	body := `{"id":"evt_restart","type":"payment.succeeded","data":{"purchaseReference":"ORDER-RESTART"}}`
	if status, b := ts.post(t, "/webhooks/hub2", map[string]string{"Hub2-Signature": hub2in.Sign([]byte(body), "by-hand-secret", "")}, body); status != 200 {
		t.Fatalf("webhook: %d %s", status, b)
	}
	ms, err := ts.Events().Store().ListInbox(context.Background(), store.InboxQuery{})
	if err != nil || len(ms) != 1 || ms[0].Status != store.InboxPending {
		t.Fatalf("before restart: %+v %v", ms, err)
	}
	stop()

	ts2, _ := stoppable(t, cfg)
	c2 := ts2.client(t, "k")
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := c2.ListEventsWithResponse(context.Background(), &api.ListEventsParams{LinkId: &l.Id, Type: ptr(api.EventTypePaymentLinkCompleted)})
		if err == nil && list.JSON200 != nil && len(list.JSON200.Data) == 1 {
			if src := list.JSON200.Data[0].Data.Source; src == nil || *src != api.EventDataSourceProviderWebhook {
				t.Errorf("source %v", *src)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook stored before the restart was not resolved after it")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PAYLINKS_PROVIDER_WEBHOOKS=register registers at start.
func TestRegisterAtStart(t *testing.T) {
	t.Parallel()
	lp := newLiveProviders(t)
	env := map[string]string{"PAYLINKS_PROVIDER_WEBHOOKS": "register", "PAYLINKS_HUB2_WEBHOOK_EVENTS": "payment.succeeded, payment_intent.succeeded"}
	cfg, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIKeys, cfg.Providers, cfg.Events.AllowPrivate = []string{"k"}, lp.cfg, true
	start(t, cfg)
	deadline := time.Now().Add(10 * time.Second)
	for lp.mkpAPI.Creates() != 3 || len(lp.hub2API.Webhooks()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("registered %d records and %d hub2 webhooks", lp.mkpAPI.Creates(), len(lp.hub2API.Webhooks()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if evs := *lp.hub2API.Webhooks()[0].Events; strings.Join(evs, ",") != "payment.succeeded,payment_intent.succeeded" {
		t.Errorf("hub2 events %v", evs)
	}
}

func TestInboundEnv(t *testing.T) {
	for _, tt := range []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{"PAYLINKS_PROVIDER_WEBHOOKS": "register"}, true},
		{map[string]string{"PAYLINKS_PROVIDER_WEBHOOKS": "yes"}, false},
	} {
		_, err := FromEnv(func(k string) string { return tt.env[k] })
		if (err == nil) != tt.ok {
			t.Errorf("%v: %v", tt.env, err)
		}
	}
	// Secrets for a provider that sends none, or badly formed, stop the server at start.
	for _, secrets := range []map[string]string{{"telness": "x"}, {"mijnklantportaal": "a,b"}} {
		if _, err := New(Config{Inbound: InboundConfig{Secrets: secrets}, Logger: NewLogger(io.Discard, 0)}); err == nil || !strings.Contains(err.Error(), "WEBHOOK_SECRETS") {
			t.Errorf("%v: %v", secrets, err)
		}
	}
}

// The routes in sandbox mode: the sandboxes subscribed at start, the Mollie-less deployment answers 404 for
// unknown providers, and the public URL is checked against the SSRF policy in live mode.
func TestProviderWebhooksAPI(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	c := ts.client(t, DemoAPIKey)
	list, err := c.ListProviderWebhooksWithResponse(context.Background())
	if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != len(kits.All) {
		t.Fatalf("list: %v %s", err, list.Body)
	}
	// The sandboxes with a registration API were subscribed at start; Mollie's links name the URL.
	want := map[string]string{"mijnklantportaal": "api", "hub2": "api", "mollie": "per_link", "telness": "none"}
	subs := map[string]int{"mijnklantportaal": 3, "hub2": 1}
	for _, p := range list.JSON200.Data {
		if string(p.Registration) != want[p.Provider] || len(p.Subscriptions) != subs[p.Provider] || (p.Provider != "telness" && !strings.Contains(deref(p.Note), "sandbox")) {
			t.Errorf("%s in sandbox mode: registration %s, %d subscriptions, note %q", p.Provider, p.Registration, len(p.Subscriptions), deref(p.Note))
		}
	}
	if status, b := ts.post(t, "/webhooks/stripe", nil, "{}"); status != 404 || !strings.Contains(b, "not_found") {
		t.Errorf("unknown provider: %d %s", status, b)
	}
	if status, _, _ := ts.raw(t, http.MethodGet, "/webhooks/hub2", "", "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", status)
	}
	res, _ := c.RegisterProviderWebhooksWithResponse(context.Background(), api.RegisterProviderWebhooksRequest{Providers: &[]string{"stripe"}})
	if res.StatusCode() != 422 {
		t.Errorf("register an unknown provider: %d %s", res.StatusCode(), res.Body)
	}

	lp := newLiveProviders(t)
	live := start(t, Config{APIKeys: []string{"k"}, Providers: lp.cfg})
	res, _ = live.client(t, "k").RegisterProviderWebhooksWithResponse(context.Background(), api.RegisterProviderWebhooksRequest{})
	if res.StatusCode() != 422 || !strings.Contains(string(res.Body), "PAYLINKS_PUBLIC_URL") {
		t.Errorf("loopback public URL: %d %s", res.StatusCode(), res.Body)
	}
	var p api.Problem
	_ = json.Unmarshal(res.Body, &p)
	if p.Code != api.ProblemCodeValidationFailed {
		t.Errorf("problem %+v", p)
	}
	if lp.mkpAPI.Creates() != 0 {
		t.Error("registered although the public URL was refused")
	}
}

func grepLines(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

// Mollie, end to end: a link created with paylinks' inbound URL as its webhookUrl, paid at Mollie
// (its sandbox served on its own), which posts the unsigned id=tr_…: the open Mollie links are
// read and the payment makes one payment_link.completed (source provider_webhook); a form without
// a payment id is a 400.
func TestMollieWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	sb := molliesandbox.New(sandbox.Config{Clock: sandbox.WallClock(), Seed: 44})
	upstream := httptest.NewServer(sb.Handler())
	t.Cleanup(upstream.Close)
	ts, c, rcv := liveServer(t, &liveProviders{cfg: map[string]ProviderConfig{"mollie": {BaseURL: upstream.URL, Credentials: map[string]string{"api_key": "test_key"}}}}, nil)

	body := sampleCreate("mollie")
	hook := ts.URL + "/webhooks/mollie"
	body.ProviderOptions.Mollie.WebhookUrl = &hook
	res, err := c.CreatePaymentLinkWithResponse(context.Background(), nil, body)
	if err != nil || res.JSON201 == nil {
		t.Fatalf("create: %v %s", err, res.Body)
	}
	link := res.JSON201
	if status, b := ts.post(t, "/webhooks/mollie", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "testmode=true"); status != http.StatusBadRequest {
		t.Errorf("a form without an id: %d %s", status, b)
	}
	if err := sb.Pay(link.ProviderLinkId); err != nil {
		t.Fatal(err)
	}
	ev := waitFor(t, rcv, link.Id, "payment_link.completed")
	if ev.Data.Source != "provider_webhook" {
		t.Errorf("source %s", ev.Data.Source)
	}
	settle(t, ts)
	if n, _ := count(t, rcv, link.Id, "payment_link.completed"); n != 1 {
		t.Errorf("%d completed events", n)
	}
}

// The passthrough shows MijnKlantportaal's webhook records, but not the secrets paylinks keeps to
// verify them (stored at registration, or given in the environment): "secrets are kept by paylinks
// and never shown" holds there too. A record a caller made for itself keeps its secret, and the
// records keep every other field. If the kept secrets cannot be read, nothing is passed on.
func TestPassthroughShowsNoSecretPaylinksKeeps(t *testing.T) {
	t.Parallel()
	lp := newLiveProviders(t)
	const envSecret = "env-secret-for-every-type-0123"
	// No events endpoint: with the store closed below, nothing waits to commit a delivery.
	ts := start(t, Config{APIKeys: []string{"k"}, Providers: lp.cfg, Events: EventsConfig{AllowPrivate: true, PollSchedule: "1h"},
		Inbound: InboundConfig{Secrets: map[string]string{"mijnklantportaal": envSecret}}})
	c := ts.client(t, "k")
	register(t, c, "mijnklantportaal")
	own := lp.mkpAPI.Add("payment-link-paid", "https://merchant.example/hooks", "merchants-own-secret-4567")
	lp.mkpAPI.Add("payment-link-created", "https://other.example/hooks", envSecret)
	var kept []string
	for _, r := range lp.mkpAPI.Records() {
		if strings.HasPrefix(r.Url, ts.URL+"/webhooks/") {
			kept = append(kept, r.Secret)
		}
	}
	if len(kept) != 3 {
		t.Fatalf("%d records registered, want 3", len(kept))
	}
	kept = append(kept, envSecret)

	paths := []string{"/providers/mijnklantportaal/webhooks"}
	for _, r := range lp.mkpAPI.Records() {
		paths = append(paths, "/providers/mijnklantportaal/webhooks/"+r.Id)
	}
	shown := ""
	for _, path := range paths {
		status, _, b := ts.raw(t, http.MethodGet, path, "k", "", nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, b)
		}
		for _, s := range kept {
			if strings.Contains(b, s) {
				t.Errorf("%s shows a secret paylinks keeps: %s", path, b)
			}
		}
		var page struct {
			Data []map[string]any `json:"data"`
		}
		records := []map[string]any{}
		if path == paths[0] {
			if err := json.Unmarshal([]byte(b), &page); err != nil {
				t.Fatal(err)
			}
			records = page.Data
		} else {
			var r map[string]any
			if err := json.Unmarshal([]byte(b), &r); err != nil {
				t.Fatal(err)
			}
			records = append(records, r)
		}
		for _, r := range records {
			if r["id"] == nil || r["url"] == nil || r["type"] == nil {
				t.Errorf("%s: a record lost its fields: %v", path, r)
			}
			if r["id"] == own.Id {
				shown, _ = r["secret"].(string)
			} else if r["secret"] != "[redacted]" {
				t.Errorf("%s: record %v: secret %v, want [redacted]", path, r["id"], r["secret"])
			}
		}
	}
	if shown != own.Secret {
		t.Errorf("the caller's own record shows secret %q, want %q", shown, own.Secret)
	}

	// A secret stored while the provider lists its records (a registration on another instance)
	// is not shown either.
	lp.mkpAPI.OnList = func() {
		lp.mkpAPI.OnList = nil
		rec := lp.mkpAPI.Add("payment-link-paid", ts.URL+"/webhooks/mijnklantportaal/payment-link-paid", "storedDuringTheList-0123")
		if err := ts.Events().SaveProviderWebhook(context.Background(), events.ProviderWebhook{Provider: "mijnklantportaal", Name: rec.Type, RemoteID: rec.Id, URL: rec.Url, Secret: rec.Secret, CreatedAt: time.Now(), UpdatedAt: time.Now()}, 0); err != nil {
			t.Error(err)
		}
	}
	if status, _, b := ts.raw(t, http.MethodGet, paths[0], "k", "", nil); status != http.StatusOK || strings.Contains(b, "storedDuringTheList") {
		t.Errorf("a secret stored during the list: %d %s, want it redacted", status, b)
	}

	// A record a caller creates through the passthrough is answered with its secret: paylinks does
	// not keep it.
	status, _, b := ts.raw(t, http.MethodPost, "/providers/mijnklantportaal/webhooks", "k", `{"url":"https://merchant.example/created","type":"payment-link-expired"}`, map[string]string{"Content-Type": "application/json"})
	var created struct{ Secret string }
	if err := json.Unmarshal([]byte(b), &created); status != http.StatusCreated || err != nil || !strings.HasPrefix(created.Secret, "mkpSecret") {
		t.Errorf("create through the passthrough: %d %s, want 201 with its secret", status, b)
	}

	link := createLink(t, c, "mijnklantportaal", "")
	if err := ts.Events().Store().Close(); err != nil {
		t.Fatal(err)
	}
	calls, creates := len(lp.mkpAPI.Authorizations()), lp.mkpAPI.Creates()
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, paths[0], ""},
		{http.MethodPost, "/providers/mijnklantportaal/webhooks", `{"url":"https://merchant.example/later","type":"payment-link-paid"}`},
	} {
		status, _, b := ts.raw(t, req.method, req.path, "k", req.body, map[string]string{"Content-Type": "application/json"})
		if status != http.StatusServiceUnavailable || strings.Contains(b, "mkpSecret") || !strings.Contains(b, "nothing was sent") {
			t.Errorf("%s %s with the store closed: %d %s, want 503 and nothing of an answer", req.method, req.path, status, b)
		}
	}
	if len(lp.mkpAPI.Authorizations()) != calls || lp.mkpAPI.Creates() != creates {
		t.Error("a request was sent to the provider although its answer could not have been redacted")
	}
	// Answers whose schema names no secret (a link's) are passed on without reading the secrets.
	if status, _, b := ts.raw(t, http.MethodGet, "/providers/mijnklantportaal/payment-links/"+link.ProviderLinkId, "k", "", nil); status != http.StatusOK {
		t.Errorf("a link with the store closed: %d %s, want 200", status, b)
	}
}
