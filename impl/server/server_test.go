package server

import (
	"bytes"
	"context"
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
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
)

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

type testServer struct {
	*Server
	URL  string
	logs *syncBuffer
}

// start runs a real server on a loopback port until the test ends.
func start(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ts, _ := stoppable(t, cfg)
	return ts
}

func (ts *testServer) client(t testing.TB, key string) *api.ClientWithResponses {
	t.Helper()
	c, err := api.NewClientWithResponses(ts.URL, api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
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

// do sends a raw request and decodes a JSON answer.
func (ts *testServer) do(t *testing.T, method, path, key, body string, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, res.Header, out
}

// TestUnifiedLifecycleEveryProvider runs each kit's sample through the unified API on its sandbox:
// create, get, list (where the provider lists), close, close again.
func TestUnifiedLifecycleEveryProvider(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	c := ts.client(t, DemoAPIKey)
	ctx := context.Background()
	for _, k := range kits.All {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			sample := k.Sample()
			var body api.CreatePaymentLinkRequest
			if err := json.Unmarshal([]byte(sampleBody(t, k)), &body); err != nil {
				t.Fatal(err)
			}
			created, err := c.CreatePaymentLinkWithResponse(ctx, nil, body)
			if err != nil {
				t.Fatal(err)
			}
			if created.JSON201 == nil {
				t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
			}
			link := *created.JSON201
			if link.Provider != k.Name || link.Status != api.PaymentLinkStatusActive || link.Url == nil {
				t.Errorf("created %+v", link)
			}
			switch {
			case sample.Amount == nil && link.Amount != nil:
				t.Errorf("amount %+v, want none", link.Amount)
			case sample.Amount != nil && (link.Amount == nil || link.Amount.Value != sample.Amount.Value() || link.Amount.Minor != sample.Amount.Minor || link.Amount.Currency != sample.Amount.Currency):
				t.Errorf("amount %+v, want %s = %d minor", link.Amount, sample.Amount, sample.Amount.Minor)
			}

			got, err := c.GetPaymentLinkWithResponse(ctx, link.Id, nil)
			if err != nil || got.JSON200 == nil || got.JSON200.Id != link.Id {
				t.Fatalf("get: %v %d %s", err, got.StatusCode(), got.Body)
			}

			if p, _ := ts.Client().Provider(k.Name); p.Capabilities().Supports(paylink.OpList) {
				name := k.Name
				list, err := c.ListPaymentLinksWithResponse(ctx, &api.ListPaymentLinksParams{Provider: &name, Limit: ptr(100)})
				if err != nil || list.JSON200 == nil {
					t.Fatalf("list: %v %d %s", err, list.StatusCode(), list.Body)
				}
				found := false
				for _, x := range list.JSON200.Data {
					found = found || x.Id == link.Id
				}
				if !found {
					t.Errorf("list does not show %s", link.Id)
				}
			}

			closed, err := c.ClosePaymentLinkWithResponse(ctx, link.Id, nil)
			if err != nil || closed.JSON200 == nil || closed.JSON200.Status != api.PaymentLinkStatusClosed {
				t.Fatalf("close: %v %d %s", err, closed.StatusCode(), closed.Body)
			}
			again, err := c.ClosePaymentLinkWithResponse(ctx, link.Id, nil)
			if err != nil || again.ApplicationproblemJSON409 == nil || again.ApplicationproblemJSON409.Code != api.ProblemCodeAlreadyClosed {
				t.Fatalf("close again: %v %d %s", err, again.StatusCode(), again.Body)
			}
		})
	}
}

