package mollie_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	molliesandbox "github.com/paylinks/paylinks/impl/sandbox/mollie"
)

// start is the sandbox's time, years before the wall clock: expiry must be judged by Mollie's
// clock (the Date of its answers), or every link with an expiry would look expired.
var start = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

const (
	testKey = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
	mount   = "/sandbox/mollie"
)

// recorder remembers the requests the adapter sent and their bodies, to assert what went on the wire.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []sent
}

type sent struct {
	method, path string
	header       http.Header
	body         []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.Path, req.Header.Clone(), body})
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *recorder) last() sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

func (r *recorder) methods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.reqs {
		out = append(out, s.method)
	}
	return out
}

type env struct {
	sb    *molliesandbox.Sandbox
	clock *sandbox.Clock
	rec   *recorder
	a     *mollie.Adapter
	base  string
}

// newEnv serves a sandbox under /sandbox and an adapter talking to it through a transport that
// validates every answer against the curated spec in enforce mode.
func newEnv(t *testing.T, credentials []string, apiKey string) *env {
	t.Helper()
	clock := sandbox.NewClock(start)
	sb := molliesandbox.New(sandbox.Config{Clock: clock, Seed: 7, Credentials: credentials})
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sb))
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Wait)
	rec := &recorder{base: validatingTransport(mount)}
	a, err := mollie.New(mollie.Config{BaseURL: srv.URL + mount, APIKey: apiKey, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, clock: clock, rec: rec, a: a, base: srv.URL + mount}
}

