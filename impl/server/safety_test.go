package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/validation"
)

// TestMediaTypesAreCaseInsensitive sends JSON bodies labelled with upper- and mixed-case media
// types: RFC 9110 §8.3.1 makes them the same type as application/json.
func TestMediaTypesAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	for _, tt := range []struct{ path, body, contentType string }{
		{"/v1/payment-links", `{"provider":"mijnklantportaal","amount":{"currency":"EUR","value":"12.95"},"description":"Upper"}`, "APPLICATION/JSON"},
		{"/v1/payment-links", `{"provider":"mijnklantportaal","amount":{"currency":"EUR","value":"12.95"},"description":"Mixed"}`, "Application/Json; Charset=UTF-8"},
		{"/providers/mijnklantportaal/payment-links", `{"description":"Passthrough","amount":"12.95"}`, "APPLICATION/JSON"},
	} {
		status, h, body := ts.raw(t, "POST", tt.path, DemoAPIKey, tt.body, map[string]string{"Content-Type": tt.contentType})
		if status != 201 {
			t.Errorf("POST %s as %q: %d %s, want 201", tt.path, tt.contentType, status, body)
			problemOf(t, h, body)
		}
	}
}

// TestMetricsLabelsAreBounded sends requests with made-up methods, unauthenticated: each must not
// become a label value of its own.
func TestMetricsLabelsAreBounded(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	for i := range 50 {
		ts.raw(t, fmt.Sprint("BREW", i), "/v1/payment-links", "", "", nil)
		ts.raw(t, fmt.Sprint("X-", i), fmt.Sprint("/nowhere/", i), "", "", nil)
	}
	metrics := ts.get(t, "/metrics")
	if strings.Contains(metrics, "BREW") || strings.Contains(metrics, "X-1") || strings.Contains(metrics, "/nowhere/") {
		t.Errorf("made-up methods or paths became label values:\n%s", grep(metrics, "paylinks_http_requests_total"))
	}
	if !strings.Contains(metrics, `paylinks_http_requests_total{method="other",route="/v1/*",status="401"} 50`) {
		t.Errorf("made-up methods not counted as one value:\n%s", grep(metrics, "paylinks_http_requests_total"))
	}
}

// TestStatusLabels: every three-digit status is its own label, anything else one value.
func TestStatusLabels(t *testing.T) {
	for status, want := range map[int]string{100: "100", 200: "200", 499: "499", 599: "599", 600: "600", 999: "999", 99: "other", 1000: "other", -1: "other"} {
		if got := statusLabel(status); got != want {
			t.Errorf("statusLabel(%d) = %q, want %q", status, got, want)
		}
	}
}

// TestProviderCallsAreBoundedWhileWaitingForHeaders: a call's own deadline (the provider's timeout)
// bounds the wait for an answer's headers; a provider given more than 30 s still has to start its
// answer within 30 s.
func TestProviderCallsAreBoundedWhileWaitingForHeaders(t *testing.T) {
	for call, want := range map[time.Duration]time.Duration{0: responseHeaderTimeout, 10 * time.Second: 0, responseHeaderTimeout: 0, 2 * time.Minute: responseHeaderTimeout} {
		if got := newTransport(call).ResponseHeaderTimeout; got != want {
			t.Errorf("provider timeout %v: header timeout %v, want %v", call, got, want)
		}
	}
}

// TestMetricsCanBeProtected puts /metrics behind a key, or on a listener of its own.
func TestMetricsCanBeProtected(t *testing.T) {
	t.Parallel()
	t.Run("key", func(t *testing.T) {
		t.Parallel()
		ts := start(t, Config{MetricsKey: "metrics-s3cret"})
		status, h, body := ts.raw(t, "GET", "/metrics", "", "", nil)
		if status != 401 {
			t.Errorf("without the key: %d", status)
		}
		problemOf(t, h, body)
		if status, _, _ := ts.raw(t, "GET", "/metrics", DemoAPIKey, "", nil); status != 401 {
			t.Errorf("with an API key instead of the metrics key: %d", status)
		}
		if status, _, body := ts.raw(t, "GET", "/metrics", "metrics-s3cret", "", nil); status != 200 || !strings.Contains(body, "paylinks_http_requests_total") {
			t.Errorf("with the key: %d", status)
		}
	})
	t.Run("own listener", func(t *testing.T) {
		t.Parallel()
		ts := start(t, Config{MetricsAddr: "127.0.0.1:0"})
		if status, _, _ := ts.raw(t, "GET", "/metrics", "", "", nil); status != 404 {
			t.Errorf("/metrics on the API listener: %d, want 404", status)
		}
		var addr string
		for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); {
			addr = ts.MetricsAddr()
			time.Sleep(5 * time.Millisecond)
		}
		res, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), "paylinks_http_requests_total") {
			t.Errorf("/metrics on its own listener: %d", res.StatusCode)
		}
	})
}