func TestRequestsWithoutKeyNeverReachAProvider(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	// The server subscribed on the sandboxes as it started; nothing after that may call one.
	before := grep(ts.get(t, "/metrics"), "paylinks_provider_calls_total{")
	for _, tt := range []struct{ method, path, key string }{
		{"GET", "/v1/payment-links", ""},
		{"GET", "/v1/payment-links", "wrong"},
		{"POST", "/v1/payment-links", ""},
		{"GET", "/v1/providers", ""},
		{"GET", "/providers/mijnklantportaal/payment-links", ""},
		{"DELETE", "/providers/mijnklantportaal/payment-links/plk_x", "nope"},
		{"GET", "/providers/hub2/payment-links", ""},
		{"POST", "/providers/telness/payment-links", ""},
	} {
		status, h, body := ts.do(t, tt.method, tt.path, tt.key, `{"provider":"hub2"}`, nil)
		if status != 401 || body["code"] != "unauthorized" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s key %q: %d %v", tt.method, tt.path, tt.key, status, body)
		}
	}
	if after := grep(ts.get(t, "/metrics"), "paylinks_provider_calls_total{"); after != before {
		t.Errorf("a provider was called:\n%s\nbefore:\n%s", after, before)
	}
}

func (ts *testServer) get(t *testing.T, path string) string {
	t.Helper()
	res, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grep(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestBadInputGetsProblemNamingTheField(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"syntax error", "POST", "/v1/payment-links", `{"provider":`, 400, "bad_request", "body"},
		{"missing provider", "POST", "/v1/payment-links", `{"description":"x"}`, 422, "validation_failed", "/provider"},
		{"unknown field", "POST", "/v1/payment-links", `{"provider":"hub2","colour":"red"}`, 422, "validation_failed", "/colour"},
		{"too many decimals", "POST", "/v1/payment-links", `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"EUR","value":"12.999"}}`, 422, "validation_failed", "/amount/value"},
		{"decimals in XOF", "POST", "/v1/payment-links", `{"provider":"hub2","reference":"r","amount":{"currency":"XOF","value":"10.5"},"providerOptions":{"hub2":{"country":"CI"}}}`, 422, "validation_failed", "/amount/value"},
		{"currency the provider does not take", "POST", "/v1/payment-links", `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"USD","value":"1.00"}}`, 422, "validation_failed", "/amount/currency"},
		{"unknown provider", "POST", "/v1/payment-links", `{"provider":"paypal","description":"x"}`, 422, "validation_failed", "/provider"},
		{"amount at telness", "POST", "/v1/payment-links", `{"provider":"telness","amount":{"currency":"EUR","value":"1.00"},"providerOptions":{"telness":{"orderId":"o"}}}`, 422, "unsupported_by_provider", "/amount"},
		{"options of another provider", "POST", "/v1/payment-links", `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"EUR","value":"1.00"},"providerOptions":{"hub2":{"country":"CI"}}}`, 422, "validation_failed", "/providerOptions/hub2"},
		{"case-variant duplicate key", "POST", "/v1/payment-links", `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"EUR","value":"1.00","Value":"999999.00"}}`, 400, "bad_request", "/amount/Value"},
		{"exact duplicate key", "POST", "/v1/payment-links", `{"provider":"mijnklantportaal","provider":"hub2","description":"x"}`, 400, "bad_request", "/provider"},
		{"limit out of range", "GET", "/v1/payment-links?limit=1000", "", 400, "bad_request", "query.limit"},
		{"unknown status", "GET", "/v1/payment-links?status=paid", "", 400, "bad_request", "query.status"},
		{"tampered cursor", "GET", "/v1/payment-links?cursor=abc.def", "", 422, "validation_failed", "query.cursor"},
		{"not a paylinks id", "GET", "/v1/payment-links/nonsense", "", 404, "not_found", ""},
		{"id of an unknown link", "GET", "/v1/payment-links/hub2_cGxfbm9uZQ", "", 404, "not_found", ""},
		{"unknown route", "GET", "/v1/refunds", "", 404, "not_found", ""},
		{"passthrough: invalid provider body", "POST", "/providers/mijnklantportaal/payment-links", `{"description":"x","amount":"12.9"}`, 422, "validation_failed", "/amount"},
		{"passthrough: unknown path", "GET", "/providers/hub2/refunds", "", 404, "not_found", ""},
		{"passthrough: unknown provider", "GET", "/providers/paypal/payment-links", "", 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, h, body := ts.do(t, tt.method, tt.path, DemoAPIKey, tt.body, nil)
			if status != tt.status || body["code"] != tt.code {
				t.Fatalf("%d %v, want %d %s", status, body, tt.status, tt.code)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("content type %q", ct)
			}
			if tt.field == "" {
				return
			}
			vs, _ := body["violations"].([]any)
			for _, v := range vs {
				if m, _ := v.(map[string]any); m["field"] == tt.field && m["reason"] != "" {
					return
				}
			}
			t.Errorf("no violation of %s in %v", tt.field, body)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	body := `{"provider":"mijnklantportaal","description":"Idempotent","amount":{"currency":"EUR","value":"5.00"}}`
	key := map[string]string{"Idempotency-Key": "create-1"}
	s1, h1, b1 := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, body, key)
	s2, h2, b2 := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, body, key)
	if s1 != 201 || s2 != 201 || b1["id"] != b2["id"] {
		t.Fatalf("first %d %v, replay %d %v", s1, b1, s2, b2)
	}
	if h1.Get("Idempotent-Replayed") == "true" || h2.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: first %q, replay %q", h1.Get("Idempotent-Replayed"), h2.Get("Idempotent-Replayed"))
	}
	s3, _, b3 := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, strings.Replace(body, "5.00", "6.00", 1), key)
	if s3 != 409 || b3["code"] != "idempotency_conflict" {
		t.Errorf("other request, same key: %d %v", s3, b3)
	}

	// Concurrent requests with one key: one provider create, one answer for all.
	before := countLinks(t, ts, "mijnklantportaal")
	ckey := map[string]string{"Idempotency-Key": "concurrent-1"}
	cbody := strings.Replace(body, "Idempotent", "Concurrent", 1)
	var wg sync.WaitGroup
	ids := make([]any, 20)
	for i := range ids {
		wg.Go(func() {
			status, _, b := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, cbody, ckey)
			if status != 201 {
				t.Errorf("concurrent create: %d %v", status, b)
			}
			ids[i] = b["id"]
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("different answers: %v", ids)
		}
	}
	if after := countLinks(t, ts, "mijnklantportaal"); after != before+1 {
		t.Errorf("%d links created, want 1", after-before)
	}
}

