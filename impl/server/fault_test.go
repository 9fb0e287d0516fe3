package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// leakMarker is in every invalid body a faulty upstream sends: it must never reach a caller in
// enforce mode.
const leakMarker = "LEAKED-UPSTREAM-DATA"

// mkpLink is a MijnKlantportaal link that satisfies the curated spec.
const mkpLink = `{"id":"plk_1","description":"Contribution costs","currency":"EUR","amount":"12.95","reusable":false,` +
	`"expiresAt":null,"status":"open","checkoutUrl":"https://demo.mijnklantportaal.nl/payment-link/plk_1","createdAt":"2024-04-29T21:00:00+02:00"}`

// upstream is an httptest server standing in for a provider; it counts the requests it gets and
// remembers the last ones.
type upstream struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	seen   []*http.Request
	bodies []string
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.seen = append(u.seen, r.Clone(r.Context()))
		u.bodies = append(u.bodies, string(body))
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.seen...)
}

// Upstream behaviours. Every one that waits stops when the proxy gives up (the request's context)
// or after a bounded time, so a test never hangs and httptest.Server.Close returns.

func answer(status int, contentType, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func sleepy(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(d):
		}
		answer(200, "application/json", mkpLink)(w, r)
	}
}

// reset hijacks the connection and closes it without an answer: the proxy sees a reset/EOF.
func reset(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	conn.Close()
}

// truncated promises more bytes than it sends, then closes the connection.
func truncated(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "4096")
	w.WriteHeader(200)
	fmt.Fprint(w, `{"id":"plk_1","description":"`+leakMarker)
}

