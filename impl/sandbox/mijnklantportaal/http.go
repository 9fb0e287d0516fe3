package mijnklantportaal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
	openapi_types "github.com/oapi-codegen/runtime/types"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// maxBody bounds the request bodies the sandbox reads; a create body is a few hundred bytes.
const maxBody = 64 << 10

// newHandler builds the Echo instance: auth, then request validation against the curated spec,
// then the generated strict handler. Errors of every layer are written in the provider's shape.
func (s *Sandbox) newHandler() http.Handler {
	e := sandbox.NewEcho(s.handleError, s.authenticate, s.validate)
	api.RegisterHandlers(e, api.NewStrictHandler(s, nil))
	return e
}

// authenticate refuses requests without an accepted bearer token the way Laravel's auth middleware
// does for a JSON API: 401 {"message": "Unauthenticated."}.
func (s *Sandbox) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.initErr != nil {
			return c.JSON(http.StatusInternalServerError, api.ApiError{Message: "Server Error: " + s.initErr.Error()})
		}
		if !s.cfg.Accepts(bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))) {
			return c.JSON(http.StatusUnauthorized, api.ApiError{Message: "Unauthenticated."})
		}
		return next(c)
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header; the scheme is
// case-insensitive (RFC 9110).
func bearerToken(h string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// validate matches the request to an operation of the spec and checks it, so the strict handler
// only ever binds a validated request. It also records the endpoint URL the page envelopes need.
func (s *Sandbox) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		op, ok := s.find(r)
		if !ok {
			// The path's other methods decide between 404 and 405, rather than the error's Kind:
			// the router reports a known path with another method as not found, too.
			if len(s.allowedMethods(r)) > 0 {
				return s.methodNotAllowed(c)
			}
			return routeNotFound(c)
		}
		if id := op.ID(); id == "ListPaymentLinks" || id == "ListPaymentLinkPayments" || id == "ListWebhookRecords" {
			normalisePage(r.URL)
		}
		body, err := sandbox.ReadBody(r, maxBody)
		switch {
		case errors.Is(err, sandbox.ErrBodyTooLarge):
			return c.JSON(http.StatusUnprocessableEntity, api.ApiError{Message: "The request body is too large."})
		case err != nil:
			return c.JSON(http.StatusUnprocessableEntity, api.ApiError{Message: "The request body could not be read."})
		}
		if err := s.spec.ValidateRequest(r.Context(), op, body); err != nil {
			var verr *validation.Error
			if !errors.As(err, &verr) {
				return err
			}
			return c.JSON(http.StatusUnprocessableEntity, violationErrors(verr.Violations).apiError())
		}
		if op.ID() == "CreatePaymentLink" && !validDate(body) {
			// The schema's date format is a pattern that lets 2024-02-30 through; Laravel's date
			// rule and the generated binder do not.
			f := &fieldErrors{}
			f.add("expiresAt", "The expires at field must be a valid date.")
			return c.JSON(http.StatusUnprocessableEntity, f.apiError())
		}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), endpointKey{}, endpointURL(r))))
		return next(c)
	}
}

// normalisePage does what Laravel's paginator does with the page parameter: the last value counts,
// and anything but an integer ≥ 1 means page 1. So ?page=abc is page 1, not an error (the list
// operations document none).
func normalisePage(u *url.URL) {
	q := u.Query()
	vals, ok := q["page"]
	if !ok {
		return
	}
	if n, err := strconv.Atoi(strings.TrimSpace(vals[len(vals)-1])); err == nil && n >= 1 {
		q.Set("page", strconv.Itoa(n))
	} else {
		q.Del("page")
	}
	u.RawQuery = q.Encode()
}

// routeNotFound answers as Laravel does for a path no route matches.
func routeNotFound(c echo.Context) error {
	path := strings.Trim(c.Request().URL.Path, "/")
	if path == "" {
		path = "/"
	}
	return c.JSON(http.StatusNotFound, api.ApiError{Message: fmt.Sprintf("The route %s could not be found.", path)})
}

