package sandbox_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/sandbox"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b string }{
		{`{"a":1,"b":"x"}`, ` { "b" : "x", "a" : 1 } `},
		{`{"m":{"y":"1","x":"2"}}`, `{"m":{"x":"2","y":"1"}}`},
		{``, `  `},
	}
	for _, tt := range tests {
		if sandbox.Fingerprint("POST", "/p", []byte(tt.a)) != sandbox.Fingerprint("POST", "/p", []byte(tt.b)) {
			t.Errorf("%q and %q differ", tt.a, tt.b)
		}
	}
	for _, other := range [][3]string{{"POST", "/p", `{"a":1.0}`}, {"PATCH", "/p", `{"a":1}`}, {"POST", "/q", `{"a":1}`}} {
		if sandbox.Fingerprint("POST", "/p", []byte(`{"a":1}`)) == sandbox.Fingerprint(other[0], other[1], []byte(other[2])) {
			t.Errorf("%v is the same request as POST /p {\"a\":1}; numbers keep their literal form", other)
		}
	}
}

// A key is replayed with its answer, refused with another request or while in progress, kept for
// the retention on the sandbox clock, and not kept at all after a 5xx.
func TestReplays(t *testing.T) {
	t.Parallel()
	clock := sandbox.NewClock(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC))
	m := sandbox.NewReplays(clock, time.Hour)
	fp, other := sandbox.Fingerprint(http.MethodPost, "/l", []byte(`{"a":1}`)), sandbox.Fingerprint(http.MethodPost, "/l", []byte(`{"a":2}`))
	if a, err := m.Begin("k1", fp); a != nil || err != nil {
		t.Fatalf("first use: %v %v", a, err)
	}
	if _, err := m.Begin("k1", fp); !errors.Is(err, sandbox.ErrKeyInProgress) {
		t.Errorf("while in progress: %v", err)
	}
	m.Finish("k1", sandbox.Answer{Status: 201, ContentType: "application/json", Body: []byte(`{"id":"1"}`)})
	if a, err := m.Begin("k1", fp); err != nil || a == nil || a.Status != 201 || string(a.Body) != `{"id":"1"}` {
		t.Errorf("replay: %+v %v", a, err)
	}
	if _, err := m.Begin("k1", other); !errors.Is(err, sandbox.ErrKeyReused) {
		t.Errorf("another request: %v", err)
	}
	if err := clock.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if a, err := m.Begin("k1", other); a != nil || err != nil {
		t.Errorf("after the retention the key is free: %v %v", a, err)
	}
	m.Finish("k1", sandbox.Answer{Status: 503})
	if a, err := m.Begin("k1", fp); a != nil || err != nil {
		t.Errorf("a 5xx is not kept: %v %v", a, err)
	}
	m.Forget("k1")
	if a, err := m.Begin("k1", other); a != nil || err != nil {
		t.Errorf("a forgotten key is free: %v %v", a, err)
	}
}
