package inbound_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	hub2api "github.com/paylinks/paylinks/gen/hub2"
	mkpapi "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/inbound/hub2"
	"github.com/paylinks/paylinks/impl/inbound/inboundtest"
	mkp "github.com/paylinks/paylinks/impl/inbound/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/inbound/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/validation"
)

// logs collects log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

// countingStore counts the reads of the stored provider secrets, and runs a hook once after one.
type countingStore struct {
	store.Store
	reads     atomic.Int64
	failReads atomic.Bool // reads of the provider webhooks fail; the rest works

	mu    sync.Mutex
	after func() // run once, after the next read, before it returns
}

func (c *countingStore) ProviderWebhooks(ctx context.Context, provider string) ([]store.ProviderWebhook, error) {
	c.reads.Add(1)
	if c.failReads.Load() {
		return nil, errors.New("cannot read the provider webhooks today")
	}
	out, err := c.Store.ProviderWebhooks(ctx, provider)
	c.mu.Lock()
	f := c.after
	c.after = nil
	c.mu.Unlock()
	if f != nil {
		f()
	}
	return out, err
}

// holdNextRead has the next read of the stored secrets wait, once done, until release is closed;
// reading is closed when it waits.
func (c *countingStore) holdNextRead() (reading, release chan struct{}) {
	reading, release = make(chan struct{}), make(chan struct{})
	c.mu.Lock()
	c.after = func() { close(reading); <-release }
	c.mu.Unlock()
	return reading, release
}

type env struct {
	cfg     inbound.Config // as given to inbound.New
	store   *countingStore
	events  *events.Service
	in      *inbound.Service
	logs    *logs
	mkpAPI  *inboundtest.MKP
	hub2API *inboundtest.Hub2
}

// validating is an HTTP client holding the fake provider's answers to the curated spec, as the
// server's clients do.
func validating(t *testing.T, doc func() (*openapi3.T, error)) *http.Client {
	t.Helper()
	d, err := doc()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := validation.New(d)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &validation.Transport{Spec: spec}}
}