// find matches the request to an operation of the spec. The spec's router is lax where Laravel's is
// not: it matches a trailing slash and an empty path parameter (DELETE /payment-links as a close of
// ""), which are no route here.
func (s *Sandbox) find(r *http.Request) (*validation.Operation, bool) {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		return nil, false
	}
	op, err := s.spec.Find(r)
	if err != nil {
		return nil, false
	}
	for _, v := range op.PathParams() {
		if v == "" {
			return nil, false
		}
	}
	return op, true
}

// allowedMethods lists the methods the spec has for the request's path, with HEAD after GET as
// Laravel lists them.
func (s *Sandbox) allowedMethods(r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		probe.Body = http.NoBody
		if _, ok := s.find(probe); ok {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead)
			}
		}
	}
	return allowed
}

// methodNotAllowed answers as Laravel does for a known path with another method, listing the
// methods the path has.
func (s *Sandbox) methodNotAllowed(c echo.Context) error {
	r := c.Request()
	allowed := s.allowedMethods(r)
	c.Response().Header().Set(echo.HeaderAllow, strings.Join(allowed, ", "))
	return c.JSON(http.StatusMethodNotAllowed, api.ApiError{
		Message: fmt.Sprintf("The %s method is not supported for route %s. Supported methods: %s.",
			r.Method, strings.TrimPrefix(r.URL.Path, "/"), strings.Join(allowed, ", ")),
	})
}

// handleError writes errors that reach Echo (from its router or the generated binder, which the
// validation normally pre-empts) in the provider's shape.
func (s *Sandbox) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
	}
	switch {
	case status == http.StatusNotFound:
		err = routeNotFound(c)
	case status == http.StatusMethodNotAllowed:
		err = s.methodNotAllowed(c)
	case status >= 400 && status < 500:
		err = c.JSON(http.StatusUnprocessableEntity, api.ApiError{Message: "The given data was invalid."})
	default:
		err = c.JSON(http.StatusInternalServerError, api.ApiError{Message: "Server Error"})
	}
	if err != nil {
		c.Logger().Error(err)
	}
}

type endpointKey struct{}

// endpointFrom returns the absolute URL of the endpoint the request was made to, without query.
func endpointFrom(ctx context.Context) string {
	u, _ := ctx.Value(endpointKey{}).(string)
	return u
}

// endpointURL is the absolute URL the client called, without query, as Laravel's paginator builds
// page URLs from. The path comes from RequestURI, which keeps a prefix that http.StripPrefix cut
// from URL.Path when the sandbox is mounted under /sandbox/mijnklantportaal.
func endpointURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.EqualFold(strings.TrimSpace(p), "https") || strings.EqualFold(strings.TrimSpace(p), "http") {
		scheme = strings.ToLower(strings.TrimSpace(p))
	}
	path := r.URL.EscapedPath()
	if u, err := url.ParseRequestURI(r.RequestURI); r.RequestURI != "" && err == nil {
		path = u.EscapedPath()
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + path
}

// fieldErrors are Laravel's validation errors: messages per input field, in the order found.
type fieldErrors struct {
	fields   []string
	messages map[string][]string
}

func (f *fieldErrors) add(field, message string) {
	if f.messages == nil {
		f.messages = map[string][]string{}
	}
	if _, seen := f.messages[field]; !seen {
		f.fields = append(f.fields, field)
	}
	f.messages[field] = append(f.messages[field], message)
}

func (f *fieldErrors) len() int { return len(f.fields) }