// TestWriteTimeoutCoversProviderTimeouts gives one provider 20 s while the default is half a
// second; it answers in 11.5 s: the caller must get the answer, not a dropped connection.
func TestWriteTimeoutCoversProviderTimeouts(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 11.5 s for a slow provider")
	}
	t.Parallel()
	up := newUpstream(t, sleepy(11500*time.Millisecond))
	ts := start(t, Config{APIKeys: []string{"key"}, ProviderTimeout: 500 * time.Millisecond, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}, Timeout: 20 * time.Second},
	}})
	status, _, body := ts.raw(t, "GET", "/v1/payment-links/"+unifiedID("mijnklantportaal", "plk_1"), "key", "", nil)
	if status != 200 || !strings.Contains(body, `"providerLinkId":"plk_1"`) {
		t.Errorf("%d %s, want the link", status, body)
	}
}

// TestAbandonedRequestsAre499 gives up on requests while the provider answers: they are logged
// and counted as 499, with the answer that was made beside it, not as 200.
func TestAbandonedRequestsAre499(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, sleepy(300*time.Millisecond))
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
	}})
	for _, path := range []string{"/v1/payment-links/" + unifiedID("mijnklantportaal", "plk_1"), "/providers/mijnklantportaal/payment-links/plk_1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer key")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Errorf("%s answered before the caller gave up", path)
		}
		cancel()
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(ts.logs.String(), `"status":499`) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	logs := ts.logs.String()
	if n := strings.Count(logs, `"status":499`); n != 2 {
		t.Errorf("%d requests logged as 499, want 2:\n%s", n, grep(logs, `"msg":"request"`))
	}
	if strings.Contains(grep(logs, `"msg":"request"`), `"status":200`) {
		t.Errorf("an abandoned request was logged as 200:\n%s", grep(logs, `"msg":"request"`))
	}
	metrics := ts.get(t, "/metrics")
	for _, route := range []string{"/v1/payment-links/:id", "/providers/:provider/*"} {
		if !strings.Contains(metrics, `paylinks_http_requests_total{method="GET",route="`+route+`",status="499"} 1`) {
			t.Errorf("%s not counted as 499:\n%s", route, grep(metrics, "paylinks_http_requests_total"))
		}
	}
}

// TestReadyzDuringDrain stops a server with a drain grace: /readyz answers 503 on the same
// listener while requests are still served, then the listener closes.
func TestReadyzDuringDrain(t *testing.T) {
	t.Parallel()
	url, stop, done := serveUntilStopped(t, Config{DrainGrace: 500 * time.Millisecond})
	stop()
	time.Sleep(50 * time.Millisecond)
	res, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatalf("/readyz while draining: %v, want an answer", err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Errorf("/readyz while draining: %d, want 503", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", url+"/v1/providers", nil)
	req.Header.Set("Authorization", "Bearer "+DemoAPIKey)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("a request while draining: %v %v, want it served", res, err)
	} else {
		res.Body.Close()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url + "/readyz"); err == nil {
		t.Error("the listener is still open after the drain")
	}
}

// TestCraftedIDsNeverReachAProvider gets and closes links by ids whose provider part is ".", "..",
// or holds "/" and other characters that would change the URL: each is refused with a 4xx naming
// the id, and no provider is called (the generated clients would resolve `..` into another route,
// credentials included).
func TestCraftedIDsNeverReachAProvider(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(200, "application/json", mkpLink))
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: liveEverywhere(up.URL, nil)})
	for _, kit := range kits.All {
		provider := kit.Name
		for _, linkID := range []string{".", "..", "../close", "a/b", "plk_1/../..", `..\..`, "%2e%2e", "a?b", "a#b", "a b", "\x00", "é"} {
			id := unifiedID(provider, linkID)
			for _, r := range []struct{ method, path string }{{"GET", "/v1/payment-links/" + id}, {"POST", "/v1/payment-links/" + id + "/close"}} {
				status, h, body := ts.raw(t, r.method, r.path, "key", "", nil)
				p := problemOf(t, h, body)
				if status < 400 || status >= 500 || !strings.Contains(body, id) {
					t.Errorf("%s %s (%q): %d %v, want a 4xx naming the id", r.method, r.path, linkID, status, p)
				}
			}
		}
	}
	if n := up.hits.Load(); n != 0 {
		for _, r := range up.requests() {
			t.Logf("reached the provider: %s %s", r.Method, r.URL.Path)
		}
		t.Errorf("%d requests reached a provider", n)
	}
}

