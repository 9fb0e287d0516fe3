package mijnklantportaal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	mkp "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/validation"
)

// t0 is 21:00 in Amsterdam (CEST, +02:00), the time of the docs' examples.
var t0 = time.Date(2024, 4, 29, 19, 0, 0, 0, time.UTC)

const (
	token    = "test-token"
	checkout = "https://sandbox.test/checkout"
	mount    = "/sandbox/mijnklantportaal"
)

// env is a sandbox served over HTTP under /sandbox, and the generated client talking to it through
// a transport that fails every call whose answer breaks the spec.
type env struct {
	sb     *mkp.Sandbox
	clock  *sandbox.Clock
	srv    *httptest.Server
	http   *http.Client // validating; no credentials
	client *api.ClientWithResponses
}

func newEnv(t *testing.T, seed uint64) *env {
	t.Helper()
	return newEnvWith(t, sandbox.Config{Seed: seed})
}

// newEnvWith is newEnv with more of the sandbox's configuration.
func newEnvWith(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	clock := sandbox.NewClock(t0)
	cfg.Clock, cfg.CheckoutBase, cfg.Credentials = clock, checkout, []string{token}
	sb := mkp.New(cfg)
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sb))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: &validation.Transport{Spec: spec(t), Prefix: mount}}
	c, err := api.NewClientWithResponses(srv.URL+mount, api.WithHTTPClient(hc), api.WithRequestEditorFn(bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, clock: clock, srv: srv, http: hc, client: c}
}

