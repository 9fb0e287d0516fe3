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
	if rec, err := s.idem.Begin("key\x00busy", sandbox.Fingerprint(http.MethodPost, "/payment-links", []byte(body))); rec != nil || err != nil {
		t.Fatalf("begin: %v %v", rec, err)
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