// trickle sends a valid answer one byte every 50 ms: headers arrive at once, the body never in time.
func trickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	body := `{"description":"` + leakMarker + `",` + mkpLink[1:]
	f := w.(http.Flusher)
	deadline := time.After(10 * time.Second)
	for i := range len(body) {
		if _, err := w.Write([]byte{body[i]}); err != nil {
			return
		}
		f.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-deadline:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// telnessLink is a Telness link that satisfies the curated spec.
const telnessLink = `{"paymentLinkId":"tl_1","url":"https://pay.example/tl_1","status":"ACTIVE",` +
	`"createdAt":"2024-01-15T10:00:00Z","updatedAt":"2024-01-15T10:00:00Z"}`

// unifiedID is the paylinks id of a provider link.
func unifiedID(provider, linkID string) string {
	return provider + "_" + base64.RawURLEncoding.EncodeToString([]byte(linkID))
}

// TestFaultyUpstream holds the unified API and the passthrough to a misbehaving MijnKlantportaal:
// each fault is a clear problem with a stable code, and in enforce mode nothing of an invalid
// answer reaches the caller.
func TestFaultyUpstream(t *testing.T) {
	t.Parallel()
	const unified, passthrough = "unified", "passthrough"
	type want struct {
		status     int
		code       string // empty: the provider's own answer, passed on
		retryAfter string
	}
	tests := []struct {
		name     string
		upstream http.HandlerFunc
		timeout  time.Duration
		want     map[string]want
	}{
		{"timeout", sleepy(10 * time.Second), 200 * time.Millisecond, map[string]want{
			unified: {504, "provider_timeout", ""}, passthrough: {504, "provider_timeout", ""}}},
		{"connection reset", reset, 0, map[string]want{
			unified: {503, "provider_unavailable", ""}, passthrough: {503, "provider_unavailable", ""}}},
		{"500 with an HTML page", answer(500, "text/html", "<h1>Internal Server Error</h1>"+leakMarker), 0, map[string]want{
			unified: {502, "provider_error", ""}, passthrough: {502, "provider_error", ""}}},
		{"502 from a load balancer", answer(502, "text/html", "<h1>Bad Gateway</h1>"+leakMarker), 0, map[string]want{
			unified: {503, "provider_unavailable", ""}, passthrough: {503, "provider_unavailable", ""}}},
		{"503 with Retry-After", answer(503, "text/plain", "down for maintenance "+leakMarker, "Retry-After", "7"), 0, map[string]want{
			unified: {503, "provider_unavailable", "7"}, passthrough: {503, "provider_unavailable", "7"}}},
		// A documented 429 is the provider's own valid answer: the passthrough passes it on as is.
		{"429 with Retry-After", answer(429, "application/json", `{"code":429,"message":"Too many requests."}`, "Retry-After", "1"), 0, map[string]want{
			unified: {503, "provider_unavailable", "1"}, passthrough: {429, "", "1"}}},
		{"malformed JSON", answer(200, "application/json", `{"id":"plk_1","description":"`+leakMarker+`","status":`), 0, map[string]want{
			unified: {502, "provider_contract_violation", ""}, passthrough: {502, "provider_contract_violation", ""}}},
		{"body violating the spec", answer(200, "application/json", strings.Replace(mkpLink, `"open"`, `"`+leakMarker+`"`, 1)), 0, map[string]want{
			unified: {502, "provider_contract_violation", ""}, passthrough: {502, "provider_contract_violation", ""}}},
		{"HTML instead of JSON", answer(200, "text/html", "<html>"+leakMarker+"</html>"), 0, map[string]want{
			unified: {502, "provider_contract_violation", ""}, passthrough: {502, "provider_contract_violation", ""}}},
		{"empty 200", answer(200, "application/json", ""), 0, map[string]want{
			unified: {502, "provider_contract_violation", ""}, passthrough: {502, "provider_contract_violation", ""}}},
		{"truncated body", truncated, 0, map[string]want{
			unified: {503, "provider_unavailable", ""}, passthrough: {503, "provider_unavailable", ""}}},
		{"slow body", trickle, 300 * time.Millisecond, map[string]want{
			unified: {504, "provider_timeout", ""}, passthrough: {504, "provider_timeout", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, tt.upstream)
			ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
				"mijnklantportaal": {BaseURL: up.URL + "/v1", Credentials: map[string]string{"token": "tok"}, Timeout: tt.timeout},
			}})
			for _, route := range []struct{ kind, path string }{
				{unified, "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1")},
				{passthrough, "/providers/mijnklantportaal/payment-links/plk_1"},
			} {
				w := tt.want[route.kind]
				started := time.Now()
				status, h, raw := ts.raw(t, "GET", route.path, "key", "", nil)
				// The upstream would take 10 s or more: the provider timeout must cut it short.
				if tt.timeout > 0 && time.Since(started) > 10*tt.timeout+2*time.Second {
					t.Errorf("%s: took %v with a provider timeout of %v", route.kind, time.Since(started), tt.timeout)
				}
				if status != w.status {
					t.Errorf("%s: status %d, want %d: %s", route.kind, status, w.status, raw)
				}
				if got := h.Get("Retry-After"); got != w.retryAfter {
					t.Errorf("%s: Retry-After %q, want %q", route.kind, got, w.retryAfter)
				}
				if strings.Contains(raw, leakMarker) {
					t.Errorf("%s: invalid provider data reached the caller: %s", route.kind, raw)
				}
				if w.code == "" {
					continue
				}
				p := problemOf(t, h, raw)
				if p["code"] != w.code || p["provider"] != "mijnklantportaal" || p["requestId"] == nil || p["title"] == "" {
					t.Errorf("%s: problem %v, want code %s naming the provider", route.kind, p, w.code)
				}
			}
			if m := ts.get(t, "/metrics"); !strings.Contains(m, `paylinks_provider_calls_total{method="GET",provider="mijnklantportaal"`) {
				t.Errorf("provider calls not counted:\n%s", grep(m, "provider_calls"))
			}
		})
	}
}

