package mollie_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	mollie "github.com/paylinks/paylinks/impl/sandbox/mollie"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

var start = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

const (
	testKey = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
	liveKey = "live_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
	mount   = "/sandbox/mollie"
)

// env is one sandbox served under /sandbox with the shared control API and checkout page, and a
// generated client whose every answer is validated against the curated spec in enforce mode (an
// answer that breaks the spec fails the call).
type env struct {
	sb     *mollie.Sandbox
	srv    *httptest.Server
	clock  *sandbox.Clock
	client *api.ClientWithResponses
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = sandbox.NewClock(start)
	}
	if cfg.WebhookRetries == nil {
		cfg.WebhookRetries = []time.Duration{10 * time.Millisecond} // a receiver that is gone costs the cleanup little
	}
	cfg.CheckoutBase = "https://sandbox.example/sandbox/checkout"
	sb := mollie.New(cfg)
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sb))
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Wait)
	return &env{sb: sb, srv: srv, clock: cfg.Clock, client: newClient(t, srv.URL+mount, testKey)}
}

func newClient(t *testing.T, base, key string) *api.ClientWithResponses {
	t.Helper()
	hc := sandboxtest.Client(t, base, api.GetSpec)
	c, err := api.NewClientWithResponses(base, api.WithHTTPClient(hc), api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func eur(v string) *api.AmountNullable { return &api.AmountNullable{Currency: "EUR", Value: v} }

func ptr[T any](v T) *T { return &v }

func (e *env) create(t *testing.T, body api.CreatePaymentLinkRequest) *api.PaymentLink {
	t.Helper()
	res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if res.HALJSON201 == nil {
		t.Fatalf("create: %d %s", res.StatusCode(), res.Body)
	}
	return res.HALJSON201
}

func (e *env) get(t *testing.T, id string) *api.PaymentLink {
	t.Helper()
	res, err := e.client.GetPaymentLinkWithResponse(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.HALJSON200 == nil {
		t.Fatalf("get: %d %s", res.StatusCode(), res.Body)
	}
	return res.HALJSON200
}

func (e *env) archive(t *testing.T, id string) *api.PaymentLink {
	t.Helper()
	res, err := e.client.UpdatePaymentLinkWithResponse(context.Background(), id, nil, api.UpdatePaymentLinkRequest{Archived: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if res.HALJSON200 == nil {
		t.Fatalf("archive: %d %s", res.StatusCode(), res.Body)
	}
	return res.HALJSON200
}

func (e *env) payments(t *testing.T, id string) []api.Payment {
	t.Helper()
	res, err := e.client.ListPaymentLinkPaymentsWithResponse(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.HALJSON200 == nil {
		t.Fatalf("payments: %d %s", res.StatusCode(), res.Body)
	}
	return res.HALJSON200.UnderscoreEmbedded.Payments
}

// control calls the shared control API of the sandbox, as a test or a person would.
func (e *env) control(t *testing.T, id, action string) int {
	t.Helper()
	rsp, err := http.Post(e.srv.URL+mount+"/_control/links/"+id+"/"+action, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	return rsp.StatusCode
}

// mollieError decodes an error answer and checks it is Mollie's HAL error for the status.
func mollieError(t *testing.T, status int, body []byte) api.Error {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if e.Status != status || e.Title == "" || e.Detail == "" || e.UnderscoreLinks == nil || e.UnderscoreLinks.Documentation.Href == "" {
		t.Errorf("error body %s, want Mollie's error for %d", body, status)
	}
	return e
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 1})
	ctx := context.Background()

	l := e.create(t, api.CreatePaymentLinkRequest{
		Description: "Bicycle tires", Amount: eur("24.95"),
		RedirectUrl: ptr("https://webshop.example.org/thanks"), ExpiresAt: ptr(start.Add(48 * time.Hour)),
		AllowedMethods: &[]api.PaymentLinkMethod{api.PaymentLinkMethodIdeal},
	})
	if !regexp.MustCompile(`^pl_[0-9A-Za-z]{21}$`).MatchString(l.Id) || l.Resource != "payment-link" || l.Mode != api.ModeTest {
		t.Errorf("created %s %s %s", l.Id, l.Resource, l.Mode)
	}
	if l.Archived || l.PaidAt != nil || *l.Reusable || !l.CreatedAt.Equal(start) || !l.ExpiresAt.Equal(start.Add(48*time.Hour)) {
		t.Errorf("created %+v", l)
	}
	if got := l.UnderscoreLinks.PaymentLink.Href; got != "https://sandbox.example/sandbox/checkout/mollie/"+l.Id {
		t.Errorf("paymentLink %s", got)
	}
	if got := l.UnderscoreLinks.Self.Href; got != e.srv.URL+mount+"/v2/payment-links/"+l.Id {
		t.Errorf("self %s", got)
	}
	if l.AllowedMethods == nil || len(*l.AllowedMethods) != 1 || (*l.AllowedMethods)[0] != "ideal" || *l.ProfileId == "" {
		t.Errorf("methods %v profile %v", l.AllowedMethods, l.ProfileId)
	}

	// Times are written as Mollie writes them, with a numeric offset, and answers are HAL.
	res, err := e.client.GetPaymentLinkWithResponse(ctx, l.Id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.HTTPResponse.Header.Get("Content-Type"); ct != "application/hal+json" {
		t.Errorf("content type %q", ct)
	}
	if !strings.Contains(string(res.Body), `"createdAt":"2024-01-15T12:00:00+00:00"`) || !strings.Contains(string(res.Body), `"paidAt":null`) {
		t.Errorf("body %s", res.Body)
	}

	e.clock.Advance(time.Minute)
	if code := e.control(t, l.Id, "pay"); code != http.StatusOK {
		t.Fatalf("pay: %d", code)
	}
	paid := e.get(t, l.Id)
	if paid.PaidAt == nil || !paid.PaidAt.Equal(start.Add(time.Minute)) || paid.UpdatedAt == nil {
		t.Errorf("paid %+v", paid)
	}
	ps := e.payments(t, l.Id)
	if len(ps) != 1 || ps[0].Status != api.PaymentStatusPaid || ps[0].Amount == nil || *ps[0].Amount != (api.Amount{Currency: "EUR", Value: "24.95"}) ||
		!strings.HasPrefix(ps[0].Id, "tr_") || ps[0].PaidAt == nil {
		t.Errorf("payments %+v", ps)
	}
	// A single-use link takes one payment.
	if code := e.control(t, l.Id, "pay"); code != http.StatusConflict {
		t.Errorf("second pay: %d", code)
	}

	// Archiving is accepted on a paid link, as in Mollie's own example.
	if a := e.archive(t, l.Id); !a.Archived || a.PaidAt == nil {
		t.Errorf("archived %+v", a)
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	type call struct {
		contentType, userAgent string
		form                   url.Values
	}
	calls := make(chan call, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		calls <- call{r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), r.PostForm}
	}))
	t.Cleanup(hook.Close)
	e := newEnv(t, sandbox.Config{Seed: 2})
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Bicycle tires", Amount: eur("24.95"), Reusable: ptr(true), WebhookUrl: ptr(hook.URL + "/hook")})

	for _, action := range []string{"fail", "pay"} {
		if code := e.control(t, l.Id, action); code != http.StatusOK {
			t.Fatalf("%s: %d", action, code)
		}
		var c call
		select {
		case c = <-calls:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no webhook call", action)
		}
		if c.contentType != "application/x-www-form-urlencoded" || c.userAgent == "" || len(c.form) != 1 {
			t.Errorf("%s: webhook %+v", action, c)
		}
		// The call carries only the id of the payment: the receiver confirms by reading it back.
		id := c.form.Get("id")
		var found *api.Payment
		for _, p := range e.payments(t, l.Id) {
			if p.Id == id {
				found = &p
			}
		}
		want := map[string]api.PaymentStatus{"fail": api.PaymentStatusFailed, "pay": api.PaymentStatusPaid}[action]
		if found == nil || found.Status != want {
			t.Errorf("%s: webhook id %q is not a %s payment of the link", action, id, want)
		}
	}

	// Without a webhookUrl nothing is called; a receiver that is gone does not fail the payment.
	quiet := e.create(t, api.CreatePaymentLinkRequest{Description: "No hook", Amount: eur("1.00")})
	gone := e.create(t, api.CreatePaymentLinkRequest{Description: "Gone", Amount: eur("1.00"), WebhookUrl: ptr("http://127.0.0.1:1/hook")})
	if e.control(t, quiet.Id, "pay") != http.StatusOK || e.control(t, gone.Id, "pay") != http.StatusOK {
		t.Fatal("pay refused")
	}
	e.sb.Wait()
	select {
	case c := <-calls:
		t.Errorf("unexpected webhook %+v", c)
	default:
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 3, Credentials: []string{testKey, liveKey}})
	base := e.srv.URL + mount
	for _, tt := range []struct{ name, header string }{
		{"none", ""},
		{"not bearer", "Basic " + testKey},
		{"not an API key", "Bearer access_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"},
		{"unknown key", "Bearer test_other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+"/v2/payment-links", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rsp, err := (&http.Client{Transport: sandboxtest.Transport(api.GetSpec, mount)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode != http.StatusUnauthorized || rsp.Header.Get("Content-Type") != "application/hal+json" {
				t.Fatalf("%d %s", rsp.StatusCode, body)
			}
			mollieError(t, http.StatusUnauthorized, body)
			if strings.Contains(string(body), "dHar4XY7") {
				t.Errorf("the answer echoes the key: %s", body)
			}
		})
	}

	// Test and live mode see only their own links.
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Test mode", Amount: eur("1.00")})
	live := newClient(t, base, liveKey)
	res, err := live.GetPaymentLinkWithResponse(context.Background(), l.Id, nil)
	if err != nil || res.HALJSON404 == nil {
		t.Fatalf("live get of a test link: %v %d", err, res.StatusCode())
	}
	list, err := live.ListPaymentLinksWithResponse(context.Background(), nil)
	if err != nil || list.HALJSON200 == nil || len(list.HALJSON200.UnderscoreEmbedded.PaymentLinks) != 0 || *list.HALJSON200.Count != 0 {
		t.Fatalf("live list: %v %s", err, list.Body)
	}
	made, err := live.CreatePaymentLinkWithResponse(context.Background(), nil, api.CreatePaymentLinkRequest{Description: "Live", Amount: eur("1.00")})
	if err != nil || made.HALJSON201 == nil || made.HALJSON201.Mode != api.ModeLive {
		t.Fatalf("live create: %v %s", err, made.Body)
	}
}

func TestCreateRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 4})
	jpy := func(v string) *api.AmountNullable { return &api.AmountNullable{Currency: "JPY", Value: v} }
	for _, tt := range []struct {
		name  string
		body  api.CreatePaymentLinkRequest
		field string
	}{
		{"no description", api.CreatePaymentLinkRequest{Amount: eur("1.00")}, "description"},
		{"too few decimals", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.0")}, "amount"},
		{"decimals on yen", api.CreatePaymentLinkRequest{Description: "x", Amount: jpy("100.00")}, "amount"},
		{"currency Mollie does not take", api.CreatePaymentLinkRequest{Description: "x", Amount: &api.AmountNullable{Currency: "XOF", Value: "100"}}, "amount"},
		{"zero", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("0.00")}, "amount"},
		{"not a number", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("ten")}, "amount.value"},
		{"minimum next to an amount", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("5.00"), MinimumAmount: eur("1.00")}, "minimumAmount"},
		{"minimum with bad decimals", api.CreatePaymentLinkRequest{Description: "x", MinimumAmount: eur("1")}, "minimumAmount"},
		{"expiry passed", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00"), ExpiresAt: ptr(start)}, "expiresAt"},
		{"profile with an API key", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00"), ProfileId: ptr("pfl_QkEhN94Ba")}, "profileId"},
		{"testmode with an API key", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00"), Testmode: ptr(true)}, "testmode"},
		{"relative redirect", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00"), RedirectUrl: ptr("/thanks")}, "redirectUrl"},
		{"unknown method", api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00"), AllowedMethods: &[]api.PaymentLinkMethod{"cash"}}, "allowedMethods.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), nil, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if res.HALJSON422 == nil {
				t.Fatalf("%d %s", res.StatusCode(), res.Body)
			}
			got := mollieError(t, http.StatusUnprocessableEntity, res.Body)
			if got.Field != tt.field {
				t.Errorf("field %q, want %s (%s)", got.Field, tt.field, res.Body)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		res, err := e.client.CreatePaymentLinkWithBodyWithResponse(context.Background(), nil, "application/json", strings.NewReader("{"))
		if err != nil || res.HALJSON422 == nil {
			t.Fatalf("%v %d %s", err, res.StatusCode(), res.Body)
		}
	})
	t.Run("yen without decimals is fine", func(t *testing.T) {
		if l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: jpy("1000")}); l.Amount.Value != "1000" {
			t.Errorf("amount %+v", l.Amount)
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 5})
	ctx := context.Background()
	var made []string
	for i := range 7 {
		e.clock.Advance(time.Second)
		made = append(made, e.create(t, api.CreatePaymentLinkRequest{Description: "link", Amount: eur("1.00"), Reusable: ptr(i%2 == 0)}).Id)
	}
	var seen []string
	params := &api.ListPaymentLinksParams{Limit: ptr(3)}
	var prev *api.UrlNullable
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("the list does not end")
		}
		res, err := e.client.ListPaymentLinksWithResponse(ctx, params)
		if err != nil || res.HALJSON200 == nil {
			t.Fatalf("list: %v %s", err, res.Body)
		}
		p := res.HALJSON200
		if p.Count == nil || *p.Count != len(p.UnderscoreEmbedded.PaymentLinks) || *p.Count > 3 {
			t.Errorf("count %v with %d links", p.Count, len(p.UnderscoreEmbedded.PaymentLinks))
		}
		if (pages == 0) != (p.UnderscoreLinks.Previous == nil) {
			t.Errorf("page %d previous %+v", pages, p.UnderscoreLinks.Previous)
		}
		prev = p.UnderscoreLinks.Previous
		for _, l := range p.UnderscoreEmbedded.PaymentLinks {
			seen = append(seen, l.Id)
		}
		if p.UnderscoreLinks.Next == nil {
			break
		}
		u, err := url.Parse(p.UnderscoreLinks.Next.Href)
		if err != nil || u.Path != mount+"/v2/payment-links" || u.Query().Get("limit") != "3" {
			t.Fatalf("next %s", p.UnderscoreLinks.Next.Href)
		}
		params.From = ptr(u.Query().Get("from"))
	}
	// Newest first, every link once.
	if len(seen) != len(made) {
		t.Fatalf("listed %v, made %v", seen, made)
	}
	for i := range seen {
		if seen[i] != made[len(made)-1-i] {
			t.Fatalf("listed %v, want newest first of %v", seen, made)
		}
	}
	if prev == nil || !strings.Contains(prev.Href, "from="+made[3]) {
		t.Errorf("previous of the last page %+v, want from=%s", prev, made[3])
	}

	for _, tt := range []struct {
		name   string
		params api.ListPaymentLinksParams
		field  string
	}{
		{"from no link", api.ListPaymentLinksParams{From: ptr("pl_unknown")}, "from"},
		{"from not a link id", api.ListPaymentLinksParams{From: ptr("tr_5B8cwPMGnU")}, "from"},
		{"limit 0", api.ListPaymentLinksParams{Limit: ptr(0)}, "limit"},
		{"limit 251", api.ListPaymentLinksParams{Limit: ptr(251)}, "limit"},
	} {
		res, err := e.client.ListPaymentLinksWithResponse(ctx, &tt.params)
		if err != nil || res.HALJSON400 == nil {
			t.Fatalf("%s: %v %d %s", tt.name, err, res.StatusCode(), res.Body)
		}
		if got := mollieError(t, http.StatusBadRequest, res.Body); got.Field != tt.field {
			t.Errorf("%s: field %q", tt.name, got.Field)
		}
	}
}

func TestArchiveAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 6})
	ctx := context.Background()
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Bicycle tires", Amount: eur("24.95")})

	e.clock.Advance(time.Hour)
	a := e.archive(t, l.Id)
	if !a.Archived || a.UpdatedAt == nil || !a.UpdatedAt.Equal(start.Add(time.Hour)) {
		t.Errorf("archived %+v", a)
	}
	// Archiving again is accepted and changes nothing but updatedAt.
	if again := e.archive(t, l.Id); !again.Archived {
		t.Errorf("archived again %+v", again)
	}
	if code := e.control(t, l.Id, "pay"); code != http.StatusConflict {
		t.Errorf("pay on an archived link: %d", code)
	}
	if c, err := e.sb.Checkout(l.Id); err != nil || c.Payable || c.Status != "archived" {
		t.Errorf("checkout %+v %v", c, err)
	}

	// Updating without a field is refused.
	empty, err := e.client.UpdatePaymentLinkWithResponse(ctx, l.Id, nil, api.UpdatePaymentLinkRequest{})
	if err != nil || empty.HALJSON422 == nil {
		t.Fatalf("empty update: %v %s", err, empty.Body)
	}
	// A minimum amount only on a link without an amount.
	minimum, err := e.client.UpdatePaymentLinkWithResponse(ctx, l.Id, nil, api.UpdatePaymentLinkRequest{MinimumAmount: &api.Amount{Currency: "EUR", Value: "1.00"}})
	if err != nil || minimum.HALJSON422 == nil {
		t.Fatalf("minimum on a fixed amount: %v %s", err, minimum.Body)
	}

	// Delete: only without payments; afterwards the link is gone.
	paid := e.create(t, api.CreatePaymentLinkRequest{Description: "Paid", Amount: eur("1.00")})
	e.control(t, paid.Id, "fail")
	refused, err := e.client.DeletePaymentLinkWithResponse(ctx, paid.Id, nil, api.DeletePaymentLinkRequest{})
	if err != nil || refused.HALJSON422 == nil {
		t.Fatalf("delete with payments: %v %d %s", err, refused.StatusCode(), refused.Body)
	}
	fresh := e.create(t, api.CreatePaymentLinkRequest{Description: "Fresh", Amount: eur("1.00")})
	del, err := e.client.DeletePaymentLinkWithResponse(ctx, fresh.Id, nil, api.DeletePaymentLinkRequest{})
	if err != nil || del.StatusCode() != http.StatusNoContent || len(del.Body) != 0 {
		t.Fatalf("delete: %v %d %s", err, del.StatusCode(), del.Body)
	}
	if res, _ := e.client.GetPaymentLinkWithResponse(ctx, fresh.Id, nil); res.HALJSON404 == nil {
		t.Errorf("deleted link still there: %d", res.StatusCode())
	}
}

func TestUnknownLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 7})
	ctx := context.Background()
	for _, id := range []string{"pl_unknown", "not-a-mollie-id"} {
		get, err := e.client.GetPaymentLinkWithResponse(ctx, id, nil)
		if err != nil || get.HALJSON404 == nil {
			t.Errorf("get %s: %v %d", id, err, get.StatusCode())
		}
		upd, err := e.client.UpdatePaymentLinkWithResponse(ctx, id, nil, api.UpdatePaymentLinkRequest{Archived: ptr(true)})
		if err != nil || upd.HALJSON404 == nil {
			t.Errorf("update %s: %v %d", id, err, upd.StatusCode())
		}
		del, err := e.client.DeletePaymentLinkWithResponse(ctx, id, nil, api.DeletePaymentLinkRequest{})
		if err != nil || del.HALJSON404 == nil {
			t.Errorf("delete %s: %v %d", id, err, del.StatusCode())
		}
		ps, err := e.client.ListPaymentLinkPaymentsWithResponse(ctx, id, nil)
		if err != nil || ps.HALJSON404 == nil {
			t.Errorf("payments %s: %v %d", id, err, ps.StatusCode())
		}
		mollieError(t, http.StatusNotFound, get.Body)
	}
	if err := e.sb.Pay("pl_unknown"); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("pay unknown: %v", err)
	}
}

func TestOpenAmountAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 8})
	open := e.create(t, api.CreatePaymentLinkRequest{Description: "Donation", MinimumAmount: eur("10.00"), Reusable: ptr(true)})
	if open.Amount != nil || open.MinimumAmount == nil || open.MinimumAmount.Value != "10.00" || !*open.Reusable {
		t.Fatalf("open %+v", open)
	}
	if c, _ := e.sb.Checkout(open.Id); c.Amount != "10.00 EUR" {
		t.Errorf("checkout amount %q", c.Amount)
	}
	for range 2 {
		e.clock.Advance(time.Minute)
		if err := e.sb.Pay(open.Id); err != nil {
			t.Fatal(err)
		}
	}
	got := e.get(t, open.Id)
	if got.PaidAt == nil || !got.PaidAt.Equal(start.Add(time.Minute)) {
		t.Errorf("paidAt %v, want the first payment's", got.PaidAt)
	}
	ps := e.payments(t, open.Id)
	if len(ps) != 2 || ps[0].Amount.Value != "10.00" || !ps[0].CreatedAt.After(ps[1].CreatedAt) {
		t.Errorf("payments %+v, want two of the minimum, newest first", ps)
	}
	asc, err := e.client.ListPaymentLinkPaymentsWithResponse(context.Background(), open.Id, &api.ListPaymentLinkPaymentsParams{Sort: ptr(api.SortAsc), Limit: ptr(1)})
	if err != nil || asc.HALJSON200 == nil || asc.HALJSON200.UnderscoreEmbedded.Payments[0].Id != ps[1].Id ||
		!strings.Contains(asc.HALJSON200.UnderscoreLinks.Next.Href, "sort=asc") {
		t.Errorf("ascending: %v %s", err, asc.Body)
	}
	// The minimum can be changed on a link without an amount.
	res, err := e.client.UpdatePaymentLinkWithResponse(context.Background(), open.Id, nil, api.UpdatePaymentLinkRequest{MinimumAmount: &api.Amount{Currency: "EUR", Value: "5.00"}})
	if err != nil || res.HALJSON200 == nil || res.HALJSON200.MinimumAmount.Value != "5.00" {
		t.Errorf("update minimum: %v %s", err, res.Body)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 9})
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Soon", Amount: eur("1.00"), ExpiresAt: ptr(start.Add(time.Hour))})
	if c, _ := e.sb.Checkout(l.Id); !c.Payable || c.Status != "open" {
		t.Errorf("before: %+v", c)
	}
	e.clock.Advance(time.Hour)
	if err := e.sb.Pay(l.Id); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Errorf("pay after expiry: %v", err)
	}
	if c, _ := e.sb.Checkout(l.Id); c.Payable || c.Status != "expired" {
		t.Errorf("after: %+v", c)
	}
	// The Date of answers is the sandbox's clock: clients judge expiry by it.
	res, err := e.client.GetPaymentLinkWithResponse(context.Background(), l.Id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := http.ParseTime(res.HTTPResponse.Header.Get("Date")); err != nil || !d.Equal(start.Add(time.Hour)) {
		t.Errorf("Date %q", res.HTTPResponse.Header.Get("Date"))
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 10})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPut, "/v2/payment-links/pl_x", http.StatusMethodNotAllowed},
		{http.MethodGet, "/v2/payments", http.StatusNotFound},
		{http.MethodGet, "/v1/payment-links", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tt.method, e.srv.URL+mount+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if rsp.StatusCode != tt.status || rsp.Header.Get("Content-Type") != "application/hal+json" {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, rsp.StatusCode, body)
		}
		mollieError(t, tt.status, body)
	}
}

func TestCheckoutPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Seed: 11})
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Bicycle tires", Amount: eur("24.95")})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := e.srv.URL + "/sandbox/checkout/mollie/" + l.Id
	rsp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if !strings.Contains(string(html), `id="amount">€24.95<`) || !strings.Contains(string(html), `id="pay"`) {
		t.Errorf("page %s", html)
	}
	rsp, err = noRedirect.Post(page+"/pay", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != http.StatusSeeOther || e.get(t, l.Id).PaidAt == nil {
		t.Errorf("pay on the page: %d", rsp.StatusCode)
	}
}

// TestHandlerStandalone: links to itself carry no mount prefix when served on its own (sandboxtest
// checks the rest of standalone and mounted serving).
func TestHandlerStandalone(t *testing.T) {
	t.Parallel()
	sb := mollie.New(sandbox.Config{Clock: sandbox.NewClock(start)})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testKey)
	res, err := c.CreatePaymentLinkWithResponse(context.Background(), nil, api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00")})
	if err != nil || res.HALJSON201 == nil {
		t.Fatalf("%v %s", err, res.Body)
	}
	if got := res.HALJSON201.UnderscoreLinks.Self.Href; got != srv.URL+"/v2/payment-links/"+res.HALJSON201.Id {
		t.Errorf("self %s", got)
	}
}

