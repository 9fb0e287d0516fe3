package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/validation"
)

// What every simulator's HTTP side shares: its Echo instance, its curated spec compiled for
// request validation, its bounded request bodies, the 405 of a known path, and answers it writes
// itself.

// NewEcho returns the Echo instance a simulator serves its provider's API with: no banner,
// errors rendered by onError in the provider's shape, and the middlewares in order (typically
// authentication, then validation against the curated spec).
func NewEcho(onError echo.HTTPErrorHandler, middlewares ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = onError
	e.Use(middlewares...)
	return e
}

// LoadSpec compiles the provider's curated spec (its gen package's GetSpec) for request
// validation. The spec is embedded in the binary, so a failure is a build defect and panics
// rather than being reported per request.
func LoadSpec(provider string, spec func() (*openapi3.T, error)) *validation.Spec {
	doc, err := spec()
	if err == nil {
		var s *validation.Spec
		if s, err = validation.New(doc); err == nil {
			return s
		}
	}
	panic(fmt.Sprintf("%s sandbox: embedded spec: %v", provider, err))
}

// ErrBodyTooLarge is a request body over a simulator's limit.
var ErrBodyTooLarge = errors.New("request body too large")

// ReadBody reads the request's body, at most max bytes (ErrBodyTooLarge beyond), for validation;
// the body is put back so the handler binds exactly the bytes that were validated.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, ErrBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// OtherMethod reports whether another method has an operation at the request's path: the answer
// is then 405, not 404. (The spec's router reports a wrong method only on paths without
// parameters, so the spec is asked once per method instead.)
func OtherMethod(spec *validation.Spec, r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method, probe.Body = m, http.NoBody
		if _, err := spec.Find(probe); err == nil {
			return true
		}
	}
	return false
}

// Reply is an answer a simulator writes itself, as JSON of its content type: the generated
// response types cannot write every provider's wire format (Hub2's milliseconds, Mollie's HAL).
type Reply struct {
	Status      int
	ContentType string
	Body        any
}

// Write writes the reply; nothing is written if the body does not encode.
func (r Reply) Write(w http.ResponseWriter) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r.Body); err != nil {
		return err
	}
	w.Header().Set("Content-Type", r.ContentType)
	w.WriteHeader(r.Status)
	_, err := buf.WriteTo(w)
	return err
}

// callerKey is the context key of who a request acts for.
type callerKey struct{}

// WithCaller returns the request with who it acts for (a provider's account, merchant or mode),
// as the simulator's authentication found it, for its handlers (CallerOf).
func WithCaller[T any](r *http.Request, caller T) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, caller))
}

// CallerOf is who the request of ctx acts for; the zero T when authentication set none.
func CallerOf[T any](ctx context.Context) T {
	c, _ := ctx.Value(callerKey{}).(T)
	return c
}
