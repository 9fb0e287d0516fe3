package validation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// ContractError is a provider answer that breaks the provider's curated spec. The domain reads it
// as paylink.ErrContractViolation by its ContractViolation method (paylink.TransportError), so
// this package needs not import the domain.
type ContractError struct {
	Operation  string
	Status     int
	Violations []Violation
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("%s answered %d against its spec: %s", e.Operation, e.Status, (&Error{Violations: e.Violations}).Error()[len("spec violation: "):])
}

// ContractViolation reports that the error is a broken contract of the provider's answer.
func (e *ContractError) ContractViolation() bool { return true }

// AnswerTooLargeError is a provider answer larger than Transport.MaxBody: a limit of the caller,
// not a contract violation. The domain reads it as paylink.ErrAnswerTooLarge by its
// AnswerTooLarge method.
type AnswerTooLargeError struct {
	Operation string
	Status    int
	Limit     int64
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("%s answered %d with more than %d bytes, the most accepted", e.Operation, e.Status, e.Limit)
}

// AnswerTooLarge reports that the error is an answer over the size limit.
func (e *AnswerTooLargeError) AnswerTooLarge() bool { return true }

// Transport is an http.RoundTripper that validates every response of a provider against its spec
// as it arrives, so drift is caught where it starts. In enforce mode (Report false) an invalid
// answer becomes a *ContractError and never reaches the caller; in report mode it is passed on and
// OnViolation is told.
type Transport struct {
	Spec *Spec
	// Base does the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Prefix is the path of the provider's base URL (e.g. "/v1"), cut before matching spec paths.
	Prefix string
	// Report passes invalid answers on instead of failing the call.
	Report bool
	// OnViolation, if set, is called for every invalid answer.
	OnViolation func(ctx context.Context, operation string, err *ContractError)
	// MaxBody bounds how much of an answer is read (default 8 MiB).
	MaxBody int64
}

// minCredential is the shortest credential redacted from answers: shorter values are no secrets
// worth the name, and replacing them would mangle ordinary text.
const minCredential = 8

// redacted replaces a credential a provider echoed back.
var redacted = []byte("[redacted]")

// redactCredentials removes from an answer the credentials its request carried (Authorization and
// headers naming a key, token or secret), so a provider echoing them back in an error message
// cannot leak them into problems, passthrough answers or logs. It edits header in place.
func redactCredentials(request, header http.Header, body []byte) (out []byte, changed bool) {
	for name, values := range request {
		if !credentialHeader(name) {
			continue
		}
		for _, v := range values {
			if scheme, token, ok := strings.Cut(v, " "); ok && scheme != "" && strings.EqualFold(name, "Authorization") {
				v = strings.TrimSpace(token)
			}
			if len(v) < minCredential {
				continue
			}
			if bytes.Contains(body, []byte(v)) {
				body, changed = bytes.ReplaceAll(body, []byte(v), redacted), true
			}
			for _, hv := range header {
				for i := range hv {
					if strings.Contains(hv[i], v) {
						hv[i] = strings.ReplaceAll(hv[i], v, string(redacted)) // in place: the map holds the slice
					}
				}
			}
		}
	}
	return body, changed
}

// credentialHeader reports whether a request header carries a credential: Authorization, and the
// API key headers of the providers (X-API-Key, ApiKey), but not an idempotency key.
func credentialHeader(name string) bool {
	switch {
	case containsFold(name, "idempotency"):
		return false
	case strings.EqualFold(name, "authorization"):
		return true
	}
	return containsFold(name, "key") || containsFold(name, "token") || containsFold(name, "secret")
}

// containsFold reports whether s contains the lower-case ASCII word, ignoring case.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 == word[0] && strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// NoOperationError is a request the Transport refused to send: it matches no operation of the
// spec (a crafted id that changed the URL, or a bug), so its answer could be held to nothing.
type NoOperationError struct {
	Method, Path string
}

func (e *NoOperationError) Error() string {
	return fmt.Sprintf("%s %s matches no operation of the provider's spec; it was not sent", e.Method, e.Path)
}

