// Package call is the one skeleton every provider adapter calls its provider through, after
// go-github's NewRequest → Do → CheckResponse: the generated client sends the request, Read reads
// the answer (bounded), and an answer the operation does not expect becomes the domain's error in
// one place, Failure, from the provider's own reading of its error body. It also holds the
// defaults every adapter shares (timeout, body cap, base URL check) and the redaction of configs,
// so that adapters differ only in their mapping tables.
//
// It imports only the domain (impl/paylink); adapters import it, never the other way round.
package call

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/paylinks/paylinks/impl/paylink"
)

const (
	// Timeout bounds one request of an adapter whose config gives no HTTP client.
	Timeout = 30 * time.Second
	// MaxBody bounds how much of an answer is read: paylink.MaxAnswerBytes, a backstop above the
	// deployment's own limit, which the validating transport applies (PAYLINKS_MAX_PROVIDER_ANSWER_BYTES).
	MaxBody = paylink.MaxAnswerBytes
)

// Doer does HTTP requests: what every generated client calls its HttpRequestDoer.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// HTTPClient returns d, or, when the config gave none, an http.Client with Timeout: never
// http.DefaultClient, which has no timeout at all.
func HTTPClient(d Doer) Doer {
	if d == nil {
		return &http.Client{Timeout: Timeout}
	}
	return d
}

// BaseURL refuses a base URL that is not an absolute http(s) URL, so a typo fails when the adapter
// is made rather than on its first call.
func BaseURL(provider, raw string) error {
	if !HTTPURL(raw) {
		return fmt.Errorf("%s: BaseURL %q is not an absolute http(s) URL", provider, raw)
	}
	return nil
}

// Provider is how one provider's answers are read.
type Provider struct {
	// Name is the provider id, as errors name it.
	Name string
	// ErrorBody reads the provider's error body: its error code and message, empty where the body
	// is not the documented shape (an HTML page, say).
	ErrorBody func(body []byte) (code, message string)
	// Refine, when set, refines the error of a failure answer where the provider's body says more
	// than its status: error codes of other kinds, field violations (a *paylink.ValidationError in
	// pe.Err).
	Refine func(a Answer, pe *paylink.ProviderError)
}

// Answer is a provider's answer, read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports whether the answer is a 2xx.
func (a Answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Read reads the answer to a request the generated client sent; it takes the client method's two
// results as they are (p.Read(client.GetPaymentLink(ctx, id))). No answer, or one cut short, is
// the domain's TransportError; an answer larger than MaxBody is ErrAnswerTooLarge (a limit of
// paylinks, not a contract violation of the provider).
func (p Provider) Read(rsp *http.Response, err error) (Answer, error) {
	if err != nil {
		return Answer{}, paylink.TransportError(p.Name, err)
	}
	defer rsp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(rsp.Body, MaxBody+1))
	if err != nil {
		return Answer{}, paylink.TransportError(p.Name, err)
	}
	if len(body) > MaxBody {
		return Answer{}, &paylink.ProviderError{Provider: p.Name, Kind: paylink.ErrAnswerTooLarge, Status: rsp.StatusCode, Err: fmt.Errorf("answer larger than %d bytes", MaxBody)}
	}
	return Answer{Status: rsp.StatusCode, Header: rsp.Header, Body: body}, nil
}

// Expect starts the reading of one operation's answers: ok are its success statuses.
//
//	ans, err := wire.Expect(http.StatusOK).Or(http.StatusConflict, paylink.ErrNotClosable).Of(client.Close(ctx, id))
func (p Provider) Expect(ok ...int) Expectation { return Expectation{p: p, ok: ok} }

// Expectation is what an operation's answers mean.
type Expectation struct {
	p     Provider
	ok    []int
	kinds map[int]error
}

// Or says that a failure answer with status means kind at this operation (MijnKlantportaal's 422
// on close is ErrNotClosable, not invalid input).
func (e Expectation) Or(status int, kind error) Expectation {
	kinds := maps.Clone(e.kinds)
	if kinds == nil {
		kinds = map[int]error{}
	}
	kinds[status] = kind
	e.kinds = kinds
	return e
}

// Of reads the answer (as Read) and returns it when its status is a success, or else its error
// (as Failure).
func (e Expectation) Of(rsp *http.Response, err error) (Answer, error) {
	a, err := e.p.Read(rsp, err)
	switch {
	case err != nil:
		return Answer{}, err
	case slices.Contains(e.ok, a.Status):
		return a, nil
	default:
		return a, e.p.failure(a, e.kinds[a.Status])
	}
}

// Failure is the error of an answer that is not the success the operation expects: a 2xx is a
// contract violation (a status or body the spec does not give it); anything else a
// *paylink.ProviderError of the status's kind, with the provider's code and message and, on 429
// and 503, its Retry-After, refined by the provider's Refine.
func (p Provider) Failure(a Answer) *paylink.ProviderError { return p.failure(a, nil) }

// failure is Failure, the kind of the status being kind when not nil.
func (p Provider) failure(a Answer, kind error) *paylink.ProviderError {
	if a.OK() {
		return &paylink.ProviderError{Provider: p.Name, Kind: paylink.ErrContractViolation, Status: a.Status,
			Err: fmt.Errorf("unexpected %d answer with content type %q", a.Status, a.Header.Get("Content-Type"))}
	}
	code, msg := "", ""
	if p.ErrorBody != nil {
		code, msg = p.ErrorBody(a.Body)
	}
	pe := paylink.ResponseError(p.Name, a.Status, code, msg, a.Header.Get("Retry-After"))
	if kind != nil {
		pe.Kind = kind
	}
	if p.Refine != nil {
		p.Refine(a, pe)
	}
	return pe
}

// Decode decodes a success answer's JSON into a T; a body that does not decode breaks the
// provider's contract.
func Decode[T any](p Provider, a Answer) (T, error) {
	var v T
	if err := json.Unmarshal(a.Body, &v); err != nil {
		return v, paylink.DecodeError(p.Name, a.Status, err)
	}
	return v, nil
}

// Decoder returns the reading of an answer holding one object T, mapped to a link by toLink; the
// error of a failed call passes through, so it reads a call as it is:
// decodeLink(wire.Expect(http.StatusOK).Of(client.GetPaymentLink(ctx, id))).
func Decoder[T any](p Provider, toLink func(a Answer, v T) (paylink.Link, error)) func(Answer, error) (paylink.Link, error) {
	return func(a Answer, err error) (paylink.Link, error) {
		if err != nil {
			return paylink.Link{}, err
		}
		v, err := Decode[T](p, a)
		if err != nil {
			return paylink.Link{}, err
		}
		return toLink(a, v)
	}
}

// Items decodes a list answer into its items, each with its own JSON (for Link.Raw). path names
// the members, object in object, that hold the array ("data"; "_embedded", "payment_links"); none,
// the answer is the bare array.
func Items[T any](p Provider, a Answer, path ...string) ([]T, []json.RawMessage, error) {
	var raws []json.RawMessage
	var err error
	list := json.RawMessage(a.Body)
	for _, field := range path {
		var obj map[string]json.RawMessage
		if err = json.Unmarshal(list, &obj); err != nil {
			break
		}
		list = obj[field]
	}
	if err == nil {
		err = json.Unmarshal(list, &raws)
	}
	if err != nil {
		return nil, nil, paylink.DecodeError(p.Name, a.Status, fmt.Errorf("list items: %w", err))
	}
	items := make([]T, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			return nil, nil, paylink.DecodeError(p.Name, a.Status, fmt.Errorf("list item %d: %w", i, err))
		}
	}
	return items, raws, nil
}