func newEnv(t *testing.T, cfg inbound.Config) *env {
	t.Helper()
	l := &logs{}
	log := slog.New(slog.NewTextHandler(l, nil))
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "paylinks.db"))
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingStore{Store: st}
	svc, err := events.Open(context.Background(), events.Config{Store: counting, Logger: log,
		RenderLink: func(l paylink.Link) (json.RawMessage, error) { return json.Marshal(l.ID) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e := &env{store: counting, events: svc, logs: l, mkpAPI: &inboundtest.MKP{Fallback: http.NotFoundHandler(), PerPage: 2}, hub2API: &inboundtest.Hub2{Fallback: http.NotFoundHandler()}}
	mkpSrv, hub2Srv := httptest.NewServer(e.mkpAPI), httptest.NewServer(e.hub2API)
	t.Cleanup(mkpSrv.Close)
	t.Cleanup(hub2Srv.Close)
	auth := func(name, value string) func(context.Context, *http.Request) error {
		return func(_ context.Context, r *http.Request) error { r.Header.Set(name, value); return nil }
	}
	mkpIn, err := mkp.New(inbound.Deps{BaseURL: mkpSrv.URL, HTTP: validating(t, mkpapi.GetSpec), Authorize: auth("Authorization", "Bearer tok")})
	if err != nil {
		t.Fatal(err)
	}
	hub2In, err := hub2.New(inbound.Deps{BaseURL: hub2Srv.URL, HTTP: validating(t, hub2api.GetSpec), Authorize: func(_ context.Context, r *http.Request) error {
		r.Header.Set("ApiKey", "k")
		r.Header.Set("MerchantId", "m")
		r.Header.Set("Environment", "live")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	mollieIn, _ := mollie.New(inbound.Deps{})
	cfg.Events, cfg.Logger = svc, log
	if cfg.All == nil {
		cfg.All = []inbound.ProviderInfo{{Name: "mijnklantportaal", Live: true}, {Name: "hub2", Live: true}, {Name: "telness", Live: true}, {Name: "mollie", Live: true}}
	}
	cfg.Providers = []inbound.Provider{mkpIn, hub2In, mollieIn}
	cfg.Registrars = map[string]inbound.Registrar{"mijnklantportaal": mkpIn.(inbound.Registrar), "hub2": hub2In.(inbound.Registrar)}
	if cfg.PublicURL == "" {
		cfg.PublicURL, cfg.AllowPrivate = "http://127.0.0.1:9/", true
	}
	if e.in, err = inbound.New(cfg); err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	return e
}

func (e *env) receive(provider, kind string, h http.Header, body string) (inbound.Receipt, error) {
	return e.in.Receive(context.Background(), provider, kind, h, strings.NewReader(body))
}

func statusOf(err error) int {
	var r *inbound.Refusal
	if errors.As(err, &r) {
		return r.Status
	}
	return 0
}

func (e *env) counted(t *testing.T, provider, result, signature string) float64 {
	t.Helper()
	for _, c := range e.in.Collectors() {
		if cv, ok := c.(*prometheus.CounterVec); ok {
			if m, err := cv.GetMetricWithLabelValues(provider, result, signature); err == nil {
				var out dto.Metric
				if err := m.Write(&out); err != nil {
					t.Fatal(err)
				}
				return out.GetCounter().GetValue()
			}
		}
	}
	t.Fatal("no counter")
	return 0
}

const hub2Body = `{"id":"evt_1","type":"payment.succeeded","data":{"id":"pay_1","intentId":"pi_1","status":"successful"}}`

func TestReceive(t *testing.T) {
	e := newEnv(t, inbound.Config{EnvSecrets: map[string]string{"hub2": "current-secret, previous-secret"}, MaxBody: 1024})
	sig := func(body, secret string) http.Header {
		return http.Header{hub2.Header: {hub2.Sign([]byte(body), secret, "")}}
	}

	r, err := e.receive("hub2", "", sig(hub2Body, "current-secret"), hub2Body)
	if err != nil || r.Outcome != store.Received {
		t.Fatalf("signed: %+v, %v", r, err)
	}
	if r, err = e.receive("hub2", "", sig(hub2Body, "previous-secret"), hub2Body); err != nil || r.Outcome != store.Merged {
		t.Fatalf("the same event, signed with the previous secret: %+v, %v", r, err)
	}
	if e.counted(t, "hub2", "received", "s1") != 1 || e.counted(t, "hub2", "merged", "s1") != 1 {
		t.Error("receipts not counted by outcome and signature")
	}
	for _, tt := range []struct {
		name, provider, kind string
		header               http.Header
		body                 string
		status               int
		result               string
	}{
		{"mis-signed", "hub2", "", sig(hub2Body, "wrong"), hub2Body, 401, "bad_signature"},
		{"unsigned", "hub2", "", http.Header{}, hub2Body, 401, "bad_signature"},
		{"malformed signature", "hub2", "", http.Header{hub2.Header: {"s1=xyz"}}, hub2Body, 400, "malformed"},
		{"too large", "hub2", "", sig(strings.Repeat("x", 1025), "current-secret"), strings.Repeat("x", 1025), 413, "too_large"},
		{"unknown provider", "stripe", "", http.Header{}, "{}", 404, "unknown_provider"},
		{"telness sends none", "telness", "", http.Header{}, "{}", 404, "unknown_provider"},
		{"mollie without an id", "mollie", "", http.Header{}, "x=1", 400, "malformed"},
		{"mkp unknown type", "mijnklantportaal", "payment-link-refunded", http.Header{}, "{}", 404, "unknown_type"},
		{"mkp type of no link", "mijnklantportaal", "customer-created", http.Header{}, "{}", 422, "not_a_link_type"},
		{"mkp without a secret", "mijnklantportaal", "payment-link-paid", http.Header{mkp.Header: {"x"}}, "{}", 401, "bad_signature"},
	} {
		if _, err := e.receive(tt.provider, tt.kind, tt.header, tt.body); statusOf(err) != tt.status {
			t.Errorf("%s: %v, want %d", tt.name, err, tt.status)
		}
		provider := tt.provider
		if provider == "stripe" || provider == "telness" {
			provider = "unknown"
		}
		if e.counted(t, provider, tt.result, "") == 0 {
			t.Errorf("%s: not counted as %s", tt.name, tt.result)
		}
	}
	// Nothing refused reached the inbox.
	ms, err := e.events.Store().ListInbox(context.Background(), store.InboxQuery{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("inbox: %d messages, %v", len(ms), err)
	}
	if n := e.logs.count("no secret to verify them"); n != 1 {
		t.Errorf("missing secret logged %d times, want once", n)
	}
	// Drift is reported, never refused; a transfer event is acknowledged and not kept.
	drifting := `{"id":"evt_2","type":"payment.failed","data":"not an object"}`
	if r, err := e.receive("hub2", "", sig(drifting, "current-secret"), drifting); err != nil || r.Outcome != store.Received {
		t.Fatalf("drifting body: %+v, %v", r, err)
	}
	if e.logs.count("departs from its curated schema") != 1 {
		t.Error("drift not logged")
	}
	transfer := `{"id":"evt_3","type":"transfer.succeeded","data":{}}`
	if r, err := e.receive("hub2", "", sig(transfer, "current-secret"), transfer); err != nil || r.Outcome != "ignored" {
		t.Fatalf("transfer: %+v, %v", r, err)
	}
	// The assumption behind the accepted signature is logged once.
	if n := e.logs.count("verified under an assumption"); n != 1 {
		t.Errorf("assumption logged %d times", n)
	}
	// A store that is down is not a refusal: the provider must retry. The secrets were read less
	// than a second ago: the inbox is what fails; a second later, a call the keys read then do not
	// verify reads them again, and that fails.
	e.events.Close()
	later := strings.Replace(hub2Body, "evt_1", "evt_9", 1)
	if _, err := e.receive("hub2", "", sig(later, "current-secret"), later); err == nil || statusOf(err) != 0 {
		t.Errorf("store down: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.receive("hub2", "", sig(later, "a-secret-stored-elsewhere"), later); err == nil || statusOf(err) != 0 {
		t.Errorf("store down, the secrets read again: %v, want an error that is not a refusal", err)
	}
}

func TestEnvSecretsChecked(t *testing.T) {
	ev, _ := events.Open(context.Background(), events.Config{DataDir: t.TempDir()})
	defer ev.Close()
	p, _ := mkp.New(inbound.Deps{})
	for _, env := range []map[string]string{{"telness": "x"}, {"mijnklantportaal": "a,b"}} {
		if _, err := inbound.New(inbound.Config{Events: ev, Providers: []inbound.Provider{p}, EnvSecrets: env}); err == nil {
			t.Errorf("%v accepted", env)
		}
	}
}

func names(subs []inbound.SubscriptionInfo) (out []string) {
	for _, s := range subs {
		out = append(out, s.Events[0]+":"+s.Outcome)
	}
	slices.Sort(out)
	return out
}

// Registration creates what is missing at each provider, once: MijnKlantportaal's records are
// listed first (paged) and a record made by hand for the same URL is adopted with its secret; a
// second run creates nothing. The stored secrets then verify the providers' calls.
func TestRegister(t *testing.T) {
	e := newEnv(t, inbound.Config{PublicURL: "https://paylinks.example.com", AllowPrivate: false})
	ctx := context.Background()
	e.mkpAPI.Add("customer-created", "https://elsewhere.example/hook", "other")
	e.mkpAPI.Add("payment-link-paid", "https://old.example/webhooks/mijnklantportaal/payment-link-paid", "old")
	byHand := e.mkpAPI.Add("payment-link-expired", "https://paylinks.example.com/webhooks/mijnklantportaal/payment-link-expired", "byHandSecret")

	st, err := e.in.Register(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]inbound.Status{}
	for _, s := range st {
		got[s.Provider] = s
	}
	if want := []string{"payment-link-created:created", "payment-link-expired:adopted", "payment-link-paid:created"}; !slices.Equal(names(got["mijnklantportaal"].Subs), want) {
		t.Errorf("mkp subscriptions %v, want %v", names(got["mijnklantportaal"].Subs), want)
	}
	if s := got["hub2"]; len(s.Subs) != 1 || s.Subs[0].Outcome != inbound.Created || s.Subs[0].URL != "https://paylinks.example.com/webhooks/hub2" || s.SecretSource != "stored" {
		t.Errorf("hub2 %+v", s)
	}
	if s := got["telness"]; s.Receives || s.Registration != "none" || s.Note == "" {
		t.Errorf("telness %+v", s)
	}
	if s := got["mollie"]; !s.Receives || s.Registration != "per_link" || s.SecretSource != "not_needed" || !slices.Equal(s.InboundURLs, []string{"https://paylinks.example.com/webhooks/mollie"}) {
		t.Errorf("mollie %+v", s)
	}
	if e.mkpAPI.Creates() != 2 || len(e.hub2API.Webhooks()) != 1 {
		t.Fatalf("created %d records, %d hub2 webhooks", e.mkpAPI.Creates(), len(e.hub2API.Webhooks()))
	}
	for _, a := range e.mkpAPI.Authorizations() {
		if a != "Bearer tok" {
			t.Errorf("records request without the provider's credentials: %q", a)
		}
	}
	// Again: nothing created, everything existing.
	st, err = e.in.Register(ctx, []string{"mijnklantportaal", "hub2"})
	if err != nil || e.mkpAPI.Creates() != 2 || len(e.hub2API.Webhooks()) != 1 {
		t.Fatalf("second run: %v, %d creates", err, e.mkpAPI.Creates())
	}
	if want := []string{"payment-link-created:existing", "payment-link-expired:existing", "payment-link-paid:existing"}; !slices.Equal(names(st[0].Subs), want) {
		t.Errorf("second run %v", names(st[0].Subs))
	}
	// The stored secrets verify: the adopted record's, and Hub2's.
	body := `{"id":"plk_abc12345def678"}`
	if _, err := e.receive("mijnklantportaal", "payment-link-expired", http.Header{mkp.Header: {byHand.Secret}}, body); err != nil {
		t.Errorf("adopted record's secret: %v", err)
	}
	secret := e.hub2API.Webhooks()[0].Secret
	if _, err := e.receive("hub2", "", http.Header{hub2.Header: {hub2.Sign([]byte(hub2Body), secret, "")}}, hub2Body); err != nil {
		t.Errorf("hub2's secret: %v", err)
	}
	// Listing shows no secret.
	list, err := e.in.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(list)
	for _, s := range []string{byHand.Secret, secret, "mkpSecret"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("listing shows a secret: %s", raw)
		}
	}
}

func TestRegisterRefusals(t *testing.T) {
	for _, public := range []string{"http://127.0.0.1:8080", "https://10.0.0.5", "http://paylinks.example.com"} {
		e := newEnv(t, inbound.Config{PublicURL: public, AllowPrivate: false})
		if _, err := e.in.Register(context.Background(), nil); !errors.Is(err, inbound.ErrPublicURL) {
			t.Errorf("%s: %v", public, err)
		}
	}
	e := newEnv(t, inbound.Config{})
	if _, err := e.in.Register(context.Background(), []string{"stripe"}); !errors.Is(err, inbound.ErrUnknownProvider) {
		t.Errorf("unknown provider: %v", err)
	}
	// One provider failing does not stop the others; its error is returned.
	e.mkpAPI.Fail = http.StatusUnauthorized
	st, err := e.in.Register(context.Background(), nil)
	var pe *paylink.ProviderError
	if !errors.As(err, &pe) || pe.Provider != "mijnklantportaal" || !errors.Is(err, paylink.ErrProviderAuth) {
		t.Fatalf("error %v", err)
	}
	if len(st) != 4 || len(e.hub2API.Webhooks()) != 1 {
		t.Fatalf("hub2 not registered after the mkp failure: %+v", st)
	}
	// A provider on its sandbox is registered at start, afresh (the sandbox forgot what is
	// stored), whatever the public URL: it calls paylinks in process. Register then keeps it.
	e = newEnv(t, inbound.Config{All: []inbound.ProviderInfo{{Name: "hub2", Live: false}, {Name: "mijnklantportaal", Live: true}}, PublicURL: "http://127.0.0.1:9"})
	if _, err := e.in.Register(context.Background(), []string{"mijnklantportaal"}); !errors.Is(err, inbound.ErrPublicURL) {
		t.Errorf("a live provider with a loopback public URL: %v", err)
	}
	if e.mkpAPI.Creates() != 0 {
		t.Fatal("a live provider registered with a loopback public URL")
	}
	for i := range 2 {
		st, err = e.in.RegisterSandboxes(context.Background())
		if err != nil || len(st) != 1 || st[0].Registration != "api" || !strings.Contains(st[0].Note, "sandbox") || len(e.hub2API.Webhooks()) != i+1 {
			t.Fatalf("sandbox, start %d: %+v %v", i+1, st, err)
		}
	}
	st, err = e.in.Register(context.Background(), []string{"hub2"})
	if err != nil || len(e.hub2API.Webhooks()) != 2 || st[0].Subs[0].Outcome != inbound.Existing {
		t.Fatalf("sandbox, registered again: %+v %v", st, err)
	}
}

// TestUnsignedCallsKeepOnlyWhatIsRead sends Mollie's unsigned webhook padded with a large field of
// junk, as anyone may: the inbox keeps only the payment id paylinks reads, so strangers cannot
// fill the event store with kilobytes per call.
func TestUnsignedCallsKeepOnlyWhatIsRead(t *testing.T) {
	e := newEnv(t, inbound.Config{})
	body := "id=tr_WDqYK6vllg&junk=" + strings.Repeat("x", 200<<10)
	if r, err := e.receive("mollie", "", http.Header{}, body); err != nil || r.Outcome != store.Received {
		t.Fatalf("mollie: %+v, %v", r, err)
	}
	ms, err := e.events.Store().ListInbox(context.Background(), store.InboxQuery{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("inbox: %d messages, %v", len(ms), err)
	}
	if got := string(ms[0].Body); got != "id=tr_WDqYK6vllg" {
		t.Errorf("kept %d bytes (%.40q…), want only the payment id", len(got), got)
	}
}

// failingReader is a body that breaks off: a sender that went away, or a read that timed out.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestUnreadableBodiesAreCounted sends a body that breaks off: it is refused with a 400 and counted
// as malformed, like every other refusal.
func TestUnreadableBodiesAreCounted(t *testing.T) {
	e := newEnv(t, inbound.Config{})
	if _, err := e.in.Receive(context.Background(), "hub2", "", http.Header{}, failingReader{}); statusOf(err) != 400 {
		t.Errorf("a body that breaks off: %v, want 400", err)
	}
	if e.counted(t, "hub2", "malformed", "") != 1 {
		t.Error("a body that breaks off is not counted as malformed")
	}
}

// refusedOnce sends a call no secret verifies, which has the stored secrets read (none yet).
func (e *env) refusedOnce(t *testing.T) {
	t.Helper()
	if _, err := e.receive("hub2", "", hub2Signed(hub2Body, "guess"), hub2Body); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("a call no secret verifies: %v", err)
	}
}

// registerElsewhere registers at Hub2 from another instance (the same providers and store) and
// returns the secret it stored.
func (e *env) registerElsewhere(t *testing.T) string {
	t.Helper()
	other, err := inbound.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Register(context.Background(), []string{"hub2"}); err != nil {
		t.Fatal(err)
	}
	return e.hub2API.Webhooks()[0].Secret
}

func hub2Signed(body, secret string) http.Header {
	return http.Header{"Hub2-Signature": {"s1=" + hex.EncodeToString(inbound.HMACSHA256(secret, []byte(body)))}}
}

// A stranger's flood of badly signed calls reads the stored secrets about once a second, not once a
// call; well-signed calls still verify, and a registration on this instance counts at once.
func TestBadlySignedCallsReadTheSecretsOnceASecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t, inbound.Config{})
	ctx := context.Background()
	// Read (nothing stored yet), then registered here: the new secret verifies the very next call.
	e.refusedOnce(t)
	if _, err := e.in.Register(ctx, []string{"hub2"}); err != nil {
		t.Fatal(err)
	}
	secret := e.hub2API.Webhooks()[0].Secret
	if _, err := e.receive("hub2", "", hub2Signed(hub2Body, secret), hub2Body); err != nil {
		t.Fatalf("signed with the secret just registered: %v", err)
	}

	before, start := e.store.reads.Load(), time.Now()
	const calls = 300
	for i := range calls {
		body := strings.Replace(hub2Body, "evt_1", fmt.Sprintf("evt_x%d", i), 1)
		if _, err := e.receive("hub2", "", hub2Signed(body, "forged"), body); statusOf(err) != http.StatusUnauthorized {
			t.Fatalf("forged call %d: %v", i, err)
		}
	}
	reads, allowed := e.store.reads.Load()-before, 1+int64(time.Since(start)/time.Second)
	if reads > allowed {
		t.Errorf("%d badly signed calls read the stored secrets %d times in %v, want at most %d", calls, reads, time.Since(start).Round(time.Millisecond), allowed)
	}
	body := strings.Replace(hub2Body, "evt_1", "evt_after", 1)
	if _, err := e.receive("hub2", "", hub2Signed(body, secret), body); err != nil {
		t.Fatalf("a well-signed call after the flood: %v", err)
	}
}

// A secret another instance stored (its own registration) verifies calls here a second later at
// most, although the secrets were read just before.
func TestASecretStoredElsewhereCountsWithinASecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t, inbound.Config{})
	e.refusedOnce(t)
	secret := e.registerElsewhere(t)
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.receive("hub2", "", hub2Signed(hub2Body, secret), hub2Body); err != nil {
		t.Fatalf("signed with a secret stored elsewhere a second ago: %v", err)
	}
}

// While one call reads the stored secrets, the others that fail to verify wait for that read and
// use it, without reading again; a caller who hung up does not stop the read, so the next call
// has the new keys.
func TestOneReadOfTheSecretsAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, inbound.Config{})
	ctx := context.Background()
	e.refusedOnce(t)
	time.Sleep(1100 * time.Millisecond)
	reading, release := e.store.holdNextRead()
	results := make(chan error, 21)
	forge := func(i int) {
		body := strings.Replace(hub2Body, "evt_1", fmt.Sprintf("evt_y%d", i), 1)
		_, err := e.receive("hub2", "", hub2Signed(body, "forged"), body)
		results <- err
	}
	go forge(0)
	<-reading
	before := e.store.reads.Load()
	for i := 1; i <= 20; i++ {
		go forge(i)
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	for range 21 {
		if err := <-results; statusOf(err) != http.StatusUnauthorized {
			t.Fatalf("a forged call: %v", err)
		}
	}
	if n := e.store.reads.Load() - before; n != 0 {
		t.Errorf("20 calls read the secrets %d times while a read was going on, want 0", n)
	}

	secret := e.registerElsewhere(t)
	time.Sleep(1100 * time.Millisecond)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.in.Receive(gone, "hub2", "", hub2Signed(hub2Body, "forged"), strings.NewReader(hub2Body)); err == nil {
		t.Fatal("a forged call whose caller hung up was accepted")
	}
	if _, err := e.receive("hub2", "", hub2Signed(hub2Body, secret), hub2Body); err != nil {
		t.Errorf("signed with the secret stored elsewhere, read by the call before: %v", err)
	}
}

// A registration here while a read of the secrets is going on is not lost to that read's older
// answer: the next call reads the new secret.
func TestARegistrationDuringAReadCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, inbound.Config{})
	ctx := context.Background()
	e.refusedOnce(t)
	time.Sleep(1100 * time.Millisecond)
	reading, release := e.store.holdNextRead()
	done := make(chan error)
	go func() {
		_, err := e.receive("hub2", "", hub2Signed(hub2Body, "forged"), hub2Body)
		done <- err
	}()
	<-reading // that read's answer has no secret
	if _, err := e.in.Register(ctx, []string{"hub2"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	secret := e.hub2API.Webhooks()[0].Secret
	if _, err := e.receive("hub2", "", hub2Signed(hub2Body, secret), hub2Body); err != nil {
		t.Errorf("signed with the secret registered during a read: %v", err)
	}
}

// Secrets read too long ago are not used while the store cannot be read: the calls are answered
// 500, and the provider retries (a secret since replaced, or a previous one past its window, is
// not accepted for as long as the store is unreadable).
func TestSecretsReadLongAgoAreNotUsed(t *testing.T) { // not parallel: it sets the package's times
	defer inbound.SetKeyTimes(100*time.Millisecond, 3*time.Second)()
	e := newEnv(t, inbound.Config{EnvSecrets: map[string]string{"hub2": "env-secret"}})
	if _, err := e.receive("hub2", "", hub2Signed(hub2Body, "env-secret"), hub2Body); err != nil {
		t.Fatal(err)
	}
	e.store.failReads.Store(true)
	signed := func(i int, secret string) error {
		body := strings.Replace(hub2Body, "evt_1", fmt.Sprintf("evt_z%d", i), 1)
		_, err := e.receive("hub2", "", hub2Signed(body, secret), body)
		return err
	}
	time.Sleep(1100 * time.Millisecond) // past the fresh time and the once-a-second limit
	if err := signed(0, "env-secret"); err == nil || statusOf(err) != 0 {
		t.Errorf("the call that reads, and fails: %v, want an error that is not a refusal", err)
	}
	if err := signed(1, "env-secret"); err != nil {
		t.Errorf("keys 1.1 s old, usable: %v", err)
	}
	// A call the keys read last do not verify cannot be checked again: 500, not 401.
	if err := signed(2, "a-secret-registered-elsewhere"); err == nil || statusOf(err) != 0 {
		t.Errorf("not verified, the last read failed: %v, want an error that is not a refusal", err)
	}
	time.Sleep(2 * time.Second) // the keys are over 3 s old now
	if err := signed(3, "env-secret"); err == nil || statusOf(err) != 0 {
		t.Errorf("the call that reads again, and fails: %v", err)
	}
	if err := signed(4, "env-secret"); err == nil || statusOf(err) != 0 {
		t.Errorf("keys past their usable time: %v, want an error that is not a refusal", err)
	}
}
