package mollie

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bojanz/currency"

	api "github.com/paylinks/paylinks/gen/mollie"
)

// defaultLimit is the page size of a list without limit.
const defaultLimit = 50

// Currencies are the currencies the sandbox takes, as Mollie's multicurrency guide lists them.
var Currencies = []string{
	"AED", "AUD", "BRL", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "ISK", "JPY",
	"MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD", "THB", "TWD", "USD", "ZAR",
}

// checkAmount refuses what Mollie refuses in an amount: a currency it does not take, a value with
// another number of decimals than the currency has ("You must send the correct number of
// decimals"), and nothing to pay. It returns the detail of the refusal, "" for a good amount.
func checkAmount(currencyCode, value string) string {
	digits, known := currency.GetDigits(currencyCode)
	if !known || !slices.Contains(Currencies, currencyCode) {
		return fmt.Sprintf("The currency %q is not supported", currencyCode)
	}
	_, frac, hasDot := strings.Cut(value, ".")
	if (digits == 0 && hasDot) || (digits > 0 && len(frac) != int(digits)) {
		return fmt.Sprintf("The amount value %q must have exactly %d decimals for %s", value, digits, currencyCode)
	}
	if strings.Trim(strings.ReplaceAll(value, ".", ""), "0") == "" {
		return "The amount must be more than zero"
	}
	return ""
}

// CreatePaymentLink creates a link (201). Beyond the schema it refuses, with 422 naming the field,
// what Mollie documents or plainly refuses: amounts that are not payable (checkAmount), a
// minimumAmount next to an amount, an expiry that is not in the future, and the profileId or
// testmode that must not be sent with an API key.
func (s *Sandbox) CreatePaymentLink(ctx context.Context, req api.CreatePaymentLinkRequestObject) (api.CreatePaymentLinkResponseObject, error) {
	if req.Body == nil {
		return problem(http.StatusUnprocessableEntity, "A JSON body is required", ""), nil
	}
	b := *req.Body
	now := s.now()
	switch {
	case b.Amount != nil && checkAmount(b.Amount.Currency, b.Amount.Value) != "":
		return problem(http.StatusUnprocessableEntity, checkAmount(b.Amount.Currency, b.Amount.Value), "amount"), nil
	case b.Amount != nil && b.MinimumAmount != nil:
		return problem(http.StatusUnprocessableEntity, "The minimum amount is only allowed when there is no amount", "minimumAmount"), nil
	case b.MinimumAmount != nil && checkAmount(b.MinimumAmount.Currency, b.MinimumAmount.Value) != "":
		return problem(http.StatusUnprocessableEntity, checkAmount(b.MinimumAmount.Currency, b.MinimumAmount.Value), "minimumAmount"), nil
	case b.ExpiresAt != nil && !b.ExpiresAt.After(now):
		return problem(http.StatusUnprocessableEntity, "The expiry date must be in the future", "expiresAt"), nil
	case b.ProfileId != nil:
		return problem(http.StatusUnprocessableEntity, "The profile is implied by the API key and must not be sent", "profileId"), nil
	case b.Testmode != nil:
		return problem(http.StatusUnprocessableEntity, "The mode is implied by the API key and testmode must not be sent", "testmode"), nil
	}
	for _, u := range []struct {
		field string
		value *string
	}{{"redirectUrl", b.RedirectUrl}, {"webhookUrl", b.WebhookUrl}} {
		if u.value != nil && !absoluteURL(*u.value) {
			return problem(http.StatusUnprocessableEntity, "The URL is not an absolute http(s) URL", u.field), nil
		}
	}
	l := &link{
		mode:         callerOf(ctx).mode,
		description:  b.Description,
		amount:       b.Amount,
		minimum:      b.MinimumAmount,
		redirectURL:  b.RedirectUrl,
		webhookURL:   b.WebhookUrl,
		reusable:     b.Reusable != nil && *b.Reusable,
		createdAt:    now,
		sequenceType: string(api.SequenceTypeOneoff),
		customerID:   b.CustomerId,
	}
	if b.ExpiresAt != nil {
		t := b.ExpiresAt.UTC().Truncate(time.Second)
		l.expiresAt = &t
	}
	if b.AllowedMethods != nil {
		l.methods = methodNames(*b.AllowedMethods)
	}
	if b.SequenceType != nil {
		l.sequenceType = string(*b.SequenceType)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.links) >= s.cfg.MaxLinks {
		return problem(http.StatusTooManyRequests, s.cfg.Full(), ""), nil
	}
	s.nextSeq++
	l.seq = s.nextSeq
	l.id = s.ids.Next("pl_", 21, base62)
	s.links[l.id] = l
	return hal(http.StatusCreated, s.view(ctx, l)), nil
}

