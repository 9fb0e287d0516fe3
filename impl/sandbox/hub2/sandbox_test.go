package hub2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2 "github.com/paylinks/paylinks/impl/sandbox/hub2"
	"github.com/paylinks/paylinks/impl/validation"
)

var start = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

// env is one sandbox served over HTTP under /sandbox, with a generated client whose every
// response is validated against the curated spec (a violation fails the call).
type env struct {
	sb     *hub2.Sandbox
	srv    *httptest.Server
	clock  *sandbox.Clock
	client *api.ClientWithResponses
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = sandbox.NewClock(start)
	}
	cfg.CheckoutBase = "https://sandbox.example/sandbox/checkout"
	sb := hub2.New(cfg)
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sb))
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, clock: cfg.Clock, client: newClient(t, srv.URL, auth("sk_test", "16", "sandbox"))}
}

func auth(key, merchant, environment string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		for name, v := range map[string]string{"ApiKey": key, "MerchantId": merchant, "Environment": environment} {
			if v != "" {
				r.Header.Set(name, v)
			}
		}
		return nil
	}
}

func newClient(t *testing.T, base string, edit api.RequestEditorFn) *api.ClientWithResponses {
	t.Helper()
	hc := &http.Client{Transport: validatingTransport("/sandbox/hub2")}
	c, err := api.NewClientWithResponses(base+"/sandbox/hub2", api.WithHTTPClient(hc), api.WithRequestEditorFn(edit))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func order(amount int64) api.CreatePaymentLinkRequest {
	return api.CreatePaymentLinkRequest{PurchaseReference: "ORDER-12345", Amount: amount, Currency: "XOF", Description: ptr("Order 12345")}
}

func (e *env) create(t *testing.T, body api.CreatePaymentLinkRequest) *api.CreatedPaymentLink {
	t.Helper()
	res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Fatalf("create: %d %s", res.StatusCode(), res.Body)
	}
	return res.JSON201
}

func (e *env) get(t *testing.T, id string) *api.PaymentLink {
	t.Helper()
	res, err := e.client.GetPaymentLinkWithResponse(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("get: %d %s", res.StatusCode(), res.Body)
	}
	return res.JSON200
}

func ptr[T any](v T) *T { return &v }

// successes is the link's currentSuccessCount, -1 when the link does not carry one.
func successes(l *api.PaymentLink) int {
	if l.CurrentSuccessCount == nil {
		return -1
	}
	return *l.CurrentSuccessCount
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 7})
	ctx := context.Background()

	res, err := e.client.CreatePaymentLinkWithResponse(ctx, order(1000))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusCreated || res.JSON201 == nil {
		t.Fatalf("create: %d %s", res.StatusCode(), res.Body)
	}
	c := res.JSON201
	if !strings.HasPrefix(c.Id, "pl_") || len(c.Id) != 24 {
		t.Errorf("id %q: want pl_ + 21 characters", c.Id)
	}
	if want := "https://sandbox.example/sandbox/checkout/hub2/" + c.Id; c.Url != want {
		t.Errorf("url = %q, want %q", c.Url, want)
	}
	if c.Status != api.PaymentLinkStatusActive || *c.Amount != 1000 || c.Type != api.PaymentLinkTypeSingleUse ||
		*c.MaximumPayments != 1 || *c.MerchantId != "16" || c.CustomerPhoneNumber != nil || c.CurrentSuccessCount != nil {
		t.Errorf("created link: %s", res.Body)
	}
	if !c.ExpirationDate.Equal(start.Add(15 * time.Minute)) {
		t.Errorf("default expirationDate = %s, want creation + 15 min", c.ExpirationDate)
	}
	for _, want := range []string{`"createdAt":"2024-01-15T12:00:00.000Z"`, `"expirationDate":"2024-01-15T12:15:00.000Z"`, `"customerPhoneNumber":null`} {
		if !bytes.Contains(res.Body, []byte(want)) {
			t.Errorf("create body lacks %s: %s", want, res.Body)
		}
	}

	got := e.get(t, c.Id)
	if got.Status != api.PaymentLinkStatusActive || successes(got) != 0 || got.PaymentAttempts == nil || len(*got.PaymentAttempts) != 0 {
		t.Errorf("get: %+v", got)
	}

	list, err := e.client.ListPaymentLinksWithResponse(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if list.JSON200 == nil || len(*list.JSON200) != 1 || (*list.JSON200)[0].Id != c.Id {
		t.Fatalf("list: %d %s", list.StatusCode(), list.Body)
	}

	e.clock.Advance(time.Minute)
	closed, err := e.client.ClosePaymentLinkWithResponse(ctx, c.Id)
	if err != nil {
		t.Fatal(err)
	}
	if closed.JSON200 == nil || closed.JSON200.Status != api.PaymentLinkStatusClosed || !closed.JSON200.UpdatedAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("close: %d %s", closed.StatusCode(), closed.Body)
	}

	again, err := e.client.ClosePaymentLinkWithResponse(ctx, c.Id)
	if err != nil {
		t.Fatal(err)
	}
	if again.JSON409 == nil || again.JSON409.Status != 409 || again.JSON409.Code != hub2.CodeAlreadyClosed || again.JSON409.RequestId == nil {
		t.Fatalf("close again: %d %s", again.StatusCode(), again.Body)
	}
	if err := e.sb.Pay(c.Id); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("pay a closed link: %v, want ErrNotPayable", err)
	}
}

