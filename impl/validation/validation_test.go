package validation_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/validation"
)

func spec(t testing.TB, get func() (*openapi3.T, error)) *validation.Spec {
	t.Helper()
	doc, err := get()
	if err != nil {
		t.Fatal(err)
	}
	s, err := validation.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidateRequest(t *testing.T) {
	t.Parallel()
	s := spec(t, paylinks.GetSpec)
	tests := []struct {
		name, method, target, body string
		header                     map[string]string
		kind                       validation.Kind
		field                      string // "" = valid
	}{
		{"valid create", "POST", "/v1/payment-links", `{"provider":"hub2","amount":{"currency":"XOF","value":"1000"}}`, nil, 0, ""},
		{"valid list", "GET", "/v1/payment-links?limit=5&status=active", "", nil, 0, ""},
		{"bad JSON", "POST", "/v1/payment-links", `{"provider":`, nil, validation.Malformed, "body"},
		{"missing required", "POST", "/v1/payment-links", `{}`, nil, validation.Invalid, "/provider"},
		{"nested pattern", "POST", "/v1/payment-links", `{"provider":"hub2","amount":{"currency":"xof","value":"1"}}`, nil, validation.Invalid, "/amount/currency"},
		{"case-variant duplicate", "POST", "/v1/payment-links", `{"provider":"hub2","amount":{"currency":"XOF","value":"1","VALUE":"2"}}`, nil, validation.Malformed, "/amount/VALUE"},
		{"duplicate in array item", "POST", "/v1/payment-links", `{"provider":"hub2","providerOptions":{"hub2":{"operators":["a"],"Operators":["b"]}}}`, nil, validation.Malformed, "/providerOptions/hub2/Operators"},
		{"query out of range", "GET", "/v1/payment-links?limit=0", "", nil, validation.Malformed, "query.limit"},
		{"query enum", "GET", "/v1/payment-links?status=paid", "", nil, validation.Malformed, "query.status"},
		{"header too long", "POST", "/v1/payment-links", `{"provider":"hub2"}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}, validation.Malformed, "header.Idempotency-Key"},
		{"wrong content type", "POST", "/v1/payment-links", `provider=hub2`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, validation.Malformed, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			op, err := s.Find(r)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			err = s.ValidateRequest(context.Background(), op, body)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				return
			}
			var ve *validation.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v, want a *validation.Error", err)
			}
			if ve.Kind != tt.kind {
				t.Errorf("kind %d, want %d (%v)", ve.Kind, tt.kind, ve)
			}
			found := false
			for _, v := range ve.Violations {
				found = found || (v.Field == tt.field && v.Reason != "")
			}
			if !found {
				t.Errorf("violations %+v do not name %s", ve.Violations, tt.field)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	s := spec(t, paylinks.GetSpec)
	tests := []struct {
		method, path string
		op           string
		kind         validation.Kind
	}{
		{"GET", "/v1/payment-links/abc", "GetPaymentLink", 0},
		{"POST", "/v1/payment-links/abc/close", "ClosePaymentLink", 0},
		{"DELETE", "/v1/payment-links/abc", "", validation.NoMethod},
		{"PUT", "/v1/payment-links", "", validation.NoMethod},
		{"GET", "/v1/refunds", "", validation.NoRoute},
		{"POST", "/v1/payment-links//close", "", validation.NoRoute},
	}
	for _, tt := range tests {
		op, err := s.Find(httptest.NewRequest(tt.method, tt.path, nil))
		if tt.op != "" {
			if err != nil || op.ID() != tt.op {
				t.Errorf("%s %s: %v %v, want %s", tt.method, tt.path, op, err, tt.op)
			}
			continue
		}
		var ve *validation.Error
		if !errors.As(err, &ve) || ve.Kind != tt.kind {
			t.Errorf("%s %s: %v, want kind %d", tt.method, tt.path, err, tt.kind)
		}
	}
}

func TestTransport(t *testing.T) {
	t.Parallel()
	s := spec(t, mijnklantportaal.GetSpec)
	const valid = `{"id":"plk_abc","description":"d","currency":"EUR","amount":"12.95","reusable":false,"expiresAt":null,"status":"open","checkoutUrl":null,"createdAt":"2024-04-29T21:00:00+02:00"}`
	tests := []struct {
		name, body string
		status     int
		report     bool
		wantErr    bool
	}{
		{"valid answer", valid, 200, false, false},
		{"invalid answer", strings.Replace(valid, `"12.95"`, `12.95`, 1), 200, false, true},
		{"unknown status value", strings.Replace(valid, `"open"`, `"refunded"`, 1), 200, false, true},
		{"undocumented status", `{"message":"teapot"}`, 418, false, true},
		{"undocumented outage", `oops`, 503, false, false},
		{"invalid answer in report mode", strings.Replace(valid, `"12.95"`, `12.95`, 1), 200, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/payment-links/plk_abc" {
					t.Errorf("path %s", r.URL.Path)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer up.Close()
			reported := 0
			c := &http.Client{Transport: &validation.Transport{Spec: s, Prefix: "/v1", Report: tt.report,
				OnViolation: func(context.Context, string, *validation.ContractError) { reported++ }}}
			res, err := c.Get(up.URL + "/v1/payment-links/plk_abc")
			if tt.wantErr {
				var ce *validation.ContractError
				if !errors.As(err, &ce) || !errors.Is(paylink.TransportError("mijnklantportaal", err), paylink.ErrContractViolation) {
					t.Fatalf("err %v, want a contract violation, read as one by the domain", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if tt.report && reported != 1 {
				t.Errorf("reported %d violations, want 1", reported)
			}
		})
	}
}

// A closed answer body must never show bytes of a later answer that reuses its buffer.
func TestAnswerBodyAfterCloseReadsNothing(t *testing.T) {
	t.Parallel()
	s := spec(t, mijnklantportaal.GetSpec)
	link := `{"id":"plk_00000000000001","description":"x","currency":"EUR","amount":"1.00","reusable":false,"status":"open","expiresAt":"2030-05-14T21:00:00+02:00","checkoutUrl":"https://x.example/p","createdAt":"2024-04-29T21:00:00+02:00"}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(link))
	}))
	defer up.Close()
	c := &http.Client{Transport: &validation.Transport{Spec: s}}
	res, err := c.Get(up.URL + "/payment-links/plk_00000000000001")
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 10)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	again, err := c.Get(up.URL + "/payment-links/plk_00000000000001")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Body.Close()
	if rest, _ := io.ReadAll(res.Body); len(rest) != 0 {
		t.Errorf("read %q from a closed answer", rest)
	}
	if b, _ := io.ReadAll(again.Body); string(b) != link {
		t.Errorf("second answer %q, want %q", b, link)
	}
}

