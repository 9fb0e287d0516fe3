package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Addr: ln.Addr().String(), DrainGrace: 500 * time.Millisecond, Logger: NewLogger(io.Discard, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	waitReady(t, url)
	cancel()
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
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: liveEverywhere(up.URL, map[string]string{
		"mijnklantportaal": "mkp-token", "hub2": "hub2-key", "telness": "telness-key"})})
	for _, provider := range []string{"mijnklantportaal", "hub2", "telness"} {
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
