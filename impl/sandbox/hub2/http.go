package hub2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// newHandler builds the Echo instance: authentication, then validation against the curated spec,
// then the generated strict handler; errors of every layer in Hub2's error body.
func (s *Sandbox) newHandler() http.Handler {
	e := sandbox.NewEcho(s.handleError, s.authenticate, s.validate)
	api.RegisterHandlers(e, api.NewStrictHandler(s, nil))
	return e
}

// principal is who a request acts for: Hub2 scopes links to merchant and environment.
type principal struct {
	merchantID  string
	environment string
}

// principalFrom is who the request acts for.
func principalFrom(ctx context.Context) principal { return sandbox.CallerOf[principal](ctx) }

// authenticate refuses requests as Hub2 does: each of the three headers is required (401), the
// environment must be live or sandbox (400) and the key must be accepted (401).
func (s *Sandbox) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		key, merchant, env := h.Get("ApiKey"), h.Get("MerchantId"), h.Get("Environment")
		var missing []string
		for _, hv := range [][2]string{{"ApiKey", key}, {"MerchantId", merchant}, {"Environment", env}} {
			if hv[1] == "" {
				missing = append(missing, hv[0])
			}
		}
		switch {
		case len(missing) > 0:
			return s.fail(c, http.StatusUnauthorized, "Unauthorized", "Missing authentication header(s): "+strings.Join(missing, ", "))
		case !slices.Contains(Environments, env):
			return s.fail(c, http.StatusBadRequest, "invalid-environment", "Environment must be live or sandbox")
		case !s.cfg.Accepts(key):
			return s.fail(c, http.StatusUnauthorized, "Unauthorized", "Invalid API key")
		}
		r := c.Request()
		c.SetRequest(sandbox.WithCaller(r, principal{merchantID: merchant, environment: env}))
		return next(c)
	}
}

// validate checks the request against the curated spec before any handler runs; unknown routes
// and methods are answered here too, in Hub2's error body.
func (s *Sandbox) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		op, err := s.spec.Find(r)
		if err != nil {
			var ve *validation.Error
			if (errors.As(err, &ve) && ve.Kind == validation.NoMethod) || sandbox.OtherMethod(s.spec, r) {
				return s.fail(c, http.StatusMethodNotAllowed, "Method Not Allowed", fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))
			}
			return s.fail(c, http.StatusNotFound, "Not Found", fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))
		}
		body, err := sandbox.ReadBody(r, maxBody)
		if err != nil {
			return s.fail(c, http.StatusBadRequest, "Bad Request", "could not read the request body: "+err.Error())
		}
		if err := s.spec.ValidateRequest(r.Context(), op, body); err != nil {
			var ve *validation.Error
			msg := err.Error()
			if errors.As(err, &ve) {
				parts := make([]string, len(ve.Violations))
				for i, v := range ve.Violations {
					parts[i] = v.Field + ": " + v.Reason
				}
				msg = strings.Join(parts, "; ")
			}
			return s.fail(c, http.StatusBadRequest, "Bad Request", msg)
		}
		return next(c)
	}
}

// handleError renders errors that reach Echo (binding failures, panics turned errors) in Hub2's
// error body, never Echo's own {"message": …}.
func (s *Sandbox) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "Internal server error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		msg = fmt.Sprint(he.Message)
	}
	_ = s.fail(c, status, http.StatusText(status), msg)
}

func (s *Sandbox) fail(c echo.Context, status int, code, message string) error {
	return c.JSON(status, s.errorBody(status, code, message))
}

// errorBody is Hub2's standardized error; every one carries a request id, as Hub2's do.
func (s *Sandbox) errorBody(status int, code, message string) api.Error {
	id := s.reqIDs.Next("req_", 21, sandbox.Nanoid)
	return api.Error{Status: status, Code: code, Message: message, RequestId: &id}
}
