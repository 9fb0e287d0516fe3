package mijnklantportaal

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// Messages of the provider, as documented (close) or as Laravel writes them.
const (
	msgNotFound      = "No Payment Link can be found for the given ID"
	msgAlreadyClosed = "Payment Link is already closed"
	// Closing a paid or expired link is undocumented (MKP-27); the sandbox refuses it with 422 like
	// an already closed link, since such a link can no longer be used either, with its own message.
	msgNotClosablePaid    = "Payment Link is already paid"
	msgNotClosableExpired = "Payment Link has expired"
)

// CreatePaymentLink creates an open link. Besides the schema (checked before this runs) it applies
// the rules a Laravel request would: the description is trimmed and must not be blank, the amount
// must be at least 0.01, and the expiry date must not be before today in Europe/Amsterdam.
func (s *Sandbox) CreatePaymentLink(ctx context.Context, req api.CreatePaymentLinkRequestObject) (api.CreatePaymentLinkResponseObject, error) {
	var body api.CreatePaymentLinkRequest
	if req.Body != nil {
		body = *req.Body
	}
	errs := fieldErrors{}
	description := strings.TrimSpace(body.Description)
	if description == "" {
		errs.add("description", "The description field is required.")
	}
	amount, err := paylink.ParseAmount("EUR", body.Amount)
	switch {
	case body.Amount == "":
		errs.add("amount", "The amount field is required.")
	case err != nil:
		errs.add("amount", "The amount field format is invalid.")
	case amount.Minor < 1:
		errs.add("amount", "The amount field must be at least 0.01.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var expiresAt time.Time
	if body.ExpiresAt != nil {
		d := body.ExpiresAt.Time
		y, m, day := now.In(s.zone).Date()
		if time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Before(time.Date(y, m, day, 0, 0, 0, 0, time.UTC)) {
			errs.add("expiresAt", "The expires at field must be a date after or equal to today.")
		}
		expiresAt = expiryOf(d, s.zone)
	}
	if errs.len() > 0 {
		return api.CreatePaymentLink422JSONResponse{ValidationFailedJSONResponse: api.ValidationFailedJSONResponse(errs.apiError())}, nil
	}
	if len(s.links) >= s.cfg.MaxLinks {
		code, wait := http.StatusTooManyRequests, sandbox.FullRetryAfter
		return api.CreatePaymentLink429JSONResponse{RateLimitedJSONResponse: api.RateLimitedJSONResponse{
			Body:    api.RateLimitError{Code: &code, Message: s.cfg.Full()},
			Headers: api.RateLimitedResponseHeaders{RetryAfter: &wait},
		}}, nil
	}
	l := &link{
		id:          s.newLinkID(),
		description: description,
		amount:      amount,
		reusable:    body.Reusable != nil && *body.Reusable,
		expiresAt:   expiresAt,
		createdAt:   now,
		status:      api.PaymentLinkStatusOpen,
	}
	s.links[l.id] = l
	s.order = append(s.order, l)
	s.expireLater(l)
	s.notify(api.WebhookEventTypePaymentLinkCreated, l)
	return api.CreatePaymentLink201JSONResponse(s.toAPI(l)), nil
}

// newLinkID returns an unused plk_ id. The caller holds s.mu.
func (s *Sandbox) newLinkID() string {
	for {
		id := s.ids.Next("plk_", 14, sandbox.Alnum)
		if _, taken := s.links[id]; !taken {
			return id
		}
	}
}

// GetPaymentLink returns the link, expired if the clock has passed its expiry.
func (s *Sandbox) GetPaymentLink(ctx context.Context, req api.GetPaymentLinkRequestObject) (api.GetPaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.get(req.LinkId)
	if !ok {
		return api.GetPaymentLink404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse{Message: msgNotFound}}, nil
	}
	return api.GetPaymentLink200JSONResponse(s.toAPI(l)), nil
}

// ClosePaymentLink closes an open link (single-use or reusable). A closed link gives the documented
// 422; a paid or expired one a 422 with its own message.
func (s *Sandbox) ClosePaymentLink(ctx context.Context, req api.ClosePaymentLinkRequestObject) (api.ClosePaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.get(req.LinkId)
	if !ok {
		return api.ClosePaymentLink404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse{Message: msgNotFound}}, nil
	}
	switch l.status {
	case api.PaymentLinkStatusOpen:
		l.status = api.PaymentLinkStatusClosed
		return api.ClosePaymentLink200JSONResponse(s.toAPI(l)), nil
	case api.PaymentLinkStatusClosed:
		return api.ClosePaymentLink422JSONResponse{Message: msgAlreadyClosed}, nil
	case api.PaymentLinkStatusPaid:
		return api.ClosePaymentLink422JSONResponse{Message: msgNotClosablePaid}, nil
	default:
		return api.ClosePaymentLink422JSONResponse{Message: msgNotClosableExpired}, nil
	}
}