// apiError renders the errors as Laravel does: the first message, "(and N more errors)", and the
// messages per field.
func (f *fieldErrors) apiError() api.ApiError {
	if len(f.fields) == 0 {
		return api.ApiError{Message: "The given data was invalid."}
	}
	// Laravel reports fields in the order of the request's rules, whatever order they were found in.
	rank := map[string]int{"description": 1, "amount": 2, "expiresAt": 3, "reusable": 4}
	sort.SliceStable(f.fields, func(i, j int) bool {
		return rank[f.fields[i]]%5 < rank[f.fields[j]]%5 || (rank[f.fields[j]] == 0 && rank[f.fields[i]] != 0)
	})
	total := 0
	for _, m := range f.messages {
		total += len(m)
	}
	msg := f.messages[f.fields[0]][0]
	switch total {
	case 1:
	case 2:
		msg += " (and 1 more error)"
	default:
		msg += fmt.Sprintf(" (and %d more errors)", total-1)
	}
	errs := f.messages
	return api.ApiError{Message: msg, Errors: &errs}
}

var (
	missingProperty = regexp.MustCompile(`^property "([^"]+)" is missing$`)
	// schemaErrorText is the text of a kin-openapi schema error, which names the field.
	schemaErrorText = regexp.MustCompile(`^Error at "(/[^"]*)": ([^\n]*)`)
)

// violationErrors turns spec violations into Laravel-style messages per field, in Laravel's dot
// notation ("amount"). Only the first line of a reason is used: the rest would echo the schema and
// the value sent.
func violationErrors(vs []validation.Violation) *fieldErrors {
	f := &fieldErrors{}
	for _, v := range vs {
		pointer, reason := v.Field, v.Reason
		if m := schemaErrorText.FindStringSubmatch(reason); m != nil && !strings.HasPrefix(pointer, "/") {
			pointer, reason = m[1], m[2] // body violations reported as a whole with the field in the text
		}
		reason, _, _ = strings.Cut(reason, "\n")
		field := strings.ReplaceAll(strings.Trim(pointer, "/"), "/", ".")
		if m := missingProperty.FindStringSubmatch(reason); m != nil {
			if last := field[strings.LastIndex(field, ".")+1:]; last != m[1] {
				field = strings.TrimPrefix(field+"."+m[1], ".")
			}
			f.add(field, "The "+attribute(m[1])+" field is required.")
			continue
		}
		if field == "" || !strings.HasPrefix(pointer, "/") {
			f.add("body", "The request body is invalid: "+reason+".")
			continue
		}
		f.add(field, laravelMessage(field, reason))
	}
	return f
}

// validDate reports whether the create body's expiresAt, if any, is a real calendar date.
func validDate(body []byte) bool {
	var b struct {
		ExpiresAt *string `json:"expiresAt"`
	}
	if json.Unmarshal(body, &b) != nil || b.ExpiresAt == nil {
		return true // the schema check has had its say on the body
	}
	_, err := time.Parse(openapi_types.DateFormat, *b.ExpiresAt)
	return err == nil
}

// laravelMessage phrases a schema violation of a field the way Laravel's validator would.
func laravelMessage(field, reason string) string {
	name := attribute(field[strings.LastIndex(field, ".")+1:])
	switch {
	case strings.Contains(reason, "regular expression"):
		return "The " + name + " field format is invalid."
	case strings.Contains(reason, "minimum string length"):
		return "The " + name + " field is required."
	case strings.Contains(reason, "maximum string length"):
		return "The " + name + " field must not be greater than 255 characters."
	case strings.Contains(reason, "must be a string"):
		return "The " + name + " field must be a string."
	case strings.Contains(reason, "must be a boolean"):
		return "The " + name + " field must be true or false."
	case strings.Contains(reason, `"date"`):
		return "The " + name + " field must be a valid date."
	default:
		return "The " + name + " field is invalid: " + reason + "."
	}
}

// attribute is Laravel's display name of an input field: "expiresAt" → "expires at".
func attribute(field string) string {
	var b strings.Builder
	for i, r := range field {
		switch {
		case unicode.IsUpper(r):
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(unicode.ToLower(r))
		case r == '_' || r == '-':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
