package server

import (
	"strings"
	"testing"
)

// plainPath's shortcut returns what the long way would: the path itself, twice.
func FuzzPlainPathIsDecodePaths(f *testing.F) {
	for _, p := range []string{"/payment-links", "/payment-links/plk_1", "/payment-links/plk_1/", "/a/b/c", "/", "//",
		"/a//b", "/a/%2F", "/a/b%20c", "/a/./b", "/a/../b", "/a/b c", "/a/b+c", "/a/é", "/a/b;c", "/a/b?c", "/a/b#c",
		"/a/" + strings.Repeat("x", 300), "x/a", "/a/\x00", "/a/b:c", "/a/~b", "/payment-links/plk_1//"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !plainPath(raw) {
			return
		}
		dec, esc, err := decodePath(raw)
		if err != nil || dec != raw || esc != raw {
			t.Fatalf("%q: plain, but the long way gives %q, %q, %v", raw, dec, esc, err)
		}
	})
}

func TestPlainPath(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{"/payment-links": true, "/payment-links/plk_1": true, "/payment-links/plk_1/": true,
		"/a%2Fb": false, "/a/./b": false, "/a/../b": false, "/a//b": false, "/a/b c": false, "x": false} {
		if got := plainPath(raw); got != want {
			t.Errorf("%q: plain %v, want %v", raw, got, want)
		}
	}
}