func money(t *testing.T, currency, value string) *paylink.Amount {
	t.Helper()
	a, err := paylink.ParseAmount(currency, value)
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

func (e *env) create(t *testing.T, in paylink.CreateInput) paylink.Link {
	t.Helper()
	l, err := e.a.Create(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// brief is the link without its raw JSON, for readable failures.
func brief(l paylink.Link) paylink.Link {
	l.Raw = nil
	return l
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, testKey)
	ctx := context.Background()

	l := e.create(t, paylink.CreateInput{
		Amount: money(t, "EUR", "24.95"), Description: "Bicycle tires",
		ExpiresAt:      start.Add(48*time.Hour + 300*time.Millisecond),
		IdempotencyKey: "4f8c1e2a-1111-4222-8333-444455556666",
		Options:        mollie.Options{RedirectURL: "https://webshop.example.org/thanks", AllowedMethods: []string{"ideal", "creditcard"}},
	})
	if l.Status != paylink.StatusActive || l.ProviderStatus != "open" || l.Amount.Value() != "24.95" || l.Amount.Minor != 2495 ||
		l.Description != "Bicycle tires" || l.Reusable || l.Provider != "mollie" || l.ID != paylink.NewID("mollie", l.ProviderLinkID) {
		t.Errorf("created %+v", brief(l))
	}
	// Mollie keeps seconds: the expiry is rounded up, never shortened.
	if !l.ExpiresAt.Equal(start.Add(48*time.Hour+time.Second)) || !l.CreatedAt.Equal(start) {
		t.Errorf("expires %s created %s", l.ExpiresAt, l.CreatedAt)
	}
	if !strings.HasSuffix(l.URL, "/mollie/"+l.ProviderLinkID) {
		t.Errorf("url %q", l.URL)
	}
	req := e.rec.last()
	if req.method != http.MethodPost || req.path != mount+"/v2/payment-links" || req.header.Get("Authorization") != "Bearer "+testKey ||
		req.header.Get("Idempotency-Key") != "4f8c1e2a-1111-4222-8333-444455556666" {
		t.Errorf("request %s %s %v", req.method, req.path, req.header)
	}
	var body map[string]any
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatal(err)
	}
	if a, _ := body["amount"].(map[string]any); a["currency"] != "EUR" || a["value"] != "24.95" || body["reusable"] != false ||
		body["expiresAt"] != "2024-01-17T12:00:01Z" || body["redirectUrl"] != "https://webshop.example.org/thanks" {
		t.Errorf("body %s", req.body)
	}
	var raw map[string]any
	if err := json.Unmarshal(l.Raw, &raw); err != nil || raw["resource"] != "payment-link" {
		t.Errorf("raw %s", l.Raw)
	}

	got, err := e.a.Get(ctx, l.ProviderLinkID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != l.ID || got.Status != paylink.StatusActive || got.URL != l.URL || !got.ExpiresAt.Equal(l.ExpiresAt) {
		t.Errorf("get %+v", brief(got))
	}

	// Paid: completed, no URL any more, and it cannot be closed.
	e.clock.Advance(time.Minute)
	if err := e.sb.Pay(l.ProviderLinkID); err != nil {
		t.Fatal(err)
	}
	paid, err := e.a.Get(ctx, l.ProviderLinkID)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != paylink.StatusCompleted || paid.ProviderStatus != "paid" || paid.URL != "" || !paid.CompletedAt.Equal(start.Add(time.Minute)) {
		t.Errorf("paid %+v", brief(paid))
	}
	if _, err := e.a.Close(ctx, l.ProviderLinkID, paylink.CloseInput{}); !errors.Is(err, paylink.ErrNotClosable) || errors.Is(err, paylink.ErrAlreadyClosed) {
		t.Errorf("close a paid link: %v", err)
	}
	if m := e.rec.methods(); m[len(m)-1] != http.MethodGet {
		t.Errorf("a paid link was archived: %v", m)
	}

	// Close archives; closing again is ErrAlreadyClosed and sends no second archive.
	other := e.create(t, paylink.CreateInput{Amount: money(t, "EUR", "5.00"), Description: "Other"})
	closed, err := e.a.Close(ctx, other.ProviderLinkID, paylink.CloseInput{IdempotencyKey: "close-1"})
	if err != nil {
		t.Fatal(err)
	}
	if req := e.rec.last(); req.method != http.MethodPatch || string(req.body) != `{"archived":true}` || req.header.Get("Idempotency-Key") != "close-1" {
		t.Errorf("archive request %s %s %v", req.method, req.body, req.header)
	}
	if closed.Status != paylink.StatusClosed || closed.ProviderStatus != "archived" || closed.URL != "" || closed.UpdatedAt.IsZero() {
		t.Errorf("closed %+v", brief(closed))
	}
	before := len(e.rec.methods())
	_, err = e.a.Close(ctx, other.ProviderLinkID, paylink.CloseInput{})
	if !errors.Is(err, paylink.ErrAlreadyClosed) || errors.Is(err, paylink.ErrNotClosable) {
		t.Errorf("close again: %v", err)
	}
	if m := e.rec.methods()[before:]; !slices.Equal(m, []string{http.MethodGet}) {
		t.Errorf("close again sent %v, want one GET", m)
	}
}

// Every currency the adapter reports is taken by Mollie (here its sandbox), with the currency's
// own number of decimals on the wire.
func TestEveryCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, testKey)
	for _, cur := range e.a.Capabilities().Currencies {
		digits, ok := paylink.Digits(cur)
		if !ok {
			t.Fatalf("%s has no ISO 4217 exponent", cur)
		}
		a, err := paylink.AmountFromMinor(cur, 123456)
		if err != nil {
			t.Fatal(err)
		}
		l, err := e.a.Create(context.Background(), paylink.CreateInput{Description: "x", Amount: &a})
		if err != nil {
			t.Errorf("%s: %v", cur, err)
			continue
		}
		var body struct {
			Amount api.Amount `json:"amount"`
		}
		_ = json.Unmarshal(e.rec.last().body, &body)
		_, frac, _ := strings.Cut(body.Amount.Value, ".")
		if len(frac) != int(digits) || *l.Amount != a {
			t.Errorf("%s: sent %q, read %+v", cur, body.Amount.Value, l.Amount)
		}
	}
	if got := e.create(t, paylink.CreateInput{Description: "x", Amount: money(t, "JPY", "1000")}); got.Amount.Value() != "1000" || got.Amount.Minor != 1000 {
		t.Errorf("JPY %+v", got.Amount)
	}
}