// TestRetryRules counts the calls a provider gets with MaxRetries 2: safe calls (GET, or carrying an
// idempotency key the provider honours) are tried three times on outages; others exactly once.
func TestRetryRules(t *testing.T) {
	t.Parallel()
	unavailable := answer(503, "application/json", `{"message":"Service unavailable","code":"unavailable"}`)
	mkpCreate := `{"provider":"mijnklantportaal","description":"d","amount":{"currency":"EUR","value":"1.00"}}`
	telnessCreate := `{"provider":"telness","providerOptions":{"telness":{"orderId":"ord_1"}}}`
	key := map[string]string{"Idempotency-Key": "retry-key-1"}
	// Telness gets the caller's key scoped by the caller (one credential serves every caller).
	scoped := providerIdempotencyKey(context.WithValue(context.Background(), requestStateKey{}, &requestState{caller: callerID("key")}), "retry-key-1")
	tests := []struct {
		name, provider   string
		upstream         http.HandlerFunc
		method, path     string
		body             string
		header           map[string]string
		wantHits         int64
		wantStatus       int
		wantCode         string
		wantUpstreamIdem string // X-Idempotency-Key every attempt must carry
	}{
		{"unified get, 503", "mijnklantportaal", unavailable, "GET", "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1"), "", nil, 3, 503, "provider_unavailable", ""},
		{"unified get, reset", "mijnklantportaal", reset, "GET", "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1"), "", nil, 3, 503, "provider_unavailable", ""},
		{"unified get, 500", "mijnklantportaal", answer(500, "text/plain", "oops"), "GET", "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1"), "", nil, 3, 502, "provider_error", ""},
		{"unified get, 404 is an answer", "mijnklantportaal", answer(404, "application/json", `{"message":"No Payment Link can be found for the given ID"}`), "GET", "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1"), "", nil, 1, 404, "not_found", ""},
		{"unified get, 429 asking more than 2 s", "mijnklantportaal", answer(429, "application/json", `{"message":"Too many requests."}`, "Retry-After", "30"), "GET", "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1"), "", nil, 1, 503, "provider_unavailable", ""},
		{"unified list, 503", "mijnklantportaal", unavailable, "GET", "/v1/payment-links?provider=mijnklantportaal", "", nil, 3, 503, "provider_unavailable", ""},
		{"passthrough get, 503", "mijnklantportaal", unavailable, "GET", "/providers/mijnklantportaal/payment-links/plk_1", "", nil, 3, 503, "provider_unavailable", ""},
		{"passthrough get, reset", "mijnklantportaal", reset, "GET", "/providers/mijnklantportaal/payment-links/plk_1", "", nil, 3, 503, "provider_unavailable", ""},
		{"unified create without key, 503", "mijnklantportaal", unavailable, "POST", "/v1/payment-links", mkpCreate, nil, 1, 503, "provider_unavailable", ""},
		{"unified create without key, reset", "mijnklantportaal", reset, "POST", "/v1/payment-links", mkpCreate, nil, 1, 503, "provider_unavailable", ""},
		// MijnKlantportaal honours no idempotency key: the caller's key guards the proxy, not the call.
		{"unified create with key at a provider without idempotency, 503", "mijnklantportaal", unavailable, "POST", "/v1/payment-links", mkpCreate, key, 1, 503, "provider_unavailable", ""},
		{"unified close, 503", "mijnklantportaal", unavailable, "POST", "/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1") + "/close", "", nil, 1, 503, "provider_unavailable", ""},
		{"passthrough create, 503", "mijnklantportaal", unavailable, "POST", "/providers/mijnklantportaal/payment-links", `{"description":"d","amount":"1.00"}`, nil, 1, 503, "provider_unavailable", ""},
		{"passthrough create with the caller's Idempotency-Key, 503", "mijnklantportaal", unavailable, "POST", "/providers/mijnklantportaal/payment-links", `{"description":"d","amount":"1.00"}`, key, 1, 503, "provider_unavailable", ""},
		{"passthrough create with X-Idempotency-Key at a provider without idempotency, 503", "mijnklantportaal", unavailable, "POST", "/providers/mijnklantportaal/payment-links", `{"description":"d","amount":"1.00"}`, map[string]string{"X-Idempotency-Key": "k1"}, 1, 503, "provider_unavailable", ""},
		{"passthrough telness create with X-Idempotency-Key, reset", "telness", reset, "POST", "/providers/telness/payment-links", `{"orderId":"ord_1"}`, map[string]string{"X-Idempotency-Key": "retry-key-1"}, 3, 503, "provider_unavailable", scoped},
		{"passthrough close, reset", "mijnklantportaal", reset, "DELETE", "/providers/mijnklantportaal/payment-links/plk_1", "", nil, 1, 503, "provider_unavailable", ""},
		{"telness create with key, 503", "telness", unavailable, "POST", "/v1/payment-links", telnessCreate, key, 3, 503, "provider_unavailable", scoped},
		{"telness create with key, reset", "telness", reset, "POST", "/v1/payment-links", telnessCreate, key, 3, 503, "provider_unavailable", scoped},
		{"telness create without key, 503", "telness", unavailable, "POST", "/v1/payment-links", telnessCreate, nil, 1, 503, "provider_unavailable", ""},
		{"telness close with key, 503", "telness", unavailable, "POST", "/v1/payment-links/" + unifiedID("telness", "tl_1") + "/close", "", key, 3, 503, "provider_unavailable", scoped},
		{"telness close without key, reset", "telness", reset, "POST", "/v1/payment-links/" + unifiedID("telness", "tl_1") + "/close", "", nil, 1, 503, "provider_unavailable", ""},
		{"telness get, 503", "telness", unavailable, "GET", "/v1/payment-links/" + unifiedID("telness", "tl_1"), "", nil, 3, 503, "provider_unavailable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, tt.upstream)
			creds := map[string]string{"token": "tok"}
			if tt.provider == "telness" {
				creds = map[string]string{"api_key": "telness-key"}
			}
			ts := start(t, Config{APIKeys: []string{"key"}, MaxRetries: 2, Providers: map[string]ProviderConfig{
				tt.provider: {BaseURL: up.URL, Credentials: creds},
			}})
			status, h, raw := ts.raw(t, tt.method, tt.path, "key", tt.body, tt.header)
			if got := up.hits.Load(); got != tt.wantHits {
				t.Errorf("provider called %d times, want %d", got, tt.wantHits)
			}
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, raw)
			}
			if p := problemOf(t, h, raw); p["code"] != tt.wantCode {
				t.Errorf("code %v, want %s", p["code"], tt.wantCode)
			}
			for i, r := range up.requests() {
				if got := r.Header.Get("X-Idempotency-Key"); got != tt.wantUpstreamIdem {
					t.Errorf("attempt %d carried X-Idempotency-Key %q, want %q", i+1, got, tt.wantUpstreamIdem)
				}
			}
			up.mu.Lock()
			for i, b := range up.bodies {
				if b != up.bodies[0] || (tt.body != "" && tt.method == "POST" && strings.HasPrefix(tt.path, "/providers/") && b != tt.body) {
					t.Errorf("attempt %d sent body %q, first attempt %q (caller sent %q)", i+1, b, up.bodies[0], tt.body)
				}
			}
			up.mu.Unlock()
		})
	}
}

