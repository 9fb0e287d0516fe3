package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/validation"
)

// passthrough forwards /providers/<name>/<path> to the provider's own API, validating the request
// against the provider's curated spec before it leaves and the answer as it arrives.
//
// What is forwarded is exactly what was validated: the path with each segment decoded once and
// re-escaped, the query parameters the operation documents (each single-valued one once), a
// single JSON body with documented properties only, and an allow-list of headers both ways.
func (s *Server) passthrough(c echo.Context) error {
	name := c.Param("provider")
	p, ok := s.providers[name]
	if !ok {
		return s.unknownProvider(name)
	}
	r := c.Request()
	rest, escaped, err := forwardedPath("/" + c.Param("*"))
	if err != nil {
		return err
	}
	var query url.Values
	var rawQuery string
	if r.URL.RawQuery != "" {
		if query, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return &validation.Error{Kind: validation.Malformed, Violations: []validation.Violation{{Field: "query", Reason: "not a valid query string (use & between parameters, and percent-encoding)"}}}
		}
		rawQuery = query.Encode()
	}
	m := *r // a shallow copy with the provider's own path is enough to match and validate
	m.URL = &url.URL{Path: rest, RawQuery: rawQuery}
	op, err := p.spec.Find(&m)
	if err != nil {
		return err
	}
	s.traceOperation(r.Context(), p.kit.Name, op.ID())
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if vs := append(op.CheckQuery(query), op.CheckBody(headerValue(r.Header, echo.HeaderContentType), body)...); len(vs) > 0 {
		// Refused in both modes: report mode passes on what breaks the spec, never what the spec
		// cannot describe.
		s.metrics.violations.WithLabelValues(p.kit.Name, op.ID(), "request").Inc()
		return &validation.Error{Kind: validation.Malformed, Violations: vs}
	}
	if verr := p.spec.ValidateRequest(r.Context(), op, body); verr != nil {
		s.metrics.violations.WithLabelValues(p.kit.Name, op.ID(), "request").Inc()
		traceViolations(r.Context(), p.kit.Name, op.ID(), "request", len(validation.ViolationsOf(verr)))
		if s.cfg.Mode == Enforce {
			return verr
		}
		c.Response().Header().Add(violationsHeader, summary(validation.ViolationsOf(verr)))
	}
	// The provider's URL, as http.NewRequest would have parsed it from its text: RawPath only
	// where the path is escaped otherwise than by default, no empty port.
	target := *p.baseURL
	target.Host = strings.TrimSuffix(target.Host, ":")
	target.Path = strings.TrimSuffix(p.baseURL.Path, "/") + rest
	target.RawPath = ""
	if raw := strings.TrimSuffix(p.baseURL.EscapedPath(), "/") + escaped; raw != target.EscapedPath() {
		target.RawPath = raw
	}
	target.RawQuery = rawQuery
	fw := forward{p: p, op: op, target: target, body: body}

	// An idempotency key the operation does not take (the provider does not honour it) is honoured
	// by paylinks, as on the unified API: never dropped silently.
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		var keys []string
		for _, h := range idempotencyKeyHeaders {
			if v := headerValue(r.Header, h); v != "" && !op.DeclaresHeader(h) {
				keys = append(keys, v)
			}
		}
		switch {
		case len(keys) == 2 && keys[0] != keys[1]:
			return &validation.Error{Kind: validation.Malformed, Violations: []validation.Violation{{Field: "header.Idempotency-Key", Reason: "Idempotency-Key and X-Idempotency-Key differ; send one key"}}}
		case len(keys) > 0:
			return s.guarded(c, keys[0], body, fw.serve(s))
		}
	}
	return fw.serve(s)(c)
}

// idempotencyKeyHeaders are the headers a caller may send its idempotency key in.
var idempotencyKeyHeaders = []string{"Idempotency-Key", "X-Idempotency-Key"}