func spec(t *testing.T) *validation.Spec {
	t.Helper()
	doc, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	s, err := validation.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(tok string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

func date(s string) *openapi_types.Date {
	d, err := time.Parse(openapi_types.DateFormat, s)
	if err != nil {
		panic(err)
	}
	return &openapi_types.Date{Time: d}
}

func (e *env) create(t *testing.T, body api.CreatePaymentLinkRequest) api.PaymentLink {
	t.Helper()
	res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON201 == nil {
		t.Fatalf("create: %d %s", res.StatusCode(), res.Body)
	}
	return *res.JSON201
}

func (e *env) get(t *testing.T, id string) *api.GetPaymentLinkResponse {
	t.Helper()
	res, err := e.client.GetPaymentLinkWithResponse(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// raw decodes a JSON object so tests can check values exactly as they are on the wire.
func raw(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return m
}

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body api.CreatePaymentLinkRequest
		want map[string]any // wire values of the created link, checked on create and on get
	}{
		{
			name: "single-use with expiry date in summer time",
			body: api.CreatePaymentLinkRequest{Description: "Contribution costs", Amount: "12.95", ExpiresAt: date("2024-05-14")},
			want: map[string]any{"description": "Contribution costs", "amount": "12.95", "currency": "EUR", "reusable": false,
				"status": "open", "createdAt": "2024-04-29T21:00:00+02:00", "expiresAt": "2024-05-15T00:00:00+02:00"},
		},
		{
			name: "expiry date in winter time carries +01:00",
			body: api.CreatePaymentLinkRequest{Description: "Winter", Amount: "1.00", ExpiresAt: date("2024-12-01")},
			want: map[string]any{"expiresAt": "2024-12-02T00:00:00+01:00", "status": "open"},
		},
		{
			name: "expiry today ends at midnight tonight",
			body: api.CreatePaymentLinkRequest{Description: "Today", Amount: "1.00", ExpiresAt: date("2024-04-29")},
			want: map[string]any{"expiresAt": "2024-04-30T00:00:00+02:00"},
		},
		{
			name: "reusable without expiry",
			body: api.CreatePaymentLinkRequest{Description: "Membership fee", Amount: "25.00", Reusable: ptr(true)},
			want: map[string]any{"reusable": true, "expiresAt": nil, "amount": "25.00"},
		},
		{
			name: "description trimmed and amount normalised, as Laravel stores them",
			body: api.CreatePaymentLinkRequest{Description: "  Padded  ", Amount: "012.50", Reusable: ptr(false)},
			want: map[string]any{"description": "Padded", "amount": "12.50", "reusable": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != http.StatusCreated || res.JSON201 == nil {
				t.Fatalf("create: %d %s", res.StatusCode(), res.Body)
			}
			id := res.JSON201.Id
			if !strings.HasPrefix(id, "plk_") || len(id) != len("plk_")+14 {
				t.Errorf("id %q: want plk_ and 14 characters", id)
			}
			got := e.get(t, id)
			if got.StatusCode() != http.StatusOK {
				t.Fatalf("get: %d %s", got.StatusCode(), got.Body)
			}
			for _, body := range [][]byte{res.Body, got.Body} {
				m := raw(t, body)
				for k, v := range tt.want {
					if m[k] != v {
						t.Errorf("%s = %#v, want %#v", k, m[k], v)
					}
				}
				if want := checkout + "/mijnklantportaal/" + id; m["checkoutUrl"] != want {
					t.Errorf("checkoutUrl = %v, want %s", m["checkoutUrl"], want)
				}
			}
		})
	}
}

func TestCreateRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		wantFields  []string // keys of errors, sorted
		wantMessage string
	}{
		{"empty object", "application/json", `{}`, []string{"amount", "description"}, "The description field is required. (and 1 more error)"},
		{"amount with one decimal", "application/json", `{"description":"x","amount":"12.9"}`, []string{"amount"}, "The amount field format is invalid."},
		{"numeric amount", "application/json", `{"description":"x","amount":12.95}`, []string{"amount"}, "The amount field must be a string."},
		{"zero amount", "application/json", `{"description":"x","amount":"0.00"}`, []string{"amount"}, "The amount field must be at least 0.01."},
		{"amount beyond int64 cents", "application/json", `{"description":"x","amount":"99999999999999999999.99"}`, []string{"amount"}, "The amount field format is invalid."},
		{"empty description", "application/json", `{"description":"","amount":"1.00"}`, []string{"description"}, "The description field is required."},
		{"blank description", "application/json", `{"description":"   ","amount":"1.00"}`, []string{"description"}, "The description field is required."},
		{"description over 255", "application/json", `{"description":"` + strings.Repeat("a", 256) + `","amount":"1.00"}`, []string{"description"}, "The description field must not be greater than 255 characters."},
		{"expiry not a date", "application/json", `{"description":"x","amount":"1.00","expiresAt":"tomorrow"}`, []string{"expiresAt"}, "The expires at field must be a valid date."},
		{"expiry impossible date", "application/json", `{"description":"x","amount":"1.00","expiresAt":"2024-02-30"}`, []string{"expiresAt"}, "The expires at field must be a valid date."},
		{"expiry date-time", "application/json", `{"description":"x","amount":"1.00","expiresAt":"2024-05-14T12:00:00Z"}`, []string{"expiresAt"}, "The expires at field must be a valid date."},
		{"expiry yesterday", "application/json", `{"description":"x","amount":"1.00","expiresAt":"2024-04-28"}`, []string{"expiresAt"}, "The expires at field must be a date after or equal to today."},
		{"reusable not a boolean", "application/json", `{"description":"x","amount":"1.00","reusable":"yes"}`, []string{"reusable"}, "The reusable field must be true or false."},
		{"duplicate key differing in case", "application/json", `{"description":"x","Description":"y","amount":"1.00"}`, []string{"Description"}, ""},
		{"not JSON", "application/json", `description=x`, []string{"body"}, ""},
		{"array", "application/json", `[]`, []string{"body"}, ""},
		{"form encoded", "application/x-www-form-urlencoded", `description=x&amount=1.00`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			res, err := e.client.CreatePaymentLinkWithBodyWithResponse(context.Background(), tt.contentType, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != http.StatusUnprocessableEntity || res.JSON422 == nil {
				t.Fatalf("status %d, want 422: %s", res.StatusCode(), res.Body)
			}
			if tt.wantMessage != "" && res.JSON422.Message != tt.wantMessage {
				t.Errorf("message %q, want %q", res.JSON422.Message, tt.wantMessage)
			}
			if res.JSON422.Message == "" {
				t.Error("empty message")
			}
			var fields []string
			if res.JSON422.Errors != nil {
				for k := range *res.JSON422.Errors {
					fields = append(fields, k)
				}
			}
			slices.Sort(fields)
			if tt.wantFields != nil && !slices.Equal(fields, tt.wantFields) {
				t.Errorf("error fields %v, want %v (%s)", fields, tt.wantFields, res.Body)
			}
			if strings.Contains(string(res.Body), "Schema") {
				t.Errorf("error echoes the schema: %s", res.Body)
			}
			list, err := e.client.ListPaymentLinksWithResponse(context.Background(), nil)
			if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 0 {
				t.Errorf("a refused create left a link behind: %v %s", err, list.Body)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	link := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00"})
	ops := map[string]func(api.RequestEditorFn) (int, []byte, error){
		"create": func(ed api.RequestEditorFn) (int, []byte, error) {
			r, err := e.client.CreatePaymentLinkWithResponse(context.Background(), api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00"}, ed)
			return status(r, err)
		},
		"list": func(ed api.RequestEditorFn) (int, []byte, error) {
			r, err := e.client.ListPaymentLinksWithResponse(context.Background(), nil, ed)
			return status(r, err)
		},
		"get": func(ed api.RequestEditorFn) (int, []byte, error) {
			r, err := e.client.GetPaymentLinkWithResponse(context.Background(), link.Id, ed)
			return status(r, err)
		},
		"close": func(ed api.RequestEditorFn) (int, []byte, error) {
			r, err := e.client.ClosePaymentLinkWithResponse(context.Background(), link.Id, ed)
			return status(r, err)
		},
		"payments": func(ed api.RequestEditorFn) (int, []byte, error) {
			r, err := e.client.ListPaymentLinkPaymentsWithResponse(context.Background(), link.Id, nil, ed)
			return status(r, err)
		},
	}
	headers := map[string]string{
		"missing":        "",
		"wrong token":    "Bearer nope",
		"wrong scheme":   "Basic " + token,
		"no token":       "Bearer ",
		"token only":     token,
		"unknown prefix": "Token " + token,
	}
	for op, call := range ops {
		for name, h := range headers {
			t.Run(op+"/"+name, func(t *testing.T) {
				code, body, err := call(func(_ context.Context, r *http.Request) error {
					if h == "" {
						r.Header.Del("Authorization")
					} else {
						r.Header.Set("Authorization", h)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if code != http.StatusUnauthorized || raw(t, body)["message"] != "Unauthenticated." {
					t.Errorf("%d %s, want 401 Unauthenticated.", code, body)
				}
			})
		}
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		r, err := e.client.GetPaymentLinkWithResponse(context.Background(), link.Id, func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "bearer "+token)
			return nil
		})
		if err != nil || r.StatusCode() != http.StatusOK {
			t.Fatalf("%v %d", err, r.StatusCode())
		}
	})
	t.Run("any token without configured credentials", func(t *testing.T) {
		srv := httptest.NewServer(mkp.New(sandbox.Config{}).Handler())
		defer srv.Close()
		c, _ := api.NewClientWithResponses(srv.URL, api.WithHTTPClient(&http.Client{Transport: &validation.Transport{Spec: spec(t)}}))
		r, err := c.ListPaymentLinksWithResponse(context.Background(), nil, bearer("anything"))
		if err != nil || r.StatusCode() != http.StatusOK {
			t.Fatalf("%v %d", err, r.StatusCode())
		}
		r, err = c.ListPaymentLinksWithResponse(context.Background(), nil)
		if err != nil || r.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("without a token: %v %d", err, r.StatusCode())
		}
	})
}

type response interface {
	StatusCode() int
	GetBody() []byte
}

func status(r response, err error) (int, []byte, error) {
	if err != nil {
		return 0, nil, err
	}
	return r.StatusCode(), r.GetBody(), nil
}

func TestUnknownLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	ctx := context.Background()
	for _, id := range []string{"plk_doesnotexist00", "nothing-like-an-id", "plk_%2F..", "ü"} {
		t.Run(id, func(t *testing.T) {
			get, err := e.client.GetPaymentLinkWithResponse(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := e.client.ClosePaymentLinkWithResponse(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			pay, err := e.client.ListPaymentLinkPaymentsWithResponse(ctx, id, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []*api.ApiError{get.JSON404, cl.JSON404, pay.JSON404} {
				if got == nil || got.Message != "No Payment Link can be found for the given ID" {
					t.Errorf("want 404 with the documented message, got %+v (%d %d %d)", got, get.StatusCode(), cl.StatusCode(), pay.StatusCode())
				}
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare brings a fresh link into the state under test.
		prepare     func(t *testing.T, e *env, id string)
		reusable    bool
		wantStatus  int
		wantMessage string
	}{
		{name: "open single-use", prepare: func(*testing.T, *env, string) {}, wantStatus: http.StatusOK},
		{name: "open reusable after payments", reusable: true, prepare: func(t *testing.T, e *env, id string) { pay(t, e, id, 2) }, wantStatus: http.StatusOK},
		{name: "already closed", prepare: func(t *testing.T, e *env, id string) { closeOK(t, e, id) }, wantStatus: http.StatusUnprocessableEntity, wantMessage: "Payment Link is already closed"},
		{name: "paid", prepare: func(t *testing.T, e *env, id string) { pay(t, e, id, 1) }, wantStatus: http.StatusUnprocessableEntity, wantMessage: "Payment Link is already paid"},
		{name: "expired", prepare: func(t *testing.T, e *env, id string) { advance(t, e, 30*24*time.Hour) }, wantStatus: http.StatusUnprocessableEntity, wantMessage: "Payment Link has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00", Reusable: &tt.reusable, ExpiresAt: date("2024-05-14")})
			tt.prepare(t, e, l.Id)
			before := e.get(t, l.Id).JSON200
			res, err := e.client.ClosePaymentLinkWithResponse(context.Background(), l.Id)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode(), tt.wantStatus, res.Body)
			}
			after := e.get(t, l.Id).JSON200
			if tt.wantStatus == http.StatusOK {
				if res.JSON200.Status != api.PaymentLinkStatusClosed || res.JSON200.CheckoutUrl != nil || raw(t, res.Body)["checkoutUrl"] != nil {
					t.Errorf("closed link: %s", res.Body)
				}
				if after.Status != api.PaymentLinkStatusClosed {
					t.Errorf("after close, get says %s", after.Status)
				}
				return
			}
			if res.JSON422 == nil || res.JSON422.Message != tt.wantMessage {
				t.Errorf("422 body %s, want message %q", res.Body, tt.wantMessage)
			}
			if after.Status != before.Status {
				t.Errorf("a refused close changed the status from %s to %s", before.Status, after.Status)
			}
		})
	}
}

func pay(t *testing.T, e *env, id string, n int) {
	t.Helper()
	for range n {
		if err := e.sb.Pay(id); err != nil {
			t.Fatal(err)
		}
	}
}

func closeOK(t *testing.T, e *env, id string) {
	t.Helper()
	res, err := e.client.ClosePaymentLinkWithResponse(context.Background(), id)
	if err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("close: %v %d", err, res.StatusCode())
	}
}

func advance(t *testing.T, e *env, d time.Duration) {
	t.Helper()
	if err := e.clock.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// pageNumber reads the page query parameter of a page URL.
func pageNumber(t *testing.T, u string) int {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p.Query().Get("page"))
	if err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return n
}

func TestListAllPages(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 15, 16, 40} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 7)
			var created []string
			for i := range n {
				created = append(created, e.create(t, api.CreatePaymentLinkRequest{Description: fmt.Sprint("link ", i), Amount: "1.00"}).Id)
				if i%3 == 0 {
					advance(t, e, time.Second) // some links share a creation second: order must still be total
				}
			}
			slices.Reverse(created) // newest first
			endpoint := e.srv.URL + mount + "/payment-links"
			var seen []string
			page := 1
			for {
				res, err := e.client.ListPaymentLinksWithResponse(context.Background(), &api.ListPaymentLinksParams{Page: &page})
				if err != nil {
					t.Fatal(err)
				}
				p := res.JSON200
				if p == nil {
					t.Fatalf("page %d: %d %s", page, res.StatusCode(), res.Body)
				}
				if p.CurrentPage != page || p.PerPage != 15 || p.Path != endpoint || p.FirstPageUrl != endpoint+"?page=1" {
					t.Errorf("page %d envelope: %s", page, res.Body)
				}
				if len(p.Data) > 15 || (len(p.Data) == 0 && (p.From != nil || p.To != nil)) {
					t.Errorf("page %d: %d items, from %v to %v", page, len(p.Data), p.From, p.To)
				}
				if len(p.Data) > 0 && (*p.From != len(seen)+1 || *p.To != len(seen)+len(p.Data)) {
					t.Errorf("page %d: from %d to %d after %d items", page, *p.From, *p.To, len(seen))
				}
				if page == 1 && p.PrevPageUrl != nil {
					t.Errorf("page 1 has prev %s", *p.PrevPageUrl)
				}
				if page > 1 && (p.PrevPageUrl == nil || *p.PrevPageUrl != endpoint+"?page="+strconv.Itoa(page-1)) {
					t.Errorf("page %d prev %v", page, p.PrevPageUrl)
				}
				for _, l := range p.Data {
					seen = append(seen, l.Id)
				}
				if p.NextPageUrl == nil {
					break
				}
				if *p.NextPageUrl != endpoint+"?page="+strconv.Itoa(page+1) {
					t.Fatalf("next %s", *p.NextPageUrl)
				}
				page = pageNumber(t, *p.NextPageUrl)
			}
			if !slices.Equal(seen, created) {
				t.Errorf("listed %v\nwant    %v", seen, created)
			}
			if want := max(1, (n+14)/15); page != want {
				t.Errorf("%d pages, want %d", page, want)
			}
			// One page past the end: empty, from/to null, still pointing back.
			past := page + 1
			res, err := e.client.ListPaymentLinksWithResponse(context.Background(), &api.ListPaymentLinksParams{Page: &past})
			if err != nil {
				t.Fatal(err)
			}
			m := raw(t, res.Body)
			if len(res.JSON200.Data) != 0 || m["from"] != nil || m["to"] != nil || m["next_page_url"] != nil || m["prev_page_url"] != endpoint+"?page="+strconv.Itoa(page) {
				t.Errorf("page past the end: %s", res.Body)
			}
		})
	}
}

