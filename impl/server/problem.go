package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/idempotency"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/validation"
)

// problemTypeBase prefixes the problem type URIs; each code has its own.
const problemTypeBase = "https://paylinks.dev/problems/"

// errUnauthorized is a request without a valid API key.
var errUnauthorized = errors.New("a valid API key is required: send Authorization: Bearer <key>")

// problemFor translates any error into the problem the caller sees. It is the only place that
// decides statuses and codes, so every route answers the same error the same way.
func problemFor(err error) api.Problem {
	p := api.Problem{Status: http.StatusInternalServerError, Code: api.ProblemCodeInternal, Title: "Internal error", Detail: ptr("Something went wrong on our side; the request id identifies it in our logs.")}
	var (
		ve  *validation.Error
		dve *paylink.ValidationError
		ue  *paylink.UnsupportedError
		pe  *paylink.ProviderError
		ce  *validation.ContractError
		noe *validation.NoOperationError
		np  *noProvider
		he  *echo.HTTPError
	)
	switch {
	case errors.As(err, &np):
		p = problem(http.StatusNotFound, api.ProblemCodeNotFound, "No such provider", np.Error())
	case errors.As(err, &noe):
		// A crafted id (or a bug) made a request of no documented operation: it was not sent.
		p = problem(http.StatusBadRequest, api.ProblemCodeBadRequest, "Not sent to the provider", "The request would reach no documented operation of the provider's API; nothing was sent.")
		if errors.As(err, &pe) {
			p.Provider = &pe.Provider
		}
	case errors.As(err, &ve):
		p = fromSpecViolation(ve)
	case errors.As(err, &dve):
		p = problem(http.StatusUnprocessableEntity, api.ProblemCodeValidationFailed, "Validation failed", "")
		p.Violations = violations(dve.Violations)
	case errors.As(err, &ue):
		p = problem(http.StatusUnprocessableEntity, api.ProblemCodeUnsupportedByProvider, "Not supported by this provider", ue.Error())
		p.Provider = &ue.Provider
		if ue.Field != "" {
			p.Violations = &[]api.Violation{{Field: ue.Field, Reason: ue.Reason}}
		}
	case errors.Is(err, idempotency.ErrMismatch):
		p = problem(http.StatusConflict, api.ProblemCodeIdempotencyConflict, "Idempotency key reused", "This Idempotency-Key was used with a different request; use a new key for a new request.")
	case errors.Is(err, idempotency.ErrInFlight):
		p = problem(http.StatusConflict, api.ProblemCodeIdempotencyInProgress, "Idempotency key in use", "The first request with this Idempotency-Key is still running; retry after Retry-After seconds to get its answer.")
	case errors.Is(err, idempotency.ErrOutcomeUnknown):
		p = problem(http.StatusConflict, api.ProblemCodeIdempotencyOutcomeUnknown, "Outcome not known yet", "The first request with this Idempotency-Key ran, but its answer has not been stored yet (the idempotency store was unreachable, or the instance that ran it stopped); it may have had its effect, so it is not run again. Retry after Retry-After seconds; if this persists, check whether the link was made before using a new key.")
	case errors.Is(err, idempotency.ErrUnavailable):
		p = problem(http.StatusServiceUnavailable, api.ProblemCodeIdempotencyUnavailable, "Idempotency store unavailable", "Requests with an Idempotency-Key cannot be processed safely right now; retry later.")
	case errors.Is(err, errUnauthorized), errors.Is(err, errMetricsKey):
		p = problem(http.StatusUnauthorized, api.ProblemCodeUnauthorized, "Unauthorized", err.Error())
	case errors.As(err, &pe):
		p = fromProvider(pe)
	case errors.As(err, &ce):
		p = problem(http.StatusBadGateway, api.ProblemCodeProviderContractViolation, "Provider answer violates its specification", ce.Error())
	case errors.Is(err, paylink.ErrNotFound):
		p = problem(http.StatusNotFound, api.ProblemCodeNotFound, "Not found", err.Error())
	case errors.As(err, &he):
		p = fromHTTPError(he)
	}
	p.Type = problemTypeBase + string(p.Code)
	return p
}

func fromSpecViolation(ve *validation.Error) api.Problem {
	var p api.Problem
	switch ve.Kind {
	case validation.Malformed:
		p = problem(http.StatusBadRequest, api.ProblemCodeBadRequest, "Malformed request", "")
	case validation.NoRoute:
		p = problem(http.StatusNotFound, api.ProblemCodeNotFound, "Not found", "")
	case validation.NoMethod:
		p = problem(http.StatusMethodNotAllowed, api.ProblemCodeMethodNotAllowed, "Method not allowed", "")
	default:
		p = problem(http.StatusUnprocessableEntity, api.ProblemCodeValidationFailed, "Validation failed", "")
	}
	vs := make([]api.Violation, len(ve.Violations))
	for i, v := range ve.Violations {
		vs[i] = api.Violation{Field: v.Field, Reason: v.Reason}
	}
	p.Violations = &vs
	if len(vs) > 0 {
		p.Detail = ptr(vs[0].Field + ": " + vs[0].Reason)
	}
	return p
}

