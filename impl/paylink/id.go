package paylink

import (
	"encoding/base64"
	"errors"
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

// CheckLinkID reports why a provider's link id cannot be sent to the provider in a URL path, or
// nil. The generated clients put the id in a path segment: an empty id, "." or "..", or one with
// "/", "\\", "%", "?", "#", spaces, control or non-ASCII characters would reach another URL than
// the link's (`/payment-links/..` is the collection, `/payment-links/../close` another route),
// with the provider's credentials. No provider issues such ids.
func CheckLinkID(linkID string) error {
	switch linkID {
	case "":
		return errors.New("it is empty")
	case ".", "..":
		return fmt.Errorf("%q is a path segment of its own", linkID)
	}
	if len(linkID) > 255 {
		return errors.New("it is longer than 255 characters")
	}
	for i := 0; i < len(linkID); i++ {
		switch b := linkID[i]; {
		case b <= ' ' || b >= 0x7f:
			return fmt.Errorf("it holds the byte %#02x (spaces, control and non-ASCII characters are not used in provider ids)", b)
		case strings.IndexByte(`/\%?#`, b) >= 0:
			return fmt.Errorf("it holds %q, which would change the URL it is sent to", b)
		}
	}
	return nil
}