func TestListPageURLs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	for range 16 {
		e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00"})
	}
	direct := httptest.NewServer(e.sb.Handler()) // same sandbox, not mounted under a prefix
	t.Cleanup(direct.Close)
	tests := []struct {
		name     string
		base     string
		query    string
		header   map[string]string
		wantPage int
		wantPath string
	}{
		{"mounted", e.srv.URL + mount, "", nil, 1, e.srv.URL + mount + "/payment-links"},
		{"not mounted", direct.URL, "page=2", nil, 2, direct.URL + "/payment-links"},
		{"forwarded https", e.srv.URL + mount, "", map[string]string{"X-Forwarded-Proto": "https"}, 1, "https://" + strings.TrimPrefix(e.srv.URL, "http://") + mount + "/payment-links"},
		{"forwarded list", e.srv.URL + mount, "", map[string]string{"X-Forwarded-Proto": "https, http"}, 1, "https://" + strings.TrimPrefix(e.srv.URL, "http://") + mount + "/payment-links"},
		{"page not a number means page 1", e.srv.URL + mount, "page=abc", nil, 1, e.srv.URL + mount + "/payment-links"},
		{"page 0 means page 1", e.srv.URL + mount, "page=0", nil, 1, e.srv.URL + mount + "/payment-links"},
		{"last page value counts", e.srv.URL + mount, "page=1&page=2", nil, 2, e.srv.URL + mount + "/payment-links"},
		{"other query parameters are not carried", e.srv.URL + mount, "page=1&status=open", nil, 1, e.srv.URL + mount + "/payment-links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.base+"/payment-links?"+tt.query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			hc := &http.Client{Transport: &validation.Transport{Spec: spec(t), Prefix: strings.TrimPrefix(tt.base, e.srv.URL)}}
			if tt.base == direct.URL {
				hc.Transport.(*validation.Transport).Prefix = ""
			}
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var p api.PaymentLinkPage
			if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK || p.CurrentPage != tt.wantPage || p.Path != tt.wantPath || p.FirstPageUrl != tt.wantPath+"?page=1" {
				t.Errorf("%d page %d path %s first %s", res.StatusCode, p.CurrentPage, p.Path, p.FirstPageUrl)
			}
			if tt.wantPage == 1 && (p.NextPageUrl == nil || *p.NextPageUrl != tt.wantPath+"?page=2") {
				t.Errorf("next %v", p.NextPageUrl)
			}
		})
	}
}

