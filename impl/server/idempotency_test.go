package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/idempotency"
	"github.com/paylinks/paylinks/impl/internal/redistest"
)

// mkpCreates is a MijnKlantportaal whose creates take delay to answer, each with a link of its
// own (plk_1, plk_2, …); before answers, when set, runs as the link is made.
type mkpCreates struct {
	*upstream
	creates atomic.Int64
}

func newMKPCreates(t *testing.T, delay time.Duration, before func(n int64)) *mkpCreates {
	m := &mkpCreates{}
	m.upstream = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			answer(404, "application/json", `{"message":"No Payment Link can be found for the given ID"}`)(w, r)
			return
		}
		n := m.creates.Add(1)
		if before != nil {
			before(n)
		}
		time.Sleep(delay) // the provider is slow, whatever the caller does
		link := strings.ReplaceAll(mkpLink, "plk_1", fmt.Sprint("plk_", n))
		answer(201, "application/json", link)(w, r)
	})
	return m
}

const keyedCreate = `{"provider":"mijnklantportaal","description":"Contribution costs","amount":{"currency":"EUR","value":"12.95"}}`

// TestCallerTimeoutDoesNotPoisonItsKey gives up on a keyed create while the provider is still
// making the link: the create must finish anyway, and a retry with the key must get that link,
// not a 500 and not a second link. With the in-memory store and with Redis.
func TestCallerTimeoutDoesNotPoisonItsKey(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) string{
		"memory": func(*testing.T) string { return "" },
		"redis":  func(t *testing.T) string { return redistest.Start(t).URL },
	}
	for name, redisURL := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The caller gives up as soon as the provider has the request, while it is still making
			// the link.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			up := newMKPCreates(t, 300*time.Millisecond, func(int64) { cancel() })
			ts := start(t, Config{APIKeys: []string{"key"}, RedisURL: redisURL(t), Providers: map[string]ProviderConfig{
				"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
			}})
			req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/payment-links", strings.NewReader(keyedCreate))
			req.Header.Set("Authorization", "Bearer key")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "order-42")
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
				t.Fatalf("the caller got %d before giving up", res.StatusCode)
			}
			// The retry waits for the first request's answer if it is still running.
			status, h, body := ts.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, map[string]string{"Idempotency-Key": "order-42"})
			if status != 201 || !strings.Contains(body, `"providerLinkId":"plk_1"`) {
				t.Fatalf("retry: %d %s, want 201 with the link made for the first request", status, body)
			}
			if h.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry not marked as a replay: %v", h)
			}
			if n := up.creates.Load(); n != 1 {
				t.Errorf("%d creates at the provider, want 1", n)
			}
		})
	}
}

// TestRedisLostBetweenCallAndSave cuts the first instance off Redis while the provider makes the
// link. One key must never make two creates: the other instance's retries get 409 with
// Retry-After (in progress, then outcome unknown) within its write timeout instead of creating
// again, and the link once the first instance has stored its answer.
func TestRedisLostBetweenCallAndSave(t *testing.T) {
	t.Parallel()
	rd := redistest.Start(t)
	proxy, proxyURL := rd.Proxy(t)
	up := newMKPCreates(t, 0, func(n int64) {
		if n == 1 {
			proxy.Cut()
		}
	})
	cfg := func(redisURL string) Config {
		return Config{APIKeys: []string{"key"}, RedisURL: redisURL, Providers: map[string]ProviderConfig{
			"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
		}, idempotencyLockTTL: 3 * time.Second, idempotencyWait: 200 * time.Millisecond}
	}
	first, other := start(t, cfg(proxyURL)), start(t, cfg(rd.URL))
	key := map[string]string{"Idempotency-Key": "order-43"}

	status, _, body := first.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key)
	if status != 201 || !strings.Contains(body, `"providerLinkId":"plk_1"`) {
		t.Fatalf("first request: %d %s, want the link although Redis went away", status, body)
	}
	if !strings.Contains(first.logs.String(), "idempotency answer not stored yet") {
		t.Error("the failed save was not logged")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	retry := func(ts *testServer) (int, http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+"/v1/payment-links", strings.NewReader(keyedCreate))
		req.Header.Set("Authorization", "Bearer key")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key["Idempotency-Key"])
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("retry got no answer: %v", err)
		}
		defer res.Body.Close()
		raw := make([]byte, 64<<10)
		n, _ := res.Body.Read(raw)
		return res.StatusCode, res.Header, problemOf(t, res.Header, string(raw[:n]))
	}
	for _, want := range []string{"idempotency_in_progress", "idempotency_outcome_unknown"} {
		if want == "idempotency_outcome_unknown" {
			time.Sleep(3 * time.Second) // the claim's deadline passes
		}
		status, h, p := retry(other)
		if status != 409 || p["code"] != want || h.Get("Retry-After") == "" {
			t.Errorf("retry on the other instance: %d %v %v, want 409 %s with Retry-After", status, p["code"], h.Get("Retry-After"), want)
		}
	}
	// The first instance still has the answer: it replays it although Redis is unreachable.
	if s, h, b := first.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key); s != 201 || !strings.Contains(b, "plk_1") || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry on the first instance while cut off: %d %s", s, b)
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for first.guard.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s, _, b := other.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key); s != 201 || !strings.Contains(b, `"providerLinkId":"plk_1"`) {
		t.Errorf("retry on the other instance once Redis is back: %d %s, want the first link", s, b)
	}
	if n := up.creates.Load(); n != 1 {
		t.Errorf("%d creates at the provider for one key, want 1", n)
	}
}

