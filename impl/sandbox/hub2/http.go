package hub2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

func (s *Sandbox) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.authenticate, s.validate)
	api.RegisterHandlers(e, api.NewStrictHandler(s, nil))
	return e
}

// principal is who a request acts for: Hub2 scopes links to merchant and environment.
type principal struct {
	merchantID  string
	environment string
}

type principalKey struct{}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

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
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{merchantID: merchant, environment: env})))
		return next(c)
	}
}

// validate checks the request against the curated spec before any handler runs; unknown routes
// and methods are answered here too, in Hub2's error body.
func (s *Sandbox) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.specErr != nil {
			return s.fail(c, http.StatusInternalServerError, "Internal Server Error", "sandbox spec failed to load: "+s.specErr.Error())
		}
		r := c.Request()
		op, err := s.spec.Find(r)
		if err != nil {
			var ve *validation.Error
			if (errors.As(err, &ve) && ve.Kind == validation.NoMethod) || s.otherMethod(r) {
				return s.fail(c, http.StatusMethodNotAllowed, "Method Not Allowed", fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))
			}
			return s.fail(c, http.StatusNotFound, "Not Found", fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return s.fail(c, http.StatusBadRequest, "Bad Request", "could not read the request body")
		}
		if len(body) > maxBody {
			return s.fail(c, http.StatusBadRequest, "Bad Request", "request body too large")
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

// otherMethod reports whether another method has an operation at the request's path: then the
// answer is 405, not 404. (The spec's router reports a wrong method only on paths without
// parameters, so the sandbox asks it once per method instead.)
func (s *Sandbox) otherMethod(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method, probe.Body = m, http.NoBody
		if _, err := s.spec.Find(probe); err == nil {
			return true
		}
	}
	return false
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