func TestUnknownID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	get, err := e.client.GetPaymentLinkWithResponse(ctx, "pl_doesnotexist")
	if err != nil {
		t.Fatal(err)
	}
	if get.JSON404 == nil || get.JSON404.Status != 404 || get.JSON404.RequestId == nil || !strings.HasPrefix(*get.JSON404.RequestId, "req_") {
		t.Errorf("get: %d %s", get.StatusCode(), get.Body)
	}
	closed, err := e.client.ClosePaymentLinkWithResponse(ctx, "pl_doesnotexist")
	if err != nil {
		t.Fatal(err)
	}
	if closed.JSON404 == nil {
		t.Errorf("close: %d %s", closed.StatusCode(), closed.Body)
	}
	if err := e.sb.Pay("pl_doesnotexist"); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("pay: %v, want ErrNoLink", err)
	}
	if _, err := e.sb.Checkout("pl_doesnotexist"); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("checkout: %v, want ErrNoLink", err)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Credentials: []string{"sk_good"}})
	tests := []struct {
		name                 string
		key, merchant, envir string
		status               int
		code                 string
	}{
		{"no headers", "", "", "", 401, "Unauthorized"},
		{"no ApiKey", "", "16", "sandbox", 401, "Unauthorized"},
		{"no MerchantId", "sk_good", "", "sandbox", 401, "Unauthorized"},
		{"no Environment", "sk_good", "16", "", 401, "Unauthorized"},
		{"unknown environment", "sk_good", "16", "staging", 400, "invalid-environment"},
		{"environment is case-sensitive", "sk_good", "16", "Sandbox", 400, "invalid-environment"},
		{"wrong key", "sk_bad", "16", "sandbox", 401, "Unauthorized"},
		{"accepted, sandbox", "sk_good", "16", "sandbox", 200, ""},
		{"accepted, live", "sk_good", "16", "live", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, e.srv.URL, auth(tt.key, tt.merchant, tt.envir))
			res, err := c.ListPaymentLinksWithResponse(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode(), tt.status, res.Body)
			}
			var body *api.Error
			switch tt.status {
			case 401:
				body = res.JSON401
			case 400:
				body = res.JSON400
			}
			if tt.code != "" && (body == nil || body.Code != tt.code || body.Status != tt.status || body.RequestId == nil) {
				t.Errorf("error body %s, want code %q", res.Body, tt.code)
			}
		})
	}
}

