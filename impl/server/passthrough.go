package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/validation"
)

// hopHeaders are never forwarded in either direction (RFC 9110 §7.6.1), nor are the caller's
// credentials and cookies: the proxy injects the provider's own credentials.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Authorization", "Cookie", "Set-Cookie", "Host", "Content-Length",
	"Accept-Encoding", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded",
}

// passthrough forwards /providers/<name>/<path> to the provider's own API, validating the request
// against the provider's curated spec before it leaves and the answer as it arrives.
func (s *Server) passthrough(c echo.Context) error {
	p, ok := s.providers[c.Param("provider")]
	if !ok {
		return echo.ErrNotFound
	}
	r := c.Request()
	// The wildcard is the path as sent (still escaped): unescape it once, keep the escaped form
	// to forward, so an id with reserved characters reaches the provider as the caller wrote it.
	rawRest := "/" + c.Param("*")
	rest, err := url.PathUnescape(rawRest)
	if err != nil {
		return &validation.Error{Kind: validation.Malformed, Violations: []validation.Violation{{Field: "path", Reason: "invalid percent-encoding"}}}
	}
	m := *r // a shallow copy with the provider's own path is enough to match and validate
	m.URL = &url.URL{Path: rest, RawPath: rawRest, RawQuery: r.URL.RawQuery}
	op, err := p.spec.Find(&m)
	if err != nil {
		return err
	}
	s.traceOperation(r.Context(), p.kit.Name, op.ID())
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if verr := p.spec.ValidateRequest(r.Context(), op, body); verr != nil {
		s.metrics.violations.WithLabelValues(p.kit.Name, op.ID(), "request").Inc()
		traceViolations(r.Context(), p.kit.Name, op.ID(), "request", len(validation.ViolationsOf(verr)))
		if s.cfg.Mode == Enforce {
			return verr
		}
		c.Response().Header().Add(violationsHeader, summary(validation.ViolationsOf(verr)))
	}

	ctx, notes := withViolationNotes(validation.WithOperation(r.Context(), op))
	target := *p.baseURL
	target.Path = strings.TrimSuffix(p.baseURL.Path, "/") + rest
	target.RawPath = strings.TrimSuffix(p.baseURL.EscapedPath(), "/") + rawRest
	target.RawQuery = r.URL.RawQuery
	// The transport is called directly, without http.Client: the client would only add a timer
	// goroutine for its timeout and redirect bookkeeping, and redirects are passed on, never
	// followed. The body is read to its end before this function returns, so the deadline covers it.
	if p.http.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.http.Timeout)
		defer cancel()
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	copyHeaders(out.Header, r.Header)
	// The retry layer takes an idempotency key as making a call safe to repeat: pass one on only to
	// an operation that documents it, that is to a provider that honours it.
	for _, h := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		switch v := out.Header.Get(h); {
		case !op.DeclaresHeader(h):
			out.Header.Del(h)
		case v != "":
			// One credential serves every caller: scope the key by the caller, as the unified API does.
			out.Header.Set(h, providerIdempotencyKey(ctx, v))
		}
	}
	out.Header.Set(echo.HeaderXRequestID, c.Response().Header().Get(echo.HeaderXRequestID))
	if err := p.adapter.Authorize(ctx, out); err != nil {
		return err
	}
	res, err := p.http.Transport.RoundTrip(out)
	if err != nil {
		var ce *validation.ContractError
		if errors.As(err, &ce) {
			return &paylink.ProviderError{Provider: p.kit.Name, Kind: paylink.ErrContractViolation, Err: err}
		}
		return paylink.TransportError(p.kit.Name, err)
	}
	defer res.Body.Close()
	if s.cfg.Mode == Enforce && !op.Documents(res.StatusCode) {
		// Only an outage the spec does not describe gets here unvalidated (a 5xx, often an HTML page
		// of a gateway): it is not the provider's documented answer, so the caller gets the problem.
		return paylink.ResponseError(p.kit.Name, res.StatusCode, "", "", res.Header.Get("Retry-After"))
	}
	copyHeaders(c.Response().Header(), res.Header)
	if res.ContentLength >= 0 {
		// Known (the answer was read to validate it): say so, rather than sending it chunked.
		c.Response().Header().Set(echo.HeaderContentLength, strconv.FormatInt(res.ContentLength, 10))
	}
	if len(notes.vs) > 0 {
		c.Response().Header().Add(violationsHeader, summary(notes.vs))
	}
	c.Response().WriteHeader(res.StatusCode)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	_, err = io.CopyBuffer(c.Response(), res.Body, *buf)
	return err
}

// copyBuffers saves io.Copy a 32 KiB allocation per answer (the client's body does not implement
// io.WriterTo, so io.Copy would make one each time).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// hopHeaderSet is hopHeaders by canonical name.
var hopHeaderSet = func() map[string]bool {
	m := make(map[string]bool, len(hopHeaders))
	for _, h := range hopHeaders {
		m[http.CanonicalHeaderKey(h)] = true
	}
	return m
}()

func copyHeaders(dst, src http.Header) {
	for k, v := range src {
		if !hopHeaderSet[k] {
			dst[k] = append(dst[k][:0:0], v...)
		}
	}
	// Headers the Connection header names are hop-by-hop too.
	for _, f := range src.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			dst.Del(strings.TrimSpace(name))
		}
	}
}
