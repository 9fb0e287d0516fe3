package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/idempotency"
	"github.com/paylinks/paylinks/impl/validation"
)

// violationsHeader carries the violations let through in report mode.
const violationsHeader = "X-Paylinks-Violations"

// readBody reads the whole request body (the body limit middleware bounds it) and puts it back.
func readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
		return nil, nil // no body (a length of 0 is announced; an unknown one is -1)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// validateUnified validates requests to the unified API before any handler runs, and our answers
// before they leave. Our own answer breaking our spec is a bug: enforce mode answers 500 instead.
func (s *Server) validateUnified(spec *validation.Spec) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			op, err := spec.Find(r)
			if err != nil {
				return err
			}
			body, err := readBody(c)
			if err != nil {
				return err
			}
			if verr := spec.ValidateRequest(r.Context(), op, body); verr != nil {
				s.metrics.violations.WithLabelValues("paylinks", op.ID(), "request").Inc()
				traceViolations(r.Context(), "paylinks", op.ID(), "request", len(validation.ViolationsOf(verr)))
				if s.cfg.Mode == Enforce {
					return verr
				}
				c.Response().Header().Add(violationsHeader, summary(validation.ViolationsOf(verr)))
			}
			r.Body = io.NopCloser(bytes.NewReader(body))

			rec := &recorder{header: c.Response().Header().Clone()}
			w := c.Response().Writer
			restore := func() {
				c.Response().Writer = w
			}
			defer func() {
				// After a panic the recover middleware must be able to answer on the real writer.
				if p := recover(); p != nil {
					restore()
					c.Response().Committed, c.Response().Status = false, http.StatusOK
					panic(p)
				}
			}()
			c.Response().Writer = rec
			if err := next(c); err != nil {
				c.Error(err)
			}
			restore()
			// Written even when the caller went away: under an Idempotency-Key this answer is the
			// one stored and replayed.
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			if verr := spec.ValidateResponse(r.Context(), op, rec.status, rec.header, rec.body.Bytes()); verr != nil {
				vs := validation.ViolationsOf(verr)
				s.metrics.violations.WithLabelValues("paylinks", op.ID(), "response").Inc()
				traceViolations(r.Context(), "paylinks", op.ID(), "response", len(vs))
				s.log.ErrorContext(r.Context(), "our answer violates the unified spec", "operation", op.ID(), "status", rec.status, "violations", vs)
				if s.cfg.Mode == Enforce {
					w.Header().Del("Content-Length")
					writeProblem(w, w.Header().Get(echo.HeaderXRequestID), errors.New("answer failed validation"))
					return nil
				}
				w.Header().Add(violationsHeader, summary(vs))
			}
			w.WriteHeader(rec.status)
			_, err = w.Write(rec.body.Bytes())
			return err
		}
	}
}

func summary(vs []validation.Violation) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.Field+": "+v.Reason)
	}
	s := strings.Join(parts, "; ")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}

// recorder buffers an answer so it can be validated (and stored for idempotency) before it leaves.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// idempotent runs POSTs that carry an Idempotency-Key once per key: a repeat with the same request
// gets the stored answer (Idempotent-Replayed: true), a repeat with another request a 409, and
// concurrent repeats wait for the first. Keys are scoped to the caller's API key.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		key := r.Header.Get("Idempotency-Key")
		if key == "" || r.Method != http.MethodPost {
			return next(c)
		}
		body, err := readBody(c)
		if err != nil {
			return err
		}
		return s.guarded(c, key, body, next)
	}
}

