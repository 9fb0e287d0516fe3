package hub2

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// CreatePaymentLink creates a link (201). Beyond the schema it refuses, with 400, currencies other
// than XOF/XAF, a single_use link with maximumPayments other than 1, and an expiry not in the
// future; the expiry defaults to 15 minutes after creation.
func (s *Sandbox) CreatePaymentLink(ctx context.Context, req api.CreatePaymentLinkRequestObject) (api.CreatePaymentLinkResponseObject, error) {
	if req.Body == nil {
		return api.CreatePaymentLink400JSONResponse{BadRequestJSONResponse: api.BadRequestJSONResponse(s.errorBody(http.StatusBadRequest, "Bad Request", "a body is required"))}, nil
	}
	b := *req.Body
	bad := func(code, msg string) (api.CreatePaymentLinkResponseObject, error) {
		return api.CreatePaymentLink400JSONResponse{BadRequestJSONResponse: api.BadRequestJSONResponse(s.errorBody(http.StatusBadRequest, code, msg))}, nil
	}
	if !slices.Contains(Currencies, b.Currency) {
		return bad("invalid-currency", fmt.Sprintf("Currency is not supported (supported: %v)", Currencies))
	}
	typ := api.PaymentLinkTypeSingleUse
	if b.Type != nil {
		typ = *b.Type
	}
	maxPayments := b.MaximumPayments
	if typ == api.PaymentLinkTypeSingleUse {
		if maxPayments != nil && *maxPayments != 1 {
			return bad("invalid-maximum-payments", "maximumPayments is only allowed for multi_use links")
		}
		one := 1
		maxPayments = &one
	}
	now := s.now()
	expires := now.Add(DefaultExpiry)
	if b.ExpirationDate != nil {
		expires = b.ExpirationDate.UTC().Truncate(time.Millisecond)
		if !expires.After(now) {
			return bad("invalid-expiration-date", "expirationDate must be in the future")
		}
	}
	methods := []string{"mobile_money"}
	if b.PaymentMethods != nil && len(*b.PaymentMethods) > 0 {
		methods = slices.Clone(*b.PaymentMethods)
	}
	operators := defaultOperators
	if b.Providers != nil && len(*b.Providers) > 0 {
		operators = slices.Clone(*b.Providers)
	}
	p := principalFrom(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.links) >= s.cfg.MaxLinks {
		return answer(http.StatusTooManyRequests, s.errorBody(http.StatusTooManyRequests, "Too Many Requests", s.cfg.Full())), nil
	}
	s.nextSeq++
	l := &link{
		seq:             s.nextSeq,
		owner:           p,
		id:              s.linkIDs.Next("pl_", 21, sandbox.Nanoid),
		status:          api.PaymentLinkStatusActive,
		reference:       b.PurchaseReference,
		description:     b.Description,
		amount:          b.Amount,
		currency:        b.Currency,
		country:         b.Country,
		typ:             typ,
		maximumPayments: maxPayments,
		phone:           b.CustomerPhoneNumber,
		methods:         methods,
		operators:       operators,
		successURL:      b.SuccessUrl,
		failureURL:      b.FailureUrl,
		createdAt:       now,
		updatedAt:       now,
		expiresAt:       expires,
	}
	s.links[l.id] = l
	return answer(http.StatusCreated, s.created(l)), nil
}