// TestPassthroughForwardsOnlyWhatWasValidated sends the passthrough what a validator lets through
// but a provider may read otherwise. Each is refused with a 4xx naming it and never forwarded, or
// forwarded exactly as validated.
func TestPassthroughForwardsOnlyWhatWasValidated(t *testing.T) {
	t.Parallel()
	const credential = "mkp-secret-token-0042"
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Debug-Token", strings.ToUpper(credential)) // not the credential as sent: not redacted
		w.Header().Set("Set-Cookie", "session=provider")
		w.Header().Set("X-Powered-By", "PHP/8.3")
		w.Header().Set("Retry-After", "7")
		switch {
		case r.Method == "POST":
			answer(201, "application/json", mkpLink)(w, r)
		case strings.HasSuffix(r.URL.Path, "/payment-links"):
			answer(200, "application/json", `{"data":[],"links":{"first":null,"last":null,"prev":null,"next":null},"meta":{"current_page":1,"from":null,"last_page":1,"path":"x","per_page":15,"to":null,"total":0}}`)(w, r)
		default:
			answer(200, "application/json", mkpLink)(w, r)
		}
	})
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL + "/v1", Credentials: map[string]string{"token": credential}},
		"telness":          {BaseURL: up.URL + "/telness", Credentials: map[string]string{"api_key": "telness-key-1234"}},
	}})
	const mkp = "/providers/mijnklantportaal/payment-links"
	refused := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"encoded dot segment", "GET", mkp + "/%2e%2e", "", 404, "path"},
		{"encoded slash in an id", "GET", mkp + "/plk_1%2Fpayments", "", 404, "path"},
		{"encoded dot segment before a route", "GET", mkp + "/%2E/payments", "", 404, "path"},
		{"repeated single-valued parameter", "GET", mkp + "?page=1&page=abc", "", 400, "query.page"},
		{"undocumented parameter", "GET", mkp + "?per_page=5000", "", 400, "query.per_page"},
		{"semicolon in the query", "GET", mkp + "?page=1;page=2", "", 400, "query"},
		{"data after the JSON body", "POST", mkp, `{"description":"d","amount":"1.00"} {"amount":"999.00"}`, 400, "body"},
		{"undocumented property", "POST", mkp, `{"description":"d","amount":"1.00","merchant":"other"}`, 400, "/merchant"},
		{"undocumented property where the schema allows any", "POST", "/providers/telness/payment-links", `{"orderId":"o","tenantId":"other"}`, 400, "/tenantId"},
		{"undocumented property in a nested object", "POST", "/providers/telness/payment-links", `{"orderId":"o","metadata":{"free":"keys are data"},"nested":{"a":1}}`, 400, "/nested"},
	}
	for _, tt := range refused {
		status, h, body := ts.raw(t, tt.method, tt.path, "key", tt.body, nil)
		p := problemOf(t, h, body)
		if status != tt.status || !strings.Contains(body, `"field":"`+tt.field+`"`) {
			t.Errorf("%s: %d %v, want %d naming %s", tt.name, status, p, tt.status, tt.field)
		}
	}
	if n := up.hits.Load(); n != 0 {
		for _, r := range up.requests() {
			t.Logf("forwarded: %s %s?%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
		}
		t.Fatalf("%d refused requests reached the provider", n)
	}

	// Headers: an allow-list both ways.
	status, h, body := ts.raw(t, "GET", mkp+"/plk_1?", "key", "", map[string]string{
		"X-HTTP-Method-Override": "DELETE", "X-Original-URL": "/admin", "X-Real-IP": "10.0.0.1",
		"X-Forwarded-For": "10.0.0.2", "Cookie": "session=caller", "Accept": "application/json", "Accept-Language": "nl",
	})
	if status != 200 {
		t.Fatalf("get: %d %s", status, body)
	}
	sent := up.requests()[0]
	for _, name := range []string{"X-Http-Method-Override", "X-Original-Url", "X-Real-Ip", "X-Forwarded-For", "Cookie"} {
		if v := sent.Header.Get(name); v != "" {
			t.Errorf("the caller's %s reached the provider: %q", name, v)
		}
	}
	if sent.Header.Get("Accept-Language") != "nl" || sent.Header.Get("Authorization") != "Bearer "+credential {
		t.Errorf("provider got %v, want Accept-Language and its own credential", sent.Header)
	}
	for _, name := range []string{"X-Debug-Token", "Set-Cookie", "X-Powered-By"} {
		if v := h.Get(name); v != "" {
			t.Errorf("the provider's %s reached the caller: %q", name, v)
		}
	}
	if h.Get("Retry-After") != "7" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("answer headers %v, want Content-Type and Retry-After passed on", h)
	}
	if strings.Contains(strings.ToLower(fmt.Sprint(h)), credential) {
		t.Errorf("the credential reached the caller: %v", h)
	}

	// Path parameters are forwarded as validated: decoded once, escaped again.
	before := len(up.requests())
	if status, _, body := ts.raw(t, "GET", mkp+"/plk%5F1", "key", "", nil); status != 200 {
		t.Fatalf("get by an escaped id: %d %s", status, body)
	}
	if got := up.requests()[before]; got.URL.Path != "/v1/payment-links/plk_1" {
		t.Errorf("forwarded %q, want the id as validated", got.URL.Path)
	}
}