func TestOpenAmount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, testKey)
	l := e.create(t, paylink.CreateInput{Description: "Donation", Reusable: true, Options: &mollie.Options{MinimumAmount: &mollie.Money{Currency: "EUR", Value: "5"}}})
	if l.Amount != nil || !l.Reusable || l.Status != paylink.StatusActive {
		t.Errorf("open %+v", brief(l))
	}
	var body map[string]any
	_ = json.Unmarshal(e.rec.last().body, &body)
	if m, _ := body["minimumAmount"].(map[string]any); m["value"] != "5.00" || body["amount"] != nil {
		t.Errorf("body %s, want the minimum with EUR's two decimals and no amount", e.rec.last().body)
	}
	// A reusable link stays active after payments.
	for range 2 {
		if err := e.sb.Pay(l.ProviderLinkID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.a.Get(context.Background(), l.ProviderLinkID)
	if err != nil || got.Status != paylink.StatusActive || got.ProviderStatus != "paid" || got.URL == "" || !got.CompletedAt.IsZero() {
		t.Errorf("paid reusable %+v %v", brief(got), err)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, testKey)
	ctx := context.Background()
	l := e.create(t, paylink.CreateInput{Description: "Soon", Amount: money(t, "EUR", "1.00"), ExpiresAt: start.Add(time.Hour)})
	if l.Status != paylink.StatusActive {
		t.Fatalf("status %s at creation: expiry judged by the local clock, not Mollie's", l.Status)
	}
	e.clock.Advance(time.Hour)
	got, err := e.a.Get(ctx, l.ProviderLinkID)
	if err != nil || got.Status != paylink.StatusExpired || got.ProviderStatus != "expired" || got.URL != "" {
		t.Errorf("after expiry %+v %v", brief(got), err)
	}
	if _, err := e.a.Close(ctx, l.ProviderLinkID, paylink.CloseInput{}); !errors.Is(err, paylink.ErrNotClosable) {
		t.Errorf("close expired: %v", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []string{testKey}, testKey)
	ctx := context.Background()

	if _, err := e.a.List(ctx, paylink.PageQuery{Page: "pl_gone"}); !errors.Is(err, paylink.ErrInvalidInput) {
		t.Errorf("stale cursor: %v", err)
	} else if ve := new(paylink.ValidationError); !errors.As(err, &ve) || ve.Violations[0].Field != "query.cursor" {
		t.Errorf("stale cursor names %v", err)
	}
	if _, err := e.a.List(ctx, paylink.PageQuery{Page: "42"}); !errors.Is(err, paylink.ErrInvalidInput) {
		t.Errorf("foreign cursor: %v", err)
	}

	// Mollie's 422 names the field; it comes back as a violation of the unified field.
	_, err := e.a.Create(ctx, paylink.CreateInput{Description: "x", Amount: money(t, "EUR", "1.00"), ExpiresAt: start})
	var pe *paylink.ProviderError
	var ve *paylink.ValidationError
	if !errors.Is(err, paylink.ErrInvalidInput) || !errors.As(err, &pe) || pe.Status != 422 || !errors.As(err, &ve) || ve.Violations[0].Field != "/expiresAt" {
		t.Errorf("expiry refused by Mollie: %v", err)
	}

}

// stub serves fixed answers per method, with the Date of the sandbox's time.
func stub(t *testing.T, answers map[string]func(w http.ResponseWriter)) *mollie.Adapter {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", start.Format(http.TimeFormat))
		answer, ok := answers[r.Method]
		if !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(500)
			return
		}
		answer(w)
	}))
	t.Cleanup(srv.Close)
	a, err := mollie.New(mollie.Config{BaseURL: srv.URL, APIKey: testKey, HTTPClient: &http.Client{Transport: validatingTransport("")}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func answer(status int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/hal+json")
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// linkJSON is a valid link; paidAt and archived are JSON values ("null", "true").
func linkJSON(paidAt, archived string) string {
	return `{"resource":"payment-link","id":"pl_1","mode":"test","description":"x","amount":{"currency":"EUR","value":"1.00"},` +
		`"archived":` + archived + `,"redirectUrl":null,"webhookUrl":null,"profileId":"pfl_1","reusable":false,` +
		`"createdAt":"2024-01-15T11:00:00+00:00","paidAt":` + paidAt + `,"expiresAt":null,"allowedMethods":null,` +
		`"_links":{"self":{"href":"https://api.mollie.com/v2/payment-links/pl_1","type":"application/hal+json"},` +
		`"paymentLink":{"href":"https://payment-links.mollie.com/payment/1","type":"text/html"}}}`
}

const mollieErr = `{"status":%d,"title":"t","detail":"%s","_links":{"documentation":{"href":"https://docs.mollie.com","type":"text/html"}}}`

func TestProviderAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		answers map[string]func(w http.ResponseWriter)
		call    func(a *mollie.Adapter) error
		want    error
		check   func(t *testing.T, err error)
	}{
		{"rate limited", map[string]func(http.ResponseWriter){"GET": answer(429, fmt.Sprintf(mollieErr, 429, "slow down"), "Retry-After", "7")},
			func(a *mollie.Adapter) error { _, err := a.Get(ctx, "pl_1"); return err }, paylink.ErrProviderUnavailable,
			func(t *testing.T, err error) {
				var pe *paylink.ProviderError
				if !errors.As(err, &pe) || pe.RetryAfter != 7*time.Second || pe.Message != "slow down" || pe.Status != 429 {
					t.Errorf("%#v", err)
				}
			}},
		{"outage", map[string]func(http.ResponseWriter){"GET": answer(503, "<h1>down</h1>")},
			func(a *mollie.Adapter) error { _, err := a.Get(ctx, "pl_1"); return err }, paylink.ErrProviderUnavailable, nil},
		{"undocumented error", map[string]func(http.ResponseWriter){"GET": answer(500, "oops")},
			func(a *mollie.Adapter) error { _, err := a.Get(ctx, "pl_1"); return err }, paylink.ErrProvider, nil},
		{"garbage 2xx", map[string]func(http.ResponseWriter){"GET": answer(200, `{"id":`)},
			func(a *mollie.Adapter) error { _, err := a.Get(ctx, "pl_1"); return err }, paylink.ErrContractViolation, nil},
		{"amount the currency cannot have", map[string]func(http.ResponseWriter){"GET": answer(200, strings.Replace(linkJSON("null", "false"), `"1.00"`, `"1.001"`, 1))},
			func(a *mollie.Adapter) error { _, err := a.Get(ctx, "pl_1"); return err }, paylink.ErrContractViolation, nil},
		{"next page without a cursor", map[string]func(http.ResponseWriter){"GET": answer(200, `{"count":0,"_embedded":{"payment_links":[]},"_links":{`+
			`"self":{"href":"https://api.mollie.com/v2/payment-links","type":"application/hal+json"},"previous":null,`+
			`"next":{"href":"https://api.mollie.com/v2/payment-links?limit=50","type":"application/hal+json"},`+
			`"documentation":{"href":"https://docs.mollie.com","type":"text/html"}}}`)},
			func(a *mollie.Adapter) error { _, err := a.List(ctx, paylink.PageQuery{}); return err }, paylink.ErrContractViolation, nil},
		{"archive answered with a link not archived", map[string]func(http.ResponseWriter){"GET": answer(200, linkJSON("null", "false")), "PATCH": answer(200, linkJSON("null", "false"))},
			func(a *mollie.Adapter) error { _, err := a.Close(ctx, "pl_1", paylink.CloseInput{}); return err }, paylink.ErrContractViolation, nil},
		{"paid between the read and the archive", map[string]func(http.ResponseWriter){"GET": answer(200, linkJSON("null", "false")), "PATCH": answer(200, linkJSON(`"2024-01-15T11:59:00+00:00"`, "true"))},
			func(a *mollie.Adapter) error { _, err := a.Close(ctx, "pl_1", paylink.CloseInput{}); return err }, paylink.ErrNotClosable, nil},
		{"link deleted between the read and the archive", map[string]func(http.ResponseWriter){"GET": answer(200, linkJSON("null", "false")), "PATCH": answer(404, fmt.Sprintf(mollieErr, 404, "gone"))},
			func(a *mollie.Adapter) error { _, err := a.Close(ctx, "pl_1", paylink.CloseInput{}); return err }, paylink.ErrNotFound, nil},
		{"paid link of unknown reusability", map[string]func(http.ResponseWriter){"GET": answer(200, strings.Replace(linkJSON(`"2024-01-15T11:59:00+00:00"`, "false"), `"reusable":false`, `"reusable":null`, 1))},
			func(a *mollie.Adapter) error { _, err := a.Close(ctx, "pl_1", paylink.CloseInput{}); return err }, paylink.ErrNotClosable, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(stub(t, tt.answers))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  mollie.Config
		want string
	}{
		{"no key", mollie.Config{}, "APIKey is required"},
		{"organization token", mollie.Config{APIKey: "access_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"}, "not supported"},
		{"not a Mollie key", mollie.Config{APIKey: "sk_live_123"}, "test_ or live_"},
		{"relative base URL", mollie.Config{BaseURL: "api.mollie.com", APIKey: testKey}, "BaseURL"},
	} {
		_, err := mollie.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "dHar4XY7") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if _, err := mollie.New(mollie.Config{APIKey: "live_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"}); err != nil {
		t.Errorf("default base URL: %v", err)
	}
}

func TestConfigNeverPrintsTheKey(t *testing.T) {
	t.Parallel()
	cfg := mollie.Config{BaseURL: "https://api.mollie.com", APIKey: testKey}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "mollie", cfg)
	a, err := mollie.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), fmt.Sprintf("%v %+v %#v", a, a, a), logged.String(), fmt.Sprintf("%#v", &cfg)} {
		if strings.Contains(out, "dHar4XY7") {
			t.Errorf("key printed: %s", out)
		}
	}
	if !strings.Contains(cfg.String(), "test_… key") || !strings.Contains(logged.String(), `"https://api.mollie.com"`) {
		t.Errorf("config %s / %s says too little", cfg, logged.String())
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	a, err := mollie.New(mollie.Config{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	c := a.Capabilities()
	for _, op := range []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpList, paylink.OpClose} {
		if !c.Supports(op) {
			t.Errorf("does not support %s", op)
		}
	}
	if !c.Amounts || !c.OpenAmount || !c.ReusableLinks || !c.NativeIdempotency || !slices.Contains(c.Currencies, "EUR") || !slices.Contains(c.Currencies, "JPY") {
		t.Errorf("%+v", c)
	}
	if !strings.Contains(strings.Join(c.Notes, " "), "DELETE is not used") {
		t.Errorf("notes do not say why close does not delete: %v", c.Notes)
	}
	c.Currencies[0] = "XXX"
	if a.Capabilities().Currencies[0] == "XXX" {
		t.Error("Capabilities hands out the adapter's own slice")
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	a, err := mollie.New(mollie.Config{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "https://api.mollie.com/v2/payment-links", nil)
	if err := a.Authorize(context.Background(), r); err != nil || r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("%v %v", err, r.Header)
	}
}
