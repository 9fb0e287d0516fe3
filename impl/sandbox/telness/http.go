package telness

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// maxBody bounds a request body; Telness documents no limit, and a payment-link request is tiny.
const maxBody = 1 << 20

// newHandler builds the Echo instance: authentication, then validation against the curated spec,
// then idempotency, then the generated strict handler. Errors anywhere are rendered in Telness's
// own Error body by one HTTPErrorHandler.
func (s *Sandbox) newHandler() http.Handler {
	e := sandbox.NewEcho(renderError, s.authenticate, s.validate, s.idempotent())
	api.RegisterHandlers(e, api.NewStrictHandler(s, nil))
	return e
}

// authenticate refuses requests without an accepted X-API-Key (TEL-2) with 401, before anything
// else is looked at, as an API gateway would.
func (s *Sandbox) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get("X-API-Key")
		switch {
		case key == "":
			return writeError(c, http.StatusUnauthorized, api.Error{Message: "Missing API key: send it in the X-API-Key header", Code: ptr(codeUnauthorized)})
		case !s.cfg.Accepts(key):
			return writeError(c, http.StatusUnauthorized, api.Error{Message: "Invalid API key", Code: ptr(codeUnauthorized)})
		}
		return next(c)
	}
}

// validate matches the request to an operation of the spec and validates parameters, headers and
// body; the handler then binds exactly the bytes that were validated.
func (s *Sandbox) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		op, err := s.spec.Find(r)
		if err == nil && emptyPathParam(op) {
			err = &validation.Error{Kind: validation.NoRoute}
		}
		if err != nil {
			return s.routeFailure(c)
		}
		body, err := sandbox.ReadBody(r, maxBody)
		switch {
		case errors.Is(err, sandbox.ErrBodyTooLarge):
			return writeError(c, http.StatusBadRequest, badRequestError(detail("The request body is larger than 1 MiB", "")))
		case err != nil:
			return writeError(c, http.StatusBadRequest, api.Error{Message: "Could not read the request body", Code: ptr(codeValidation)})
		}
		if err := s.spec.ValidateRequest(r.Context(), op, body); err != nil {
			return validationFailure(c, err)
		}
		c.Set(sandbox.CtxOperationID, op.ID())
		c.Set(sandbox.CtxBody, body)
		return next(c)
	}
}

// emptyPathParam reports a match with an empty path parameter: the validator's router matches
// GET /payment-links to /payment-links/{paymentLinkId} with an empty id, which is no match at all.
func emptyPathParam(op *validation.Operation) bool {
	for _, v := range op.PathParams() {
		if v == "" {
			return true
		}
	}
	return false
}

// routeFailure answers a request that matches no operation: 405 when a path of the spec matches
// but not with this method (GET /payment-links: Telness has no list), 404 otherwise. It decides
// from the spec's paths because the validator's router does not tell the two apart.
func (s *Sandbox) routeFailure(c echo.Context) error {
	r := c.Request()
	for tmpl := range s.spec.Doc().Paths.Map() {
		if matchesTemplate(tmpl, r.URL.Path) {
			return writeError(c, http.StatusMethodNotAllowed, api.Error{Message: "Method " + r.Method + " is not allowed on " + r.URL.Path, Code: ptr(codeMethod)})
		}
	}
	return writeError(c, http.StatusNotFound, api.Error{Message: "No such endpoint: " + r.URL.Path, Code: ptr(codeNotFound)})
}

// matchesTemplate matches a path to a spec path template segment by segment; a {parameter}
// matches any non-empty segment.
func matchesTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		isParam := strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")
		if (isParam && ps[i] == "") || (!isParam && t != ps[i]) {
			return false
		}
	}
	return true
}

// validationFailure renders a request validation failure as Telness does: 400 with one detail
// per violation.
func validationFailure(c echo.Context, err error) error {
	var verr *validation.Error
	if !errors.As(err, &verr) {
		return writeError(c, http.StatusBadRequest, badRequestError(detail(err.Error(), "")))
	}
	details := make([]api.ErrorDetail, 0, len(verr.Violations))
	for _, v := range verr.Violations {
		details = append(details, violationDetail(tidy(v)))
	}
	return writeError(c, http.StatusBadRequest, badRequestError(details...))
}

// tidy recovers the field and the bare reason of a violation that the validator reported under
// "body" with kin-openapi's full SchemaError text (`Error at "/orderId": value must be a string`
// followed by a dump of the schema and of the offending value). The dump is always dropped: it
// echoes the caller's input back, which an error body must not do.
func tidy(v validation.Violation) validation.Violation {
	reason, _, _ := strings.Cut(v.Reason, "\nSchema:")
	if rest, ok := strings.CutPrefix(reason, `Error at "`); ok {
		if pointer, r, ok := strings.Cut(rest, `": `); ok {
			if v.Field == "body" {
				v.Field = pointer
			}
			reason = r
		}
	}
	v.Reason = reason
	return v
}

// violationDetail turns a validator violation into a Telness ErrorDetail, naming the property the
// way a Telness caller wrote it ("orderId", "metadata.campaign", "X-Idempotency-Key").
func violationDetail(v validation.Violation) api.ErrorDetail {
	switch {
	case (v.Field == "/" || v.Field == "body") && (strings.Contains(v.Reason, "(not)") || strings.Contains(v.Reason, `schema "not"`)):
		return xorDetail() // TEL-3: the only `not` in the spec is the orderId xor invoiceId rule
	case strings.HasPrefix(v.Field, "/") && v.Field != "/":
		return detail(v.Reason, strings.ReplaceAll(strings.TrimPrefix(v.Field, "/"), "/", "."))
	case strings.HasPrefix(v.Field, "header.") || strings.HasPrefix(v.Field, "path.") || strings.HasPrefix(v.Field, "query."):
		_, name, _ := strings.Cut(v.Field, ".")
		return detail(v.Reason, name)
	default:
		return detail(v.Reason, "")
	}
}

func badRequestError(details ...api.ErrorDetail) api.Error {
	return api.Error(badRequest(details...))
}

func writeError(c echo.Context, status int, body api.Error) error {
	return c.JSON(status, body)
}

// renderError answers errors that escaped the middlewares and handlers (Echo's own 404/405, bind
// failures, internal errors) in the Telness Error body, so no response has another shape.
func renderError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := http.StatusInternalServerError, api.Error{Message: "Internal server error", Code: ptr(codeInternal)}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch status = he.Code; status {
		case http.StatusNotFound:
			body = api.Error{Message: "No such endpoint: " + c.Request().URL.Path, Code: ptr(codeNotFound)}
		case http.StatusMethodNotAllowed:
			body = api.Error{Message: "Method " + c.Request().Method + " is not allowed on " + c.Request().URL.Path, Code: ptr(codeMethod)}
		case http.StatusUnauthorized:
			body = api.Error{Message: "Invalid API key", Code: ptr(codeUnauthorized)}
		default:
			if status >= 400 && status < 500 {
				status = http.StatusBadRequest
				body = badRequestError(detail(errMessage(he), ""))
			} else {
				status = http.StatusInternalServerError
			}
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func errMessage(he *echo.HTTPError) string {
	if m, ok := he.Message.(string); ok {
		return m
	}
	return http.StatusText(he.Code)
}