// RoundTrip does the request and validates the answer. A request that matches no operation of the
// spec is not sent: its answer could not be validated.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	// Spec paths are matched without the scheme, host and base path of the provider's URL.
	prefix := strings.TrimSuffix(t.Prefix, "/")
	path, ok := strings.CutPrefix(req.URL.Path, prefix)
	op, _ := req.Context().Value(operationKey{}).(*Operation)
	if !ok || op == nil || op.spec != t.Spec || op.req.Method != req.Method || op.req.URL.Path != path {
		m := *req
		m.URL = &url.URL{Path: path, RawQuery: req.URL.RawQuery}
		m.Host = ""
		m.Body = http.NoBody
		var err error
		if op, err = t.Spec.Find(&m); err != nil || !ok {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, &NoOperationError{Method: req.Method, Path: req.URL.Path}
		}
	}
	res, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	limit := t.MaxBody
	if limit <= 0 {
		limit = 8 << 20
	}
	answer, err := readAnswer(res.Body, res.ContentLength, limit+1)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s answer: %w", op.ID(), err)
	}
	if int64(answer.Len()) > limit {
		answer.Close()
		return nil, &AnswerTooLargeError{Operation: op.ID(), Status: res.StatusCode, Limit: limit}
	}
	if redacted, changed := redactCredentials(req.Header, res.Header, answer.bytes()); changed {
		answer.Close()
		answer = &answerBody{Reader: bytes.NewReader(redacted), raw: redacted}
	}
	body := answer.bytes()
	res.Body, res.ContentLength = answer, int64(len(body))
	if res.StatusCode >= 500 && !op.Documents(res.StatusCode) {
		// An outage the spec does not describe is not a contract violation: the caller sees the
		// status and treats it as the provider being unavailable.
		return res, nil
	}
	if verr := t.Spec.ValidateResponse(req.Context(), op, res.StatusCode, res.Header, body); verr != nil {
		ce := &ContractError{Operation: op.ID(), Status: res.StatusCode, Violations: ViolationsOf(verr)}
		if t.OnViolation != nil {
			t.OnViolation(req.Context(), op.ID(), ce)
		}
		if !t.Report {
			answer.Close()
			return nil, ce
		}
	}
	return res, nil
}

// answerBody is a provider's answer read into memory. Its buffer comes from a pool and goes back
// when the body is closed; reading after Close gives EOF, never another answer's bytes.
type answerBody struct {
	*bytes.Reader
	raw    []byte
	pooled *[]byte
}

func (a *answerBody) bytes() []byte { return a.raw }

// Close returns the buffer to the pool. It is not safe to call concurrently with Read.
func (a *answerBody) Close() error {
	a.Reader.Reset(nil)
	if a.pooled != nil {
		if cap(*a.pooled) <= maxPooled {
			answerBuffers.Put(a.pooled)
		}
		a.pooled, a.raw = nil, nil
	}
	return nil
}

// maxPooled is the largest buffer kept for reuse: large answers are rare, and keeping their
// buffers would hold memory the GC could return.
const maxPooled = 64 << 10

var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// readAnswer reads at most max bytes into a pooled buffer: in one read when the length is
// announced, growing it otherwise (chunked answers).
func readAnswer(r io.Reader, length, max int64) (*answerBody, error) {
	pb := answerBuffers.Get().(*[]byte)
	b := (*pb)[:0]
	if length >= 0 && length < max {
		b = slices.Grow(b, int(length))[:length]
		if _, err := io.ReadFull(r, b); err != nil {
			answerBuffers.Put(pb)
			return nil, err
		}
	} else {
		buf := bytes.NewBuffer(b)
		if _, err := buf.ReadFrom(io.LimitReader(r, max)); err != nil {
			answerBuffers.Put(pb)
			return nil, err
		}
		b = buf.Bytes()
	}
	*pb = b
	return &answerBody{Reader: bytes.NewReader(b), raw: b, pooled: pb}, nil
}
