package server

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestNoRouteReachesAProviderWithoutAValidKey sends every route with missing, wrong and malformed
// credentials: each is a 401 problem, and no provider is called.
//
// The scheme is matched case-insensitively ("bearer <key>" is accepted), as RFC 9110 §11.1 says
// auth schemes are; the key itself is compared exactly.
func TestNoRouteReachesAProviderWithoutAValidKey(t *testing.T) {
	t.Parallel()
	const key = "pk_live_caller_0123456789"
	up := newUpstream(t, answer(200, "application/json", mkpLink))
	ts := start(t, Config{APIKeys: []string{key}, Providers: liveEverywhere(up.URL, providerSecrets("route"))})
	refused := []struct {
		name   string
		header []string // nil: no Authorization header at all
	}{
		{"none", nil},
		{"empty", []string{""}},
		{"scheme only", []string{"Bearer"}},
		{"scheme and space", []string{"Bearer "}},
		{"basic", []string{"Basic " + key}},
		{"basic, base64", []string{"Basic cGtfbGl2ZV9jYWxsZXI6"}},
		{"no scheme", []string{key}},
		{"other scheme", []string{"Token " + key}},
		{"wrong key", []string{"Bearer wrong"}},
		{"key with a suffix", []string{"Bearer " + key + "x"}},
		{"key prefix", []string{"Bearer " + key[:len(key)-1]}},
		{"key in other case", []string{"Bearer " + strings.ToUpper(key)}},
		{"two tokens", []string{"Bearer " + key + " " + key}},
		{"tab instead of space", []string{"Bearer\t" + key}},
		{"comma list", []string{"Bearer " + key + ", Basic x"}},
		{"demo key outside sandbox mode", []string{"Bearer " + DemoAPIKey}},
		{"key in a second header", []string{"Bearer wrong", "Bearer " + key}},
	}
	for _, a := range refused {
		for _, r := range everyRoute(t) {
			req, _ := http.NewRequest(r.method, ts.URL+r.path, strings.NewReader(r.body))
			for _, v := range a.header {
				req.Header.Add("Authorization", v)
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := bodyOf(t, res)
			if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %s %s: %d %s", a.name, r.method, r.path, res.StatusCode, body)
				continue
			}
			if p, err := checkProblem(res.Header, []byte(body)); err != nil || p["code"] != "unauthorized" {
				t.Errorf("%s: %s %s: %v %s", a.name, r.method, r.path, err, body)
			}
		}
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("the provider was called %d times without a valid key", n)
	}
	if m := ts.get(t, "/metrics"); strings.Contains(m, "paylinks_provider_calls_total{") {
		t.Errorf("provider calls counted:\n%s", grep(m, "paylinks_provider_calls_total"))
	}

	for _, h := range []string{"Bearer " + key, "bearer " + key, "BEARER " + key, "Bearer  " + key + " "} {
		status, _, raw := ts.raw(t, "GET", "/providers/mijnklantportaal/payment-links/plk_1", "", "", map[string]string{"Authorization": h})
		if status != 200 {
			t.Errorf("Authorization %q: %d %s", h, status, raw)
		}
	}
	if n := up.hits.Load(); n != 4 {
		t.Errorf("%d provider calls with valid keys, want 4", n)
	}
}

// echoingUpstream is a provider that puts the credential it received into its error answers, in
// each provider's error shape, on every route: a 401 (documented), a 4xx validation error, a 429 and
// an undocumented 500 page.
func echoingUpstream(t *testing.T) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		cred := r.Header.Get("Authorization") + r.Header.Get("ApiKey") + r.Header.Get("X-API-Key")
		msg := "invalid credential " + cred + " for merchant"
		var status int
		switch {
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/payment-links"):
			answer(500, "text/html", "<pre>upstream error: header "+cred+"</pre>")(w, r)
			return
		case r.Method == "GET":
			status = 401
		case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/payment-links"):
			status = 422
			if strings.HasPrefix(r.URL.Path, "/hub2") || strings.HasPrefix(r.URL.Path, "/telness") {
				status = 400
			}
		default:
			status = 429
			w.Header().Set("Retry-After", "30")
		}
		var body string
		switch provider, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); provider {
		case "hub2":
			body = fmt.Sprintf(`{"status":%d,"code":"Unauthorized","message":%q}`, status, msg)
		case "telness":
			body = fmt.Sprintf(`{"code":"unauthorized","message":%q,"details":[{"message":%q,"property":"orderId"}]}`, msg, msg)
		case "mijnklantportaal":
			body = fmt.Sprintf(`{"message":%q,"errors":{"amount":[%q]}}`, msg, msg)
		default: // the fields of every error body paylinks reads, so the message is read whatever the provider
			body = fmt.Sprintf(`{"status":%d,"title":%q,"detail":%q,"message":%q,"code":"unauthorized","errors":{"amount":[%q]}}`, status, msg, msg, msg, msg)
		}
		answer(status, "application/json", body)(w, r)
	})
}

