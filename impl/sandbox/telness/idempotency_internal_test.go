package telness

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// A second request with a key whose first request is still being handled is answered 409
// idempotency_key_locked (same request) or idempotency_key_mismatch (another one). The in-progress
// state is set up directly: two real requests cannot be made to overlap reliably.
func TestIdempotencyKeyLocked(t *testing.T) {
	t.Parallel()
	s := New(sandbox.Config{Clock: sandbox.NewClock(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC))})
	body := `{"orderId":"o"}`
	if rec, code := s.idem.begin("key\x00busy", "POST /payment-links\n"+canonicalJSON([]byte(body)), s.cfg.Clock.Now()); rec != nil || code != "" {
		t.Fatalf("begin: %v %q", rec, code)
	}
	for _, tt := range []struct{ body, code string }{
		{body, "idempotency_key_locked"},
		{`{"orderId":"p"}`, "idempotency_key_mismatch"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/payment-links", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", "key")
		req.Header.Set("X-Idempotency-Key", "busy")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) {
			t.Errorf("%s: %d %s, want 409 %s", tt.body, rec.Code, rec.Body, tt.code)
		}
	}
	if len(s.links) != 0 {
		t.Errorf("%d links created while the key was locked", len(s.links))
	}
}

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b string }{
		{`{"a":1,"b":"x"}`, ` { "b" : "x", "a" : 1 } `},
		{`{"m":{"y":"1","x":"2"}}`, `{"m":{"x":"2","y":"1"}}`},
		{``, `  `},
	}
	for _, tt := range tests {
		if canonicalJSON([]byte(tt.a)) != canonicalJSON([]byte(tt.b)) {
			t.Errorf("%q and %q differ", tt.a, tt.b)
		}
	}
	if canonicalJSON([]byte(`{"a":1}`)) == canonicalJSON([]byte(`{"a":1.0}`)) {
		t.Error("numbers are compared by their literal form: 1 and 1.0 are different requests")
	}
}
