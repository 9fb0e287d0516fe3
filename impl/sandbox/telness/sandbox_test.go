package telness_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
	"github.com/paylinks/paylinks/impl/sandbox/telness"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	apiKey       = "test-key"
	checkoutBase = "http://sandbox.test/sandbox/checkout"
)

var start = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// env is one sandbox served over HTTP under /sandbox (as `paylinks serve` mounts it), and the
// generated client pointed at it through a validating transport in enforce mode: any response
// that breaks the curated spec fails the call.
type env struct {
	sb     *telness.Sandbox
	clock  *sandbox.Clock
	srv    *httptest.Server
	client *api.ClientWithResponses
	http   *http.Client
	base   string
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = sandbox.NewClock(start)
	}
	if cfg.CheckoutBase == "" {
		cfg.CheckoutBase = checkoutBase
	}
	sb := telness.New(cfg)
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sb))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: sandboxtest.Transport(api.GetSpec, "/sandbox/telness")}
	base := srv.URL + "/sandbox/telness"
	client, err := api.NewClientWithResponses(base, api.WithHTTPClient(hc), api.WithRequestEditorFn(withKey(apiKey)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, clock: cfg.Clock, srv: srv, client: client, http: hc, base: base}
}

func withKey(key string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		if key != "" {
			r.Header.Set("X-API-Key", key)
		}
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func (e *env) create(t *testing.T, body api.CreatePaymentLinkRequest) api.PaymentLink {
	t.Helper()
	res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Fatalf("create: %d %s", res.StatusCode(), res.Body)
	}
	return *res.JSON201
}

func (e *env) get(t *testing.T, id string) api.PaymentLink {
	t.Helper()
	res, err := e.client.GetPaymentLinkWithResponse(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("get: %d %s", res.StatusCode(), res.Body)
	}
	return *res.JSON200
}

func code(e *api.Error) string {
	if e == nil || e.Code == nil {
		return ""
	}
	return *e.Code
}

func TestLifecycleCreateGetCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 1})
	ctx := context.Background()

	created := e.create(t, api.CreatePaymentLinkRequest{
		OrderId:     ptr("ord-1"),
		Description: ptr("Pay your monthly subscription"),
		SuccessUrl:  ptr("https://shop.example.com/ok"),
		Metadata:    &api.Metadata{"campaign": "spring"},
	})
	if created.Status != api.PaymentLinkStatusActive {
		t.Errorf("status = %s, want ACTIVE", created.Status)
	}
	if want := checkoutBase + "/telness/" + created.PaymentLinkId; created.Url != want {
		t.Errorf("url = %s, want %s", created.Url, want)
	}
	if !created.CreatedAt.Equal(start) || !created.UpdatedAt.Equal(start) {
		t.Errorf("times = %s / %s, want %s", created.CreatedAt, created.UpdatedAt, start)
	}
	if created.Metadata == nil || (*created.Metadata)["campaign"] != "spring" {
		t.Errorf("metadata = %v", created.Metadata)
	}
	if created.PaymentId != nil || created.CompletedAt != nil || created.ExpiresAt != nil {
		t.Errorf("an active link without expiry shows paymentId/completedAt/expiresAt: %+v", created)
	}

	got := e.get(t, created.PaymentLinkId)
	if got.PaymentLinkId != created.PaymentLinkId || got.Status != api.PaymentLinkStatusActive || *got.Description != "Pay your monthly subscription" {
		t.Errorf("get = %+v", got)
	}

	_ = e.clock.Advance(time.Hour)
	res, err := e.client.CancelPaymentLinkWithResponse(ctx, created.PaymentLinkId, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil || res.JSON200.Status != api.PaymentLinkStatusCancelled {
		t.Fatalf("cancel: %d %s", res.StatusCode(), res.Body)
	}
	if !res.JSON200.UpdatedAt.Equal(start.Add(time.Hour)) || !res.JSON200.CreatedAt.Equal(start) {
		t.Errorf("cancel times: created %s updated %s", res.JSON200.CreatedAt, res.JSON200.UpdatedAt)
	}

	again, err := e.client.CancelPaymentLinkWithResponse(ctx, created.PaymentLinkId, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.StatusCode() != http.StatusConflict || code(again.JSON409) != "payment_link_not_cancellable" {
		t.Errorf("cancel again: %d %s", again.StatusCode(), again.Body)
	}
	if got := e.get(t, created.PaymentLinkId); got.Status != api.PaymentLinkStatusCancelled {
		t.Errorf("after cancel: %s", got.Status)
	}
}

func TestTimesAreRFC3339UTCWithoutFractions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Clock: sandbox.NewClock(start.Add(1500 * time.Millisecond))})
	res, err := e.client.CreatePaymentLinkWithBodyWithResponse(context.Background(), nil, "application/json",
		strings.NewReader(`{"invoiceId":"inv-1","expiresAt":"2024-01-16T12:00:00.750+02:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	body := string(res.Body)
	for _, want := range []string{`"createdAt":"2024-01-15T10:00:01Z"`, `"updatedAt":"2024-01-15T10:00:01Z"`, `"expiresAt":"2024-01-16T10:00:00Z"`} {
		if !strings.Contains(body, want) {
			t.Errorf("body %s lacks %s", body, want)
		}
	}
}

func TestCreateRefusesBadBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	long := strings.Repeat("k", 257)
	tests := []struct {
		name        string
		contentType string
		body        string
		idemKey     *string
		property    string // a detail must name it ("" = any detail)
		message     string // and contain this
	}{
		{"both ids", "application/json", `{"orderId":"o","invoiceId":"i"}`, nil, "orderId", "Exactly one of orderId and invoiceId"},
		{"neither id", "application/json", `{"description":"x"}`, nil, "orderId", "Exactly one of orderId and invoiceId"},
		{"empty object", "application/json", `{}`, nil, "orderId", "Exactly one of orderId and invoiceId"},
		{"empty orderId", "application/json", `{"orderId":""}`, nil, "orderId", ""},
		{"orderId not a string", "application/json", `{"orderId":5}`, nil, "orderId", ""},
		{"metadata value not a string", "application/json", `{"orderId":"o","metadata":{"n":1}}`, nil, "metadata.n", ""},
		{"expiresAt not a date-time", "application/json", `{"orderId":"o","expiresAt":"tomorrow"}`, nil, "expiresAt", ""},
		{"expiresAt in the past", "application/json", `{"orderId":"o","expiresAt":"2024-01-15T09:59:59Z"}`, nil, "expiresAt", "future"},
		{"expiresAt now", "application/json", `{"orderId":"o","expiresAt":"2024-01-15T10:00:00Z"}`, nil, "expiresAt", "future"},
		{"successUrl relative", "application/json", `{"orderId":"o","successUrl":"/ok"}`, nil, "successUrl", "absolute"},
		{"cancelUrl not a URL", "application/json", `{"invoiceId":"i","cancelUrl":"nope"}`, nil, "cancelUrl", "absolute"},
		{"savePaymentProfile not a boolean", "application/json", `{"orderId":"o","savePaymentProfile":"yes"}`, nil, "savePaymentProfile", ""},
		{"duplicate key", "application/json", `{"orderId":"o","orderid":"p"}`, nil, "orderid", "duplicate"},
		{"malformed JSON", "application/json", `{"orderId":`, nil, "", ""},
		{"not JSON", "text/plain", `orderId=o`, nil, "", ""},
		{"no body", "application/json", ``, nil, "", ""},
		// The property should be X-Idempotency-Key; impl/validation loses parameter names today.
		{"idempotency key too long", "application/json", `{"orderId":"o"}`, &long, "", "256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.client.CreatePaymentLinkWithBodyWithResponse(context.Background(),
				&api.CreatePaymentLinkParams{XIdempotencyKey: tt.idemKey}, tt.contentType, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != http.StatusBadRequest || res.JSON400 == nil {
				t.Fatalf("status %d, body %s; want 400", res.StatusCode(), res.Body)
			}
			if code(res.JSON400) != "validation_error" || res.JSON400.Details == nil || len(*res.JSON400.Details) == 0 {
				t.Fatalf("body %s: want code validation_error and details", res.Body)
			}
			found := false
			for _, d := range *res.JSON400.Details {
				prop := ""
				if d.Property != nil {
					prop = *d.Property
				}
				if (tt.property == "" || prop == tt.property) && strings.Contains(d.Message, tt.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("no detail with property %q and message containing %q in %s", tt.property, tt.message, res.Body)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Credentials: []string{apiKey}})
	link := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("o")})
	for _, key := range []struct{ name, value, message string }{
		{"missing", "", "Missing API key"},
		{"wrong", "not-the-key", "Invalid API key"},
	} {
		client, err := api.NewClientWithResponses(e.base, api.WithHTTPClient(e.http), api.WithRequestEditorFn(withKey(key.value)))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		calls := map[string]func() (int, *api.Error, error){
			"create": func() (int, *api.Error, error) {
				r, err := client.CreatePaymentLinkWithResponse(ctx, nil, api.CreatePaymentLinkRequest{OrderId: ptr("o")})
				if err != nil {
					return 0, nil, err
				}
				return r.StatusCode(), r.JSON401, nil
			},
			"get": func() (int, *api.Error, error) {
				r, err := client.GetPaymentLinkWithResponse(ctx, link.PaymentLinkId)
				if err != nil {
					return 0, nil, err
				}
				return r.StatusCode(), r.JSON401, nil
			},
			"cancel": func() (int, *api.Error, error) {
				r, err := client.CancelPaymentLinkWithResponse(ctx, link.PaymentLinkId, nil)
				if err != nil {
					return 0, nil, err
				}
				return r.StatusCode(), r.JSON401, nil
			},
		}
		for op, call := range calls {
			t.Run(key.name+"/"+op, func(t *testing.T) {
				status, body, err := call()
				if err != nil {
					t.Fatal(err)
				}
				if status != http.StatusUnauthorized || body == nil || code(body) != "unauthorized" || !strings.Contains(body.Message, key.message) {
					t.Errorf("status %d body %+v; want 401 unauthorized %q", status, body, key.message)
				}
			})
		}
	}
	if got := e.get(t, link.PaymentLinkId); got.Status != api.PaymentLinkStatusActive {
		t.Errorf("refused cancels changed the link: %s", got.Status)
	}
}

func TestUnknownLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	g, err := e.client.GetPaymentLinkWithResponse(ctx, "j47ac10b-58cc-4372-a567-0e02b2c3d479")
	if err != nil {
		t.Fatal(err)
	}
	if g.StatusCode() != http.StatusNotFound || code(g.JSON404) != "not_found" {
		t.Errorf("get: %d %s", g.StatusCode(), g.Body)
	}
	c, err := e.client.CancelPaymentLinkWithResponse(ctx, "nope", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.StatusCode() != http.StatusNotFound || code(c.JSON404) != "not_found" {
		t.Errorf("cancel: %d %s", c.StatusCode(), c.Body)
	}
}

// Telness documents no list endpoint: the path exists for POST only.
func TestNoListAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/payment-links", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodDelete, "/payment-links/abc", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/payment-links/abc/cancel", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/payment-intents", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tt.method, e.base+tt.path, nil)
			req.Header.Set("X-API-Key", apiKey)
			// Not e.http: its validating transport sends no request the spec has no operation for.
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body api.Error
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || code(&body) != tt.code || body.Message == "" {
				t.Errorf("%d %+v; want %d %s", res.StatusCode, body, tt.status, tt.code)
			}
		})
	}
}

func TestSimulatedPayment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 7})
	ctx := context.Background()
	link := e.create(t, api.CreatePaymentLinkRequest{InvoiceId: ptr("inv-7"), Description: ptr("Invoice 7")})

	// A failed attempt leaves nothing visible and the link payable.
	if err := e.sb.Fail(link.PaymentLinkId); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, link.PaymentLinkId); got.Status != api.PaymentLinkStatusActive || got.PaymentId != nil {
		t.Errorf("after a failed attempt: %+v", got)
	}
	co, err := e.sb.Checkout(link.PaymentLinkId)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sandbox.Checkout{Provider: "telness", LinkID: link.PaymentLinkId, Description: "Invoice 7", Amount: "", Status: "ACTIVE", Payable: true}); co != want {
		t.Errorf("checkout = %+v, want %+v", co, want)
	}

	_ = e.clock.Advance(90 * time.Minute)
	if err := e.sb.Pay(link.PaymentLinkId); err != nil {
		t.Fatal(err)
	}
	paid := e.get(t, link.PaymentLinkId)
	if paid.Status != api.PaymentLinkStatusCompleted || paid.PaymentId == nil || *paid.PaymentId == "" {
		t.Fatalf("after pay: %+v", paid)
	}
	when := start.Add(90 * time.Minute)
	if paid.CompletedAt == nil || !paid.CompletedAt.Equal(when) || !paid.UpdatedAt.Equal(when) {
		t.Errorf("completedAt %v updatedAt %v, want %s", paid.CompletedAt, paid.UpdatedAt, when)
	}

	// Single-use: a second payment and a failed attempt are refused, and so is cancelling.
	if err := e.sb.Pay(link.PaymentLinkId); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("second pay: %v, want ErrNotPayable", err)
	}
	if err := e.sb.Fail(link.PaymentLinkId); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("fail after pay: %v, want ErrNotPayable", err)
	}
	if err := e.sb.Pay("nope"); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("pay unknown: %v, want ErrNoLink", err)
	}
	c, err := e.client.CancelPaymentLinkWithResponse(ctx, link.PaymentLinkId, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.StatusCode() != http.StatusConflict || code(c.JSON409) != "payment_link_not_cancellable" {
		t.Errorf("cancel completed: %d %s", c.StatusCode(), c.Body)
	}
	if co, _ := e.sb.Checkout(link.PaymentLinkId); co.Payable || co.Status != "COMPLETED" {
		t.Errorf("checkout after pay: %+v", co)
	}
}

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	link := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("o"), ExpiresAt: ptr(start.Add(2 * time.Hour))})
	post := func(path string) (int, map[string]any) {
		t.Helper()
		res, err := http.Post(e.srv.URL+"/sandbox/telness/_control"+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	if status, body := post("/links/" + link.PaymentLinkId + "/fail"); status != http.StatusOK || body["Status"] != "ACTIVE" {
		t.Errorf("fail: %d %v", status, body)
	}
	if status, body := post("/links/" + link.PaymentLinkId + "/pay"); status != http.StatusOK || body["Status"] != "COMPLETED" || body["Amount"] != "" {
		t.Errorf("pay: %d %v", status, body)
	}
	if status, _ := post("/links/" + link.PaymentLinkId + "/pay"); status != http.StatusConflict {
		t.Errorf("pay again: %d, want 409", status)
	}
	if status, _ := post("/links/nope/pay"); status != http.StatusNotFound {
		t.Errorf("pay unknown: %d, want 404", status)
	}
	if got := e.get(t, link.PaymentLinkId); got.Status != api.PaymentLinkStatusCompleted {
		t.Errorf("after control pay: %s", got.Status)
	}

	// Advancing the clock over HTTP expires another link.
	other := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("o2"), ExpiresAt: ptr(start.Add(time.Hour))})
	if status, body := post("/clock/advance?by=61m"); status != http.StatusOK || body["now"] != "2024-01-15T11:01:00Z" {
		t.Errorf("advance: %d %v", status, body)
	}
	if got := e.get(t, other.PaymentLinkId); got.Status != api.PaymentLinkStatusExpired {
		t.Errorf("after advancing: %s, want EXPIRED", got.Status)
	}

	// The checkout page shows the link, with no amount, and pays it.
	third := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("o3"), Description: ptr("Order three")})
	page, err := http.Get(e.srv.URL + "/sandbox/checkout/telness/" + third.PaymentLinkId)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !bytes.Contains(html, []byte("Order three")) || !bytes.Contains(html, []byte(`id="pay"`)) || bytes.Contains(html, []byte(`class="amt"`)) {
		t.Errorf("checkout page: %d %s", page.StatusCode, html)
	}
	paid, err := http.Post(e.srv.URL+"/sandbox/checkout/telness/"+third.PaymentLinkId+"/pay", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	paid.Body.Close()
	if got := e.get(t, third.PaymentLinkId); got.Status != api.PaymentLinkStatusCompleted {
		t.Errorf("after checkout pay: %s", got.Status)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	expiresAt := start.Add(time.Hour)
	expiring := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("o1"), ExpiresAt: &expiresAt})
	forever := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("o2")})
	if expiring.ExpiresAt == nil || !expiring.ExpiresAt.Equal(expiresAt) {
		t.Fatalf("expiresAt = %v", expiring.ExpiresAt)
	}

	_ = e.clock.Advance(time.Hour - time.Second)
	if got := e.get(t, expiring.PaymentLinkId); got.Status != api.PaymentLinkStatusActive {
		t.Errorf("a second before expiry: %s", got.Status)
	}
	_ = e.clock.Advance(time.Second)
	got := e.get(t, expiring.PaymentLinkId)
	if got.Status != api.PaymentLinkStatusExpired || !got.UpdatedAt.Equal(expiresAt) {
		t.Errorf("at expiry: %s updated %s, want EXPIRED updated at %s", got.Status, got.UpdatedAt, expiresAt)
	}
	if err := e.sb.Pay(expiring.PaymentLinkId); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("pay expired: %v", err)
	}
	c, err := e.client.CancelPaymentLinkWithResponse(ctx, expiring.PaymentLinkId, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.StatusCode() != http.StatusConflict || code(c.JSON409) != "payment_link_not_cancellable" || !strings.Contains(c.JSON409.Message, "EXPIRED") {
		t.Errorf("cancel expired: %d %s", c.StatusCode(), c.Body)
	}

	_ = e.clock.Advance(10 * 365 * 24 * time.Hour)
	if got := e.get(t, forever.PaymentLinkId); got.Status != api.PaymentLinkStatusActive {
		t.Errorf("a link without expiresAt expired: %s", got.Status)
	}
}

func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	create := func(key, apiKeyValue, body string) *api.CreatePaymentLinkResponse {
		t.Helper()
		res, err := e.client.CreatePaymentLinkWithBodyWithResponse(ctx, &api.CreatePaymentLinkParams{XIdempotencyKey: &key},
			"application/json", strings.NewReader(body), withKey(apiKeyValue))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	first := create("k1", apiKey, `{"orderId":"o1","metadata":{"a":"1","b":"2"}}`)
	if first.StatusCode() != http.StatusCreated {
		t.Fatalf("first: %d %s", first.StatusCode(), first.Body)
	}
	_ = e.clock.Advance(time.Minute)

	// Same request, written differently: the very same answer, and no second link.
	replay := create("k1", apiKey, "{ \"metadata\": {\"b\":\"2\", \"a\":\"1\"},\n \"orderId\": \"o1\" }")
	if replay.StatusCode() != first.StatusCode() || !bytes.Equal(replay.Body, first.Body) {
		t.Errorf("replay: %d %s, want %d %s", replay.StatusCode(), replay.Body, first.StatusCode(), first.Body)
	}

	// Same key, another request: 409 idempotency_key_mismatch.
	mismatch := create("k1", apiKey, `{"orderId":"o2"}`)
	if mismatch.StatusCode() != http.StatusConflict || code(mismatch.JSON409) != "idempotency_key_mismatch" {
		t.Errorf("mismatch: %d %s", mismatch.StatusCode(), mismatch.Body)
	}

	// Keys belong to the API key that used them.
	otherAccount := create("k1", "another-key", `{"orderId":"o2"}`)
	if otherAccount.StatusCode() != http.StatusCreated || otherAccount.JSON201.PaymentLinkId == first.JSON201.PaymentLinkId {
		t.Errorf("same key under another API key: %d %s", otherAccount.StatusCode(), otherAccount.Body)
	}

	// A refused request is not remembered: the key is still free for a valid one.
	if bad := create("k2", apiKey, `{}`); bad.StatusCode() != http.StatusBadRequest {
		t.Fatalf("bad: %d", bad.StatusCode())
	}
	if ok := create("k2", apiKey, `{"orderId":"o3"}`); ok.StatusCode() != http.StatusCreated {
		t.Errorf("valid request after a refused one with the same key: %d %s", ok.StatusCode(), ok.Body)
	}

	// 24 h after first use (sandbox clock) the key is forgotten: a different request is a new link.
	_ = e.clock.Advance(24*time.Hour - time.Minute - time.Second)
	if still := create("k1", apiKey, `{"orderId":"o2"}`); still.StatusCode() != http.StatusConflict {
		t.Errorf("a second before 24 h: %d %s, want 409", still.StatusCode(), still.Body)
	}
	_ = e.clock.Advance(time.Second)
	fresh := create("k1", apiKey, `{"orderId":"o2"}`)
	if fresh.StatusCode() != http.StatusCreated || fresh.JSON201.PaymentLinkId == first.JSON201.PaymentLinkId {
		t.Errorf("after 24 h: %d %s, want a new link", fresh.StatusCode(), fresh.Body)
	}
	// The same request as the first one now makes a new link too.
	again := create("k9", apiKey, `{"orderId":"o1"}`)
	if again.JSON201 == nil || again.JSON201.PaymentLinkId == first.JSON201.PaymentLinkId {
		t.Errorf("new key: %s", again.Body)
	}
}

func TestIdempotentCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	a := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("a")})
	b := e.create(t, api.CreatePaymentLinkRequest{OrderId: ptr("b")})
	cancel := func(id, key string) *api.CancelPaymentLinkResponse {
		t.Helper()
		res, err := e.client.CancelPaymentLinkWithResponse(ctx, id, &api.CancelPaymentLinkParams{XIdempotencyKey: &key})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := cancel(a.PaymentLinkId, "c1")
	if first.JSON200 == nil || first.JSON200.Status != api.PaymentLinkStatusCancelled {
		t.Fatalf("cancel: %d %s", first.StatusCode(), first.Body)
	}
	_ = e.clock.Advance(time.Minute)
	// A retry with the key gets the first answer (200), where a retry without gets 409.
	if replay := cancel(a.PaymentLinkId, "c1"); replay.StatusCode() != http.StatusOK || !bytes.Equal(replay.Body, first.Body) {
		t.Errorf("replay: %d %s", replay.StatusCode(), replay.Body)
	}
	if mismatch := cancel(b.PaymentLinkId, "c1"); mismatch.StatusCode() != http.StatusConflict || code(mismatch.JSON409) != "idempotency_key_mismatch" {
		t.Errorf("same key, other link: %d %s", mismatch.StatusCode(), mismatch.Body)
	}
	if got := e.get(t, b.PaymentLinkId); got.Status != api.PaymentLinkStatusActive {
		t.Errorf("the mismatched cancel changed link b: %s", got.Status)
	}
	// A key used on create cannot be reused on cancel.
	key := "shared"
	if res, err := e.client.CreatePaymentLinkWithResponse(ctx, &api.CreatePaymentLinkParams{XIdempotencyKey: &key}, api.CreatePaymentLinkRequest{OrderId: ptr("c")}); err != nil || res.StatusCode() != http.StatusCreated {
		t.Fatalf("create: %v", err)
	}
	if res := cancel(b.PaymentLinkId, key); res.StatusCode() != http.StatusConflict || code(res.JSON409) != "idempotency_key_mismatch" {
		t.Errorf("create key on cancel: %d %s", res.StatusCode(), res.Body)
	}
	// Error answers are replayed as well: the 404 of an unknown link stays a 404.
	if res := cancel("nope", "c404"); res.StatusCode() != http.StatusNotFound {
		t.Errorf("unknown: %d", res.StatusCode())
	}
	if res := cancel("nope", "c404"); res.StatusCode() != http.StatusNotFound {
		t.Errorf("unknown, replayed: %d", res.StatusCode())
	}
}

// A fixed seed and clock give the same bytes (sandboxtest checks determinism for every
// simulator); the first create is kept as a golden file, the exact answer Telness documents.
func TestCreateGolden(t *testing.T) {
	t.Parallel()
	run := func() [][]byte {
		e := newEnv(t, sandbox.Config{Seed: 42})
		var out [][]byte
		for i := range 3 {
			res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), nil, api.CreatePaymentLinkRequest{
				OrderId: ptr(fmt.Sprint("ord-", i)), Description: ptr("Pay your monthly subscription"),
				ExpiresAt: ptr(time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)),
			})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res.Body)
			_ = e.clock.Advance(time.Minute)
		}
		first := e.create(t, api.CreatePaymentLinkRequest{InvoiceId: ptr("inv")})
		if err := e.sb.Pay(first.PaymentLinkId); err != nil {
			t.Fatal(err)
		}
		res, err := e.client.GetPaymentLinkWithResponse(context.Background(), first.PaymentLinkId)
		if err != nil {
			t.Fatal(err)
		}
		return append(out, res.Body)
	}
	a, b := run(), run()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("response %d differs under the same seed:\n%s\n%s", i, a[i], b[i])
		}
	}
	if bytes.Equal(a[0], a[1]) {
		t.Error("two creates gave the same body")
	}
	golden := filepath.Join("testdata", "create.golden.json")
	if *update {
		if err := os.WriteFile(golden, a[0], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(a[0], want) {
		t.Errorf("create response:\n%s\nwant (%s):\n%s", a[0], golden, want)
	}
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 3})
	const workers, each = 16, 8
	var (
		mu  sync.Mutex
		ids = map[string]bool{}
		wg  sync.WaitGroup
	)
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), &api.CreatePaymentLinkParams{XIdempotencyKey: &key},
					api.CreatePaymentLinkRequest{OrderId: ptr(key)})
				if err != nil {
					errs <- err
					continue
				}
				if res.JSON201 == nil {
					errs <- fmt.Errorf("%d %s", res.StatusCode(), res.Body)
					continue
				}
				if err := e.sb.Pay(res.JSON201.PaymentLinkId); err != nil {
					errs <- err
				}
				mu.Lock()
				ids[res.JSON201.PaymentLinkId] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(ids) != workers*each {
		t.Fatalf("%d distinct ids, want %d", len(ids), workers*each)
	}
	for id := range ids {
		if got := e.get(t, id); got.Status != api.PaymentLinkStatusCompleted {
			t.Errorf("%s: %s", id, got.Status)
		}
	}
}