// ListPaymentLinks returns the principal's links newest first, as one bare array, filtered by the
// inclusive date bounds and the status (evaluated after expiry).
func (s *Sandbox) ListPaymentLinks(ctx context.Context, req api.ListPaymentLinksRequestObject) (api.ListPaymentLinksResponseObject, error) {
	q := req.Params
	p := principalFrom(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*link
	for id := range s.links {
		l, ok := s.lookup(p, id)
		if !ok || !matches(l, q) {
			continue
		}
		found = append(found, l)
	}
	slices.SortFunc(found, func(a, b *link) int {
		if c := b.createdAt.Compare(a.createdAt); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	out := make([]linkBody, 0, len(found))
	for _, l := range found {
		out = append(out, s.body(l, true))
	}
	return answer(http.StatusOK, out), nil
}

func matches(l *link, q api.ListPaymentLinksParams) bool {
	switch {
	case q.Status != nil && l.status != *q.Status:
		return false
	case q.FromCreatedAt != nil && l.createdAt.Before(*q.FromCreatedAt):
		return false
	case q.ToCreatedAt != nil && l.createdAt.After(*q.ToCreatedAt):
		return false
	case q.FromExpirationDate != nil && l.expiresAt.Before(*q.FromExpirationDate):
		return false
	case q.ToExpirationDate != nil && l.expiresAt.After(*q.ToExpirationDate):
		return false
	}
	return true
}

// GetPaymentLink returns the link with its payment attempts, or 404.
func (s *Sandbox) GetPaymentLink(ctx context.Context, req api.GetPaymentLinkRequestObject) (api.GetPaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(principalFrom(ctx), req.Id)
	if !ok {
		return api.GetPaymentLink404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(s.notFound())}, nil
	}
	return answer(http.StatusOK, s.body(l, true)), nil
}

// Conflict codes of close, one per state a link cannot be closed from (HUB2-24 models the 409;
// the codes are the sandbox's, kebab-case like Hub2's business codes).
const (
	CodeAlreadyClosed = "payment-link-already-closed"
	CodeCompleted     = "payment-link-completed"
	CodeExpired       = "payment-link-expired"
)

// ClosePaymentLink closes an active link (200 with status closed); any other link is a 409.
func (s *Sandbox) ClosePaymentLink(ctx context.Context, req api.ClosePaymentLinkRequestObject) (api.ClosePaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(principalFrom(ctx), req.Id)
	if !ok {
		return api.ClosePaymentLink404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(s.notFound())}, nil
	}
	conflict := func(code string) (api.ClosePaymentLinkResponseObject, error) {
		msg := fmt.Sprintf("Payment link is not active (status %s)", l.status)
		return api.ClosePaymentLink409JSONResponse{ConflictJSONResponse: api.ConflictJSONResponse(s.errorBody(http.StatusConflict, code, msg))}, nil
	}
	switch l.status {
	case api.PaymentLinkStatusActive:
		l.status = api.PaymentLinkStatusClosed
		l.updatedAt = s.now()
		return answer(http.StatusOK, s.body(l, false)), nil
	case api.PaymentLinkStatusClosed:
		return conflict(CodeAlreadyClosed)
	case api.PaymentLinkStatusCompleted:
		return conflict(CodeCompleted)
	default:
		return conflict(CodeExpired)
	}
}

func (s *Sandbox) notFound() api.Error {
	return s.errorBody(http.StatusNotFound, "Not Found", "Payment link not found")
}

func (s *Sandbox) checkoutURL(id string) string {
	return s.cfg.CheckoutBase + "/" + Name + "/" + url.PathEscape(id)
}

// body renders the link as list, get and close return it.
func (s *Sandbox) body(l *link, withAttempts bool) linkBody {
	b := linkBody{
		PaymentLink: api.PaymentLink{
			Id:                  l.id,
			Url:                 s.checkoutURL(l.id),
			Status:              l.status,
			PurchaseReference:   l.reference,
			Amount:              ptr(l.amount),
			Currency:            l.currency,
			CurrentSuccessCount: ptr(l.successCount),
			MaximumAttempts:     ptr(maximumAttempts),
			MaximumPayments:     l.maximumPayments,
			CustomerPhoneNumber: l.phone,
			Type:                l.typ,
			OpenAmount:          ptr(false),
		},
		CreatedAt:      msTime(l.createdAt),
		UpdatedAt:      msTime(l.updatedAt),
		ExpirationDate: msTime(l.expiresAt),
	}
	if withAttempts {
		atts := make([]attemptBody, len(l.attempts))
		for i, a := range l.attempts {
			atts[i] = attemptBody{PaymentAttempt: a, CreatedAt: msTime(*a.CreatedAt), UpdatedAt: msTime(*a.UpdatedAt)}
		}
		b.PaymentAttempts = &atts
	}
	return b
}

// created renders the link as create returns it: no currentSuccessCount, plus operators,
// merchantId, description and the redirect URLs (HUB2-16).
func (s *Sandbox) created(l *link) createdBody {
	ops := map[string][]string{}
	for _, m := range l.methods {
		ops[m] = slices.Clone(l.operators)
	}
	return createdBody{
		CreatedPaymentLink: api.CreatedPaymentLink{
			Id:                  l.id,
			Url:                 s.checkoutURL(l.id),
			Status:              l.status,
			PurchaseReference:   l.reference,
			Amount:              ptr(l.amount),
			Currency:            l.currency,
			MaximumAttempts:     ptr(maximumAttempts),
			MaximumPayments:     l.maximumPayments,
			CustomerPhoneNumber: l.phone,
			Type:                l.typ,
			OpenAmount:          ptr(false),
			Operators:           &ops,
			MerchantId:          ptr(l.owner.merchantID),
			Description:         l.description,
			SuccessUrl:          l.successURL,
			FailureUrl:          l.failureURL,
		},
		CreatedAt:      msTime(l.createdAt),
		UpdatedAt:      msTime(l.updatedAt),
		ExpirationDate: msTime(l.expiresAt),
	}
}

func ptr[T any](v T) *T { return &v }