func TestPayments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("single-use becomes paid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1)
		l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "12.95"})
		advance(t, e, time.Hour)
		if err := e.sb.Pay(l.Id); err != nil {
			t.Fatal(err)
		}
		got := e.get(t, l.Id)
		if got.JSON200.Status != api.PaymentLinkStatusPaid || raw(t, got.Body)["checkoutUrl"] != nil {
			t.Errorf("after pay: %s", got.Body)
		}
		if err := e.sb.Pay(l.Id); !errors.Is(err, sandbox.ErrNotPayable) {
			t.Errorf("second pay: %v, want ErrNotPayable", err)
		}
		res, err := e.client.ListPaymentLinkPaymentsWithResponse(ctx, l.Id, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := res.JSON200
		if len(p.Data) != 1 {
			t.Fatalf("payments: %s", res.Body)
		}
		pm := raw(t, res.Body)["data"].([]any)[0].(map[string]any)
		if !strings.HasPrefix(pm["id"].(string), "plp_") || pm["paymentLinkId"] != l.Id || pm["status"] != "paid" ||
			pm["amount"] != "12.95" || pm["currency"] != "EUR" || pm["integration"] != "sandbox" || pm["createdAt"] != "2024-04-29T22:00:00+02:00" {
			t.Errorf("payment: %v", pm)
		}
		if want := e.srv.URL + mount + "/payment-links/" + l.Id + "/payments"; p.Path != want || p.NextPageUrl != nil {
			t.Errorf("payments envelope: %s", res.Body)
		}
	})
	t.Run("reusable stays open, payments newest first over pages", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1)
		l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "5.00", Reusable: ptr(true)})
		for range 17 {
			pay(t, e, l.Id, 1)
			advance(t, e, time.Minute)
		}
		got := e.get(t, l.Id).JSON200
		if got.Status != api.PaymentLinkStatusOpen || got.CheckoutUrl == nil {
			t.Errorf("reusable after payments: %+v", got)
		}
		var all []api.PaymentLinkPayment
		for page := 1; ; page++ {
			res, err := e.client.ListPaymentLinkPaymentsWithResponse(ctx, l.Id, &api.ListPaymentLinkPaymentsParams{Page: &page})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, res.JSON200.Data...)
			if res.JSON200.NextPageUrl == nil {
				break
			}
		}
		if len(all) != 17 {
			t.Fatalf("%d payments, want 17", len(all))
		}
		for i := 1; i < len(all); i++ {
			if !all[i-1].CreatedAt.After(all[i].CreatedAt) {
				t.Errorf("payments not newest first at %d", i)
			}
		}
	})
	t.Run("fail leaves the link payable and records nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1)
		l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "5.00"})
		before := e.get(t, l.Id).Body
		if err := e.sb.Fail(l.Id); err != nil {
			t.Fatal(err)
		}
		if after := e.get(t, l.Id).Body; !bytes.Equal(before, after) {
			t.Errorf("fail changed the link: %s → %s", before, after)
		}
		res, _ := e.client.ListPaymentLinkPaymentsWithResponse(ctx, l.Id, nil)
		if len(res.JSON200.Data) != 0 {
			t.Errorf("payments after fail: %s", res.Body)
		}
	})
	t.Run("control operations on unknown and closed links", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1)
		for _, op := range []func(string) error{e.sb.Pay, e.sb.Fail} {
			if err := op("plk_nope"); !errors.Is(err, sandbox.ErrNoLink) {
				t.Errorf("unknown: %v", err)
			}
		}
		l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "5.00", Reusable: ptr(true)})
		closeOK(t, e, l.Id)
		for _, op := range []func(string) error{e.sb.Pay, e.sb.Fail} {
			if err := op(l.Id); !errors.Is(err, sandbox.ErrNotPayable) {
				t.Errorf("closed: %v", err)
			}
		}
	})
}