// TestPassthroughKeyedPostIsGuarded sends an Idempotency-Key with a create through the passthrough
// to MijnKlantportaal, which honours none: paylinks guards it as on the unified API, so a retry
// gets the first answer and the provider one create, instead of the key being dropped.
func TestPassthroughKeyedPostIsGuarded(t *testing.T) {
	t.Parallel()
	up := newMKPCreates(t, 0, nil)
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
	}})
	const body = `{"description":"d","amount":"1.00"}`
	for _, header := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		key := map[string]string{header: "passthrough-" + header}
		s1, _, b1 := ts.raw(t, "POST", "/providers/mijnklantportaal/payment-links", "key", body, key)
		s2, h2, b2 := ts.raw(t, "POST", "/providers/mijnklantportaal/payment-links", "key", body, key)
		if s1 != 201 || s2 != 201 || b1 != b2 || h2.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: first %d %s, retry %d %s %v, want the first answer replayed", header, s1, b1, s2, b2, h2)
		}
		if s, _, b := ts.raw(t, "POST", "/providers/mijnklantportaal/payment-links", "key", `{"description":"other","amount":"1.00"}`, key); s != 409 || !strings.Contains(b, "idempotency_conflict") {
			t.Errorf("%s with another body: %d %s, want 409 idempotency_conflict", header, s, b)
		}
		for _, r := range up.requests() {
			if r.Header.Get(header) != "" {
				t.Errorf("the key reached a provider that does not document it")
			}
		}
	}
	if n := up.creates.Load(); n != 2 {
		t.Errorf("%d creates at the provider for two keys, want 2", n)
	}
}

