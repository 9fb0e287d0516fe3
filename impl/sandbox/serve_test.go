package sandbox_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
)

func TestServingHelpers(t *testing.T) {
	t.Parallel()
	spec := sandbox.LoadSpec("telness", api.GetSpec)

	// A known path with another method is 405 material; an unknown path is not.
	for path, want := range map[string]bool{"/payment-links": true, "/payment-links/x/cancel": true, "/nothing": false} {
		if got := sandbox.OtherMethod(spec, httptest.NewRequest(http.MethodGet, path, nil)); got != want {
			t.Errorf("OtherMethod(GET %s) = %v, want %v", path, got, want)
		}
	}
	if sandbox.OtherMethod(spec, httptest.NewRequest(http.MethodPost, "/payment-links/x/cancel", nil)) {
		t.Error("POST …/cancel has an operation; no other method does")
	}

	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("12345"))
	if b, err := sandbox.ReadBody(r, 5); err != nil || string(b) != "12345" {
		t.Errorf("ReadBody at the limit: %q %v", b, err)
	}
	if _, err := sandbox.ReadBody(httptest.NewRequest(http.MethodPost, "/", strings.NewReader("123456")), 5); !errors.Is(err, sandbox.ErrBodyTooLarge) {
		t.Errorf("ReadBody over the limit: %v", err)
	}

	w := httptest.NewRecorder()
	if err := (sandbox.Reply{Status: 201, ContentType: "application/hal+json", Body: map[string]int{"n": 1}}).Write(w); err != nil || w.Code != 201 ||
		w.Header().Get("Content-Type") != "application/hal+json" || strings.TrimSpace(w.Body.String()) != `{"n":1}` {
		t.Errorf("Reply.Write: %v %d %v %s", err, w.Code, w.Header(), w.Body)
	}
	if err := (sandbox.Reply{Status: 200, Body: func() {}}).Write(httptest.NewRecorder()); err == nil {
		t.Error("a body that does not encode was written")
	}

	var order []string
	mark := func(name string) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { order = append(order, name); return next(c) }
		}
	}
	e := sandbox.NewEcho(func(err error, c echo.Context) { _ = c.String(499, "mine") }, mark("a"), mark("b"))
	e.GET("/", func(echo.Context) error { return errors.New("boom") })
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 499 || strings.Join(order, "") != "ab" {
		t.Errorf("NewEcho: %d %q, middlewares %v", w.Code, w.Body, order)
	}

	type account struct{ id string }
	req := sandbox.WithCaller(httptest.NewRequest(http.MethodGet, "/", nil), account{"m1"})
	if got := sandbox.CallerOf[account](req.Context()); got.id != "m1" {
		t.Errorf("CallerOf = %+v", got)
	}
	if got := sandbox.CallerOf[account](httptest.NewRequest(http.MethodGet, "/", nil).Context()); got.id != "" {
		t.Errorf("CallerOf without a caller = %+v", got)
	}

	defer func() {
		if recover() == nil {
			t.Error("LoadSpec of a broken spec did not panic")
		}
	}()
	sandbox.LoadSpec("broken", func() (*openapi3.T, error) { return nil, errors.New("no spec") })
}