// TestRefusedRequestsAreNotKept sends keyed requests refused before any provider call: their
// answers are not kept, so they cost the store nothing and a caller that fixes its request can
// retry with the same key. A refusal by the provider itself is kept.
func TestRefusedRequestsAreNotKept(t *testing.T) {
	t.Parallel()
	store := idempotency.NewMemory()
	ts := start(t, Config{Idempotency: store})
	for i := range 200 {
		body := `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"USD","value":"1.00"}}`
		if i%2 == 1 {
			body = `{"provider":"mijnklantportaal","colour":"red"}`
		}
		if s, _, b := ts.raw(t, "POST", "/v1/payment-links", DemoAPIKey, body, map[string]string{"Idempotency-Key": fmt.Sprint("fresh-", i)}); s != 422 {
			t.Fatalf("invalid request %d: %d %s", i, s, b)
		}
	}
	if records, _ := store.Size(); records != 0 {
		t.Errorf("%d records kept for requests refused before any provider call", records)
	}
	key := map[string]string{"Idempotency-Key": "fix-and-retry"}
	if s, _, b := ts.raw(t, "POST", "/v1/payment-links", DemoAPIKey, `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"EUR","value":"1.001"}}`, key); s != 422 {
		t.Fatalf("invalid request: %d %s", s, b)
	}
	if s, _, b := ts.raw(t, "POST", "/v1/payment-links", DemoAPIKey, `{"provider":"mijnklantportaal","description":"x","amount":{"currency":"EUR","value":"1.00"}}`, key); s != 201 {
		t.Errorf("fixed request with the same key: %d %s, want 201", s, b)
	}
	// A refusal by the provider itself is an answer that reached a provider: kept.
	up := newUpstream(t, answer(422, "application/json", `{"message":"The given data was invalid."}`))
	live := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
	}})
	key = map[string]string{"Idempotency-Key": "refused-by-provider"}
	live.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key)
	if s, h, _ := live.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key); s != 422 || h.Get("Idempotent-Replayed") != "true" || up.hits.Load() != 1 {
		t.Errorf("provider's refusal: %d replayed %q after %d provider calls, want the stored 422", s, h.Get("Idempotent-Replayed"), up.hits.Load())
	}
}

// TestKeyedCreateTheProviderMadeIsNeverMadeAgain has a MijnKlantportaal (no idempotency of its
// own) make each link, then answer in a way paylinks refuses (against its spec; larger than the
// deployment accepts): paylinks answers 502, but the link exists. A retry with the key must get
// that answer again, not make a second link: the answer of a request a provider carried out is
// kept whatever its status. On the unified API and through the passthrough.
func TestKeyedCreateTheProviderMadeIsNeverMadeAgain(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, answer string
		maxBytes     int64
	}{
		{"answer against the spec", `{"id":"plk_1","status":"open"}`, 0},
		{"answer too large", mkpLink, int64(len(mkpLink) - 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, answer(201, "application/json", tt.answer))
			ts := start(t, Config{APIKeys: []string{"key"}, MaxProviderAnswerBytes: tt.maxBytes, Providers: map[string]ProviderConfig{
				"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}},
			}})
			createTwiceWithAKey(t, ts, up, "1")
		})
	}
}