// forward is one validated request on its way to the provider.
type forward struct {
	p      *provider
	op     *validation.Operation
	target url.URL // the provider's URL of the request: built, so it is not written out and parsed again
	body   []byte
}

// serve sends the request and passes the answer on. It reads the request's context when it runs,
// so that under an Idempotency-Key it runs on the one the guard gives it.
func (f forward) serve(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := validation.WithOperation(r.Context(), f.op)
		// The transport is called directly, without http.Client: the client would only add a timer
		// goroutine for its timeout and redirect bookkeeping, and redirects are passed on, never
		// followed. The body is read to its end before this function returns, so the deadline covers it.
		if f.p.http.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.p.http.Timeout)
			defer cancel()
		}
		// The secrets paylinks keeps are read before anything is sent: if they cannot be, nothing
		// was done at the provider (a webhook record created, a secret shown once and lost).
		mayHold := f.op.AnswersMayHoldSecrets()
		var held map[string]bool
		if mayHold {
			var err error
			if held, err = s.heldSecrets(ctx, f.p.kit.Name); err != nil {
				return echo.NewHTTPError(http.StatusServiceUnavailable, "The answer may hold webhook secrets paylinks keeps, and they could not be read to keep them out of it; nothing was sent to the provider. Retry later.")
			}
		}
		var body io.Reader = http.NoBody
		if len(f.body) > 0 {
			body = bytes.NewReader(f.body)
		}
		out, err := http.NewRequestWithContext(ctx, r.Method, "", body)
		if err != nil {
			return err
		}
		target := f.target
		out.URL, out.Host = &target, target.Host
		// The forwarded headers' names are canonical (TestHeaderNamesReadDirectlyAreCanonical).
		for _, h := range validation.ForwardedRequestHeaders {
			if vs := r.Header[h]; len(vs) > 0 {
				out.Header[h] = append([]string(nil), vs...)
			}
		}
		// Single-valued headers go once, with the value validated (the first): a second
		// Content-Type could have the provider read the body as something else.
		if v := headerValue(r.Header, echo.HeaderContentType); v != "" {
			out.Header[echo.HeaderContentType] = []string{v}
		}
		for _, h := range f.op.HeaderParameters() { // canonical names
			if vs := r.Header[h]; len(vs) > 0 && vs[0] != "" {
				out.Header[h] = []string{vs[0]}
			}
		}
		// The retry layer takes an idempotency key as making a call safe to repeat: only keys the
		// operation documents are passed on, scoped by the caller since one credential serves all.
		for _, h := range idempotencyKeyHeaders {
			if v := headerValue(out.Header, h); v != "" {
				out.Header[h] = []string{providerIdempotencyKey(ctx, v)}
			}
		}
		out.Header[echo.HeaderXRequestID] = []string{headerValue(c.Response().Header(), echo.HeaderXRequestID)}
		if err := f.p.adapter.Authorize(ctx, out); err != nil {
			return err
		}
		res, err := f.p.http.Transport.RoundTrip(out)
		if err != nil {
			var ce *validation.ContractError
			if errors.As(err, &ce) {
				return &paylink.ProviderError{Provider: f.p.kit.Name, Kind: paylink.ErrContractViolation, Err: err}
			}
			return paylink.TransportError(f.p.kit.Name, err)
		}
		defer res.Body.Close()
		if mayHold {
			// And again: a registration (here or on another instance) may have stored a secret
			// while the provider answered. A read that fails now stops an answer that changed
			// nothing; one of a request that may have done something goes with the first read's.
			after, err := s.heldSecrets(ctx, f.p.kit.Name)
			if err != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				return echo.NewHTTPError(http.StatusServiceUnavailable, "The answer may hold webhook secrets paylinks keeps, and they could not be read to keep them out of it; it was not passed on. Retry later.")
			}
			for secret := range after {
				held[secret] = true
			}
			if len(held) > 0 {
				if err := redactHeld(f.p.kit.Name, res, held); err != nil {
					return err
				}
			}
		}
		if s.cfg.Mode == Enforce && !f.op.Documents(res.StatusCode) {
			// Only an outage the spec does not describe gets here unvalidated (a 5xx, often an HTML
			// page of a gateway): it is not the provider's documented answer, so the caller gets the
			// problem.
			return paylink.ResponseError(f.p.kit.Name, res.StatusCode, "", "", res.Header.Get("Retry-After"))
		}
		h := c.Response().Header()
		for _, name := range f.op.ResponseHeaders(res.StatusCode) { // canonical names
			if vs := res.Header[name]; len(vs) > 0 {
				h[name] = append([]string(nil), vs...)
			}
		}
		if res.ContentLength >= 0 {
			// Known (the answer was read to validate it): say so, rather than sending it chunked.
			h.Set(echo.HeaderContentLength, strconv.FormatInt(res.ContentLength, 10))
		}
		if vs := notedViolations(ctx); len(vs) > 0 {
			h.Add(violationsHeader, summary(vs))
		}
		c.Response().WriteHeader(res.StatusCode)
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		if f.op.ID() == createOperation && res.StatusCode/100 == 2 {
			return s.watchCreated(c, f.p.kit, res.Body, *buf)
		}
		_, err = io.CopyBuffer(c.Response(), res.Body, *buf)
		return err
	}
}