// TestScopedByMerchantAndEnvironment: Hub2 keys are bound to one merchant and one environment,
// so links created with one are invisible to another.
func TestScopedByMerchantAndEnvironment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	c := e.create(t, order(1000))
	for _, other := range []api.RequestEditorFn{auth("sk_test", "17", "sandbox"), auth("sk_test", "16", "live")} {
		oc := newClient(t, e.srv.URL, other)
		get, err := oc.GetPaymentLinkWithResponse(context.Background(), c.Id)
		if err != nil {
			t.Fatal(err)
		}
		if get.JSON404 == nil {
			t.Errorf("get from another principal: %d %s", get.StatusCode(), get.Body)
		}
		list, err := oc.ListPaymentLinksWithResponse(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if list.JSON200 == nil || len(*list.JSON200) != 0 {
			t.Errorf("list from another principal: %s", list.Body)
		}
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	tests := []struct {
		name string
		body string
		code string
		in   string // part of the message
	}{
		{"invalid JSON", `{"purchaseReference":`, "Bad Request", "body"},
		{"empty body", ``, "Bad Request", "body"},
		{"no purchaseReference", `{"amount":1000,"currency":"XOF"}`, "Bad Request", "purchaseReference"},
		{"empty purchaseReference", `{"purchaseReference":"","amount":1000,"currency":"XOF"}`, "Bad Request", "purchaseReference"},
		{"amount zero", `{"purchaseReference":"A","amount":0,"currency":"XOF"}`, "Bad Request", "amount"},
		{"amount with decimals", `{"purchaseReference":"A","amount":10.5,"currency":"XOF"}`, "Bad Request", "amount"},
		{"amount as string", `{"purchaseReference":"A","amount":"1000","currency":"XOF"}`, "Bad Request", "amount"},
		{"currency lower case", `{"purchaseReference":"A","amount":1000,"currency":"xof"}`, "Bad Request", "currency"},
		{"unsupported currency", `{"purchaseReference":"A","amount":1000,"currency":"EUR"}`, "invalid-currency", "not supported"},
		{"bad type", `{"purchaseReference":"A","amount":1000,"currency":"XOF","type":"twice"}`, "Bad Request", "type"},
		{"bad country", `{"purchaseReference":"A","amount":1000,"currency":"XOF","country":"CIV"}`, "Bad Request", "country"},
		{"zone-less expirationDate", `{"purchaseReference":"A","amount":1000,"currency":"XOF","expirationDate":"2024-01-15T14:30:00"}`, "Bad Request", "expirationDate"},
		{"past expirationDate", `{"purchaseReference":"A","amount":1000,"currency":"XOF","expirationDate":"2024-01-15T11:00:00.000Z"}`, "invalid-expiration-date", "future"},
		{"expiration now", `{"purchaseReference":"A","amount":1000,"currency":"XOF","expirationDate":"2024-01-15T12:00:00Z"}`, "invalid-expiration-date", "future"},
		{"single_use with maximumPayments 2", `{"purchaseReference":"A","amount":1000,"currency":"XOF","type":"single_use","maximumPayments":2}`, "invalid-maximum-payments", "multi_use"},
		{"maximumPayments 0", `{"purchaseReference":"A","amount":1000,"currency":"XOF","type":"multi_use","maximumPayments":0}`, "Bad Request", "maximumPayments"},
		{"duplicate key", `{"purchaseReference":"A","PurchaseReference":"B","amount":1000,"currency":"XOF"}`, "Bad Request", "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.client.CreatePaymentLinkWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if res.JSON400 == nil {
				t.Fatalf("status %d, want 400: %s", res.StatusCode(), res.Body)
			}
			if res.JSON400.Code != tt.code || res.JSON400.Status != 400 || !strings.Contains(res.JSON400.Message, tt.in) {
				t.Errorf("body %s, want code %q and a message with %q", res.Body, tt.code, tt.in)
			}
		})
	}
	t.Run("bad list filter", func(t *testing.T) {
		t.Parallel()
		res := raw(t, e, http.MethodGet, "/payment-links?fromCreatedAt=yesterday", "")
		if res.status != 400 || res.err.Code != "Bad Request" || !strings.Contains(res.err.Message, "date-time") {
			t.Errorf("%d %+v", res.status, res.err)
		}
	})
	t.Run("bad status filter", func(t *testing.T) {
		t.Parallel()
		res := raw(t, e, http.MethodGet, "/payment-links?status=open", "")
		if res.status != 400 || res.err.Code != "Bad Request" {
			t.Errorf("%d %+v", res.status, res.err)
		}
	})
}

