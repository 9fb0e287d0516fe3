package telness

import (
	"bytes"
	"encoding/json"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/paylink"
)

// statuses is Telness's status table.
var statuses = paylink.StatusMap[api.PaymentLinkStatus]{
	api.PaymentLinkStatusActive:    paylink.StatusActive,
	api.PaymentLinkStatusCompleted: paylink.StatusCompleted,
	api.PaymentLinkStatusExpired:   paylink.StatusExpired,
	api.PaymentLinkStatusCancelled: paylink.StatusClosed,
}

// toLink maps a Telness PaymentLink. Amount stays nil: Telness links carry none (TEL-14). The
// reference comes out of metadata["reference"], where Create puts it; Raw is the answer as received.
func toLink(pl api.PaymentLink, raw []byte) paylink.Link {
	l := paylink.Link{
		ID:             paylink.NewID(Name, pl.PaymentLinkId),
		Provider:       Name,
		ProviderLinkID: pl.PaymentLinkId,
		Status:         statuses.Of(pl.Status),
		ProviderStatus: string(pl.Status),
		CreatedAt:      pl.CreatedAt.UTC(),
		UpdatedAt:      pl.UpdatedAt.UTC(),
		ExpiresAt:      utc(pl.ExpiresAt),
		CompletedAt:    utc(pl.CompletedAt),
		Raw:            bytes.Clone(raw),
	}
	// Telness keeps returning the URL of a link it no longer takes payments on; the unified URL is
	// only where a payer can still pay (Raw keeps the provider's).
	if l.Status == paylink.StatusActive {
		l.URL = pl.Url
	}
	if pl.Description != nil {
		l.Description = *pl.Description
	}
	if md := metadataOf(raw); len(md) > 0 {
		l.Reference = md[referenceKey]
		delete(md, referenceKey)
		if len(md) > 0 {
			l.Metadata = md
		}
	}
	return l
}

// metadataOf reads the link's metadata as the unified string map. Telness's published schema
// allows values of any JSON type (TEL-19), so none may make the link unreadable: a string is
// taken as it is, any other value as its JSON text (3, true, ["a"], null), read from the raw
// answer so that a large number keeps every digit. Raw keeps the original.
func metadataOf(raw []byte) map[string]string {
	var body struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if json.Unmarshal(raw, &body) != nil || len(body.Metadata) == 0 {
		return nil
	}
	md := make(map[string]string, len(body.Metadata))
	for k, v := range body.Metadata {
		var s string
		if v = bytes.TrimSpace(v); len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			md[k] = s
			continue
		}
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			md[k] = string(v)
			continue
		}
		md[k] = b.String()
	}
	return md
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