// heldSecrets returns the webhook secrets paylinks keeps for the provider, for an answer whose
// schema names a secret (MijnKlantportaal lists its webhook records with their secrets; Hub2
// answers a subscription with its own): "secrets are kept by paylinks and never shown" holds
// through the passthrough too. A secret paylinks does not keep (a webhook a caller registered for
// itself through the passthrough) is passed on as the provider gave it.
func (s *Server) heldSecrets(ctx context.Context, provider string) (map[string]bool, error) {
	if s.inbound == nil {
		return map[string]bool{}, nil
	}
	// Its own time: the second read comes after the provider's answer, which may have used most of
	// the call's.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	secrets, err := s.inbound.HeldSecrets(rctx, provider)
	if err != nil {
		s.log.ErrorContext(ctx, "passthrough: the provider's webhook secrets could not be read to keep them out of an answer", "provider", provider, "error", err.Error())
		return nil, err
	}
	held := make(map[string]bool, len(secrets))
	for _, secret := range secrets {
		held[secret] = true
	}
	return held, nil
}

// redactHeld replaces in the answer every JSON string whose value is a held secret.
func redactHeld(provider string, res *http.Response, held map[string]bool) error {
	body, err := io.ReadAll(res.Body) // in memory already: the transport read it to validate it
	if err != nil {
		return paylink.TransportError(provider, err)
	}
	body, changed := redactJSONStrings(body, held)
	if changed {
		delete(res.Header, "Etag") // it names the provider's body, not this one
	}
	res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return nil
}

var redactedJSON = []byte(`"[redacted]"`)

// redactJSONStrings replaces each string of a JSON text whose value is one of held by
// "[redacted]", however the provider escaped it (`a\/b`, `\u0061`, `\u003C`). The answer was
// validated as JSON, so its strings are found by their quotes; a text cut short is left as it is.
func redactJSONStrings(body []byte, held map[string]bool) ([]byte, bool) {
	var out []byte
	last := 0
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		j, escaped := i+1, false
		for j < len(body) && body[j] != '"' {
			if body[j] == '\\' {
				j++
				escaped = true
			}
			j++
		}
		if j >= len(body) {
			break
		}
		var match bool
		if escaped {
			var v string
			match = json.Unmarshal(body[i:j+1], &v) == nil && held[v]
		} else {
			match = held[string(body[i+1:j])]
		}
		if match {
			out = append(append(out, body[last:i]...), redactedJSON...)
			last = j + 1
		}
		i = j
	}
	if out == nil {
		return body, false
	}
	return append(out, body[last:]...), true
}