// TestPartialConfiguration runs a live deployment with one provider configured. The unconfigured
// ones are disabled unless named in SandboxProviders: absent from /v1/providers and refused with a
// 4xx naming them. A sandboxed one in a live deployment has no anonymous control API, no public
// provider API, and its links are marked as sandbox links.
func TestPartialConfiguration(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(200, "application/json", mkpLink))
	live := map[string]ProviderConfig{"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}}}

	t.Run("unconfigured providers are disabled", func(t *testing.T) {
		t.Parallel()
		ts := start(t, Config{APIKeys: []string{"key"}, Providers: live})
		_, _, body := ts.do(t, "GET", "/v1/providers", "key", "", nil)
		if data, _ := body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["name"] != "mijnklantportaal" {
			t.Errorf("providers %v, want mijnklantportaal only", body)
		}
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/v1/payment-links", `{"provider":"hub2","amount":{"currency":"XOF","value":"1000"},"reference":"r","providerOptions":{"hub2":{"country":"CI"}}}`},
			{"GET", "/v1/payment-links?provider=hub2", ""},
			{"GET", "/v1/payment-links/" + unifiedID("hub2", "pl_1"), ""},
			{"POST", "/v1/payment-links/" + unifiedID("telness", "tl_1") + "/close", ""},
			{"GET", "/providers/hub2/payment-links", ""},
			{"POST", "/providers/telness/payment-links", `{"orderId":"o"}`},
		} {
			status, h, raw := ts.raw(t, r.method, r.path, "key", r.body, nil)
			problemOf(t, h, raw)
			if status < 400 || status >= 500 || !(strings.Contains(raw, "hub2") || strings.Contains(raw, "telness")) {
				t.Errorf("%s %s: %d %s, want a 4xx naming the provider", r.method, r.path, status, raw)
			}
		}
		for _, path := range []string{"/sandbox/hub2/payment-links", "/sandbox/hub2/_control/clock", "/sandbox/telness/_control/clock/advance?by=87600h"} {
			method := "GET"
			if strings.Contains(path, "advance") {
				method = "POST"
			}
			if status, _, raw := ts.raw(t, method, path, "", "", map[string]string{"ApiKey": "k", "MerchantId": "m", "Environment": "sandbox"}); status != 404 {
				t.Errorf("%s %s: %d %s, want 404", method, path, status, raw)
			}
		}
	})

	t.Run("sandboxed on request", func(t *testing.T) {
		t.Parallel()
		ts := start(t, Config{APIKeys: []string{"key"}, Providers: live, SandboxProviders: []string{"hub2"}})
		_, _, body := ts.do(t, "GET", "/v1/providers", "key", "", nil)
		modes := map[string]string{}
		for _, d := range body["data"].([]any) {
			p := d.(map[string]any)
			modes[p["name"].(string)] = p["mode"].(string)
			if p["mode"] == "sandbox" && !strings.Contains(fmt.Sprint(p["capabilities"]), "sandbox") {
				t.Errorf("%s runs on a sandbox without a note saying so: %v", p["name"], p)
			}
		}
		if len(modes) != 2 || modes["mijnklantportaal"] != "live" || modes["hub2"] != "sandbox" {
			t.Errorf("provider modes %v, want mijnklantportaal live and hub2 sandbox", modes)
		}
		status, _, link := ts.do(t, "POST", "/v1/payment-links", "key", `{"provider":"hub2","amount":{"currency":"XOF","value":"1000"},"reference":"r","providerOptions":{"hub2":{"country":"CI"}}}`, nil)
		if status != 201 || link["sandbox"] != true {
			t.Fatalf("create at the sandbox: %d %v, want a link marked sandbox", status, link)
		}
		pay := "/sandbox/hub2/_control/links/" + link["providerLinkId"].(string) + "/pay"
		for _, r := range []struct{ method, path string }{{"POST", pay}, {"POST", "/sandbox/hub2/_control/clock/advance?by=87600h"}, {"GET", "/sandbox/hub2/_control/clock"}} {
			if status, _, raw := ts.raw(t, r.method, r.path, "", "", nil); status != 401 {
				t.Errorf("%s %s without an API key: %d %s, want 401", r.method, r.path, status, raw)
			}
		}
		if status, _, raw := ts.raw(t, "POST", pay, "key", "", nil); status != 200 {
			t.Errorf("pay with an API key: %d %s", status, raw)
		}
		if _, _, got := ts.do(t, "GET", "/v1/payment-links/"+link["id"].(string), "key", "", nil); got["status"] != "completed" || got["sandbox"] != true {
			t.Errorf("paid sandbox link: %v", got)
		}
		if status, _, _ := ts.raw(t, "GET", "/sandbox/hub2/payment-links", "", "", map[string]string{"ApiKey": "k", "MerchantId": "m", "Environment": "sandbox"}); status != 404 {
			t.Errorf("the sandbox's provider API on the public listener: %d, want 404", status)
		}
		if _, _, got := ts.do(t, "GET", "/v1/payment-links/"+unifiedID("mijnklantportaal", "plk_1"), "key", "", nil); got["sandbox"] != nil {
			t.Errorf("a live link marked sandbox: %v", got)
		}
	})

	t.Run("unknown name", func(t *testing.T) {
		t.Parallel()
		if _, err := New(Config{APIKeys: []string{"key"}, Providers: live, SandboxProviders: []string{"paypal"}, Logger: NewLogger(io.Discard, 0)}); err == nil || !strings.Contains(err.Error(), "paypal") {
			t.Errorf("New with an unknown sandbox provider: %v", err)
		}
	})

	t.Run("pure sandbox mode is unchanged", func(t *testing.T) {
		t.Parallel()
		ts := start(t, Config{APIKeys: []string{"key"}})
		if status, _, raw := ts.raw(t, "GET", "/sandbox/hub2/_control/clock", "", "", nil); status != 200 {
			t.Errorf("control API in sandbox mode: %d %s, want it open", status, raw)
		}
		_, _, body := ts.do(t, "GET", "/v1/providers", "key", "", nil)
		if data, _ := body["data"].([]any); len(data) != len(kits.All) {
			t.Errorf("providers %v, want all %d", body, len(kits.All))
		}
	})
}