// TestControlAPI drives the lifecycle over HTTP, as a demo or a test in another language would.
func TestControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Contribution costs", Amount: "12.95", ExpiresAt: date("2024-04-30")})
	post := func(path string) (int, map[string]any) {
		res, err := http.Post(e.srv.URL+mount+"/_control"+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw(t, b)
	}
	if code, body := post("/links/plk_nope/pay"); code != http.StatusNotFound {
		t.Errorf("pay unknown: %d %v", code, body)
	}
	if code, body := post("/links/" + l.Id + "/fail"); code != http.StatusOK || body["Payable"] != true {
		t.Errorf("fail: %d %v", code, body)
	}
	if code, body := post("/links/" + l.Id + "/pay"); code != http.StatusOK || body["Status"] != "paid" || body["Amount"] != "12.95 EUR" {
		t.Errorf("pay: %d %v", code, body)
	}
	if code, body := post("/links/" + l.Id + "/pay"); code != http.StatusConflict {
		t.Errorf("pay again: %d %v", code, body)
	}
	// The checkout page shows the paid link without buttons.
	res, err := http.Get(e.srv.URL + "/sandbox/checkout/mijnklantportaal/" + l.Id)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "€12.95") || strings.Contains(string(page), `id="pay"`) {
		t.Errorf("checkout page: %d %s", res.StatusCode, page)
	}

	// Expiry over the control clock: a second link with the same date expires at midnight.
	l2 := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00", ExpiresAt: date("2024-04-30")})
	if code, body := post("/clock/advance?by=26h59m59s"); code != http.StatusOK || body["now"] != "2024-04-30T21:59:59Z" {
		t.Fatalf("advance: %d %v", code, body)
	}
	if got := e.get(t, l2.Id).JSON200; got.Status != api.PaymentLinkStatusOpen {
		t.Errorf("one second before the end of the day: %s", got.Status)
	}
	post("/clock/advance?by=1s")
	if got := e.get(t, l2.Id); got.JSON200.Status != api.PaymentLinkStatusExpired || raw(t, got.Body)["checkoutUrl"] != nil {
		t.Errorf("at the end of the day: %s", got.Body)
	}
	if code, _ := post("/links/" + l2.Id + "/pay"); code != http.StatusConflict {
		t.Errorf("paying an expired link: %d", code)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expires string
		// endOfDay is the instant the link must expire (the end of the date in Amsterdam).
		endOfDay time.Time
	}{
		{"summer", "2024-05-14", time.Date(2024, 5, 14, 22, 0, 0, 0, time.UTC)},
		{"winter", "2024-12-01", time.Date(2024, 12, 1, 23, 0, 0, 0, time.UTC)},
		{"last day of summer time", "2024-10-27", time.Date(2024, 10, 27, 23, 0, 0, 0, time.UTC)},
		{"today", "2024-04-29", time.Date(2024, 4, 29, 22, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			l := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00", ExpiresAt: date(tt.expires)})
			if !l.ExpiresAt.Equal(tt.endOfDay) {
				t.Errorf("expiresAt %s, want %s", l.ExpiresAt, tt.endOfDay)
			}
			advance(t, e, tt.endOfDay.Sub(t0)-time.Second)
			if s := e.get(t, l.Id).JSON200.Status; s != api.PaymentLinkStatusOpen {
				t.Errorf("a second before: %s", s)
			}
			advance(t, e, time.Second)
			// The list evaluates expiry too, not only get.
			res, _ := e.client.ListPaymentLinksWithResponse(context.Background(), nil)
			if s := res.JSON200.Data[0].Status; s != api.PaymentLinkStatusExpired {
				t.Errorf("at expiry, list says %s", s)
			}
			if s := e.get(t, l.Id).JSON200.Status; s != api.PaymentLinkStatusExpired {
				t.Errorf("at expiry: %s", s)
			}
		})
	}
	t.Run("paid and closed links do not expire", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, 1)
		paid := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00", ExpiresAt: date("2024-04-29")})
		closed := e.create(t, api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00", ExpiresAt: date("2024-04-29")})
		pay(t, e, paid.Id, 1)
		closeOK(t, e, closed.Id)
		advance(t, e, 48*time.Hour)
		if s := e.get(t, paid.Id).JSON200.Status; s != api.PaymentLinkStatusPaid {
			t.Errorf("paid: %s", s)
		}
		if s := e.get(t, closed.Id).JSON200.Status; s != api.PaymentLinkStatusClosed {
			t.Errorf("closed: %s", s)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	const n = 60
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := e.client.CreatePaymentLinkWithResponse(context.Background(), api.CreatePaymentLinkRequest{Description: "x", Amount: "1.00", Reusable: ptr(i%2 == 0)})
			if err != nil || res.JSON201 == nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			ids[i] = res.JSON201.Id
			// Interleave reads, payments and clock moves with the creates.
			if _, err := e.client.ListPaymentLinksWithResponse(context.Background(), nil); err != nil {
				t.Error(err)
			}
			if err := e.sb.Pay(ids[i]); err != nil {
				t.Error(err)
			}
			if err := e.clock.Advance(time.Millisecond); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for page := 1; ; page++ {
		res, err := e.client.ListPaymentLinksWithResponse(context.Background(), &api.ListPaymentLinksParams{Page: &page})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range res.JSON200.Data {
			if seen[l.Id] {
				t.Errorf("%s listed twice", l.Id)
			}
			seen[l.Id] = true
		}
		if res.JSON200.NextPageUrl == nil {
			break
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("%q missing from the list", id)
		}
	}
	if len(seen) != n {
		t.Errorf("%d links listed, want %d", len(seen), n)
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	tests := []struct {
		method, path string
		wantStatus   int
		wantMessage  string
		wantAllow    string
	}{
		{http.MethodGet, "/payment-linkz", http.StatusNotFound, "The route payment-linkz could not be found.", ""},
		{http.MethodGet, "/", http.StatusNotFound, "The route / could not be found.", ""},
		{http.MethodGet, "/payment-links/", http.StatusNotFound, "The route payment-links could not be found.", ""},
		{http.MethodGet, "/payment-links//payments", http.StatusNotFound, "", ""},
		{http.MethodDelete, "/payment-links", http.StatusMethodNotAllowed, "The DELETE method is not supported for route payment-links. Supported methods: GET, HEAD, POST.", "GET, HEAD, POST"},
		{http.MethodPatch, "/payment-links/plk_x", http.StatusMethodNotAllowed, "The PATCH method is not supported for route payment-links/plk_x. Supported methods: GET, HEAD, DELETE.", "GET, HEAD, DELETE"},
		{http.MethodPut, "/payment-links", http.StatusMethodNotAllowed, "The PUT method is not supported for route payment-links. Supported methods: GET, HEAD, POST.", "GET, HEAD, POST"},
		{http.MethodPost, "/payment-links/plk_x/payments", http.StatusMethodNotAllowed, "", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+mount+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			// Not e.http: its validating transport sends no request the spec has no operation for.
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			m := raw(t, b)
			if res.StatusCode != tt.wantStatus || (tt.wantMessage != "" && m["message"] != tt.wantMessage) || m["message"] == nil {
				t.Errorf("%d %s", res.StatusCode, b)
			}
			if got := res.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
		})
	}
}

func TestCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	l := e.create(t, api.CreatePaymentLinkRequest{Description: "Contribution costs", Amount: "12.95"})
	c, err := e.sb.Checkout(l.Id)
	if err != nil {
		t.Fatal(err)
	}
	want := sandbox.Checkout{Provider: "mijnklantportaal", LinkID: l.Id, Description: "Contribution costs", Amount: "12.95 EUR", Status: "open", Payable: true}
	if c != want {
		t.Errorf("checkout %+v, want %+v", c, want)
	}
	if _, err := e.sb.Checkout("plk_nope"); !errors.Is(err, sandbox.ErrNoLink) {
		t.Errorf("unknown: %v", err)
	}
	if e.sb.Name() != "mijnklantportaal" || e.sb.Clock() != e.clock {
		t.Error("name or clock")
	}
}