type rawResult struct {
	status int
	err    api.Error
	body   []byte
}

// raw sends a request the generated client cannot express (unknown routes and methods).
func raw(t *testing.T, e *env, method, path, body string) rawResult {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/sandbox/hub2"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	auth("sk_test", "16", "sandbox")(context.Background(), req)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := rawResult{status: res.StatusCode, body: b}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if res.StatusCode >= 400 {
		if err := dec.Decode(&out.err); err != nil {
			t.Errorf("error body %s is not Hub2's: %v", b, err)
		}
		if out.err.Status != res.StatusCode || out.err.RequestId == nil {
			t.Errorf("error body %s: status or request_id wrong", b)
		}
	}
	return out
}

func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/payment-link", 404},
		{http.MethodGet, "/payment-links/pl_x/attempts", 404},
		{http.MethodDelete, "/payment-links/pl_x", 405},
		{http.MethodPut, "/payment-links", 405},
		{http.MethodPost, "/payment-links/pl_x/close", 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			res := raw(t, e, tt.method, tt.path, "")
			if res.status != tt.status || res.err.Code != http.StatusText(tt.status) {
				t.Errorf("%d %s, want %d", res.status, res.body, tt.status)
			}
		})
	}
}

func TestPayments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()

	t.Run("control API", func(t *testing.T) {
		c := e.create(t, order(1000))
		if err := e.sb.Fail(c.Id); err != nil {
			t.Fatal(err)
		}
		if l := e.get(t, c.Id); l.Status != api.PaymentLinkStatusActive || successes(l) != 0 {
			t.Fatalf("after a failed attempt: %+v", l)
		}
		e.clock.Advance(time.Second)
		if err := e.sb.Pay(c.Id); err != nil {
			t.Fatal(err)
		}
		l := e.get(t, c.Id)
		if l.Status != api.PaymentLinkStatusCompleted || successes(l) != 1 || len(*l.PaymentAttempts) != 2 {
			t.Fatalf("after payment: %+v", l)
		}
		atts := *l.PaymentAttempts
		if atts[0].Status != "failed" || atts[0].Failure == nil || atts[1].Status != "successful" || *atts[1].Amount != 1000 || *atts[1].Currency != "XOF" {
			t.Errorf("attempts: %+v", atts)
		}
		if !strings.HasPrefix(atts[1].Id, "pay_") || !strings.HasPrefix(*atts[1].IntentId, "pi_") {
			t.Errorf("attempt ids %q %q", atts[1].Id, *atts[1].IntentId)
		}
		if err := e.sb.Pay(c.Id); !errors.Is(err, sandbox.ErrNotPayable) {
			t.Errorf("pay a completed link: %v", err)
		}
		if err := e.sb.Fail(c.Id); !errors.Is(err, sandbox.ErrNotPayable) {
			t.Errorf("fail on a completed link: %v", err)
		}
		res, err := e.client.ClosePaymentLinkWithResponse(ctx, c.Id)
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON409 == nil || res.JSON409.Code != hub2.CodeCompleted {
			t.Errorf("close a completed link: %d %s", res.StatusCode(), res.Body)
		}
	})

	t.Run("HTTP control route", func(t *testing.T) {
		c := e.create(t, order(2500))
		post := func(action string) int {
			res, err := http.Post(e.srv.URL+"/sandbox/hub2/_control/links/"+c.Id+"/"+action, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if s := post("fail"); s != http.StatusOK {
			t.Errorf("fail: %d", s)
		}
		if s := post("pay"); s != http.StatusOK {
			t.Errorf("pay: %d", s)
		}
		if s := post("pay"); s != http.StatusConflict {
			t.Errorf("pay again: %d, want 409", s)
		}
		if l := e.get(t, c.Id); l.Status != api.PaymentLinkStatusCompleted {
			t.Errorf("status %s", l.Status)
		}
	})

	t.Run("checkout page", func(t *testing.T) {
		c := e.create(t, order(1000))
		co, err := e.sb.Checkout(c.Id)
		if err != nil {
			t.Fatal(err)
		}
		if co.Amount != "1000 XOF" || !co.Payable || co.Description != "Order 12345" || co.Status != "active" {
			t.Errorf("checkout %+v", co)
		}
		page, err := http.Get(e.srv.URL + "/sandbox/checkout/hub2/" + c.Id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(page.Body)
		page.Body.Close()
		// Formatted for people, as the CLI does: symbol, grouping, no decimals for XOF.
		if !bytes.Contains(b, []byte("F\u202fCFA\u00a01,000")) {
			t.Errorf("checkout page: %s", b)
		}
	})
}

func TestReusable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	multi := api.PaymentLinkTypeMultiUse

	t.Run("limited", func(t *testing.T) {
		body := order(5000)
		body.Type, body.MaximumPayments = &multi, ptr(2)
		c := e.create(t, body)
		if c.Type != multi || *c.MaximumPayments != 2 {
			t.Fatalf("created %+v", c)
		}
		if err := e.sb.Pay(c.Id); err != nil {
			t.Fatal(err)
		}
		if l := e.get(t, c.Id); l.Status != api.PaymentLinkStatusActive || successes(l) != 1 {
			t.Fatalf("after 1 of 2: %s %d", l.Status, successes(l))
		}
		if err := e.sb.Pay(c.Id); err != nil {
			t.Fatal(err)
		}
		if l := e.get(t, c.Id); l.Status != api.PaymentLinkStatusCompleted || successes(l) != 2 {
			t.Fatalf("after 2 of 2: %s %d", l.Status, successes(l))
		}
		if err := e.sb.Pay(c.Id); !errors.Is(err, sandbox.ErrNotPayable) {
			t.Errorf("third payment: %v", err)
		}
	})

	t.Run("unlimited", func(t *testing.T) {
		body := order(5000)
		body.Type = &multi
		c := e.create(t, body)
		if c.MaximumPayments != nil {
			t.Errorf("unlimited link has maximumPayments %d", *c.MaximumPayments)
		}
		for range 5 {
			if err := e.sb.Pay(c.Id); err != nil {
				t.Fatal(err)
			}
		}
		if l := e.get(t, c.Id); l.Status != api.PaymentLinkStatusActive || successes(l) != 5 || l.MaximumPayments != nil {
			t.Errorf("after 5 payments: %s %d", l.Status, successes(l))
		}
	})
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	short := e.create(t, order(1000)) // default: 15 minutes
	long := order(1000)
	long.ExpirationDate = ptr(time.Date(2024, 1, 15, 14, 30, 0, 0, time.FixedZone("WAT", 3600)))
	l := e.create(t, long)
	if !l.ExpirationDate.Equal(time.Date(2024, 1, 15, 13, 30, 0, 0, time.UTC)) {
		t.Errorf("expirationDate %s", l.ExpirationDate)
	}

	e.clock.Advance(15*time.Minute - time.Millisecond)
	if got := e.get(t, short.Id); got.Status != api.PaymentLinkStatusActive {
		t.Fatalf("1 ms before expiry: %s", got.Status)
	}
	e.clock.Advance(time.Millisecond)
	got := e.get(t, short.Id)
	if got.Status != api.PaymentLinkStatusExpired || !got.UpdatedAt.Equal(short.ExpirationDate) {
		t.Fatalf("at expiry: %s updated %s", got.Status, got.UpdatedAt)
	}
	if err := e.sb.Pay(short.Id); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("pay an expired link: %v", err)
	}
	res, err := e.client.ClosePaymentLinkWithResponse(ctx, short.Id)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON409 == nil || res.JSON409.Code != hub2.CodeExpired {
		t.Errorf("close an expired link: %d %s", res.StatusCode(), res.Body)
	}
	expired := api.PaymentLinkStatusExpired
	list, err := e.client.ListPaymentLinksWithResponse(ctx, &api.ListPaymentLinksParams{Status: &expired})
	if err != nil {
		t.Fatal(err)
	}
	if len(*list.JSON200) != 1 || (*list.JSON200)[0].Id != short.Id {
		t.Errorf("expired links: %s", list.Body)
	}

	// Advancing through the control API expires the other one too.
	r, err := http.Post(e.srv.URL+"/sandbox/hub2/_control/clock/advance?by=2h", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if got := e.get(t, l.Id); got.Status != api.PaymentLinkStatusExpired {
		t.Errorf("after the control clock moved: %s", got.Status)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	var ids []string
	for i := range 4 { // created at hour i, expiring on day i+1
		if i > 0 {
			e.clock.Advance(time.Hour)
		}
		body := order(int64(1000 * (i + 1)))
		body.ExpirationDate = ptr(start.Add(time.Duration(i+1) * 24 * time.Hour))
		ids = append(ids, e.create(t, body).Id)
	}
	// Same creation instant as the last one: ties are broken by creation order, newest first.
	body := order(1)
	body.ExpirationDate = ptr(start.Add(10 * 24 * time.Hour))
	tie := e.create(t, body).Id
	ids = append(ids, tie)
	if err := e.sb.Pay(ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ClosePaymentLinkWithResponse(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	at := func(h int) *time.Time { return ptr(start.Add(time.Duration(h) * time.Hour)) }
	completed, closed, active := api.PaymentLinkStatusCompleted, api.PaymentLinkStatusClosed, api.PaymentLinkStatusActive

	tests := []struct {
		name   string
		params *api.ListPaymentLinksParams
		want   []string
	}{
		{"all, newest first", nil, []string{tie, ids[3], ids[2], ids[1], ids[0]}},
		{"fromCreatedAt inclusive", &api.ListPaymentLinksParams{FromCreatedAt: at(2)}, []string{tie, ids[3], ids[2]}},
		{"toCreatedAt inclusive", &api.ListPaymentLinksParams{ToCreatedAt: at(1)}, []string{ids[1], ids[0]}},
		{"created window", &api.ListPaymentLinksParams{FromCreatedAt: at(1), ToCreatedAt: at(2)}, []string{ids[2], ids[1]}},
		{"fromExpirationDate", &api.ListPaymentLinksParams{FromExpirationDate: at(72)}, []string{tie, ids[3], ids[2]}},
		{"toExpirationDate", &api.ListPaymentLinksParams{ToExpirationDate: at(48)}, []string{ids[1], ids[0]}},
		{"status completed", &api.ListPaymentLinksParams{Status: &completed}, []string{ids[1]}},
		{"status closed", &api.ListPaymentLinksParams{Status: &closed}, []string{ids[2]}},
		{"status active and window", &api.ListPaymentLinksParams{Status: &active, ToCreatedAt: at(2)}, []string{ids[0]}},
		{"nothing", &api.ListPaymentLinksParams{FromCreatedAt: at(100)}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := e.client.ListPaymentLinksWithResponse(ctx, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if res.JSON200 == nil {
				t.Fatalf("%d %s", res.StatusCode(), res.Body)
			}
			got := []string{}
			for _, l := range *res.JSON200 {
				got = append(got, l.Id)
				if l.PaymentAttempts == nil {
					t.Errorf("list item %s without paymentAttempts", l.Id)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSpecCheck: the client of these tests refuses an answer that breaks the spec, so the tests
// above would notice a sandbox drifting from it.
func TestSpecCheck(t *testing.T) {
	t.Parallel()
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"pl_1","status":"paid"}`))
	}))
	defer stub.Close()
	c := newClient(t, stub.URL, auth("k", "1", "sandbox"))
	var ce *validation.ContractError
	if _, err := c.GetPaymentLinkWithResponse(context.Background(), "pl_1"); !errors.As(err, &ce) {
		t.Errorf("an invalid answer passed: %v", err)
	}
}

// TestLinkCap fills a sandbox with a small cap: the next create is refused with Hub2's own 429
// error body, and no link is forgotten.
func TestLinkCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{MaxLinks: 2})
	a, b := e.create(t, order(1000)), e.create(t, order(2000))
	res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), order(3000))
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON429 == nil || res.JSON429.Status != 429 || !strings.Contains(res.JSON429.Message, "maximum of 2 payment links") {
		t.Errorf("create beyond the cap: %d %s, want 429 in Hub2's error shape", res.StatusCode(), res.Body)
	}
	e.get(t, a.Id)
	e.get(t, b.Id)
}
