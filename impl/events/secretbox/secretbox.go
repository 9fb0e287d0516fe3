// Package secretbox keeps secrets at rest (webhook endpoint secrets, provider webhook secrets)
// encrypted with AES-256-GCM under the deployment's PAYLINKS_SECRETS_KEY.
//
// The key text is read as the standard or URL-safe base64 of exactly 32 bytes when it is one (e.g.
// `openssl rand -base64 32`); any other text is hashed with SHA-256 into the key. Without a key,
// values are stored with a plaintext marker, so a deployment can add a key later: plaintext values
// still open and are sealed again on their next write. A sealed value never opens without the key.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const (
	sealedPrefix = "aesgcm1:"
	plainPrefix  = "plain:"
)

// Errors of Open.
var (
	ErrKeyRequired = errors.New("secretbox: value is encrypted and no PAYLINKS_SECRETS_KEY is set")
	ErrCorrupt     = errors.New("secretbox: value does not open (wrong PAYLINKS_SECRETS_KEY or damaged)")
)

// Box seals and opens secrets. The zero value and New("") store plaintext.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for the key text; "" makes a plaintext Box.
func New(keyText string) (*Box, error) {
	if keyText == "" {
		return &Box{}, nil
	}
	block, err := aes.NewCipher(DeriveKey(keyText))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// DeriveKey turns the key text into 32 bytes: its base64 decoding when that is 32 bytes long,
// else its SHA-256.
func DeriveKey(keyText string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(keyText); err == nil && len(k) == 32 {
			return k
		}
	}
	sum := sha256.Sum256([]byte(keyText))
	return sum[:]
}

// Encrypts reports whether the Box has a key.
func (b *Box) Encrypts() bool { return b != nil && b.aead != nil }

// Seal returns the stored form of secret. context binds the value to where it is stored (an
// endpoint id, say): it must be the same to open it, so a sealed value copied to another row does
// not open there.
func (b *Box) Seal(secret, context string) (string, error) {
	if !b.Encrypts() {
		return plainPrefix + secret, nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(secret), []byte(context))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open returns the secret of a stored value made by Seal with the same context.
func (b *Box) Open(stored, context string) (string, error) {
	switch {
	case strings.HasPrefix(stored, plainPrefix):
		return strings.TrimPrefix(stored, plainPrefix), nil
	case strings.HasPrefix(stored, sealedPrefix):
		if !b.Encrypts() {
			return "", ErrKeyRequired
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
		if err != nil || len(raw) < b.aead.NonceSize() {
			return "", ErrCorrupt
		}
		n := b.aead.NonceSize()
		plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(context))
		if err != nil {
			return "", ErrCorrupt
		}
		return string(plain), nil
	default:
		return "", fmt.Errorf("%w: unknown format", ErrCorrupt)
	}
}