// TestFromEnvSafetySettings reads the settings this file's features add, and refuses bad values
// with the variable's name.
func TestFromEnvSafetySettings(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := FromEnv(env(map[string]string{
		"PAYLINKS_SANDBOX_PROVIDERS": "hub2, telness", "PAYLINKS_METRICS_KEY": "mk", "PAYLINKS_METRICS_ADDR": "127.0.0.1:9090",
		"PAYLINKS_DRAIN_GRACE": "0s", "PAYLINKS_IDEMPOTENCY_MEMORY_BYTES": "1048576", "PAYLINKS_MAX_PROVIDER_ANSWER_BYTES": "33554432",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.SandboxProviders, ",") != "hub2,telness" || cfg.MetricsKey != "mk" || cfg.MetricsAddr != "127.0.0.1:9090" ||
		cfg.DrainGrace != 0 || cfg.IdempotencyMemoryBytes != 1<<20 || cfg.MaxProviderAnswerBytes != 32<<20 {
		t.Errorf("read %+v", cfg)
	}
	if cfg, _ := FromEnv(env(nil)); cfg.DrainGrace != 5*time.Second {
		t.Errorf("default drain grace %s, want 5s", cfg.DrainGrace)
	}
	for name, v := range map[string]string{"PAYLINKS_DRAIN_GRACE": "-1s", "PAYLINKS_IDEMPOTENCY_MEMORY_BYTES": "64MB", "PAYLINKS_MAX_PROVIDER_ANSWER_BYTES": "0"} {
		if _, err := FromEnv(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, v, err)
		}
	}
}

// TestProviderAnswerSizeLimit lists at a Hub2 whose list answer is larger than the deployment
// accepts: a 502 provider_answer_too_large naming the setting, not a contract violation; with the
// limit raised, the list works.
func TestProviderAnswerSizeLimit(t *testing.T) {
	t.Parallel()
	// A real Hub2 list answer, from the sandbox.
	sb := start(t, Config{})
	for i := range 40 {
		sb.do(t, "POST", "/v1/payment-links", DemoAPIKey, fmt.Sprintf(`{"provider":"hub2","amount":{"currency":"XOF","value":"1000"},"reference":"ORDER-%d","providerOptions":{"hub2":{"country":"CI"}}}`, i), nil)
	}
	_, _, list := sb.raw(t, "GET", "/sandbox/hub2/payment-links", "", "", map[string]string{"ApiKey": "sandbox", "MerchantId": "sandbox", "Environment": "sandbox"})
	up := newUpstream(t, answer(200, "application/json", list))
	providers := map[string]ProviderConfig{"hub2": {BaseURL: up.URL, Credentials: map[string]string{"api_key": "k", "merchant_id": "m", "environment": "sandbox"}}}
	small := start(t, Config{APIKeys: []string{"key"}, Providers: providers, MaxProviderAnswerBytes: int64(len(list) - 1)})
	for _, path := range []string{"/v1/payment-links", "/providers/hub2/payment-links"} {
		status, h, body := small.raw(t, "GET", path, "key", "", nil)
		p := problemOf(t, h, body)
		if status != 502 || p["code"] != "provider_answer_too_large" || !strings.Contains(body, "PAYLINKS_MAX_PROVIDER_ANSWER_BYTES") {
			t.Errorf("%s over the limit: %d %v, want 502 provider_answer_too_large naming the setting", path, status, p)
		}
	}
	if _, err := New(Config{APIKeys: []string{"key"}, Providers: providers, MaxProviderAnswerBytes: paylink.MaxAnswerBytes + 1, Logger: NewLogger(io.Discard, 0)}); err == nil || !strings.Contains(err.Error(), "PAYLINKS_MAX_PROVIDER_ANSWER_BYTES") {
		t.Errorf("a limit above the adapters' own: %v, want an error naming the setting", err)
	}
	large := start(t, Config{APIKeys: []string{"key"}, Providers: providers, MaxProviderAnswerBytes: int64(len(list))})
	if status, _, body := large.do(t, "GET", "/v1/payment-links?limit=100", "key", "", nil); status != 200 || len(body["data"].([]any)) != 40 {
		t.Errorf("within the limit: %d %v", status, body)
	}
}

// TestPassthroughRefusesDuplicateKeysInReportMode sends the passthrough JSON bodies that name a
// property twice, exactly or in another case, in report mode. The validator reads one of the
// values, a provider may read the other (or bind keys ignoring case): what the spec cannot
// describe is refused in both modes, never forwarded.
func TestPassthroughRefusesDuplicateKeysInReportMode(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(201, "application/json", mkpLink))
	ts := start(t, Config{APIKeys: []string{"key"}, Mode: Report, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
	}})
	for _, body := range []string{
		`{"description":"d","amount":"1.00","amount":"-3"}`,
		`{"description":"d","amount":"1.00","Amount":"-3"}`,
	} {
		status, h, raw := ts.raw(t, "POST", "/providers/mijnklantportaal/payment-links", "key", body, nil)
		p := problemOf(t, h, raw)
		if status != 400 || !strings.Contains(strings.ToLower(raw), `"field":"/amount"`) {
			t.Errorf("%s: %d %v, want 400 naming /amount", body, status, p)
		}
	}
	if n := up.hits.Load(); n != 0 {
		t.Errorf("%d bodies with a property given twice reached the provider", n)
	}
}