// createOperation is the operationId every curated spec gives the create of a payment link
// (TestEveryProviderNamesItsCreateOperation holds each to it).
const createOperation = "CreatePaymentLink"

// watchCreated passes on the answer of a link created through the passthrough, and has the
// events engine watch that link, so its payment is told like that of a link created through the
// unified API (found by a poll or a provider webhook, then source poll or provider_webhook).
// The answer was read whole to validate it: keeping a copy costs nothing more than its size.
func (s *Server) watchCreated(c echo.Context, kit kits.Kit, body io.Reader, buf []byte) error {
	var kept bytes.Buffer
	if _, err := io.CopyBuffer(&kept, body, buf); err != nil {
		return err
	}
	// The link is recorded before the caller has its answer, as a create through the unified API
	// is. If the store is down, the answer still goes out (the link exists at the provider) and the
	// error is logged: the link's events are then not told.
	if linkID := kit.CreatedLinkID(kept.Bytes()); paylink.CheckLinkID(linkID) != nil {
		s.log.Warn("events: a link created through the passthrough has no id to watch; its events are not told", "provider", kit.Name)
	} else {
		id := paylink.NewID(kit.Name, linkID)
		if err := s.events.Watch(context.WithoutCancel(c.Request().Context()), id); err != nil {
			s.log.Error("events: could not watch a link created through the passthrough; its events are not told", "link", string(id), "error", err.Error())
		}
	}
	_, err := c.Response().Write(kept.Bytes())
	return err
}

// forwardedPath decodes each segment of the escaped path once. It returns the decoded path, to
// match and validate, and the same segments escaped again, to forward: the provider decodes them
// into exactly what was validated. A segment that decodes to a dot segment, or holds "/" or other
// characters that would change the URL, is refused.
func forwardedPath(raw string) (decoded, escaped string, err error) {
	if plainPath(raw) {
		return raw, raw, nil
	}
	return decodePath(raw)
}

// decodePath is forwardedPath's long way, segment by segment.
func decodePath(raw string) (decoded, escaped string, err error) {
	segs := strings.Split(strings.TrimPrefix(raw, "/"), "/")
	var dec, esc strings.Builder
	for i, seg := range segs {
		d, uerr := url.PathUnescape(seg)
		if uerr != nil {
			return "", "", &validation.Error{Kind: validation.Malformed, Violations: []validation.Violation{{Field: "path", Reason: "invalid percent-encoding"}}}
		}
		if d == "" && i == len(segs)-1 && i > 0 {
			dec.WriteString("/") // a trailing slash: the spec's paths have none, Find says so
			esc.WriteString("/")
			continue
		}
		if cerr := paylink.CheckLinkID(d); cerr != nil {
			// No operation of any provider has such a path (404, like an unknown path).
			return "", "", &validation.Error{Kind: validation.NoRoute, Violations: []validation.Violation{{Field: "path", Reason: fmt.Sprintf("segment %q cannot be forwarded: %v", seg, cerr)}}}
		}
		dec.WriteString("/" + d)
		esc.WriteString("/" + url.PathEscape(d))
	}
	return dec.String(), esc.String(), nil
}

// plainPath reports whether forwardedPath would return raw itself, twice: no percent-encoding, and
// every segment an acceptable link id that escaping leaves as it is (the usual path, without the
// allocations of decoding and escaping it). Anything else takes forwardedPath's long way, which
// also words the errors.
func plainPath(raw string) bool {
	rest, ok := strings.CutPrefix(raw, "/")
	if !ok || strings.IndexByte(raw, '%') >= 0 {
		return false
	}
	for i := 0; ; i++ {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "" && !more && i > 0 {
			return true // a trailing slash, kept
		}
		if paylink.CheckLinkID(seg) != nil || url.PathEscape(seg) != seg {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

// copyBuffers saves io.Copy a 32 KiB allocation per answer (the client's body does not implement
// io.WriterTo, so io.Copy would make one each time).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
