package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box, err := New("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sealed, err := box.Seal(secret, "we_1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "MfKQ9r8") || !strings.HasPrefix(sealed, sealedPrefix) {
		t.Fatalf("sealed value shows the secret or has no marker: %s", sealed)
	}
	again, _ := box.Seal(secret, "we_1")
	if again == sealed {
		t.Fatal("two seals of one secret are equal: nonce reused")
	}
	if got, err := box.Open(sealed, "we_1"); err != nil || got != secret {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(sealed, "we_2"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open under another context = %v, want ErrCorrupt", err)
	}
	other, _ := New("another key")
	if _, err := other.Open(sealed, "we_1"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open under another key = %v, want ErrCorrupt", err)
	}
	plain, _ := New("")
	if _, err := plain.Open(sealed, "we_1"); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("Open without key = %v, want ErrKeyRequired", err)
	}
	if _, err := box.Open(sealedPrefix+"!!", "we_1"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of garbage = %v", err)
	}
	if _, err := box.Open("whsec_raw", "we_1"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of an unmarked value = %v", err)
	}
}

func TestPlaintextWithoutKeyStillOpensWithKey(t *testing.T) {
	plain, _ := New("")
	stored, _ := plain.Seal("whsec_abc", "we_1")
	if stored != "plain:whsec_abc" {
		t.Fatalf("stored = %q", stored)
	}
	keyed, _ := New("k")
	if got, err := keyed.Open(stored, "we_1"); err != nil || got != "whsec_abc" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestDeriveKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	if k := DeriveKey(base64.StdEncoding.EncodeToString(raw)); !bytes.Equal(k, raw) {
		t.Fatal("base64 of 32 bytes is not used as the key")
	}
	if k := DeriveKey("short passphrase"); len(k) != 32 || bytes.Equal(k, raw) {
		t.Fatal("a passphrase is not hashed to 32 bytes")
	}
}