// TestPassthroughForwardsOnlyDocumentedBodies sends bodies the curated spec does not describe: one
// to an operation that takes none (a get, a close), and one in a media type the operation does not
// take (a form, which a provider may read as readily as JSON). In either mode each is refused with
// a 4xx naming the body or its Content-Type, and never forwarded.
func TestPassthroughForwardsOnlyDocumentedBodies(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{Enforce, Report} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, answer(200, "application/json", mkpLink))
			ts := start(t, Config{APIKeys: []string{"key"}, Mode: mode, Providers: map[string]ProviderConfig{
				"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
			}})
			const mkp = "/providers/mijnklantportaal/payment-links"
			for _, tt := range []struct{ method, path, contentType, body, field string }{
				{"GET", mkp + "/plk_1", "application/json", `{"merchant":"other"}`, "body"},
				{"DELETE", mkp + "/plk_1", "application/json", `{"status":"paid"}`, "body"},
				{"DELETE", mkp + "/plk_1", "application/json", `{} {"status":"paid"}`, "body"},
				{"POST", mkp, "application/x-www-form-urlencoded", "description=d&amount=1.00&merchant=other", "header.Content-Type"},
				{"POST", mkp, "text/plain", `{"description":"d","amount":"1.00","merchant":"other"}`, "header.Content-Type"},
				{"POST", mkp, "", `{"description":"d","amount":"1.00","merchant":"other"}`, "header.Content-Type"},
			} {
				status, h, raw := ts.raw(t, tt.method, tt.path, "key", tt.body, map[string]string{"Content-Type": tt.contentType})
				p := problemOf(t, h, raw)
				if status < 400 || status >= 500 || !strings.Contains(raw, `"field":"`+tt.field+`"`) {
					t.Errorf("%s %s as %q: %d %v, want a 4xx naming %s", tt.method, tt.path, tt.contentType, status, p, tt.field)
				}
			}
			if n := up.hits.Load(); n != 0 {
				for _, r := range up.requests() {
					t.Logf("forwarded: %s %s (%d bytes of %q)", r.Method, r.URL.Path, r.ContentLength, r.Header.Get("Content-Type"))
				}
				t.Errorf("%d undocumented bodies reached the provider", n)
			}
			// An empty object says nothing: clients that send one with every request still close.
			if status, _, raw := ts.raw(t, "DELETE", mkp+"/plk_1", "key", " { } ", nil); status != 200 {
				t.Errorf("close with an empty object: %d %s, want it forwarded", status, raw)
			}
		})
	}
}

// TestPassthroughForwardsOneContentType sends a JSON body labelled twice, as JSON and as a form:
// the body was validated as the first label says, so the provider gets that label only, never the
// second to read the body by.
func TestPassthroughForwardsOneContentType(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(201, "application/json", mkpLink))
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
	}})
	req, _ := http.NewRequest("POST", ts.URL+"/providers/mijnklantportaal/payment-links", strings.NewReader(`{"description":"d","amount":"1.00"}`))
	req.Header.Set("Authorization", "Bearer key")
	req.Header["Content-Type"] = []string{"application/json", "application/x-www-form-urlencoded"}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 500 {
		t.Fatalf("%d, want the create forwarded or refused", res.StatusCode)
	}
	for _, r := range up.requests() {
		if got := r.Header.Values("Content-Type"); len(got) != 1 || got[0] != "application/json" {
			t.Errorf("the provider got Content-Type %q, want the one validated only", got)
		}
	}
}

// panicking is a provider transport that panics, as a bug below a handler would.
type panicking struct{}

func (panicking) RoundTrip(*http.Request) (*http.Response, error) { panic("a bug below the handler") }