// ListPaymentLinks returns one page of links, newest first.
func (s *Sandbox) ListPaymentLinks(ctx context.Context, req api.ListPaymentLinksRequestObject) (api.ListPaymentLinksResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	all := make([]api.PaymentLink, 0, len(s.order))
	for _, l := range slices.Backward(s.order) {
		s.refresh(l, now)
		all = append(all, s.toAPI(l))
	}
	p := paginate(all, pageOf(req.Params.Page), endpointFrom(ctx))
	return api.ListPaymentLinks200JSONResponse{
		CurrentPage: p.current, Data: p.data, FirstPageUrl: p.first, From: p.from, To: p.to,
		NextPageUrl: p.next, PrevPageUrl: p.prev, Path: p.path, PerPage: PerPage,
	}, nil
}

// ListPaymentLinkPayments returns one page of the link's payments, newest first.
func (s *Sandbox) ListPaymentLinkPayments(ctx context.Context, req api.ListPaymentLinkPaymentsRequestObject) (api.ListPaymentLinkPaymentsResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.get(req.LinkId)
	if !ok {
		return api.ListPaymentLinkPayments404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse{Message: msgNotFound}}, nil
	}
	all := make([]api.PaymentLinkPayment, 0, len(l.payments))
	for _, p := range slices.Backward(l.payments) {
		p.CreatedAt = p.CreatedAt.In(s.zone)
		all = append(all, p)
	}
	p := paginate(all, pageOf(req.Params.Page), endpointFrom(ctx))
	return api.ListPaymentLinkPayments200JSONResponse{
		CurrentPage: p.current, Data: p.data, FirstPageUrl: p.first, From: p.from, To: p.to,
		NextPageUrl: p.next, PrevPageUrl: p.prev, Path: p.path, PerPage: PerPage,
	}, nil
}

func pageOf(p *int) int {
	if p == nil || *p < 1 {
		return 1
	}
	return *p
}

// page is Laravel's simple paginator envelope over items of any type.
type page[T any] struct {
	current     int
	data        []T
	path, first string
	next, prev  *string
	from, to    *int
}

// paginate cuts page n (1-based) of PerPage items out of all. from/to are the 1-based positions of
// the page's first and last item, null on an empty page; a page past the end is empty but still
// links back to the page before it, as Laravel does.
func paginate[T any](all []T, n int, path string) page[T] {
	url := func(n int) *string { return ptr(path + "?page=" + strconv.Itoa(n)) }
	p := page[T]{current: n, data: []T{}, path: path, first: *url(1)}
	if n > 1 {
		p.prev = url(n - 1)
	}
	if (n - 1) < len(all)/PerPage+1 { // compared before multiplying, so a huge n cannot overflow
		start := (n - 1) * PerPage
		if start < len(all) {
			end := min(start+PerPage, len(all))
			p.data = all[start:end]
			p.from, p.to = ptr(start+1), ptr(end)
			if end < len(all) {
				p.next = url(n + 1)
			}
		}
	}
	return p
}