// TestRetryRecovers: a GET that meets a passing outage succeeds on a retry, invisibly to the caller.
func TestRetryRecovers(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			reset(w, r)
			return
		}
		answer(200, "application/json", mkpLink)(w, r)
	})
	ts := start(t, Config{APIKeys: []string{"key"}, MaxRetries: 2, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
	}})
	status, _, body := ts.do(t, "GET", "/v1/payment-links/"+unifiedID("mijnklantportaal", "plk_1"), "key", "", nil)
	if status != 200 || body["providerLinkId"] != "plk_1" || up.hits.Load() != 3 {
		t.Errorf("%d %v after %d calls, want 200 after 3", status, body, up.hits.Load())
	}
}

// raw sends a request and returns the answer's body as a string.
func (ts *testServer) raw(t *testing.T, method, path, key, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
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
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return res.StatusCode, res.Header, string(b)
}

// problemOf checks that an answer is a well-formed problem and returns it decoded.
func problemOf(t *testing.T, h http.Header, raw string) map[string]any {
	t.Helper()
	p, err := checkProblem(h, []byte(raw))
	if err != nil {
		t.Errorf("%v: %s", err, raw)
	}
	return p
}

// checkProblem reports what makes an answer not a usable problem: application/problem+json, a
// status, a non-empty code, a reason (detail or violations), and the request id of the answer (of
// the first answer, for a replay under an Idempotency-Key).
func checkProblem(h http.Header, body []byte) (map[string]any, error) {
	var p map[string]any
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return nil, fmt.Errorf("content type %q, want application/problem+json", ct)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("problem is not JSON: %v", err)
	}
	code, _ := p["code"].(string)
	detail, _ := p["detail"].(string)
	vs, _ := p["violations"].([]any)
	switch {
	case code == "":
		return p, errors.New("problem without a code")
	case detail == "" && len(vs) == 0:
		return p, errors.New("problem without a reason (detail or violations)")
	case p["status"] == nil || p["type"] == nil || p["title"] == nil:
		return p, errors.New("problem without status, type or title")
	case h.Get(echo.HeaderXRequestID) == "" || p["requestId"] == nil:
		return p, errors.New("problem without a request id")
	case p["requestId"] != h.Get(echo.HeaderXRequestID) && h.Get("Idempotent-Replayed") != "true":
		// A replay is the first answer byte for byte: its requestId names the request that made it.
		return p, fmt.Errorf("request id %v in the problem, %q in the header", p["requestId"], h.Get(echo.HeaderXRequestID))
	}
	for _, v := range vs {
		if m, _ := v.(map[string]any); m["field"] == nil || m["reason"] == "" {
			return p, fmt.Errorf("violation without field or reason: %v", v)
		}
	}
	return p, nil
}
