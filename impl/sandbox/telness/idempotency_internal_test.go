package telness

import (
	"net/http"
	"net/http/httptest"
	"strconv"
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

// TestLinkCap fills a sandbox with a small cap: the next create is refused with Telness' own 429,
// and nothing already created is forgotten.
func TestLinkCap(t *testing.T) {
	t.Parallel()
	if d := (sandbox.Config{}).Defaults().MaxLinks; d < 50_000 {
		t.Errorf("default cap %d, want at least 50 000", d)
	}
	s := New(sandbox.Config{Clock: sandbox.NewClock(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)), MaxLinks: 3})
	create := func(i int) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/payment-links", strings.NewReader(`{"orderId":"o`+strconv.Itoa(i)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", "key")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := create(i); rec.Code != http.StatusCreated {
			t.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := create(3)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"message":"This sandbox holds its maximum of 3 payment links`) {
		t.Errorf("create beyond the cap: %d %s, want 429 in Telness' error shape", rec.Code, rec.Body)
	}
	if len(s.links) != 3 {
		t.Errorf("%d links kept, want the 3 created", len(s.links))
	}
}