// A create repeated with its Idempotency-Key is the first one again; the key with another request
// is refused, naming the header (MOL-15).
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	ctx := context.Background()
	key := "4f8c1e2a-1111-4222-8333-444455556666"
	params := &api.CreatePaymentLinkParams{IdempotencyKey: &key}
	first, err := e.client.CreatePaymentLinkWithResponse(ctx, params, api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00")})
	if err != nil || first.HALJSON201 == nil {
		t.Fatalf("create: %v", err)
	}
	again, err := e.client.CreatePaymentLinkWithResponse(ctx, params, api.CreatePaymentLinkRequest{Description: "x", Amount: eur("1.00")})
	if err != nil || again.HALJSON201 == nil || again.HALJSON201.Id != first.HALJSON201.Id {
		t.Errorf("repeated: %v %s, want %s again", err, again.Body, first.HALJSON201.Id)
	}
	other, err := e.client.CreatePaymentLinkWithResponse(ctx, params, api.CreatePaymentLinkRequest{Description: "y", Amount: eur("1.00")})
	if err != nil || other.StatusCode() != http.StatusUnprocessableEntity || !strings.Contains(string(other.Body), `"field":"Idempotency-Key"`) {
		t.Errorf("another request with the key: %v %d %s", err, other.StatusCode(), other.Body)
	}
	list, err := e.client.ListPaymentLinksWithResponse(ctx, nil)
	if err != nil || list.HALJSON200 == nil || len(list.HALJSON200.UnderscoreEmbedded.PaymentLinks) != 1 {
		t.Errorf("list: %v %s, want the one link", err, list.Body)
	}
}

// TestLinkCap fills a sandbox with a small cap: the next create is refused with Mollie's own 429
// error body, and no link is forgotten.
func TestLinkCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{MaxLinks: 2})
	a := e.create(t, api.CreatePaymentLinkRequest{Description: "One", Amount: eur("1.00")})
	b := e.create(t, api.CreatePaymentLinkRequest{Description: "Two", Amount: eur("1.00")})
	res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), nil, api.CreatePaymentLinkRequest{Description: "Three", Amount: eur("1.00")})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 429 || !strings.Contains(string(res.Body), "maximum of 2 payment links") {
		t.Errorf("create beyond the cap: %d %s, want 429 in Mollie's error shape", res.StatusCode(), res.Body)
	}
	for _, id := range []string{a.Id, b.Id} {
		if got, err := e.client.GetPaymentLinkWithResponse(context.Background(), id, nil); err != nil || got.StatusCode() != 200 {
			t.Errorf("link %s after the refused create: %v", id, err)
		}
	}
}