// TestProviderSecretsNeverLeak: whatever a provider answers, even its own credential echoed back,
// the credentials never appear in an answer, a log line (debug level) or the metrics.
func TestProviderSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const callerKey = "pk_live_caller_secret_42"
	secrets := providerSecrets("leak-1234")
	up := echoingUpstream(t)
	for _, mode := range []Mode{Enforce, Report} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			ts := start(t, Config{APIKeys: []string{callerKey}, Mode: mode, Providers: liveEverywhere(up.URL, secrets)})
			var answers strings.Builder
			for _, r := range everyRoute(t) {
				status, h, raw := ts.raw(t, r.method, r.path, callerKey, r.body, nil)
				fmt.Fprintf(&answers, "%s %s: %d %v %s\n", r.method, r.path, status, h, raw)
				for _, s := range secrets {
					if strings.Contains(raw, s) || strings.Contains(fmt.Sprint(h), s) {
						t.Errorf("%s %s: the answer carries a provider credential: %d %v %s", r.method, r.path, status, h, raw)
					}
				}
			}
			if !strings.Contains(answers.String(), "provider_auth_failed") {
				t.Errorf("the provider's 401 was not reported as provider_auth_failed:\n%s", answers.String())
			}
			logs, metrics := ts.logs.String(), ts.get(t, "/metrics")
			for _, s := range append([]string{callerKey}, slices.Collect(maps.Values(secrets))...) {
				if strings.Contains(answers.String(), s) && s == callerKey {
					t.Errorf("the caller's key is in an answer")
				}
				if strings.Contains(logs, s) {
					t.Errorf("%q is in the logs:\n%s", s, grep(logs, s))
				}
				if strings.Contains(metrics, s) {
					t.Errorf("%q is in the metrics:\n%s", s, grep(metrics, s))
				}
			}
			if up.hits.Load() == 0 {
				t.Fatal("the provider was never called")
			}
		})
	}
}

// TestRequestLimits: bodies over MaxBodyBytes are refused with 413 before any provider is called,
// and headers over MaxHeaderBytes by net/http with 431; both limits are configurable.
func TestRequestLimits(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(200, "application/json", mkpLink))
	providers := liveEverywhere(up.URL, providerSecrets("limits"))
	small := start(t, Config{APIKeys: []string{"key"}, MaxBodyBytes: 256, MaxHeaderBytes: 1 << 10, Providers: providers})
	roomy := start(t, Config{APIKeys: []string{"key"}, Providers: providers})
	big := `{"provider":"mijnklantportaal","amount":{"currency":"EUR","value":"1.00"},"description":"` + strings.Repeat("x", 300) + `"}`
	for _, path := range []string{"/v1/payment-links", "/providers/mijnklantportaal/payment-links", "/providers/telness/payment-links"} {
		for _, chunked := range []bool{false, true} {
			req, _ := http.NewRequest("POST", small.URL+path, strings.NewReader(big))
			req.Header.Set("Authorization", "Bearer key")
			req.Header.Set("Content-Type", "application/json")
			if chunked {
				req.ContentLength = -1 // no Content-Length: the limit must hold while reading
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw := bodyOf(t, res)
			if p, err := checkProblem(res.Header, []byte(raw)); res.StatusCode != 413 || err != nil || p["code"] != "payload_too_large" {
				t.Errorf("%s (chunked %v): %d %v %s", path, chunked, res.StatusCode, err, raw)
			}
		}
	}
	// Unauthenticated: refused for its size (or its key) all the same, and never forwarded.
	if status, _, raw := small.raw(t, "POST", "/providers/mijnklantportaal/payment-links", "", big, nil); status != 413 && status != 401 {
		t.Errorf("oversized unauthenticated: %d %s", status, raw)
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("the provider got %d oversized requests", n)
	}

	huge := map[string]string{"X-Filler": strings.Repeat("a", 16<<10)}
	if status, _, raw := small.raw(t, "GET", "/v1/providers", "key", "", huge); status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB of headers, 1 KiB limit: %d %s", status, raw)
	}
	if status, _, raw := roomy.raw(t, "GET", "/v1/providers", "key", "", huge); status != 200 {
		t.Errorf("16 KiB of headers, default limit: %d %s", status, raw)
	}
	if status, _, raw := roomy.raw(t, "POST", "/providers/mijnklantportaal/payment-links", "key", `{"amount":"1.00","description":"`+strings.Repeat("x", 250)+`"}`, nil); status != 200 {
		t.Errorf("a 290-byte body under the default limit: %d %s", status, raw)
	}
}