// TestEveryAnswerIsIdentifiedLoggedAndCounted: the global middleware (request id, request line,
// metrics, panic recovery) runs for what no route handles (404, 405) and for a handler that panics,
// which answers a 500 problem while the server goes on serving.
func TestEveryAnswerIsIdentifiedLoggedAndCounted(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{APIKeys: []string{"k"}, transport: panicking{}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: "http://upstream.test/v1", Credentials: map[string]string{"token": "t"}}}})
	for _, tt := range []struct {
		method, path, key, id string
		status                int
		route                 string
	}{
		{"GET", "/nowhere", "", "", 404, "unmatched"},
		{"GET", "/webhooks/hub2", "", "caller-1", 405, "/webhooks/:provider"},
		{"GET", "/providers/mijnklantportaal/payment-links", "k", "", 500, "/providers/:provider/*"},
		{"GET", "/providers/mijnklantportaal/payment-links", "k", "<not plain>", 500, "/providers/:provider/*"},
	} {
		ts.logs.Reset()
		status, h, body := ts.raw(t, tt.method, tt.path, tt.key, "", map[string]string{"X-Request-Id": tt.id})
		id := h.Get("X-Request-Id")
		switch {
		case status != tt.status:
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, status, body, tt.status)
		case tt.id == "caller-1" && id != tt.id:
			t.Errorf("%s %s: request id %q, want the caller's %q", tt.method, tt.path, id, tt.id)
		case tt.id != "caller-1" && !strings.HasPrefix(id, "req_"):
			t.Errorf("%s %s: request id %q, want one of ours", tt.method, tt.path, id)
		}
		if status == 500 {
			if p := problemOf(t, h, body); p["requestId"] != id || strings.Contains(body, "a bug") {
				t.Errorf("panic answered %s, want a problem with request id %s and no detail of the panic", body, id)
			}
		}
		line := fmt.Sprintf(`"request_id":%q,"method":%q,"route":%q,"path":%q,"status":%d`, id, tt.method, tt.route, tt.path, tt.status)
		if !strings.Contains(ts.logs.String(), line) {
			t.Errorf("%s %s: no request line %s in\n%s", tt.method, tt.path, line, ts.logs.String())
		}
	}
	metrics := ts.get(t, "/metrics")
	for _, want := range []string{
		`paylinks_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`paylinks_http_requests_total{method="GET",route="/webhooks/:provider",status="405"} 1`,
		`paylinks_http_requests_total{method="GET",route="/providers/:provider/*",status="500"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("not counted: %s\n%s", want, grep(metrics, "paylinks_http_requests_total"))
		}
	}
	if ts.get(t, "/healthz") == "" {
		t.Error("the server stopped serving after a panic")
	}
}

// The header names the request path reads without canonicalising them (headerValue, direct map
// access) are canonical: else a caller's header would silently be missed.
func TestHeaderNamesReadDirectlyAreCanonical(t *testing.T) {
	for _, names := range [][]string{validation.ForwardedRequestHeaders, idempotencyKeyHeaders,
		{echo.HeaderXRequestID, echo.HeaderContentType, echo.HeaderAuthorization}} {
		for _, name := range names {
			if c := http.CanonicalHeaderKey(name); c != name {
				t.Errorf("%q is read as it is, but a request's header is %q", name, c)
			}
		}
	}
}

// TestPassthroughSendsThePathAsValidated: the provider gets the path escaped as it was validated
// (a reserved character in an id stays escaped, a plain id goes as it is), and the request id
// the caller's answer carries.
func TestPassthroughSendsThePathAsValidated(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(200, "application/json", mkpLink))
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL + "/v1", Credentials: map[string]string{"token": "tok"}},
	}})
	for _, tt := range []struct{ sent, want string }{
		{"plk_1", "/v1/payment-links/plk_1"},
		{"a;b", "/v1/payment-links/a%3Bb"},
		{"a%3Bb", "/v1/payment-links/a%3Bb"},
		{"a,b", "/v1/payment-links/a%2Cb"},
		{"a:b@c!$&'()*+=", "/v1/payment-links/a:b@c%21$&%27%28%29%2A+="},
		{"%61b", "/v1/payment-links/ab"},
	} {
		before := len(up.requests())
		status, h, body := ts.raw(t, "GET", "/providers/mijnklantportaal/payment-links/"+tt.sent, "key", "", nil)
		if status != 200 {
			t.Errorf("GET %s: %d %s", tt.sent, status, body)
			continue
		}
		seen := up.requests()
		if len(seen) != before+1 {
			t.Fatalf("GET %s: %d provider calls, want 1", tt.sent, len(seen)-before)
		}
		got := seen[len(seen)-1]
		if got.RequestURI != tt.want {
			t.Errorf("GET %s: the provider got %s, want %s", tt.sent, got.RequestURI, tt.want)
		}
		if id := h.Get("X-Request-Id"); id == "" || got.Header.Get("X-Request-Id") != id {
			t.Errorf("GET %s: the provider got request id %q, the caller %q", tt.sent, got.Header.Get("X-Request-Id"), id)
		}
	}
}
