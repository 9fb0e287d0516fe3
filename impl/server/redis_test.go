package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/paylinks/paylinks/impl/internal/redistest"
)

// TestIdempotencyAcrossInstances runs two instances sharing one Redis in front of one provider (a
// third server's MijnKlantportaal sandbox, so that both see the same links): an Idempotency-Key
// used on one instance is honoured on the other, and concurrent requests with one key spread over
// both create exactly one link.
func TestIdempotencyAcrossInstances(t *testing.T) {
	t.Parallel()
	rd := redistest.Start(t)
	provider := start(t, Config{})
	cfg := Config{APIKeys: []string{"key", "other-key"}, RedisURL: rd.URL, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: provider.URL + "/sandbox/mijnklantportaal", Credentials: map[string]string{"token": "shared-token"}},
	}}
	instances := []*testServer{start(t, cfg), start(t, cfg)}
	body := func(s string) string {
		return `{"provider":"mijnklantportaal","description":"` + s + `","amount":{"currency":"EUR","value":"7.50"}}`
	}

	t.Run("sequential", func(t *testing.T) {
		before := countLinks(t, provider, "mijnklantportaal")
		key := map[string]string{"Idempotency-Key": "across-1"}
		s1, h1, b1 := instances[0].do(t, "POST", "/v1/payment-links", "key", body("Across instances"), key)
		s2, h2, b2 := instances[1].do(t, "POST", "/v1/payment-links", "key", body("Across instances"), key)
		if s1 != 201 || s2 != 201 || b1["id"] == nil || b1["id"] != b2["id"] {
			t.Fatalf("first instance %d %v, second %d %v", s1, b1, s2, b2)
		}
		if h1.Get("Idempotent-Replayed") != "" || h2.Get("Idempotent-Replayed") != "true" {
			t.Errorf("Idempotent-Replayed: first %q, second %q", h1.Get("Idempotent-Replayed"), h2.Get("Idempotent-Replayed"))
		}
		if s, _, b := instances[1].do(t, "POST", "/v1/payment-links", "key", body("Another request"), key); s != 409 || b["code"] != "idempotency_conflict" {
			t.Errorf("same key, other request, other instance: %d %v", s, b)
		}
		// Keys belong to the caller: another API key with the same Idempotency-Key is another request.
		if s, h, b := instances[1].do(t, "POST", "/v1/payment-links", "other-key", body("Across instances"), key); s != 201 || b["id"] == b1["id"] || h.Get("Idempotent-Replayed") != "" {
			t.Errorf("same key of another caller: %d %v %v", s, h, b)
		}
		if n := countLinks(t, provider, "mijnklantportaal") - before; n != 2 {
			t.Errorf("%d links created, want 2 (one per caller)", n)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		before := countLinks(t, provider, "mijnklantportaal")
		key := map[string]string{"Idempotency-Key": "across-concurrent-1"}
		ids := make([]any, 24)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				status, _, b := instances[i%2].do(t, "POST", "/v1/payment-links", "key", body("Concurrent"), key)
				if status != 201 {
					t.Errorf("request %d: %d %v", i, status, b)
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
		if n := countLinks(t, provider, "mijnklantportaal") - before; n != 1 {
			t.Errorf("%d links created, want 1", n)
		}
	})
}

// TestRedisDown stops Redis under two instances: requests without an Idempotency-Key are served;
// with one, the default instance refuses them (503 idempotency_unavailable) and the fail-open one
// serves them without the guarantee, saying so in its log; /readyz fails on both.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	rd := redistest.Start(t)
	closed := start(t, Config{RedisURL: rd.URL})
	open := start(t, Config{RedisURL: rd.URL, IdempotencyFailOpen: true})
	create := `{"provider":"hub2","reference":"R-1","amount":{"currency":"XOF","value":"1000"}}`
	for _, ts := range []*testServer{closed, open} {
		if got := ts.get(t, "/readyz"); !strings.Contains(got, `"ready"`) {
			t.Fatalf("readyz with Redis up: %s", got)
		}
		if s, _, b := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, create, map[string]string{"Idempotency-Key": "before-1"}); s != 201 {
			t.Fatalf("create with Redis up: %d %v", s, b)
		}
	}

	rd.Stop()

	for _, tt := range []struct {
		name     string
		ts       *testServer
		failOpen bool
		log      string
	}{
		{"fail closed", closed, false, "idempotency store failed; refusing the request"},
		{"fail open", open, true, "idempotency store failed; serving without the guarantee"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // every call that reaches the dead Redis takes a while (go-redis retries)
			status, _, raw := tt.ts.raw(t, "GET", "/readyz", "", "", nil)
			if status != 503 {
				t.Errorf("readyz with Redis down: %d %s", status, raw)
			}
			if s, _, b := tt.ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, create, nil); s != 201 {
				t.Errorf("create without a key: %d %v", s, b)
			}
			if s, _, b := tt.ts.do(t, "GET", "/v1/payment-links?provider=hub2", DemoAPIKey, "", nil); s != 200 {
				t.Errorf("list: %d %v", s, b)
			}
			for i, path := range []string{"/v1/payment-links", "/v1/payment-links/" + unifiedID("hub2", "pl_none") + "/close"} {
				body, want := create, 201
				if i == 1 {
					body, want = "", 404
				}
				status, h, raw := tt.ts.raw(t, "POST", path, DemoAPIKey, body, map[string]string{"Idempotency-Key": fmt.Sprintf("down-%d", i)})
				switch {
				case tt.failOpen && status != want:
					t.Errorf("POST %s with a key: %d, want %d: %s", path, status, want, raw)
				case !tt.failOpen:
					if p := problemOf(t, h, raw); status != 503 || p["code"] != "idempotency_unavailable" {
						t.Errorf("POST %s with a key: %d %s", path, status, raw)
					}
				}
			}
			if logs := tt.ts.logs.String(); !strings.Contains(logs, tt.log) {
				t.Errorf("no log line %q:\n%s", tt.log, grep(logs, "idempotency"))
			}
		})
	}
}
