package hub2

import (
	"encoding/json"
	"fmt"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
)

// statuses is Hub2's status table; it also gives the list filter for a unified status (none for
// StatusUnknown: the list is then unfiltered).
var statuses = paylink.StatusMap[api.PaymentLinkStatus]{
	api.PaymentLinkStatusActive:    paylink.StatusActive,
	api.PaymentLinkStatusCompleted: paylink.StatusCompleted, // maximumPayments successful payments reached
	api.PaymentLinkStatusExpired:   paylink.StatusExpired,
	api.PaymentLinkStatusClosed:    paylink.StatusClosed, // closed by the merchant
}

// isReusable maps Hub2's link type. An unknown type is read as single use: the conservative
// reading, since it promises nothing about further payments.
func isReusable(t api.PaymentLinkType) bool {
	switch t {
	case api.PaymentLinkTypeSingleUse:
		return false
	case api.PaymentLinkTypeMultiUse:
		return true
	default:
		return false
	}
}

// successfulAttempt is the only attempt status Hub2 shows for a payment; every other value is
// not paid (HUB2-14).
const successfulAttempt = "successful"

// wireLink is what the adapter reads of a Hub2 link, common to create's answer and the link
// object of get, list and close.
type wireLink struct {
	id, url     string
	status      api.PaymentLinkStatus
	reference   string
	description *string
	amount      *int64
	currency    string
	typ         api.PaymentLinkType
	createdAt   time.Time
	updatedAt   time.Time
	expiresAt   time.Time
	attempts    []api.PaymentAttempt
}

func fromPaymentLink(p api.PaymentLink) wireLink {
	w := wireLink{
		id: p.Id, url: p.Url, status: p.Status, reference: p.PurchaseReference, amount: p.Amount,
		currency: p.Currency, typ: p.Type, createdAt: p.CreatedAt, updatedAt: p.UpdatedAt, expiresAt: p.ExpirationDate,
	}
	if p.PaymentAttempts != nil {
		w.attempts = *p.PaymentAttempts
	}
	return w
}

func fromCreated(c api.CreatedPaymentLink) wireLink {
	return wireLink{
		id: c.Id, url: c.Url, status: c.Status, reference: c.PurchaseReference, description: c.Description,
		amount: c.Amount, currency: c.Currency, typ: c.Type, createdAt: c.CreatedAt, updatedAt: c.UpdatedAt, expiresAt: c.ExpirationDate,
	}
}

// toLink maps a Hub2 link to the unified one; raw is the link's own JSON. An amount the domain
// cannot hold (negative, unknown currency) makes the answer a contract violation.
func toLink(status int, w wireLink, raw []byte) (paylink.Link, error) {
	l := paylink.Link{
		ID:             paylink.NewID(Name, w.id),
		Provider:       Name,
		ProviderLinkID: w.id,
		Status:         statuses.Of(w.status),
		ProviderStatus: string(w.status),
		Reference:      w.reference,
		Reusable:       isReusable(w.typ),
		ExpiresAt:      w.expiresAt.UTC(),
		CreatedAt:      w.createdAt.UTC(),
		UpdatedAt:      w.updatedAt.UTC(),
		Raw:            json.RawMessage(raw),
	}
	// Hub2 keeps returning the URL of a link it no longer takes payments on; the unified URL is
	// only where a payer can still pay.
	if l.Status == paylink.StatusActive {
		l.URL = w.url
	}
	if w.description == nil {
		// The curated link object has no description (only create returns it); take it if Hub2
		// sends one anyway.
		var d struct {
			Description *string `json:"description"`
		}
		if json.Unmarshal(raw, &d) == nil {
			w.description = d.Description
		}
	}
	if w.description != nil {
		l.Description = *w.description
	}
	if w.amount != nil { // nil: an open-amount link, the payer chooses
		if *w.amount < 0 {
			return paylink.Link{}, paylink.DecodeError(Name, status, fmt.Errorf("link %s has a negative amount %d", w.id, *w.amount))
		}
		a, err := paylink.AmountFromMinor(w.currency, *w.amount)
		if err != nil {
			return paylink.Link{}, paylink.DecodeError(Name, status, fmt.Errorf("link %s: %w", w.id, err))
		}
		l.Amount = &a
	}
	if l.Status == paylink.StatusCompleted {
		l.CompletedAt = completedAt(w)
	}
	return l, nil
}

// completedAt is when the last successful payment was made; without attempts in the answer
// (create, older list items) the link's last update, which the completion was.
func completedAt(w wireLink) time.Time {
	for i := len(w.attempts) - 1; i >= 0; i-- {
		a := w.attempts[i]
		if a.Status != successfulAttempt {
			continue
		}
		switch {
		case a.UpdatedAt != nil:
			return a.UpdatedAt.UTC()
		case a.CreatedAt != nil:
			return a.CreatedAt.UTC()
		}
	}
	return w.updatedAt.UTC()
}
