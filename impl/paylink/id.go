package paylink

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// ID is the paylinks id of a link: the provider's name and the provider's own id of the link,
// URL-safe and opaque to callers ("hub2_cGxfejF1cll0VkZnRWVidGNqOGZ4cDR2").
type ID string

// NewID makes the id of the provider's link.
func NewID(provider, linkID string) ID {
	return ID(provider + "_" + base64.RawURLEncoding.EncodeToString([]byte(linkID)))
}

// Parse splits the id into the provider's name and its own id of the link.
func (id ID) Parse() (provider, linkID string, err error) {
	provider, enc, ok := strings.Cut(string(id), "_")
	if !ok || provider == "" || enc == "" {
		return "", "", fmt.Errorf("%w: %q is not a paylinks id", ErrNotFound, string(id))
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) == 0 || NewID(provider, string(raw)) != id {
		return "", "", fmt.Errorf("%w: %q is not a paylinks id", ErrNotFound, string(id))
	}
	return provider, string(raw), nil
}