func fromProvider(pe *paylink.ProviderError) api.Problem {
	var p api.Problem
	switch {
	case errors.Is(pe.Kind, paylink.ErrNotFound):
		p = problem(http.StatusNotFound, api.ProblemCodeNotFound, "Not found", "No such payment link at "+pe.Provider+".")
	case errors.Is(pe.Kind, paylink.ErrAlreadyClosed):
		p = problem(http.StatusConflict, api.ProblemCodeAlreadyClosed, "Already closed", "The payment link is already closed.")
	case errors.Is(pe.Kind, paylink.ErrNotClosable):
		p = problem(http.StatusConflict, api.ProblemCodeNotClosable, "Not closable", "The payment link is completed or expired and can no longer be closed.")
	case errors.Is(pe.Kind, paylink.ErrInvalidInput):
		p = problem(http.StatusUnprocessableEntity, api.ProblemCodeValidationFailed, "Rejected by the provider", pe.Provider+" refused the request: "+pe.Message)
	case errors.Is(pe.Kind, paylink.ErrProviderAuth):
		p = problem(http.StatusBadGateway, api.ProblemCodeProviderAuthFailed, "Provider refused our credentials", pe.Provider+" refused the configured credentials; check the deployment's provider configuration.")
	case errors.Is(pe.Kind, paylink.ErrNotHonoured):
		p = problem(http.StatusBadGateway, api.ProblemCodeProviderError, "Provider did not do what was asked", pe.Provider+" "+pe.Message+".")
	case errors.Is(pe.Kind, paylink.ErrAnswerTooLarge):
		detail := pe.Provider + "'s answer is larger than this deployment accepts (PAYLINKS_MAX_PROVIDER_ANSWER_BYTES"
		var ate *validation.AnswerTooLargeError
		if errors.As(pe, &ate) {
			detail += fmt.Sprintf(", %d bytes", ate.Limit)
		}
		p = problem(http.StatusBadGateway, api.ProblemCodeProviderAnswerTooLarge, "Provider answer too large", detail+"); nothing of it was passed on.")
	case errors.Is(pe.Kind, paylink.ErrContractViolation):
		p = problem(http.StatusBadGateway, api.ProblemCodeProviderContractViolation, "Provider answer violates its specification", pe.Provider+" answered something its specification does not allow; nothing of it was passed on.")
	case errors.Is(pe.Kind, paylink.ErrProviderUnavailable):
		p = problem(http.StatusServiceUnavailable, api.ProblemCodeProviderUnavailable, "Provider unavailable", pe.Provider+" cannot be reached or is rate limiting; retry later.")
	case errors.Is(pe.Kind, paylink.ErrProviderTimeout):
		p = problem(http.StatusGatewayTimeout, api.ProblemCodeProviderTimeout, "Provider timeout", pe.Provider+" did not answer in time.")
	default:
		p = problem(http.StatusBadGateway, api.ProblemCodeProviderError, "Provider error", pe.Provider+" failed to answer as documented.")
	}
	p.Provider = &pe.Provider
	if pe.Status != 0 {
		p.ProviderStatus = &pe.Status
	}
	return p
}

func fromHTTPError(he *echo.HTTPError) api.Problem {
	msg := fmt.Sprint(he.Message)
	switch he.Code {
	case http.StatusNotFound:
		return problem(he.Code, api.ProblemCodeNotFound, "Not found", "No such route.")
	case http.StatusMethodNotAllowed:
		return problem(he.Code, api.ProblemCodeMethodNotAllowed, "Method not allowed", "")
	case http.StatusRequestEntityTooLarge:
		return problem(he.Code, api.ProblemCodePayloadTooLarge, "Request body too large", msg)
	case http.StatusUnauthorized:
		return problem(he.Code, api.ProblemCodeUnauthorized, "Unauthorized", errUnauthorized.Error())
	case http.StatusServiceUnavailable:
		return problem(he.Code, api.ProblemCodeProviderUnavailable, "Unavailable", msg)
	}
	if he.Code >= 400 && he.Code < 500 {
		return problem(he.Code, api.ProblemCodeBadRequest, http.StatusText(he.Code), msg)
	}
	return problem(http.StatusInternalServerError, api.ProblemCodeInternal, "Internal error", "")
}

func problem(status int, code api.ProblemCode, title, detail string) api.Problem {
	p := api.Problem{Status: status, Code: code, Title: title}
	if detail != "" {
		p.Detail = &detail
	}
	return p
}

func violations(vs []paylink.Violation) *[]api.Violation {
	out := make([]api.Violation, len(vs))
	for i, v := range vs {
		out[i] = api.Violation{Field: v.Field, Reason: v.Reason}
	}
	return &out
}

func ptr[T any](v T) *T { return &v }

// writeProblem writes err as application/problem+json, with the request id and Retry-After when the
// provider asked for one.
func writeProblem(w http.ResponseWriter, requestID string, err error) api.Problem {
	p := problemFor(err)
	if requestID != "" {
		p.RequestId = &requestID
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="paylinks"`)
	}
	var pe *paylink.ProviderError
	switch {
	case errors.As(err, &pe) && pe.RetryAfter > 0:
		h.Set("Retry-After", strconv.Itoa(int(pe.RetryAfter.Seconds())))
	case p.Code == api.ProblemCodeIdempotencyInProgress:
		h.Set("Retry-After", "1")
	case p.Code == api.ProblemCodeIdempotencyOutcomeUnknown:
		h.Set("Retry-After", "30")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
	return p
}
