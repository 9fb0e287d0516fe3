package stdwebhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The specification's published test vector.
const (
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignGoldenVector(t *testing.T) {
	key, err := Key(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := Sign(key, vecID, time.Unix(vecTS, 0), []byte(vecBody)); got != vecSig {
		t.Fatalf("Sign = %s, want %s", got, vecSig)
	}
}

// The reference library (used only here) must agree with us both ways.
func TestReferenceLibraryAgrees(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := wh.Sign(vecID, time.Unix(vecTS, 0), []byte(vecBody))
	if err != nil {
		t.Fatal(err)
	}
	if ref != vecSig {
		t.Fatalf("reference library signs %s", ref)
	}
	// Ours signs now, the library (which reads time.Now) verifies.
	key, _ := Key(vecSecret)
	h := http.Header{}
	SetHeaders(h, "evt_1", time.Now(), []byte(`{"a":1}`), key)
	if err := wh.Verify([]byte(`{"a":1}`), h); err != nil {
		t.Fatalf("reference library rejects our headers: %v", err)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(vecTS, 0)
	key, _ := Key(vecSecret)
	other, _ := NewSecret()
	otherKey, _ := Key(other)
	signed := func(ts time.Time, body string, keys ...[]byte) http.Header {
		h := http.Header{}
		SetHeaders(h, vecID, ts, []byte(body), keys...)
		return h
	}
	v, err := NewVerifier(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return now }
	tests := []struct {
		name string
		h    http.Header
		body string
		want error
	}{
		{"vector", signed(now, vecBody, key), vecBody, nil},
		{"two signatures, ours second", signed(now, vecBody, otherKey, key), vecBody, nil},
		{"other secret only", signed(now, vecBody, otherKey), vecBody, ErrNoMatch},
		{"body changed", signed(now, vecBody, key), vecBody + " ", ErrNoMatch},
		{"4 min old", signed(now.Add(-4*time.Minute), vecBody, key), vecBody, nil},
		{"6 min old", signed(now.Add(-6*time.Minute), vecBody, key), vecBody, ErrBadTimestamp},
		{"6 min ahead", signed(now.Add(6*time.Minute), vecBody, key), vecBody, ErrBadTimestamp},
		{"no id", func() http.Header { h := signed(now, vecBody, key); h.Del(HeaderID); return h }(), vecBody, ErrMissingHeader},
		{"no signature", func() http.Header { h := signed(now, vecBody, key); h.Del(HeaderSignature); return h }(), vecBody, ErrMissingHeader},
		{"bad timestamp", func() http.Header { h := signed(now, vecBody, key); h.Set(HeaderTimestamp, "soon"); return h }(), vecBody, ErrBadTimestamp},
		{"id changed", func() http.Header { h := signed(now, vecBody, key); h.Set(HeaderID, "msg_other"); return h }(), vecBody, ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(tt.h, []byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifierAcceptsEitherSecretDuringRotation(t *testing.T) {
	oldS, _ := NewSecret()
	newS, _ := NewSecret()
	oldK, _ := Key(oldS)
	h := http.Header{}
	SetHeaders(h, "evt_x", time.Now(), []byte("{}"), oldK)
	v, _ := NewVerifier(newS, oldS)
	if err := v.Verify(h, []byte("{}")); err != nil {
		t.Fatal(err)
	}
}

func TestSecrets(t *testing.T) {
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	k, err := Key(s)
	if !strings.HasPrefix(s, SecretPrefix) || err != nil || len(k) != 32 {
		t.Fatalf("NewSecret = %q (key %d bytes, %v)", s, len(k), err)
	}
	for _, bad := range []string{"whsec_", "whsec_***", ""} {
		if _, err := Key(bad); !errors.Is(err, ErrBadSecret) {
			t.Errorf("Key(%q) = %v, want ErrBadSecret", bad, err)
		}
	}
	if _, err := NewVerifier(); !errors.Is(err, ErrBadSecret) {
		t.Errorf("NewVerifier() = %v", err)
	}
}
