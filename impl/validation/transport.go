package validation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/paylinks/paylinks/impl/paylink"
)

// ContractError is a provider answer that breaks the provider's curated spec. It matches
// paylink.ErrContractViolation.
type ContractError struct {
	Operation  string
	Status     int
	Violations []Violation
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("%s answered %d against its spec: %s", e.Operation, e.Status, (&Error{Violations: e.Violations}).Error()[len("spec violation: "):])
}

// Is makes a ContractError match paylink.ErrContractViolation.
func (e *ContractError) Is(target error) bool { return target == paylink.ErrContractViolation }

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
func redactCredentials(request, header http.Header, body []byte) []byte {
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
				body = bytes.ReplaceAll(body, []byte(v), redacted)
			}
			for k, hv := range header {
				for i := range hv {
					hv[i] = strings.ReplaceAll(hv[i], v, string(redacted))
				}
				header[k] = hv
			}
		}
	}
	return body
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
		if strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// RoundTrip does the request and validates the answer.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	res, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	// Spec paths are matched without the scheme, host and base path of the provider's URL.
	path := strings.TrimPrefix(req.URL.Path, strings.TrimSuffix(t.Prefix, "/"))
	op, _ := req.Context().Value(operationKey{}).(*Operation)
	if op == nil || op.spec != t.Spec || op.req.Method != req.Method || op.req.URL.Path != path {
		m := *req
		m.URL = &url.URL{Path: path, RawQuery: req.URL.RawQuery}
		m.Host = ""
		m.Body = http.NoBody
		if op, err = t.Spec.Find(&m); err != nil {
			return res, nil // not an operation of the spec: nothing to hold the answer to
		}
	}
	limit := t.MaxBody
	if limit <= 0 {
		limit = 8 << 20
	}
	body, err := readAll(res.Body, res.ContentLength, limit+1)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s answer: %w", op.ID(), err)
	}
	if int64(len(body)) > limit {
		return nil, &ContractError{Operation: op.ID(), Status: res.StatusCode, Violations: []Violation{{Field: "body", Reason: fmt.Sprintf("larger than %d bytes", limit)}}}
	}
	body = redactCredentials(req.Header, res.Header, body)
	res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	if res.StatusCode >= 500 && !op.Documents(res.StatusCode) {
		// An outage the spec does not describe is not a contract violation: the caller sees the
		// status and treats it as the provider being unavailable.
		return res, nil
	}
	if verr := t.Spec.ValidateResponse(req.Context(), op, res.StatusCode, res.Header, body); verr != nil {
		ce := &ContractError{Operation: op.ID(), Status: res.StatusCode, Violations: verr.(*Error).Violations}
		if t.OnViolation != nil {
			t.OnViolation(req.Context(), op.ID(), ce)
		}
		if !t.Report {
			return nil, ce
		}
	}
	return res, nil
}

// readAll reads at most max bytes: into a pooled buffer and one exact copy when the length is not
// announced (chunked answers), straight into one allocation when it is.
func readAll(r io.Reader, length, max int64) ([]byte, error) {
	if length >= 0 && length < max {
		buf := make([]byte, length)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	b := readBuffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 64<<10 { // large buffers are left to the GC, so the pool stays small
			b.Reset()
			readBuffers.Put(b)
		}
	}()
	if _, err := b.ReadFrom(io.LimitReader(r, max)); err != nil {
		return nil, err
	}
	return bytes.Clone(b.Bytes()), nil
}

var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
