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
	// Tie, when set, is the position inside a group of links made in one instant that one List
	// call could not read whole: the group is listed provider by provider (see Client.listTie).
	Tie *tie `json:"x,omitempty"`
}

// tie is the position inside the group of links made in the instant At: Provider's are being
// listed. Those with a paylinks id of Below or more are listed (by id, the newest-first order's
// tie-break, as long as the provider's links of the instant can be read whole); once Listed, the
// rest come in the provider's own order, after its link After.
type tie struct {
	At       int64  `json:"t"`
	Provider string `json:"p"`
	Below    string `json:"b,omitempty"`
	Listed   bool   `json:"l,omitempty"`
	After    string `json:"a,omitempty"`
}

// Position ids around every paylinks id (their alphabet is URL-safe base64 and "_", after a
// provider name): in the newest-first order, where the highest id comes first, the position
// (instant, firstOfInstant) comes just before every link of the instant, (instant, lastOfInstant)
// just after them.
const (
	firstOfInstant = "~"
	lastOfInstant  = " "
)

// atOrBefore reports whether the cursor position is at the instant t or older, so that a position
// just before t would not move the list on.
func (c cursor) atOrBefore(t time.Time) bool {
	return c.ID != "" && !time.Unix(0, c.CreatedAt).After(t)
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
