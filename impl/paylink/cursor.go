package paylink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// cursor is the position in a merged list: the last link returned (creation time and id, the keys
// of the newest-first order) and, per provider, the page to resume reading from. New links are newer
// than the position, so they never shift a later page; a provider page that moved further down is
// read again from where the cursor says and filtered by the position.
type cursor struct {
	Provider  string            `json:"p,omitempty"`
	Status    Status            `json:"s,omitempty"`
	CreatedAt int64             `json:"t,omitempty"`
	ID        string            `json:"i,omitempty"`
	Pages     map[string]string `json:"g,omitempty"`
}

// before reports whether l comes after the cursor position in the newest-first order.
func (c cursor) before(l Link) bool {
	if c.ID == "" {
		return true
	}
	pos := Link{CreatedAt: time.Unix(0, c.CreatedAt), ID: ID(c.ID)}
	return newerFirst(pos, l) < 0
}

// cursorCodec signs cursors so that a tampered or foreign one is refused, not misread.
type cursorCodec struct{ key []byte }

func newCursorCodec(key []byte) *cursorCodec {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &cursorCodec{key: key}
}

const cursorMACLen = 16

func (cc *cursorCodec) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, cc.key)
	m.Write(payload)
	return m.Sum(nil)[:cursorMACLen]
}

func (cc *cursorCodec) encode(c cursor) string {
	payload, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(cc.mac(payload))
}

var cursorEncoding = base64.RawURLEncoding.Strict()

var errBadCursor = errors.New("not a cursor of this server (tampered, truncated, or signed with another key); start again without a cursor")

func (cc *cursorCodec) decode(s string) (cursor, error) {
	p, m, ok := strings.Cut(s, ".")
	if !ok {
		return cursor{}, errBadCursor
	}
	// Strict, so that no two strings are the same cursor: a changed character is always refused.
	payload, err1 := cursorEncoding.DecodeString(p)
	sig, err2 := cursorEncoding.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, cc.mac(payload)) {
		return cursor{}, errBadCursor
	}
	var c cursor
	if err := json.Unmarshal(payload, &c); err != nil {
		return cursor{}, errBadCursor
	}
	return c, nil
}