func ptr[T any](v T) *T { return &v }

// TestLinkCap fills a sandbox with a small cap: the next create is refused with the portal's own
// 429 (a Retry-After long enough that nobody retries it blindly), and no link is forgotten.
func TestLinkCap(t *testing.T) {
	t.Parallel()
	c := newEnvWith(t, sandbox.Config{MaxLinks: 2}).client
	var ids []string
	for i := range 3 {
		res, err := c.CreatePaymentLinkWithResponse(context.Background(), api.CreatePaymentLinkRequest{Description: "Capped", Amount: "1.00"})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i < 2 && res.JSON201 != nil:
			ids = append(ids, res.JSON201.Id)
		case i < 2:
			t.Fatalf("create %d: %d %s", i, res.StatusCode(), res.Body)
		case res.JSON429 == nil || !strings.Contains(res.JSON429.Message, "maximum of 2 payment links") || res.HTTPResponse.Header.Get("Retry-After") != "3600":
			t.Errorf("create beyond the cap: %d %s %v, want 429 with Retry-After", res.StatusCode(), res.Body, res.HTTPResponse.Header)
		}
	}
	for _, id := range ids {
		if res, err := c.GetPaymentLinkWithResponse(context.Background(), id); err != nil || res.JSON200 == nil {
			t.Errorf("link %s after the refused create: %v %d", id, err, res.StatusCode())
		}
	}
}