// TestEveryAnswerHasARequestID: successes, problems of every layer, sandboxes and operational routes
// all carry X-Request-Id, and a problem names the same id.
func TestEveryAnswerHasARequestID(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{MaxBodyBytes: 512})
	for _, r := range []struct{ method, path, key, body string }{
		{"GET", "/v1/providers", DemoAPIKey, ""},
		{"GET", "/v1/payment-links", DemoAPIKey, ""},
		{"GET", "/v1/payment-links", "", ""},
		{"GET", "/v1/payment-links/" + unifiedID("hub2", "pl_none"), DemoAPIKey, ""},
		{"GET", "/v1/payment-links?limit=0", DemoAPIKey, ""},
		{"POST", "/v1/payment-links", DemoAPIKey, `{"provider":"hub2","colour":"red"}`},
		{"POST", "/v1/payment-links", DemoAPIKey, `{"provider":`},
		{"POST", "/v1/payment-links", DemoAPIKey, `{"provider":"hub2","description":"` + strings.Repeat("x", 600) + `"}`},
		{"PUT", "/v1/payment-links", DemoAPIKey, ""},
		{"GET", "/v1/nothing", DemoAPIKey, ""},
		{"GET", "/providers/mijnklantportaal/payment-links", DemoAPIKey, ""},
		{"GET", "/providers/mijnklantportaal/payment-links/plk_none", DemoAPIKey, ""},
		{"GET", "/providers/hub2/nothing", DemoAPIKey, ""},
		{"GET", "/sandbox/mijnklantportaal/payment-links", "", ""},
		{"GET", "/sandbox/hub2/_control/clock", "", ""},
		{"GET", "/healthz", "", ""},
		{"GET", "/readyz", "", ""},
		{"GET", "/metrics", "", ""},
		{"GET", "/openapi.yaml", "", ""},
		{"GET", "/docs", "", ""},
		{"GET", "/nothing", "", ""},
	} {
		status, h, raw := ts.raw(t, r.method, r.path, r.key, r.body, nil)
		rid := h.Get(echo.HeaderXRequestID)
		if rid == "" {
			t.Errorf("%s %s: %d without X-Request-Id", r.method, r.path, status)
		}
		if strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			if _, err := checkProblem(h, []byte(raw)); err != nil {
				t.Errorf("%s %s: %d: %v", r.method, r.path, status, err)
			}
		}
	}
}

