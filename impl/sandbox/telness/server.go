package telness

import (
	"context"
	"maps"
	"net/url"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
)

// Error codes the sandbox answers with (TEL-7, TEL-8). The shape is the curated Error body.
const (
	codeValidation     = "validation_error"
	codeInvalid        = "invalid"
	codeUnauthorized   = "unauthorized"
	codeNotFound       = "not_found"
	codeMethod         = "method_not_allowed"
	codeNotCancellable = "payment_link_not_cancellable"
	codeKeyMismatch    = "idempotency_key_mismatch"
	codeKeyLocked      = "idempotency_key_locked"
	codeInternal       = "internal_error"
	codeFull           = "rate_limited"
)

// xorMessage is what a body with both or neither of orderId and invoiceId is told. kin-openapi
// only says `Doesn't match schema "not"` for the TEL-3 rule, which helps nobody.
const xorMessage = "Exactly one of orderId and invoiceId must be set"

func ptr[T any](v T) *T { return &v }

// CreatePaymentLink creates an ACTIVE link for the order or invoice. Requests reach it validated
// against the spec; the checks here are the ones the schema cannot express (TEL-3 is re-checked so
// the handler is correct on its own).
func (s *Sandbox) CreatePaymentLink(_ context.Context, req api.CreatePaymentLinkRequestObject) (api.CreatePaymentLinkResponseObject, error) {
	if req.Body == nil {
		return api.CreatePaymentLink400JSONResponse{BadRequestJSONResponse: badRequest(detail("A JSON body is required", ""))}, nil
	}
	b := *req.Body
	var problems []api.ErrorDetail
	if (b.OrderId == nil) == (b.InvoiceId == nil) {
		problems = append(problems, xorDetail())
	}
	for _, u := range []struct {
		name  string
		value *string
	}{{"successUrl", b.SuccessUrl}, {"cancelUrl", b.CancelUrl}} {
		if u.value != nil && !absoluteURL(*u.value) {
			problems = append(problems, detail("must be an absolute URI (format: uri)", u.name))
		}
	}
	now := s.now()
	var expiresAt time.Time
	if b.ExpiresAt != nil {
		expiresAt = b.ExpiresAt.UTC().Truncate(time.Second)
	}
	if b.ExpiresAt != nil && !expiresAt.After(now) {
		// Not documented by Telness; a link that is born expired is almost certainly a mistake.
		problems = append(problems, detail("must be in the future", "expiresAt"))
	}
	if len(problems) > 0 {
		return api.CreatePaymentLink400JSONResponse{BadRequestJSONResponse: badRequest(problems...)}, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.links) >= s.cfg.MaxLinks {
		return api.CreatePaymentLink429JSONResponse{TooManyRequestsJSONResponse: api.TooManyRequestsJSONResponse{
			Message: s.cfg.Full(), Code: ptr(codeFull),
		}}, nil
	}
	id := s.ids.UUIDLike()
	l := &link{
		id:          id,
		url:         s.cfg.CheckoutBase + "/" + Name + "/" + id,
		status:      api.PaymentLinkStatusActive,
		description: b.Description,
		expiresAt:   expiresAt,
		createdAt:   now,
		updatedAt:   now,
	}
	if b.Metadata != nil {
		l.metadata = maps.Clone(map[string]string(*b.Metadata))
	}
	if b.OrderId != nil {
		l.orderID = *b.OrderId
	}
	if b.InvoiceId != nil {
		l.invoiceID = *b.InvoiceId
	}
	s.links[id] = l
	return api.CreatePaymentLink201JSONResponse(l.view()), nil
}

// GetPaymentLink returns the link as it is now (expired once its expiresAt has passed).
func (s *Sandbox) GetPaymentLink(_ context.Context, req api.GetPaymentLinkRequestObject) (api.GetPaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(req.PaymentLinkId)
	if !ok {
		return api.GetPaymentLink404JSONResponse{NotFoundJSONResponse: notFound()}, nil
	}
	return api.GetPaymentLink200JSONResponse(l.view()), nil
}

// CancelPaymentLink cancels an ACTIVE link. Any other status, CANCELLED included, is answered
// with 409 payment_link_not_cancellable (TEL-8): Telness does not document a no-op cancel.
func (s *Sandbox) CancelPaymentLink(_ context.Context, req api.CancelPaymentLinkRequestObject) (api.CancelPaymentLinkResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(req.PaymentLinkId)
	if !ok {
		return api.CancelPaymentLink404JSONResponse{NotFoundJSONResponse: notFound()}, nil
	}
	if l.status != api.PaymentLinkStatusActive {
		return api.CancelPaymentLink409JSONResponse{CancelConflictJSONResponse: api.CancelConflictJSONResponse{
			Message: "Payment link is not active (status " + string(l.status) + ") and cannot be cancelled",
			Code:    ptr(codeNotCancellable),
		}}, nil
	}
	l.status = api.PaymentLinkStatusCancelled
	l.updatedAt = s.now()
	return api.CancelPaymentLink200JSONResponse(l.view()), nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

func detail(message, property string) api.ErrorDetail {
	d := api.ErrorDetail{Message: message, Code: ptr(codeInvalid)}
	if property != "" {
		d.Property = ptr(property)
	}
	return d
}

func xorDetail() api.ErrorDetail {
	d := detail(xorMessage, "orderId")
	d.Suggestion = ptr("Send either orderId or invoiceId")
	return d
}

func badRequest(details ...api.ErrorDetail) api.BadRequestJSONResponse {
	return api.BadRequestJSONResponse{Message: "Validation failed", Code: ptr(codeValidation), Details: &details}
}

func notFound() api.NotFoundJSONResponse {
	return api.NotFoundJSONResponse{Message: "Payment link not found", Code: ptr(codeNotFound)}
}