// guarded runs next once per Idempotency-Key and answers with its stored answer.
//
// What is stored is what a retry must see again: the answer of a request that reached a provider,
// whatever its status below 500 (as Stripe does), and whatever its status when a provider carried
// out the change (answered 2xx). Not stored, so that a retry with the same key runs again: 4xx
// answers given before any provider call (a caller that fixes its body and retries must not get
// idempotency_conflict), other 5xx answers (the provider was down), and no answer at all.
// The request runs on the context admit gave it, which the caller cannot cancel: a provider call
// that started finishes and its answer is stored even if the caller has gone.
func (s *Server) guarded(c echo.Context, key string, body []byte, next echo.HandlerFunc) error {
	r := c.Request()
	scope := idempotency.Fingerprint("key", callerOf(r.Context()), []byte(key))
	fp := idempotency.Fingerprint(r.Method, r.URL.Path, body)
	callerCtx := callerContext(c)
	st := stateOf(r.Context())
	if st == nil {
		// Every route that takes keys is behind admit; one that is not still has its provider
		// calls recorded, or a create the provider made could be made again on a retry.
		st = &requestState{callerCtx: callerCtx}
		r = r.WithContext(context.WithValue(r.Context(), requestStateKey{}, st))
		c.SetRequest(r)
	}
	res, replayed, err := s.guard.Do(callerCtx, scope, fp, func() (idempotency.Response, bool) {
		calls := &providerCalls{}
		rec := &recorder{header: c.Response().Header().Clone()}
		w := c.Response().Writer
		defer func() {
			c.Response().Writer = w
			c.Response().Committed = false
			c.SetRequest(r)
			st.calls.Store(nil)
		}()
		st.calls.Store(calls)
		c.Response().Writer = rec
		if err := next(c); err != nil {
			c.Error(err)
		}
		// A provider that carried out a change (a create answered 2xx), or may have (it timed out
		// after taking it), makes the answer final whatever paylinks made of it (a 502 for an
		// answer against the spec or too large, a 504): running the key again could make a second
		// link.
		keep := rec.status >= 100 && (rec.status < 500 || calls.acted.Load()) && (rec.status < 400 || calls.made.Load())
		return idempotency.Response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, keep
	})
	switch {
	case errors.Is(err, idempotency.ErrNotSaved):
		// The request ran: answer it; the Guard keeps the answer, replays it on this instance and
		// stores it as soon as the store takes it.
		s.log.WarnContext(r.Context(), "idempotency answer not stored yet; retrying in the background", "error", err.Error())
	case errors.Is(err, idempotency.ErrMismatch), errors.Is(err, idempotency.ErrInFlight), errors.Is(err, idempotency.ErrOutcomeUnknown):
		return err
	case err != nil && callerCtx.Err() != nil:
		return nil // the caller went away while waiting for the key's first request
	case err != nil && s.cfg.IdempotencyFailOpen && !errors.Is(err, context.Canceled):
		s.log.ErrorContext(r.Context(), "idempotency store failed; serving without the guarantee", "error", err.Error())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return next(c)
	case err != nil:
		s.log.ErrorContext(r.Context(), "idempotency store failed; refusing the request", "error", err.Error())
		return idempotency.ErrUnavailable
	}
	h := c.Response().Header()
	for k, v := range res.Header {
		if k != echo.HeaderXRequestID {
			h[k] = v
		}
	}
	if replayed {
		s.metrics.replays.Inc()
		h.Set("Idempotent-Replayed", "true")
	}
	c.Response().WriteHeader(res.Status)
	_, err = c.Response().Write(res.Body)
	return err
}

// providerCalls records whether a request called a provider, and whether a provider carried out
// a change for it (the provider transports mark them), while guarded runs it.
type providerCalls struct{ made, acted atomic.Bool }

// callsOf is the bookkeeping of the guarded run ctx belongs to, or nil.
func callsOf(ctx context.Context) *providerCalls {
	if st := stateOf(ctx); st != nil {
		return st.calls.Load()
	}
	return nil
}

func markProviderCall(ctx context.Context) {
	if p := callsOf(ctx); p != nil {
		p.made.Store(true)
	}
}

// markProviderAnswer records a provider's answer: a 2xx to any method but GET and HEAD means the
// provider made the change asked for.
func markProviderAnswer(ctx context.Context, method string, status int) {
	if status/100 != 2 || method == http.MethodGet || method == http.MethodHead {
		return
	}
	if p := callsOf(ctx); p != nil {
		p.acted.Store(true)
	}
}

// markProviderFailure records a call that got no answer. A POST (a create) sent to a provider that
// took it may have been carried out (the provider timed out or dropped the connection after
// reading it): unless the call never left (the connection was refused) or carries an idempotency
// key the provider honours (its retry is safe), it counts as carried out, so that its key never
// runs again. Other methods (a close by DELETE or PATCH) are safe to send again.
func markProviderFailure(r *http.Request, err error) {
	if r.Method != http.MethodPost || safeToRetry(r) {
		return
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return
	}
	if p := callsOf(r.Context()); p != nil {
		p.acted.Store(true)
	}
}

// callerContext is the request's context as the caller gave it (see requestState).
func callerContext(c echo.Context) context.Context {
	if st := stateOf(c.Request().Context()); st != nil && st.callerCtx != nil {
		return st.callerCtx
	}
	return c.Request().Context()
}

// admit authenticates an API request (as authenticate does) and bounds it, with one copy of the
// request: it runs with a deadline of budget (none when 0), and a request that may change something
// at a provider (any method but GET and HEAD) runs on a context the caller cannot cancel: once
// started, its provider calls finish within their own timeouts and their outcome is logged, and
// stored under its Idempotency-Key, even if the caller has gone.
func (s *Server) admit(budget time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			caller, err := s.authenticated(r)
			if err != nil {
				return err
			}
			st := &requestState{caller: caller}
			ctx := context.WithValue(r.Context(), requestStateKey{}, st)
			st.callerCtx = ctx
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				ctx = context.WithoutCancel(ctx)
			}
			if budget > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, budget)
				defer cancel()
			}
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
	}
}

// violationNotes carries report-mode violations from the provider transport to the answer.
type violationNotes struct {
	mu sync.Mutex
	vs []validation.Violation
}

// noteViolations keeps violations of an answer for the request's own answer (forward reads them).
func noteViolations(ctx context.Context, vs []validation.Violation) {
	if st := stateOf(ctx); st != nil {
		st.notes.mu.Lock()
		st.notes.vs = append(st.notes.vs, vs...)
		st.notes.mu.Unlock()
	}
}

// notedViolations are the violations noted for the request so far.
func notedViolations(ctx context.Context) []validation.Violation {
	st := stateOf(ctx)
	if st == nil {
		return nil
	}
	st.notes.mu.Lock()
	defer st.notes.mu.Unlock()
	return slices.Clone(st.notes.vs)
}
