package paylink_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/paylinks/paylinks/impl/paylink"
)

// urlSafe is the alphabet of a paylinks id: it goes into URL paths and query strings unescaped.
var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestIDRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct{ provider, linkID string }{
		{"mijnklantportaal", "pl_8Hk2mQ"},
		{"hub2", "pl_z1urYtVFgEebtcj8fxp4v"},
		{"telness", "f42e06a4-62aa-0c13-b95d-d4c7a152f73b"},
		{"hub2", "a/b/c"},
		{"hub2", "../../admin"},
		{"hub2", "under_score_"},
		{"hub2", "_"},
		{"hub2", "+/="},
		{"hub2", "a+b/c=="},
		{"hub2", "?x=1&y=2#frag"},
		{"hub2", "with space"},
		{"hub2", "%2F"},
		{"hub2", "ünïcødé-链接-🔗"},
		{"hub2", "x"},
		{"hub2", "\x00\xff"},
		{"telness", "hub2_cGxf"}, // an id that looks like a paylinks id
	}
	for _, tt := range tests {
		id := paylink.NewID(tt.provider, tt.linkID)
		if !urlSafe.MatchString(string(id)) {
			t.Errorf("NewID(%q, %q) = %q, not URL-safe", tt.provider, tt.linkID, id)
		}
		provider, linkID, err := id.Parse()
		if err != nil {
			t.Errorf("NewID(%q, %q).Parse(): %v", tt.provider, tt.linkID, err)
			continue
		}
		if provider != tt.provider || linkID != tt.linkID {
			t.Errorf("NewID(%q, %q).Parse() = %q, %q", tt.provider, tt.linkID, provider, linkID)
		}
	}
}

func TestIDDistinct(t *testing.T) {
	t.Parallel()
	// The same provider id at two providers, and ids differing only in case, stay distinct.
	ids := map[paylink.ID]bool{}
	for _, id := range []paylink.ID{
		paylink.NewID("hub2", "abc"), paylink.NewID("telness", "abc"),
		paylink.NewID("hub2", "ABC"), paylink.NewID("hub2", "abc/"),
	} {
		if ids[id] {
			t.Errorf("%q made twice", id)
		}
		ids[id] = true
	}
}

func TestIDParseRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   paylink.ID
	}{
		{"empty", ""},
		{"garbage", "not a paylinks id"},
		{"no separator", "hub2"},
		{"missing provider", "_cGxfejF1"},
		{"empty raw id", "hub2_"},
		{"standard base64 alphabet", "hub2_-_8+/w"}, // "+" and "/" are not in the URL alphabet
		{"padding", "hub2_eA=="},                    // "x" with padding
		{"non-canonical trailing bits", "hub2_eB"},  // decodes to "x" like "eA", but is not how NewID writes it
		{"non-canonical length", "hub2_e"},          // a single base64 character encodes no byte
		{"characters outside base64", "hub2_ab!c"},  // "!" is no base64
		{"space", "hub2_cGxf ejF1"},                 // spaces are no base64
		{"percent-escaped", "hub2_cGxf%2F"},         // escapes are no base64
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			provider, linkID, err := tt.id.Parse()
			if !errors.Is(err, paylink.ErrNotFound) {
				t.Errorf("ID(%q).Parse() = %q, %q, %v; want ErrNotFound", tt.id, provider, linkID, err)
			}
		})
	}
}
