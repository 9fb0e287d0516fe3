// Package stdwebhook signs and verifies webhooks the Standard Webhooks v1 way
// (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature, a space-separated list of "v1,<base64 HMAC-SHA256 of id.timestamp.body>".
// Secrets are "whsec_" followed by the base64 of the key.
//
// paylinks signs its deliveries with it; receivers (the test receivers, `paylinks listen`) verify
// with it. It imports nothing of paylinks.
package stdwebhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The header names of the specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's clock, both ways
// (the reference libraries use 5 minutes).
const DefaultTolerance = 5 * time.Minute

// Errors of Verify; each failure wraps exactly one of them.
var (
	ErrBadSecret     = errors.New("stdwebhook: secret is not whsec_ followed by base64")
	ErrMissingHeader = errors.New("stdwebhook: missing header")
	ErrBadTimestamp  = errors.New("stdwebhook: timestamp outside the tolerance")
	ErrNoMatch       = errors.New("stdwebhook: no signature matches")
)

// NewSecret returns a fresh secret: "whsec_" and the base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Key decodes a secret into its HMAC key. The prefix is optional, as in the reference libraries.
func Key(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSecret, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrBadSecret)
	}
	return key, nil
}

// Sign returns the "v1,<base64>" signature of a message under one key.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SetHeaders sets the three headers on h, signing with every key given (the current one first,
// then the previous one during a rotation).
func SetHeaders(h http.Header, id string, ts time.Time, body []byte, keys ...[]byte) {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
}

// Verifier checks signed webhooks against one or more secrets.
type Verifier struct {
	keys      [][]byte
	Tolerance time.Duration    // zero: DefaultTolerance
	Now       func() time.Time // nil: time.Now
}

// NewVerifier returns a Verifier accepting a signature by any of the secrets.
func NewVerifier(secrets ...string) (*Verifier, error) {
	v := &Verifier{}
	for _, s := range secrets {
		k, err := Key(s)
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, k)
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrBadSecret)
	}
	return v, nil
}

// Verify checks the headers against the raw body: the timestamp within the tolerance and at least
// one v1 signature made by one of the secrets, compared in constant time. Receivers should also
// drop a webhook-id they have already processed.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	for name, val := range map[string]string{HeaderID: id, HeaderTimestamp: tsText, HeaderSignature: sigs} {
		if val == "" {
			return fmt.Errorf("%w: %s", ErrMissingHeader, name)
		}
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not Unix seconds", ErrBadTimestamp, tsText)
	}
	now, tol := time.Now, v.Tolerance
	if v.Now != nil {
		now = v.Now
	}
	if tol == 0 {
		tol = DefaultTolerance
	}
	ts := time.Unix(sec, 0)
	if d := now().Sub(ts); d > tol || d < -tol {
		return fmt.Errorf("%w: %s is %s away", ErrBadTimestamp, tsText, d.Round(time.Second))
	}
	for _, k := range v.keys {
		want := []byte(Sign(k, id, ts, body))
		for _, got := range strings.Fields(sigs) {
			if hmac.Equal([]byte(got), want) {
				return nil
			}
		}
	}
	return ErrNoMatch
}
