package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// upstreamPage is a MijnKlantportaal-like upstream with a 15-link page and a close, answered from
// bytes built once.
func benchUpstream(tb testing.TB) *httptest.Server {
	link := func(i int, status string) map[string]any {
		var checkout any = fmt.Sprintf("https://demo.mijnklantportaal.nl/payment-link/plk_%014d", i)
		if status == "closed" {
			checkout = nil
		}
		return map[string]any{"id": fmt.Sprintf("plk_%014d", i), "description": "Contribution costs", "currency": "EUR",
			"amount": "12.95", "reusable": false, "expiresAt": "2030-05-14T21:00:00+02:00", "status": status,
			"checkoutUrl": checkout, "createdAt": "2024-04-29T21:00:00+02:00"}
	}
	var data []any
	for i := range 15 {
		data = append(data, link(i, "open"))
	}
	page, _ := json.Marshal(map[string]any{"current_page": 1, "data": data,
		"first_page_url": "https://api.mijnklantportaal.nl/v1/payment-links?page=1", "from": 1,
		"next_page_url": "https://api.mijnklantportaal.nl/v1/payment-links?page=2",
		"path":          "https://api.mijnklantportaal.nl/v1/payment-links", "per_page": 15, "prev_page_url": nil, "to": 15})
	closed, _ := json.Marshal(link(1, "closed"))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodDelete {
			w.Write(closed)
			return
		}
		w.Write(page)
	}))
	tb.Cleanup(up.Close)
	return up
}

func benchServer(tb testing.TB, up *httptest.Server) http.Handler {
	srv, err := New(Config{APIKeys: []string{"k"}, Logger: NewLogger(io.Discard, 8),
		Providers: map[string]ProviderConfig{"mijnklantportaal": {BaseURL: up.URL + "/v1", Credentials: map[string]string{"token": "t"}}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv.Handler()
}

// BenchmarkPassthrough measures the validated passthrough, both hops validated, in process, next
// to a plain httputil.ReverseProxy in front of the same upstream (the practical limit).
func BenchmarkPassthrough(b *testing.B) {
	up := benchUpstream(b)
	h := benchServer(b, up)
	target, _ := url.Parse(up.URL + "/v1")
	plain := httputil.NewSingleHostReverseProxy(target)
	plainHandler := http.StripPrefix("/providers/mijnklantportaal", plain)
	benchProxies(b, []proxyCase{
		{"list15", "GET", "/providers/mijnklantportaal/payment-links", h},
		{"list15-plain-proxy", "GET", "/providers/mijnklantportaal/payment-links", plainHandler},
		{"close", "DELETE", "/providers/mijnklantportaal/payment-links/plk_00000000000001", h},
		{"close-plain-proxy", "DELETE", "/providers/mijnklantportaal/payment-links/plk_00000000000001", plainHandler},
	})
}

// BenchmarkUnified measures the unified API on the embedded sandboxes.
func BenchmarkUnified(b *testing.B) {
	srv, err := New(Config{Logger: NewLogger(io.Discard, 8)})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for i := range 30 {
		r := httptest.NewRequest("POST", "/v1/payment-links", strings.NewReader(fmt.Sprintf(`{"provider":"mijnklantportaal","description":"d%d","amount":{"currency":"EUR","value":"1.00"}}`, i)))
		r.Header.Set("Authorization", "Bearer "+DemoAPIKey)
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	b.Run("list20", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest("GET", "/v1/payment-links?limit=20", nil)
			r.Header.Set("Authorization", "Bearer "+DemoAPIKey)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}

// cannedUpstream answers like benchUpstream, in process: no network, so a benchmark measures the
// proxy's own work only.
type cannedUpstream struct{ page, closed []byte }

func newCannedUpstream(tb testing.TB) cannedUpstream {
	up := benchUpstream(tb)
	get := func(method string) []byte {
		req, _ := http.NewRequest(method, up.URL+"/v1/payment-links/plk_00000000000001", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}
	return cannedUpstream{page: get("GET"), closed: get("DELETE")}
}

func (u cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	body := u.page
	if r.Method == http.MethodDelete {
		body = u.closed
	}
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r,
		Header:        http.Header{"Content-Type": {"application/json"}, "Date": {"Mon, 23 Nov 2026 13:00:00 GMT"}},
		ContentLength: int64(len(body)), Body: io.NopCloser(bytes.NewReader(body))}, nil
}

// BenchmarkProxyCPU is the proxies' own work per request, the upstream answering in process:
// the validated passthrough next to a plain httputil.ReverseProxy on the same canned upstream.
func BenchmarkProxyCPU(b *testing.B) {
	up := newCannedUpstream(b)
	// As `paylinks serve` runs by default: two retries of safe calls.
	srv, err := New(Config{APIKeys: []string{"k"}, Logger: NewLogger(io.Discard, 8), transport: up, MaxRetries: 2,
		Providers: map[string]ProviderConfig{"mijnklantportaal": {BaseURL: "http://upstream.test/v1", Credentials: map[string]string{"token": "t"}}}})
	if err != nil {
		b.Fatal(err)
	}
	noRetries, err := New(Config{APIKeys: []string{"k"}, Logger: NewLogger(io.Discard, 8), transport: up,
		Providers: map[string]ProviderConfig{"mijnklantportaal": {BaseURL: "http://upstream.test/v1", Credentials: map[string]string{"token": "t"}}}})
	if err != nil {
		b.Fatal(err)
	}
	// As `paylinks serve` runs by default: a JSON line per request (written nowhere here).
	logged, err := New(Config{APIKeys: []string{"k"}, Logger: NewLogger(io.Discard, slog.LevelInfo), transport: up, MaxRetries: 2,
		Providers: map[string]ProviderConfig{"mijnklantportaal": {BaseURL: "http://upstream.test/v1", Credentials: map[string]string{"token": "t"}}}})
	if err != nil {
		b.Fatal(err)
	}
	target, _ := url.Parse("http://upstream.test/v1")
	plain := httputil.NewSingleHostReverseProxy(target)
	plain.Transport = up
	benchProxies(b, []proxyCase{
		{"list15", "GET", "/providers/mijnklantportaal/payment-links", srv.Handler()},
		{"list15-logged", "GET", "/providers/mijnklantportaal/payment-links", logged.Handler()},
		{"list15-page", "GET", "/providers/mijnklantportaal/payment-links?page=2", srv.Handler()},
		{"list15-no-retries", "GET", "/providers/mijnklantportaal/payment-links", noRetries.Handler()},
		{"list15-plain-proxy", "GET", "/providers/mijnklantportaal/payment-links", http.StripPrefix("/providers/mijnklantportaal", plain)},
		{"close", "DELETE", "/providers/mijnklantportaal/payment-links/plk_00000000000001", srv.Handler()},
		{"close-plain-proxy", "DELETE", "/providers/mijnklantportaal/payment-links/plk_00000000000001", http.StripPrefix("/providers/mijnklantportaal", plain)},
	})
}

// proxyCase is one request a benchmark sends to one proxy, expecting 200.
type proxyCase struct {
	name, method, path string
	h                  http.Handler
}

func benchProxies(b *testing.B, cases []proxyCase) {
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(bc.method, bc.path, nil)
				r.Header.Set("Authorization", "Bearer k")
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