// TestTransportRefusesRequestsOfNoOperation sends what a crafted link id makes of a close
// (`DELETE <base>/`, `PATCH <base>/close`) and other paths the spec does not have: none is sent, so
// no credential reaches an endpoint whose answer nothing can validate or redact.
func TestTransportRefusesRequestsOfNoOperation(t *testing.T) {
	t.Parallel()
	s := spec(t, mijnklantportaal.GetSpec)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s %s reached the provider", r.Method, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"message":"token Bearer s3cret-token-123 is invalid"}`))
	}))
	defer up.Close()
	c := &http.Client{Transport: &validation.Transport{Spec: s, Prefix: "/v1"}}
	for _, tt := range []struct{ method, path string }{
		{"DELETE", "/v1/"},
		{"DELETE", "/v1/payment-links"},
		{"PATCH", "/v1/close"},
		{"POST", "/v1/cancel"},
		{"GET", "/v1/admin"},
		{"GET", "/elsewhere/payment-links"}, // outside the base path
	} {
		req, _ := http.NewRequest(tt.method, up.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer s3cret-token-123")
		res, err := c.Do(req)
		var noe *validation.NoOperationError
		if !errors.As(err, &noe) {
			if res != nil {
				res.Body.Close()
			}
			t.Errorf("%s %s: %v, want a *NoOperationError", tt.method, tt.path, err)
		}
	}
}
