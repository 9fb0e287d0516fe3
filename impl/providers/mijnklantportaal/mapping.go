package mijnklantportaal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	_ "time/tzdata" // Europe/Amsterdam must be known on hosts without zoneinfo

	openapi_types "github.com/oapi-codegen/runtime/types"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/internal/call"
)

// amsterdam is the portal's time zone, in which expiry dates are days. The tz database is embedded,
// so loading it cannot fail on any host; should it anyway, UTC dates are the least wrong fallback.
var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// statuses is MijnKlantportaal's status table.
var statuses = paylink.StatusMap[api.PaymentLinkStatus]{
	api.PaymentLinkStatusOpen:    paylink.StatusActive,
	api.PaymentLinkStatusPaid:    paylink.StatusCompleted, // single-use links only: reusable ones stay open
	api.PaymentLinkStatusExpired: paylink.StatusExpired,
	api.PaymentLinkStatusClosed:  paylink.StatusClosed,
}

// expiryDate is the expiry date to send for the unified expiry t: the Europe/Amsterdam date of
// the last instant before t. MijnKlantportaal ends a link at the end of its expiry date, so the
// link is payable at least until t: 2024-05-14T22:00:00Z (midnight in Amsterdam) gives 2024-05-14,
// and one nanosecond later gives 2024-05-15.
func expiryDate(t time.Time) *openapi_types.Date {
	y, m, d := t.Add(-time.Nanosecond).In(amsterdam).Date()
	return &openapi_types.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// toLink maps a MijnKlantportaal link to the unified one; raw is the provider's object as received.
// An amount the currency cannot represent is a contract violation, not a rounding.
func toLink(status int, l api.PaymentLink, raw []byte) (paylink.Link, error) {
	amount, err := paylink.ParseAmount(string(l.Currency), l.Amount)
	if err != nil {
		return paylink.Link{}, paylink.DecodeError(Name, status, fmt.Errorf("link %s: amount: %w", l.Id, err))
	}
	out := paylink.Link{
		ID:             paylink.NewID(Name, l.Id),
		Provider:       Name,
		ProviderLinkID: l.Id,
		Status:         statuses.Of(l.Status),
		ProviderStatus: string(l.Status),
		Amount:         &amount,
		Description:    l.Description,
		Reusable:       l.Reusable,
		CreatedAt:      l.CreatedAt.UTC(),
		Raw:            slices.Clone(raw),
	}
	if l.CheckoutUrl != nil {
		out.URL = *l.CheckoutUrl
	}
	if l.ExpiresAt != nil {
		out.ExpiresAt = l.ExpiresAt.UTC()
	}
	return out, nil
}

// nextPage is the page token of the page after p: the page number in next_page_url, or the one
// after the current page if that URL has none; empty on the last page.
func nextPage(p api.PaymentLinkPage) string {
	if p.NextPageUrl == nil {
		return ""
	}
	if u, err := url.Parse(*p.NextPageUrl); err == nil {
		if n, err := strconv.Atoi(u.Query().Get("page")); err == nil && n > p.CurrentPage {
			return strconv.Itoa(n)
		}
	}
	return strconv.Itoa(p.CurrentPage + 1)
}

// providerError is the body of MijnKlantportaal's error answers: {message} everywhere, Laravel's
// errors per field on validation failures, and {code, message} on 429.
type providerError struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// errorBody reads an error answer's message; a body that is not the documented JSON has none.
func errorBody(body []byte) (code, message string) {
	var e providerError
	_ = json.Unmarshal(body, &e)
	return "", e.Message
}

// createFields maps the fields of MijnKlantportaal's create body to the unified create body.
var createFields = map[string]string{
	"amount":      "/amount/value",
	"description": "/description",
	"expiresAt":   "/expiresAt",
	"reusable":    "/reusable",
}

// refine reads a create the provider refused as invalid (422 with Laravel's errors per field):
// the ProviderError, with the provider's status and message, also carries the field violations as
// a *paylink.ValidationError. A 422 that means something else (a refused close) is left alone.
func refine(ans call.Answer, pe *paylink.ProviderError) {
	if ans.Status != http.StatusUnprocessableEntity || !errors.Is(pe.Kind, paylink.ErrInvalidInput) {
		return
	}
	var e providerError
	_ = json.Unmarshal(ans.Body, &e)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	v := &paylink.ValidationError{}
	for _, k := range keys {
		field, ok := createFields[k]
		if !ok {
			field = "" // the whole body: the provider named something we do not send
		}
		for _, msg := range e.Errors[k] {
			v.Violations = append(v.Violations, paylink.Violation{Field: field, Reason: msg})
		}
	}
	if len(v.Violations) == 0 {
		v.Violations = []paylink.Violation{{Field: "", Reason: e.Message}}
	}
	pe.Err = v
}