func bodyOf(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDeeplyNestedBodies: a body nested thousands of levels deep is refused as malformed at the cost
// of reading it. (Request validation once built a JSON pointer at every level: a 40 KB body cost
// about a gigabyte, a 1 MiB one more memory than the machine had.) Not parallel, so that the
// allocations measured are this test's own.
func TestDeeplyNestedBodies(t *testing.T) {
	srv, err := New(Config{Logger: NewLogger(io.Discard, 0)})
	if err != nil {
		t.Fatal(err)
	}
	const depth = 20000
	for _, r := range []struct{ path, body string }{
		{"/v1/payment-links", `{"provider":"hub2","metadata":` + strings.Repeat(`[`, depth) + strings.Repeat(`]`, depth) + `}`},
		{"/v1/payment-links", `{"provider":"hub2","metadata":` + strings.Repeat(`{"a":`, depth) + `1` + strings.Repeat(`}`, depth) + `}`},
		{"/v1/payment-links", strings.Repeat(`[`, 2*depth)},
		{"/providers/mijnklantportaal/payment-links", `{"description":` + strings.Repeat(`[`, depth) + strings.Repeat(`]`, depth) + `}`},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		req := httptest.NewRequest("POST", r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		runtime.ReadMemStats(&after)
		if p, err := checkProblem(w.Header(), w.Body.Bytes()); w.Code != 400 || err != nil || p["code"] != "bad_request" {
			t.Errorf("%s, %d bytes: %d %v %s", r.path, len(r.body), w.Code, err, w.Body)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s, %d bytes nested %d deep: %d MiB allocated", r.path, len(r.body), depth, alloc>>20)
		}
	}
}

// TestCallerRequestID: a caller's X-Request-Id is kept when it is short and plain, and replaced
// otherwise, so logs and provider calls cannot be stuffed or forged through it (as server.go's
// comment on the request id middleware says).
func TestCallerRequestID(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	for _, tt := range []struct {
		id   string
		kept bool
	}{
		{"client-req-123", true},
		{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{`evil" id`, false},
		{strings.Repeat("a", 5000), false},
	} {
		_, h, _ := ts.raw(t, "GET", "/v1/providers", DemoAPIKey, "", map[string]string{"X-Request-Id": tt.id})
		got := h.Get(echo.HeaderXRequestID)
		if (got == tt.id) != tt.kept || got == "" {
			t.Errorf("caller id %.40q: answered with %.40q, kept %v", tt.id, got, tt.kept)
		}
	}
}

// TestSlowBodiesAreCutOff: a caller that sends its headers and then its body a byte a second
// (slowloris on the body) is cut off at the 30 s read timeout, not held for as long as it likes,
// on the unified API and on the passthrough alike.
func TestSlowBodiesAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 30 s for the read timeout")
	}
	t.Parallel()
	url, stop, done := serveUntilStopped(t, Config{})
	t.Cleanup(func() {
		stop()
		<-done
	})
	for _, path := range []string{"/v1/payment-links", "/providers/mijnklantportaal/payment-links"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			head := "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + DemoAPIKey +
				"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
			took := sendSlowly(t, url, head, func(int) string { return " " }, 45*time.Second)
			if took < 28*time.Second || took > 45*time.Second {
				t.Fatalf("answered or closed after %s, want about the 30 s read timeout", took)
			}
		})
	}
}

// A client that opens a connection and sends its request's headers slowly, or never finishes them,
// does not hold the connection for good: the server closes it once the header timeout (10 s) has
// passed, whatever the client keeps sending.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	url, stop, done := serveUntilStopped(t, Config{})
	defer func() {
		stop()
		<-done
	}()
	// A header line a second, never the blank line that ends them.
	took := sendSlowly(t, url, "GET /healthz HTTP/1.1\r\nHost: x\r\n", func(i int) string { return "X-Slow-" + strconv.Itoa(i) + ": 1\r\n" }, 25*time.Second)
	if took < 9*time.Second || took > 25*time.Second {
		t.Fatalf("connection closed after %s, want about the 10 s header timeout", took)
	}
}

// sendSlowly sends head to the server at url, then more(i) once a second, and returns how long after
// the start the server answered or closed the connection (at most limit + 15 s: then the client
// gave up).
func sendSlowly(t *testing.T, url, head string, more func(i int) string, limit time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	answered := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 1)
		_ = conn.SetReadDeadline(start.Add(limit + 15*time.Second))
		_, _ = conn.Read(buf) // an answer or the close (or the deadline)
		answered <- time.Since(start)
	}()
	for i := 0; ; i++ {
		select {
		case took := <-answered:
			return took
		case <-time.After(time.Second):
			_, _ = conn.Write([]byte(more(i)))
		}
	}
}