func countLinks(t *testing.T, ts *testServer, provider string) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		path := "/v1/payment-links?limit=100&provider=" + provider
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		status, _, b := ts.do(t, "GET", path, DemoAPIKey, "", nil)
		if status != 200 {
			t.Fatalf("list: %d %v", status, b)
		}
		data, _ := b["data"].([]any)
		n += len(data)
		next, _ := b["nextCursor"].(string)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// violatingHub2 is a Hub2 lookalike whose answers break the curated spec.
func violatingHub2(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/payment-links") {
			fmt.Fprint(w, `[{"id":"pl_1","status":"paid-ish"}]`)
			return
		}
		fmt.Fprint(w, `{"id":"pl_1","url":"https://pay.example/pl_1","status":"active","amount":"a lot"}`)
	}))
	t.Cleanup(up.Close)
	return up
}

func TestProviderAnswerViolatingItsSpec(t *testing.T) {
	t.Parallel()
	up := violatingHub2(t)
	hub2 := ProviderConfig{BaseURL: up.URL, Credentials: map[string]string{"api_key": "k", "merchant_id": "m", "environment": "sandbox"}}
	enforce := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{"hub2": hub2}})
	report := start(t, Config{APIKeys: []string{"key"}, Mode: Report, Providers: map[string]ProviderConfig{"hub2": hub2}})
	id := "hub2_cGxfMQ" // pl_1

	status, _, body := enforce.do(t, "GET", "/v1/payment-links/"+id, "key", "", nil)
	if status != 502 || body["code"] != "provider_contract_violation" || body["provider"] != "hub2" {
		t.Errorf("unified get: %d %v", status, body)
	}
	status, _, body = enforce.do(t, "GET", "/providers/hub2/payment-links/pl_1", "key", "", nil)
	if status != 502 || body["code"] != "provider_contract_violation" {
		t.Errorf("passthrough get: %d %v", status, body)
	}
	if strings.Contains(fmt.Sprint(body), "a lot") {
		t.Errorf("invalid provider data reached the caller: %v", body)
	}
	status, h, body := report.do(t, "GET", "/providers/hub2/payment-links/pl_1", "key", "", nil)
	if status != 200 || body["amount"] != "a lot" || h.Get(violationsHeader) == "" {
		t.Errorf("report mode passthrough: %d %v violations %q", status, body, h.Get(violationsHeader))
	}
	if m := enforce.get(t, "/metrics"); !strings.Contains(m, `paylinks_spec_violations_total{direction="response",operation="GetPaymentLink",spec="hub2"}`) {
		t.Errorf("violation not counted:\n%s", grep(m, "violations"))
	}
}