func methodNames(ms []api.PaymentLinkMethod) *[]string {
	if len(ms) == 0 {
		return nil // "not provided or an empty array": every method
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return &out
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// lookup returns the link if it exists in the caller's mode; the caller holds s.mu.
func (s *Sandbox) lookup(ctx context.Context, id string) (*link, bool) {
	l, ok := s.links[id]
	if !ok || l.mode != callerOf(ctx).mode {
		return nil, false
	}
	return l, true
}

func notFound(id string) reply {
	return problem(http.StatusNotFound, "No payment link exists with token "+id+".", "")
}

// GetPaymentLink returns the link.
func (s *Sandbox) GetPaymentLink(ctx context.Context, req api.GetPaymentLinkRequestObject) (api.GetPaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(ctx, req.PaymentLinkId)
	if !ok {
		return notFound(req.PaymentLinkId), nil
	}
	return hal(http.StatusOK, s.view(ctx, l)), nil
}

// UpdatePaymentLink changes the fields sent. Archiving is accepted whatever the link's state (an
// archived link again, a paid or an expired one), as Mollie's own example archives a paid link;
// a body without any field is 422, as documented.
func (s *Sandbox) UpdatePaymentLink(ctx context.Context, req api.UpdatePaymentLinkRequestObject) (api.UpdatePaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(ctx, req.PaymentLinkId)
	if !ok {
		return notFound(req.PaymentLinkId), nil
	}
	b := api.UpdatePaymentLinkRequest{}
	if req.Body != nil {
		b = *req.Body
	}
	switch {
	case b.Description == nil && b.MinimumAmount == nil && b.Archived == nil && b.AllowedMethods == nil:
		return problem(http.StatusUnprocessableEntity, "No fields to update were given", ""), nil
	case b.Testmode != nil:
		return problem(http.StatusUnprocessableEntity, "The mode is implied by the API key and testmode must not be sent", "testmode"), nil
	case b.MinimumAmount != nil && l.amount != nil:
		return problem(http.StatusUnprocessableEntity, "The minimum amount is only allowed when there is no amount", "minimumAmount"), nil
	case b.MinimumAmount != nil && checkAmount(b.MinimumAmount.Currency, b.MinimumAmount.Value) != "":
		return problem(http.StatusUnprocessableEntity, checkAmount(b.MinimumAmount.Currency, b.MinimumAmount.Value), "minimumAmount"), nil
	}
	if b.Description != nil {
		l.description = *b.Description
	}
	if b.MinimumAmount != nil {
		m := api.AmountNullable(*b.MinimumAmount)
		l.minimum = &m
	}
	if b.Archived != nil {
		l.archived = *b.Archived
	}
	if b.AllowedMethods != nil {
		l.methods = methodNames(*b.AllowedMethods)
	}
	now := s.now()
	l.updatedAt = &now
	return hal(http.StatusOK, s.view(ctx, l)), nil
}

// DeletePaymentLink deletes a link without payments (204); one with payments is 422, as
// documented: it can only be archived.
func (s *Sandbox) DeletePaymentLink(ctx context.Context, req api.DeletePaymentLinkRequestObject) (api.DeletePaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(ctx, req.PaymentLinkId)
	if !ok {
		return notFound(req.PaymentLinkId), nil
	}
	if len(l.payments) > 0 {
		return problem(http.StatusUnprocessableEntity, "The payment link has payments and cannot be deleted; archive it instead", ""), nil
	}
	delete(s.links, l.id)
	return api.DeletePaymentLink204Response{}, nil
}

// ListPaymentLinks returns the caller's links newest first, one page from the link whose id is
// from (400 when no such link is listed, as documented for an invalid cursor).
func (s *Sandbox) ListPaymentLinks(ctx context.Context, req api.ListPaymentLinksRequestObject) (api.ListPaymentLinksResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mode := callerOf(ctx).mode
	var all []*link
	for _, l := range s.links {
		if l.mode == mode {
			all = append(all, l)
		}
	}
	slices.SortFunc(all, func(a, b *link) int { return cmp.Compare(b.seq, a.seq) })
	w, ok := window(all, func(l *link) string { return l.id }, req.Params.From, req.Params.Limit)
	if !ok {
		return problem(http.StatusBadRequest, "Invalid cursor value", "from"), nil
	}
	out := linkListBody{Count: len(w.items)}
	out.Embedded.PaymentLinks = make([]linkBody, 0, len(w.items))
	for _, l := range w.items {
		out.Embedded.PaymentLinks = append(out.Embedded.PaymentLinks, s.view(ctx, l))
	}
	out.Links = w.links(callerOf(ctx).root+"/v2/payment-links", url.Values{}, docsLinks)
	return hal(http.StatusOK, out), nil
}

// ListPaymentLinkPayments returns the payments made through the link, newest first unless sort is
// asc.
func (s *Sandbox) ListPaymentLinkPayments(ctx context.Context, req api.ListPaymentLinkPaymentsRequestObject) (api.ListPaymentLinkPaymentsResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(ctx, req.PaymentLinkId)
	if !ok {
		return notFound(req.PaymentLinkId), nil
	}
	ps := slices.Clone(l.payments) // oldest first, as made
	keep := url.Values{}
	if req.Params.Sort != nil {
		keep.Set("sort", string(*req.Params.Sort))
	}
	if req.Params.Sort == nil || *req.Params.Sort == api.SortDesc {
		slices.Reverse(ps)
	}
	w, ok := window(ps, func(p *payment) string { return p.id }, req.Params.From, req.Params.Limit)
	if !ok {
		return problem(http.StatusBadRequest, "Invalid cursor value", "from"), nil
	}
	root := callerOf(ctx).root
	out := paymentListBody{Count: len(w.items)}
	out.Embedded.Payments = make([]paymentBody, 0, len(w.items))
	for _, p := range w.items {
		out.Embedded.Payments = append(out.Embedded.Payments, s.paymentView(root, l, p))
	}
	out.Links = w.links(root+"/v2/payment-links/"+l.id+"/payments", keep, docsPayments)
	return hal(http.StatusOK, out), nil
}

// page is one window of a list and the cursors around it.
type page[T any] struct {
	items      []T
	limit      int
	from       string // "" when the list was read from its start
	prev, next string // the from of the previous and next windows, "" when there is none
}

// window cuts the page of limit items starting at the item whose id is from; ok is false when
// from is given but no item has that id.
func window[T any](all []T, id func(T) string, from *string, limit *int) (page[T], bool) {
	p := page[T]{limit: defaultLimit}
	if limit != nil {
		p.limit = *limit
	}
	start := 0
	if from != nil {
		start = slices.IndexFunc(all, func(x T) bool { return id(x) == *from })
		if start < 0 {
			return p, false
		}
		p.from = *from
	}
	end := min(start+p.limit, len(all))
	p.items = all[start:end]
	if end < len(all) {
		p.next = id(all[end])
	}
	if start > 0 {
		p.prev = id(all[max(0, start-p.limit)])
	}
	return p, true
}

// links are the HAL links of the page at endpoint, keeping the extra query parameters.
func (p page[T]) links(endpoint string, keep url.Values, docs string) api.ListLinks {
	href := func(from string) string {
		q := url.Values{}
		for k, v := range keep {
			q[k] = v
		}
		if from != "" {
			q.Set("from", from)
		}
		q.Set("limit", strconv.Itoa(p.limit))
		return endpoint + "?" + q.Encode()
	}
	hal := func(from string) *api.UrlNullable {
		if from == "" {
			return nil
		}
		return &api.UrlNullable{Href: href(from), Type: "application/hal+json"}
	}
	return api.ListLinks{
		Self:          &api.Url{Href: href(p.from), Type: "application/hal+json"},
		Previous:      hal(p.prev),
		Next:          hal(p.next),
		Documentation: &api.Url{Href: docs, Type: "text/html"},
	}
}

// view renders the link as Mollie shows it; the caller holds s.mu.
func (s *Sandbox) view(ctx context.Context, l *link) linkBody {
	reusable, profile, sequence := l.reusable, s.profile, l.sequenceType
	b := linkBody{
		PaymentLink: api.PaymentLink{
			Resource:       "payment-link",
			Id:             l.id,
			Mode:           l.mode,
			Description:    l.description,
			Amount:         l.amount,
			MinimumAmount:  l.minimum,
			Archived:       l.archived,
			RedirectUrl:    l.redirectURL,
			WebhookUrl:     l.webhookURL,
			ProfileId:      &profile,
			Reusable:       &reusable,
			AllowedMethods: l.methods,
			SequenceType:   &sequence,
			CustomerId:     l.customerID,
			UnderscoreLinks: api.PaymentLinkLinks{
				Self:          &api.Url{Href: callerOf(ctx).root + "/v2/payment-links/" + l.id, Type: "application/hal+json"},
				PaymentLink:   api.Url{Href: s.cfg.CheckoutBase + "/" + Name + "/" + l.id, Type: "text/html"},
				Documentation: &api.Url{Href: docsLink, Type: "text/html"},
			},
		},
		CreatedAt: stamp(l.createdAt),
		UpdatedAt: stampOf(l.updatedAt),
		PaidAt:    stampOf(l.paidAt),
		ExpiresAt: stampOf(l.expiresAt),
	}
	if b.Amount != nil {
		a := *b.Amount
		b.Amount = &a
	}
	return b
}

// paymentView renders a payment of the link.
func (s *Sandbox) paymentView(root string, l *link, p *payment) paymentBody {
	method, amount := p.method, p.amount
	return paymentBody{
		Payment: api.Payment{
			Resource:     "payment",
			Id:           p.id,
			Mode:         l.mode,
			Status:       p.status,
			Amount:       &amount,
			Description:  l.description,
			Method:       &method,
			ProfileId:    s.profile,
			SequenceType: l.sequenceType,
			UnderscoreLinks: &api.PaymentLinks{
				Self: api.Url{Href: root + "/v2/payments/" + p.id, Type: "application/hal+json"},
			},
		},
		CreatedAt: stamp(p.createdAt),
		PaidAt:    stampOf(p.paidAt),
		FailedAt:  stampOf(p.failedAt),
	}
}
