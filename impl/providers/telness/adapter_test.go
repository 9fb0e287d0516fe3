package telness_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	tsandbox "github.com/paylinks/paylinks/impl/sandbox/telness"
)

var start = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

const apiKey = "tn_test_key"

// world is a Telness sandbox mounted as `paylinks serve` mounts it, and an adapter talking to it
// through a validating transport in enforce mode, so every answer is held to the curated spec.
type world struct {
	sb      *tsandbox.Sandbox
	clock   *sandbox.Clock
	adapter *telness.Adapter
	base    string
	hc      *http.Client
}

func newWorld(t *testing.T, cfg sandbox.Config) *world {
	t.Helper()
	cfg.Clock = sandbox.NewClock(start)
	sb := tsandbox.New(cfg)
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sb))
	t.Cleanup(srv.Close)
	hc := validatingClient("/sandbox/telness")
	base := srv.URL + "/sandbox/telness"
	a, err := telness.New(telness.Config{BaseURL: base, APIKey: apiKey, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return &world{sb: sb, clock: cfg.Clock, adapter: a, base: base, hc: hc}
}

func TestEndToEndThroughClient(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sandbox.Config{Seed: 11})
	client, err := paylink.NewClient([]paylink.Provider{w.adapter}, paylink.WithClock(w.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	created, err := client.Create(ctx, paylink.CreateInput{
		Provider:    "telness",
		Description: "Invoice 2024-001",
		Reference:   "INV-2024-001",
		ExpiresAt:   start.Add(48 * time.Hour),
		Metadata:    map[string]string{"campaign": "spring"},
		Options:     telness.Options{InvoiceID: "inv_1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != paylink.StatusActive || created.ProviderStatus != "ACTIVE" || created.Amount != nil || created.Reusable {
		t.Errorf("created: %+v", created)
	}
	if created.Reference != "INV-2024-001" || created.Description != "Invoice 2024-001" || created.Metadata["campaign"] != "spring" || len(created.Metadata) != 1 {
		t.Errorf("reference/description/metadata: %q %q %v", created.Reference, created.Description, created.Metadata)
	}
	if !created.CreatedAt.Equal(start) || !created.ExpiresAt.Equal(start.Add(48*time.Hour)) || !created.CompletedAt.IsZero() {
		t.Errorf("times: %s %s %s", created.CreatedAt, created.ExpiresAt, created.CompletedAt)
	}
	if !strings.HasSuffix(created.URL, "/telness/"+created.ProviderLinkID) || created.ID != paylink.NewID("telness", created.ProviderLinkID) {
		t.Errorf("url %s id %s", created.URL, created.ID)
	}
	var raw map[string]any
	if err := json.Unmarshal(created.Raw, &raw); err != nil || raw["paymentLinkId"] != created.ProviderLinkID {
		t.Errorf("raw %s: %v", created.Raw, err)
	}

	got, err := client.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != created.ID || got.Status != paylink.StatusActive || got.Reference != created.Reference {
		t.Errorf("get: %+v", got)
	}

	// No list at Telness: naming it is unsupported, and the merged list skips it.
	_, err = client.List(ctx, paylink.ListQuery{Provider: "telness"})
	var ue *paylink.UnsupportedError
	if !errors.Is(err, paylink.ErrUnsupported) || !errors.As(err, &ue) {
		t.Errorf("list telness: %v, want ErrUnsupported", err)
	}
	if page, err := client.List(ctx, paylink.ListQuery{}); err != nil || len(page.Links) != 0 {
		t.Errorf("merged list: %v, %v", page, err)
	}
	if _, err := w.adapter.List(ctx, paylink.PageQuery{}); !errors.As(err, &ue) || ue.Provider != "telness" {
		t.Errorf("adapter list: %v", err)
	}

	_ = w.clock.Advance(time.Minute)
	closed, err := client.Close(ctx, created.ID, paylink.CloseInput{})
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != paylink.StatusClosed || closed.ProviderStatus != "CANCELLED" || !closed.UpdatedAt.Equal(start.Add(time.Minute)) || closed.URL != "" {
		t.Errorf("closed: %+v", closed)
	}
	_, err = client.Close(ctx, created.ID, paylink.CloseInput{})
	var pe *paylink.ProviderError
	if !errors.Is(err, paylink.ErrAlreadyClosed) || !errors.As(err, &pe) || pe.Status != http.StatusConflict || pe.Code != "payment_link_not_cancellable" {
		t.Errorf("close again: %v, want ErrAlreadyClosed from a 409", err)
	}
	if errors.Is(err, paylink.ErrNotClosable) {
		t.Errorf("close again also matches ErrNotClosable: %v", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sandbox.Config{Credentials: []string{apiKey}})
	ctx := context.Background()

	// Refused before any call: the violation names the unified field.
	tests := []struct {
		name  string
		in    paylink.CreateInput
		field string
	}{
		{"no options", paylink.CreateInput{}, "/providerOptions/telness/orderId"},
		{"both ids", paylink.CreateInput{Options: telness.Options{OrderID: "o", InvoiceID: "i"}}, "/providerOptions/telness/orderId"},
		{"another provider's options", paylink.CreateInput{Options: struct{ PhoneNumber string }{"+225"}}, "/providerOptions/telness"},
		{"reserved metadata key", paylink.CreateInput{Options: telness.Options{OrderID: "o"}, Metadata: map[string]string{"reference": "x"}}, "/metadata/reference"},
		{"idempotency key too long", paylink.CreateInput{Options: telness.Options{OrderID: "o"}, IdempotencyKey: strings.Repeat("k", 257)}, "header.Idempotency-Key"},
	}
	for _, tt := range tests {
		_, err := w.adapter.Create(ctx, tt.in)
		var ve *paylink.ValidationError
		if !errors.As(err, &ve) || ve.Violations[0].Field != tt.field {
			t.Errorf("%s: %v, want a violation at %s", tt.name, err, tt.field)
		}
	}

	// The redirect URLs' field names are not documented and links do not echo them: refused as
	// unsupported, naming the field, rather than sent under a guessed name.
	for field, opts := range map[string]telness.Options{
		"/providerOptions/telness/successUrl": {OrderID: "o", SuccessURL: "https://shop.example.com/ok"},
		"/providerOptions/telness/cancelUrl":  {OrderID: "o", CancelURL: "https://shop.example.com/cancel"},
	} {
		_, err := w.adapter.Create(ctx, paylink.CreateInput{Options: opts})
		var ue *paylink.UnsupportedError
		if !errors.As(err, &ue) || ue.Provider != "telness" || ue.Field != field {
			t.Errorf("%s: %v, want unsupported naming the field", field, err)
		}
	}

	// What only Telness checks comes back as invalid input, pointed at the unified field.
	var pe *paylink.ProviderError
	_, err := w.adapter.Create(ctx, paylink.CreateInput{Options: telness.Options{OrderID: "o"}, ExpiresAt: start.Add(-time.Hour)})
	var ve *paylink.ValidationError
	if !errors.Is(err, paylink.ErrInvalidInput) || !errors.As(err, &pe) || pe.Status != http.StatusBadRequest || !errors.As(err, &ve) || ve.Violations[0].Field != "/expiresAt" {
		t.Errorf("past expiry at the provider: %v", err)
	}
}

// TestCapabilities: Telness links have no amount, no reuse and no list; idempotency is native,
// and the notes say which field names are inferred. (The Client refuses what the capabilities
// exclude; paylinktest checks that it does.)
func TestCapabilities(t *testing.T) {
	t.Parallel()
	a, err := telness.New(telness.Config{BaseURL: "https://tenant.example.com", APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	caps := a.Capabilities()
	if caps.Amounts || caps.ReusableLinks || caps.OpenAmount || caps.Supports(paylink.OpList) || !caps.NativeIdempotency || len(caps.Notes) == 0 {
		t.Errorf("capabilities: %+v", caps)
	}
	for _, op := range []paylink.Operation{paylink.OpCreate, paylink.OpGet, paylink.OpClose} {
		if !caps.Supports(op) {
			t.Errorf("capabilities lack %s", op)
		}
	}
	// GET /v1/providers tells callers which field names are inferred, and what becomes of them.
	notes := strings.Join(caps.Notes, "\n")
	for _, want := range []string{"expiresAt is not in Telness's documented create body (its name is inferred", "successUrl and cancelUrl are refused"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not say %q:\n%s", want, notes)
		}
	}
}

func TestIdempotencyKeysPassThrough(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sandbox.Config{})
	ctx := context.Background()
	in := paylink.CreateInput{Options: telness.Options{OrderID: "o1"}, IdempotencyKey: "create-1"}
	first, err := w.adapter.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.adapter.Create(ctx, in)
	if err != nil || again.ProviderLinkID != first.ProviderLinkID {
		t.Errorf("retry with the same key: %v, %v; want the same link", again.ProviderLinkID, err)
	}
	in.Options = telness.Options{OrderID: "o2"}
	_, err = w.adapter.Create(ctx, in)
	var pe *paylink.ProviderError
	if !errors.Is(err, paylink.ErrInvalidInput) || !errors.As(err, &pe) || pe.Code != "idempotency_key_mismatch" {
		t.Errorf("same key, another request: %v", err)
	}

	closed, err := w.adapter.Close(ctx, first.ProviderLinkID, paylink.CloseInput{IdempotencyKey: "close-1"})
	if err != nil || closed.Status != paylink.StatusClosed {
		t.Fatalf("close: %v %v", closed.Status, err)
	}
	// A retried close with its key is answered as the first was, not as "already closed".
	retried, err := w.adapter.Close(ctx, first.ProviderLinkID, paylink.CloseInput{IdempotencyKey: "close-1"})
	if err != nil || retried.Status != paylink.StatusClosed || string(retried.Raw) != string(closed.Raw) {
		t.Errorf("retried close: %v", err)
	}
	if _, err := w.adapter.Close(ctx, first.ProviderLinkID, paylink.CloseInput{}); !errors.Is(err, paylink.ErrNotClosable) {
		t.Errorf("close without key: %v, want Telness's refusal", err)
	}
}

// fakeTelness answers with fixed responses, for what the sandbox never does.
func fakeTelness(t *testing.T, h http.HandlerFunc) *telness.Adapter {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a, err := telness.New(telness.Config{BaseURL: srv.URL + "/api", APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestProviderMisbehaviour(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("create answered 200 is fine too", func(t *testing.T) {
		t.Parallel()
		a := fakeTelness(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/payment-links" || r.Header.Get("X-API-Key") != apiKey || r.Header.Get("X-Idempotency-Key") != "k1" {
				t.Errorf("request %s %s %v", r.Method, r.URL.Path, r.Header)
			}
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["orderId"] != "o" || body["expiresAt"] != "2024-01-16T10:00:00Z" || body["savePaymentProfile"] != true {
				t.Errorf("body %v", body)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"paymentLinkId":"x1","url":"https://pay.test/x1","status":"ACTIVE","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z","expiresAt":"2024-01-16T10:00:00Z"}`))
		})
		l, err := a.Create(ctx, paylink.CreateInput{
			IdempotencyKey: "k1", ExpiresAt: time.Date(2024, 1, 16, 11, 0, 0, 0, time.FixedZone("CET", 3600)),
			Options: telness.Options{OrderID: "o", SavePaymentProfile: true},
		})
		if err != nil || l.ProviderLinkID != "x1" {
			t.Errorf("%+v %v", l, err)
		}
	})

	t.Run("unknown status is unknown, not an error", func(t *testing.T) {
		t.Parallel()
		a := fakeTelness(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"paymentLinkId":"x","url":"https://pay.test/x","status":"PARTIALLY_PAID","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z"}`))
		})
		l, err := a.Get(ctx, "x")
		if err != nil || l.Status != paylink.StatusUnknown || l.ProviderStatus != "PARTIALLY_PAID" {
			t.Errorf("%+v %v", l, err)
		}
	})

	t.Run("409 on cancel and the link cannot be read", func(t *testing.T) {
		t.Parallel()
		a := fakeTelness(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusConflict)
				_, _ = w.Write([]byte(`{"message":"Payment link is not active","code":"payment_link_not_cancellable"}`))
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		_, err := a.Close(ctx, "x", paylink.CloseInput{})
		var pe *paylink.ProviderError
		if !errors.Is(err, paylink.ErrNotClosable) || !errors.As(err, &pe) || pe.Code != "payment_link_not_cancellable" {
			t.Errorf("%v", err)
		}
	})

	t.Run("409 locked on cancel is not a state answer", func(t *testing.T) {
		t.Parallel()
		var gets atomic.Int32
		a := fakeTelness(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				gets.Add(1)
			}
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"message":"in progress","code":"idempotency_key_locked"}`))
		})
		_, err := a.Close(ctx, "x", paylink.CloseInput{IdempotencyKey: "k"})
		if !errors.Is(err, paylink.ErrProviderUnavailable) || errors.Is(err, paylink.ErrAlreadyClosed) || gets.Load() != 0 {
			t.Errorf("%v (gets %d)", err, gets.Load())
		}
	})
}

// The validating transport stops an answer that breaks the spec before the adapter reads it.
func TestContractViolationThroughValidatingTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"paymentLinkId":"x","url":"https://pay.test/x","status":"PARTIALLY_PAID","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z"}`))
	}))
	t.Cleanup(srv.Close)
	a, err := telness.New(telness.Config{BaseURL: srv.URL, APIKey: apiKey, HTTPClient: validatingClient("")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(context.Background(), "x"); !errors.Is(err, paylink.ErrContractViolation) {
		t.Errorf("%v, want ErrContractViolation", err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []telness.Config{
		{BaseURL: "", APIKey: apiKey},
		{BaseURL: "apiv2.example.com", APIKey: apiKey},
		{BaseURL: "ftp://apiv2.example.com", APIKey: apiKey},
		{BaseURL: "https://apiv2.example.com", APIKey: ""},
	} {
		if _, err := telness.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	a, err := telness.New(telness.Config{BaseURL: "https://apiv2.example.com", APIKey: apiKey})
	if err != nil || a.Name() != "telness" {
		t.Fatalf("%v %v", a, err)
	}
	req := httptest.NewRequest(http.MethodGet, "https://apiv2.example.com/payment-links/x", nil)
	if err := a.Authorize(context.Background(), req); err != nil || req.Header.Get("X-API-Key") != apiKey {
		t.Errorf("Authorize: %v %v", req.Header, err)
	}
}

// expiresAt is not in Telness's documented create body: it is sent, and a created link that does
// not report that expiry is cancelled and the create refused, so a requested expiry is never
// silently dropped.
func TestCreateChecksTheExpiry(t *testing.T) {
	t.Parallel()
	link := func(status, extra string) string {
		return `{"paymentLinkId":"x1","url":"https://pay.test/x1","status":"` + status + `","createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z"` + extra + `}`
	}
	tests := []struct {
		name         string
		answer       string
		cancelStatus int
		cancelBody   string
		want         []string // in the error; none: the create succeeds
	}{
		{name: "honoured", answer: link("ACTIVE", `,"expiresAt":"2024-01-16T10:00:01Z"`)},
		{name: "ignored", answer: link("ACTIVE", ""), cancelStatus: 200, cancelBody: link("CANCELLED", ""),
			want: []string{"/expiresAt: asked 2024-01-16T10:00:01Z, the link reports none", "it was closed at once"}},
		{name: "another expiry", answer: link("ACTIVE", `,"expiresAt":"2024-01-22T10:00:00Z"`), cancelStatus: 200, cancelBody: link("CANCELLED", ""),
			want: []string{"the link reports 2024-01-22T10:00:00Z", "it was closed at once"}},
		{name: "ignored, and the cancel fails", answer: link("ACTIVE", ""), cancelStatus: 500, cancelBody: `{"message":"boom"}`,
			want: []string{"closing it failed, so it may still be payable: close it yourself", string(paylink.NewID("telness", "x1"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			a := fakeTelness(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/api/payment-links":
					var body map[string]any
					_ = json.NewDecoder(r.Body).Decode(&body)
					if body["expiresAt"] != "2024-01-16T10:00:01Z" {
						t.Errorf("create sent expiresAt %v", body["expiresAt"])
					}
					w.WriteHeader(201)
					_, _ = w.Write([]byte(tt.answer))
				case "/api/payment-links/x1/cancel":
					w.WriteHeader(tt.cancelStatus)
					_, _ = w.Write([]byte(tt.cancelBody))
				default: // the read back of a cancel that failed
					_, _ = w.Write([]byte(tt.answer))
				}
			})
			// Telness keeps whole seconds: the expiry sent is rounded up.
			l, err := a.Create(context.Background(), paylink.CreateInput{ExpiresAt: time.Date(2024, 1, 16, 10, 0, 0, 1, time.UTC), Options: telness.Options{OrderID: "o"}})
			if len(tt.want) == 0 {
				if err != nil || !l.ExpiresAt.Equal(time.Date(2024, 1, 16, 10, 0, 1, 0, time.UTC)) || calls.Load() != 1 {
					t.Fatalf("%+v, %v after %d calls", l, err, calls.Load())
				}
				return
			}
			var pe *paylink.ProviderError
			if !errors.Is(err, paylink.ErrNotHonoured) || !errors.As(err, &pe) || pe.Provider != "telness" || pe.Status != 201 {
				t.Fatalf("err = %v, want ErrNotHonoured", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if calls.Load() < 2 {
				t.Errorf("%d calls: the link was not cancelled", calls.Load())
			}
		})
	}
}

// Issue 16 item 1: Telness's link requires only what paylinks reads, so a link without
// updatedAt, and an error body without message, are read through the validating transport.
func TestReadsAnswersWithoutWhatPaylinksDoesNotNeed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/payment-links/x1" {
			_, _ = w.Write([]byte(`{"paymentLinkId":"x1","url":"https://pay.test/x1","status":"ACTIVE","createdAt":"2024-01-15T10:00:00Z"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	a, err := telness.New(telness.Config{BaseURL: srv.URL, APIKey: apiKey, HTTPClient: validatingClient("")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.Get(context.Background(), "x1")
	if err != nil || l.Status != paylink.StatusActive || !l.UpdatedAt.IsZero() {
		t.Errorf("get: %+v, %v", l, err)
	}
	if _, err := a.Get(context.Background(), "x2"); !errors.Is(err, paylink.ErrNotFound) || errors.Is(err, paylink.ErrContractViolation) {
		t.Errorf("404 without message: %v, want not found", err)
	}
}