func TestConfigurationRules(t *testing.T) {
	t.Parallel()
	live := map[string]ProviderConfig{"telness": {BaseURL: "https://connect.example", Credentials: map[string]string{"api_key": "k"}}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"real provider without API keys", Config{Providers: live}, "PAYLINKS_API_KEYS"},
		{"missing credential", Config{APIKeys: []string{"k"}, Providers: map[string]ProviderConfig{"hub2": {BaseURL: "https://api.hub2.io"}}}, "PAYLINKS_HUB2_API_KEY"},
		{"relative base URL", Config{APIKeys: []string{"k"}, Providers: map[string]ProviderConfig{"telness": {BaseURL: "connect.example", Credentials: map[string]string{"api_key": "k"}}}}, "absolute"},
		{"unknown provider", Config{Providers: map[string]ProviderConfig{"paypal": {}}}, "unknown provider"},
		{"bad mode", Config{Mode: "strict"}, "enforce or report"},
		{"sandboxes only", Config{}, ""},
		{"real provider with keys", Config{APIKeys: []string{"k"}, Providers: live}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Logger = NewLogger(io.Discard, 0)
			srv, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := len(tt.cfg.Providers) == 0; srv.SandboxMode != want {
					t.Errorf("sandbox mode %v, want %v", srv.SandboxMode, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	ts.do(t, "GET", "/v1/providers", DemoAPIKey, "", nil)
	for _, tt := range []struct{ path, want string }{
		{"/healthz", `"ok"`},
		{"/readyz", `"ready"`},
		{"/openapi.yaml", "operationId: CreatePaymentLink"},
		{"/docs", `data-spec-url="/openapi.yaml"`},
		{"/metrics", `paylinks_http_requests_total{method="GET",route="/v1/providers",status="200"} 1`},
	} {
		if got := ts.get(t, tt.path); !strings.Contains(got, tt.want) {
			t.Errorf("%s does not contain %q:\n%.500s", tt.path, tt.want, got)
		}
	}
	status, _, body := ts.do(t, "GET", "/v1/providers", DemoAPIKey, "", nil)
	data, _ := body["data"].([]any)
	if status != 200 || len(data) != len(kits.All) {
		t.Fatalf("providers: %d %v", status, body)
	}
	for i, k := range kits.All {
		if p, _ := data[i].(map[string]any); p["name"] != k.Name || p["mode"] != "sandbox" {
			t.Errorf("provider %d: %v, want %s on its sandbox", i, p, k.Name)
		}
	}
}

func TestSecretsStayOutOfLogsAndAnswers(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-provider-key"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != secret {
			t.Errorf("provider got X-API-Key %q", r.Header.Get("X-API-Key"))
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the caller's Authorization reached the provider")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"message":"bad key","code":"unauthorized"}`)
	}))
	defer up.Close()
	ts := start(t, Config{APIKeys: []string{"caller-key-123"}, Providers: map[string]ProviderConfig{"telness": {BaseURL: up.URL, Credentials: map[string]string{"api_key": secret}}}})
	var answers []string
	for _, path := range []string{"/v1/payment-links/telness_bGlua18x", "/providers/telness/payment-links/link_1"} {
		status, h, body := ts.do(t, "GET", path, "caller-key-123", "", nil)
		answers = append(answers, fmt.Sprint(status, h, body))
	}
	if !strings.Contains(answers[0], "provider_auth_failed") {
		t.Errorf("unified answer: %s", answers[0])
	}
	all := strings.Join(answers, "\n") + ts.logs.String() + ts.get(t, "/metrics")
	for _, s := range []string{secret, "caller-key-123"} {
		if strings.Contains(all, s) {
			t.Errorf("%q leaked into logs, answers or metrics", s)
		}
	}
}