// TestKeyedCreateWithAnUnknownOutcomeIsNotMadeAgain has a MijnKlantportaal (no idempotency of its
// own) take each create and then time out or drop the connection: the link may exist. A retry
// with the key gets the first answer again instead of a second create; a provider that refused
// the connection had nothing made, and a retry runs again.
func TestKeyedCreateWithAnUnknownOutcomeIsNotMadeAgain(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		upstream http.HandlerFunc
		timeout  time.Duration
	}{
		{"timeout", sleepy(10 * time.Second), 300 * time.Millisecond},
		{"connection reset", reset, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, tt.upstream)
			ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
				"mijnklantportaal": {BaseURL: up.URL, Credentials: map[string]string{"token": "tok"}, Timeout: tt.timeout},
			}})
			createTwiceWithAKey(t, ts, up, "2")
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t, answer(201, "application/json", mkpLink))
		url := up.URL
		up.Close() // nothing listens there any more
		ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
			"mijnklantportaal": {BaseURL: url, Credentials: map[string]string{"token": "tok"}},
		}})
		key := map[string]string{"Idempotency-Key": "refused-1"}
		ts.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key)
		if _, h, _ := ts.raw(t, "POST", "/v1/payment-links", "key", keyedCreate, key); h.Get("Idempotent-Replayed") != "" {
			t.Errorf("a create no provider received was kept: a retry must run again")
		}
	})
}

// createTwiceWithAKey sends a keyed create twice, on the unified API and through the passthrough,
// to a MijnKlantportaal whose first answer paylinks turns into a 5xx: the retry must get that
// answer replayed, and the provider one create per key.
func createTwiceWithAKey(t *testing.T, ts *testServer, up *upstream, tag string) {
	t.Helper()
	for _, r := range []struct{ path, body string }{
		{"/v1/payment-links", keyedCreate},
		{"/providers/mijnklantportaal/payment-links", `{"description":"d","amount":"1.00"}`},
	} {
		before := up.hits.Load()
		key := map[string]string{"Idempotency-Key": r.path + "-" + tag}
		s1, _, b1 := ts.raw(t, "POST", r.path, "key", r.body, key)
		if s1 < 500 {
			t.Fatalf("%s: %d %s, want a 5xx", r.path, s1, b1)
		}
		s2, h2, _ := ts.raw(t, "POST", r.path, "key", r.body, key)
		if n := up.hits.Load() - before; n != 1 {
			t.Errorf("%s: %d creates at the provider for one key, want 1", r.path, n)
		}
		if s2 != s1 || h2.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s retry: %d replayed %q, want the first answer (%d) replayed", r.path, s2, h2.Get("Idempotent-Replayed"), s1)
		}
	}
}

// The in-memory store's size and the answers it forgot early are in /metrics, so an operator sees
// when PAYLINKS_IDEMPOTENCY_MEMORY_BYTES is too small for a day of keys.
func TestIdempotencyMemoryMetrics(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{IdempotencyMemoryBytes: 4 << 10})
	for i := range 20 {
		status, _, _ := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey,
			`{"provider":"mijnklantportaal","amount":{"currency":"EUR","value":"1.00"},"description":"d"}`, map[string]string{"Idempotency-Key": fmt.Sprint("key-", i)})
		if status != 201 {
			t.Fatalf("create %d: %d", i, status)
		}
	}
	m := ts.get(t, "/metrics")
	evicted := regexp.MustCompile(`(?m)^paylinks_idempotency_evicted_total (\d+)$`).FindStringSubmatch(m)
	if evicted == nil || evicted[1] == "0" {
		t.Errorf("paylinks_idempotency_evicted_total %v, want some after 20 answers in 4 KiB", evicted)
	}
	if !regexp.MustCompile(`(?m)^paylinks_idempotency_memory_bytes [1-9]`).MatchString(m) {
		t.Error("no paylinks_idempotency_memory_bytes")
	}
}

// TestGuardedRecordsCallsOnAnyRoute: a keyed request run by guarded on a route without admit (no
// request state yet) still has its provider calls recorded, so a 502 given after the provider made
// the change is kept and replayed, never run again.
func TestGuardedRecordsCallsOnAnyRoute(t *testing.T) {
	srv, err := New(Config{Logger: NewLogger(io.Discard, slog.LevelError)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	runs := 0
	run := func(c echo.Context) error {
		runs++
		ctx := c.Request().Context()
		markProviderCall(ctx)
		markProviderAnswer(ctx, http.MethodPost, http.StatusCreated)
		return c.String(http.StatusBadGateway, "the provider's answer broke its spec")
	}
	e := echo.New()
	for i := range 2 {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodPost, "/anywhere", nil), rec)
		if err := srv.guarded(c, "key-1", nil, run); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusBadGateway || (i == 1) != (rec.Header().Get("Idempotent-Replayed") == "true") {
			t.Errorf("request %d: %d, replayed %q", i+1, rec.Code, rec.Header().Get("Idempotent-Replayed"))
		}
	}
	if runs != 1 {
		t.Errorf("the request ran %d times, want once: the provider had made the change", runs)
	}
}
