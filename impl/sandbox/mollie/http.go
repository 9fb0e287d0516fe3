package mollie

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// maxBody bounds a request body; a create body is a few hundred bytes.
const maxBody = 64 << 10

// newHandler builds the Echo instance: Mollie's clock in the Date header, authentication,
// validation against the curated spec, idempotency keys, then the generated strict handler.
// Errors of every layer are written as Mollie's HAL error.
func (s *Sandbox) newHandler() http.Handler {
	e := sandbox.NewEcho(s.handleError, s.dated, s.authenticate, s.validate, s.idempotent())
	api.RegisterHandlers(e, api.NewStrictHandler(s, nil))
	return e
}

// dated sets the Date of every answer from the sandbox clock, as a server's own clock: clients
// (the paylinks adapter) judge expiry by it, so moving the clock moves what they see.
func (s *Sandbox) dated(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Date", s.cfg.Clock.Now().UTC().Format(http.TimeFormat))
		return next(c)
	}
}

// caller is who a request acts for and where it was sent: the mode of its key, and the absolute
// URL of the API root (with any mount prefix) that _links are built from.
type caller struct {
	mode api.Mode
	root string
}

// callerOf is who the request acts for.
func callerOf(ctx context.Context) caller { return sandbox.CallerOf[caller](ctx) }

// authenticate refuses, with Mollie's 401, a request without a bearer API key, with a key that is
// not an API key (test_… or live_…), or with one outside cfg.Credentials when those are set.
func (s *Sandbox) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		scheme, key, _ := strings.Cut(strings.TrimSpace(r.Header.Get(echo.HeaderAuthorization)), " ")
		key = strings.TrimSpace(key)
		var mode api.Mode
		switch {
		case !strings.EqualFold(scheme, "Bearer") || key == "":
			return s.fail(c, problem(http.StatusUnauthorized, "Missing authentication, or failed to authenticate", ""))
		case strings.HasPrefix(key, "test_"):
			mode = api.ModeTest
		case strings.HasPrefix(key, "live_"):
			mode = api.ModeLive
		default:
			return s.fail(c, problem(http.StatusUnauthorized, "Invalid API key: an API key starts with test_ or live_", ""))
		}
		if !s.cfg.Accepts(key) {
			return s.fail(c, problem(http.StatusUnauthorized, "Missing authentication, or failed to authenticate", ""))
		}
		c.SetRequest(sandbox.WithCaller(r, caller{mode: mode, root: apiRoot(r)}))
		return next(c)
	}
}

// apiRoot is the absolute URL the API is served at for this request: scheme and host as called,
// and the prefix (e.g. /sandbox/mollie) that http.StripPrefix cut from URL.Path but RequestURI keeps.
func apiRoot(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])); p == "http" || p == "https" {
		scheme = p
	}
	prefix := ""
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && strings.HasSuffix(u.Path, r.URL.Path) {
		prefix = strings.TrimSuffix(u.Path, r.URL.Path)
	}
	return scheme + "://" + r.Host + prefix
}

// validate matches the request to an operation of the spec and checks it, so the strict handler
// only binds validated requests. Unknown paths are 404 and known paths with another method 405,
// both in Mollie's error body. Bad parameters of a list are 400 (as documented); any other
// request that breaks the spec is 422 naming the field, as Mollie answers invalid input.
func (s *Sandbox) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		op, err := s.spec.Find(r)
		if err != nil {
			if sandbox.OtherMethod(s.spec, r) {
				return s.fail(c, problem(http.StatusMethodNotAllowed, "The method "+r.Method+" is not allowed on "+r.URL.Path, ""))
			}
			return s.fail(c, problem(http.StatusNotFound, "No endpoint "+r.Method+" "+r.URL.Path, ""))
		}
		body, err := sandbox.ReadBody(r, maxBody)
		if err != nil {
			return s.fail(c, problem(http.StatusUnprocessableEntity, "The request body could not be read or is larger than 64 KiB", ""))
		}
		if err := s.spec.ValidateRequest(r.Context(), op, body); err != nil {
			status := http.StatusUnprocessableEntity
			if r.Method == http.MethodGet {
				status = http.StatusBadRequest
			}
			field, reason := firstViolation(err)
			return s.fail(c, problem(status, reason, field))
		}
		c.Set(sandbox.CtxOperationID, op.ID())
		c.Set(sandbox.CtxBody, body)
		return next(c)
	}
}

// firstViolation names the first violation Mollie's way: a body pointer /amount/value as
// amount.value, a parameter query.limit as limit.
func firstViolation(err error) (field, reason string) {
	var ve *validation.Error
	if !errors.As(err, &ve) || len(ve.Violations) == 0 {
		return "", "The request is invalid"
	}
	v := ve.Violations[0]
	switch {
	case strings.HasPrefix(v.Field, "/"):
		field = strings.ReplaceAll(strings.TrimPrefix(v.Field, "/"), "/", ".")
	case v.Field == "body":
		field = ""
	default:
		_, field, _ = strings.Cut(v.Field, ".")
	}
	if field == "" {
		return "", "The request body is invalid: " + v.Reason
	}
	return field, "The '" + field + "' field is invalid: " + v.Reason
}

func (s *Sandbox) fail(c echo.Context, p reply) error {
	return p.Write(c.Response())
}

// handleError renders errors that reach Echo (binding failures, panics turned errors) as Mollie's
// error body, never Echo's own {"message": …}. Statuses no operation documents become 422 or 500.
func (s *Sandbox) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, detail := http.StatusInternalServerError, "Internal server error"
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 500 {
		status, detail = http.StatusUnprocessableEntity, "The request is invalid"
		if m, ok := he.Message.(string); ok {
			detail = m
		}
	}
	_ = s.fail(c, problem(status, detail, ""))
}

// keyRetention is how long the sandbox keeps an idempotency key. Mollie documents that a repeated
// key is a duplicate, not for how long (MOL-15 [U]); a day covers any retry.
const keyRetention = 24 * time.Hour

// idempotent makes a request repeated with its Idempotency-Key (create, update, delete) a
// duplicate of the first: the first answer again, with no second execution. The key with another
// request, or while the first is running, is refused with 422 naming the header: what Mollie does
// then is not documented (MOL-15 [U]), and 422 is its answer to input it will not take.
func (s *Sandbox) idempotent() echo.MiddlewareFunc {
	return s.idem.Middleware(sandbox.ReplayConfig{
		Header:     "Idempotency-Key",
		Operations: map[string]bool{"CreatePaymentLink": true, "UpdatePaymentLink": true, "DeletePaymentLink": true},
		Scope:      func(r *http.Request) string { return r.Header.Get(echo.HeaderAuthorization) },
		Refuse: func(c echo.Context, err error) error {
			return s.fail(c, problem(http.StatusUnprocessableEntity, "The Idempotency-Key cannot be used: "+err.Error(), "Idempotency-Key"))
		},
	})
}