func TestGracefulShutdownDrainsRequests(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		fmt.Fprint(w, `{"message":"No Payment Link can be found for the given ID"}`)
	}))
	defer up.Close()
	url, cancel, done := serveUntilStopped(t, Config{APIKeys: []string{"k"},
		Providers: map[string]ProviderConfig{"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "t"}}}})
	result := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", url+"/providers/mijnklantportaal/payment-links/plk_1", nil)
		req.Header.Set("Authorization", "Bearer k")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- -1
			return
		}
		res.Body.Close()
		result <- res.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // the request is now in flight
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if status := <-result; status != 404 {
		t.Errorf("in-flight request got %d, want the provider's 404", status)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// serveUntilStopped serves cfg on a loopback port until the test calls stop; done gives Serve's
// error.
func serveUntilStopped(t *testing.T, cfg Config) (url string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Logger = ln.Addr().String(), NewLogger(io.Discard, 0)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	url = "http://" + ln.Addr().String()
	waitReady(t, url)
	return url, cancel, errc
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	for range 100 {
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("server never became ready")
}

// One provider credential serves every caller: the same Idempotency-Key from two callers must be
// two requests at the provider too, also at Telness, which honours keys itself.
func TestIdempotencyKeysAreScopedPerCaller(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{APIKeys: []string{"sk_caller_one_1234", "sk_caller_two_5678"}})
	tests := []struct{ name, path, body, idField string }{
		{"unified", "/v1/payment-links", `{"provider":"telness","description":"Scoped","providerOptions":{"telness":{"orderId":"ord_1"}}}`, "id"},
		{"passthrough", "/providers/telness/payment-links", `{"orderId":"ord_1","description":"Scoped"}`, "paymentLinkId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Idempotency-Key": "shared-" + tt.name, "X-Idempotency-Key": "shared-" + tt.name}
			s1, _, b1 := ts.do(t, "POST", tt.path, "sk_caller_one_1234", tt.body, h)
			s2, _, b2 := ts.do(t, "POST", tt.path, "sk_caller_two_5678", tt.body, h)
			if s1 != 201 || s2 != 201 {
				t.Fatalf("creates: %d %v, %d %v", s1, b1, s2, b2)
			}
			id1, id2 := b1[tt.idField], b2[tt.idField]
			if id1 == nil || id1 == id2 {
				t.Errorf("two callers got one link %v: the key leaked across callers", id1)
			}
			s3, _, b3 := ts.do(t, "POST", tt.path, "sk_caller_one_1234", tt.body, h)
			if s3 != 201 || b3[tt.idField] != id1 {
				t.Errorf("same caller, same key: %d %v, want the first link %v", s3, b3[tt.idField], id1)
			}
		})
	}
}

func TestPassthroughPathsAreMatchedOnceUnescaped(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/providers/telness/payment-links/..", 404},
		{"/providers/telness/payment-links/%2E%2E", 404},
		{"/providers/telness/payment-links/.", 404},
		{"/providers/telness/payment-links/no%20such%20link", 404},
	}
	for _, tt := range tests {
		status, _, body := ts.do(t, "GET", tt.path, DemoAPIKey, "", nil)
		if status != tt.wantStatus || body["code"] == nil {
			t.Errorf("GET %s: %d %v, want %d with a problem", tt.path, status, body, tt.wantStatus)
		}
	}

	// A broken escape cannot be written with net/url: send the request line as is. Go's server
	// itself may refuse it before the router; either way it is a 400, never a provider call.
	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.URL.Opaque = "/providers/telness/payment-links/%zz"
	req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 {
		t.Errorf("broken escape: %d %s, want 400", res.StatusCode, raw)
	}
}
