// Package validation checks HTTP requests and responses against a curated OpenAPI spec with
// kin-openapi, and reports violations as field + reason pairs that callers turn into their own
// error bodies (problem+json for paylinks, the provider's own shape in a sandbox).
//
// Everything expensive (parsing the document, compiling schemas and the router) happens once in
// New; validating is safe for concurrent use.
package validation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

func init() {
	// kin-openapi checks date-time with a regular expression; time.Parse is several times faster
	// on the hot path of answer validation and stricter (it also refuses 2024-02-30).
	openapi3.DefineStringFormatValidator("date-time", dateTime{})
}

// dateTime is the date-time format: RFC 3339, checked by time.Parse.
type dateTime struct{}

var errDateTime = errors.New("not an RFC 3339 date-time")

func (dateTime) Validate(s string) error {
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return errDateTime
	}
	return nil
}

// Violation is one way a message breaks the spec. Field is a JSON pointer into the body
// ("/amount/value"), or "query.limit", "header.Idempotency-Key", "path.id", "body".
type Violation struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Kind says what went wrong with a request, which decides its HTTP status.
type Kind int

// The kinds of request failure.
const (
	// Malformed: bad parameters, headers, content type or JSON syntax (400).
	Malformed Kind = iota
	// Invalid: a well-formed body that breaks the schema (422).
	Invalid
	// NoRoute: no operation has this path (404).
	NoRoute
	// NoMethod: the path exists, the method does not (405).
	NoMethod
)

// Error is a request or response that breaks the spec.
type Error struct {
	Kind       Kind
	Violations []Violation
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "spec violation: " + strings.Join(parts, "; ")
}

// Spec validates messages of one OpenAPI document.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
	routes fastRoutes // the router restated for plain paths (nil: the router finds all)
	// fast holds the compiled fast-path check of every response body schema (nil: not modelled).
	fast map[*openapi3.Schema]*check
	// requests holds the compiled fast-path check of every operation's requests (nil: not modelled).
	requests map[*openapi3.Operation]*requestCheck
	// unsecured maps each route to a copy without security requirements (see ValidateRequest).
	unsecured sync.Map
	// headerParameters and forwardedResponse are the header parameters of each operation and the
	// headers a proxy forwards of each answer (see Operation.HeaderParameters and ResponseHeaders).
	headerParameters  map[*openapi3.Operation][]string
	forwardedResponse map[*openapi3.Response][]string
	// answers holds each operation's documented answers by status (see documentedAnswer).
	answers map[*openapi3.Operation]*answers
	// secretAnswers are the operations whose answers document a property named like a secret.
	secretAnswers map[*openapi3.Operation]bool
}

// unsecuredRoute returns the route with its operation's security requirements emptied:
// authentication is each server's own business, and kin-openapi's check of it costs a read of
// the body and a few allocations on every request.
func (s *Spec) unsecuredRoute(r *routers.Route) *routers.Route {
	if u, ok := s.unsecured.Load(r); ok {
		return u.(*routers.Route)
	}
	op := *r.Operation
	op.Security = &openapi3.SecurityRequirements{}
	u := *r
	u.Operation = &op
	s.unsecured.Store(r, &u)
	return &u
}

// New prepares the document for validation. Servers are ignored: paths are matched as they are
// written in the spec, from the root of the request path the caller passes in.
func New(doc *openapi3.T) (*Spec, error) {
	doc.Servers = openapi3.Servers{{URL: "/"}}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid spec %q: %w", doc.Info.Title, err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	s := &Spec{doc: doc, router: r, routes: compileRoutes(doc), fast: map[*openapi3.Schema]*check{}, requests: map[*openapi3.Operation]*requestCheck{}}
	s.compileFastPaths()
	s.compileForwarding()
	return s, nil
}

// compileFastPaths compiles, for the fast path, the request check of every operation and the body
// schema of every documented response.
func (s *Spec) compileFastPaths() {
	for _, item := range s.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !s.doc.IsOpenAPI31OrLater() { // 3.1 parameters are checked by JSON Schema 2020-12 rules
				s.requests[op] = compileRequest(item, op)
			}
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					if mt.Schema != nil && mt.Schema.Value != nil {
						if _, done := s.fast[mt.Schema.Value]; !done {
							s.fast[mt.Schema.Value] = compileSchema(mt.Schema.Value)
						}
					}
				}
			}
		}
	}
}

// Doc returns the document.
func (s *Spec) Doc() *openapi3.T { return s.doc }

// Operation is a matched operation of the spec with the request it was matched for.
type Operation struct {
	spec   *Spec
	route  *routers.Route
	params map[string]string
	req    *http.Request
}

type operationKey struct{}

// WithOperation tells a Transport below which operation a request is for, so it need not route
// the request again. It is used only if the request's method and path are the ones op was found for.
func WithOperation(ctx context.Context, op *Operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// ID returns the operationId.
func (o *Operation) ID() string { return o.route.Operation.OperationID }

// Documents reports whether the operation documents the status (or has a default response).
func (o *Operation) Documents(status int) bool {
	return documentedAnswer(o, status) != nil
}

// DeclaresHeader reports whether the operation documents a header parameter of that name.
func (o *Operation) DeclaresHeader(name string) bool {
	for _, ps := range []openapi3.Parameters{o.route.PathItem.Parameters, o.route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, name) {
				return true
			}
		}
	}
	return false
}

// PathParams returns the path parameters by name.
func (o *Operation) PathParams() map[string]string { return o.params }

// emptyParam reports a path parameter matched by nothing ("/payment-links/" is not a link).
func emptyParam(params map[string]string) bool {
	for _, v := range params {
		if v == "" || v == "." || v == ".." {
			return true
		}
	}
	return false
}

// Find matches the request to an operation by its method and path. The error is an *Error of kind
// NoRoute or NoMethod.
func (s *Spec) Find(r *http.Request) (*Operation, error) {
	if r.URL.Host != "" || r.URL.Scheme != "" {
		// A client-side request: match its path only, as the spec's server is "/".
		c := *r
		c.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		c.Host = ""
		r = &c
	}
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		// The router forgives a trailing slash; the spec's paths have none.
		return nil, &Error{Kind: NoRoute, Violations: []Violation{{Field: "path", Reason: "no operation at " + p}}}
	}
	if route, params, ok := s.routes.find(r.Method, r.URL); ok {
		return &Operation{spec: s, route: route, params: params, req: r}, nil
	}
	route, params, err := s.router.FindRoute(r)
	if err == nil && !emptyParam(params) {
		return &Operation{spec: s, route: route, params: params, req: r}, nil
	}
	// The router reports a wrong method only on some paths: ask for the path with other methods.
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Header: http.Header{}}
		if _, params, err := s.router.FindRoute(probe); err == nil && !emptyParam(params) {
			return nil, &Error{Kind: NoMethod, Violations: []Violation{{Field: "method", Reason: r.Method + " is not allowed on " + r.URL.Path}}}
		}
	}
	return nil, &Error{Kind: NoRoute, Violations: []Violation{{Field: "path", Reason: "no operation at " + r.URL.Path}}}
}

var options = &openapi3filter.Options{
	MultiError:          true,
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	SkipSettingDefaults: true,
}

// ValidateRequest checks the parameters, headers and body of the request the operation was found
// for. The body is read and put back, so handlers still see it. Security is not checked here: each
// server authenticates its own way.
func (s *Spec) ValidateRequest(ctx context.Context, op *Operation, body []byte) error {
	if rc := s.requests[op.route.Operation]; rc != nil && rc.accepts(op.req, op.params, body) {
		return nil
	}
	return s.validateRequestKin(ctx, op, body)
}

// validateRequestKin is ValidateRequest without the fast path.
func (s *Spec) validateRequestKin(ctx context.Context, op *Operation, body []byte) error {
	r := op.req
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	if len(body) > 0 {
		if v := duplicateKeys(body); len(v) > 0 {
			return &Error{Kind: Malformed, Violations: v}
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: op.params, Route: s.unsecuredRoute(op.route), Options: options}
	err := openapi3filter.ValidateRequest(ctx, in)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err == nil {
		return nil
	}
	return requestError(err)
}

// ValidateResponse checks a response to the operation: the status must be documented, and the
// headers and body must match. kin-openapi checks status and headers; the body, already in memory,
// is decoded once here and visited against its schema, which spares kin-openapi's reading and
// stream decoding of a copy.
func (s *Spec) ValidateResponse(ctx context.Context, op *Operation, status int, header http.Header, body []byte) error {
	if ref := documentedAnswer(op, status); ref != nil && ref.Value != nil && onlyContentType(ref.Value.Headers) {
		// A documented status with no headers to check: kin-openapi would find nothing more.
		return s.validateResponseBody(op, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: op.req, PathParams: op.params, Route: op.route, Options: options},
		Status:                 status,
		Header:                 header,
		Options:                responseOptions,
	}
	in.SetBodyBytes(nil)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return &Error{Kind: Invalid, Violations: violations(err, "")}
	}
	return s.validateResponseBody(op, status, header, body)
}

var responseOptions = &openapi3filter.Options{
	MultiError:            true,
	IncludeResponseStatus: true,
	ExcludeResponseBody:   true,
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
}

// documentedAnswer is the answer the operation documents for the status (or its default one).
func documentedAnswer(op *Operation, status int) *openapi3.ResponseRef {
	a := op.spec.answers[op.route.Operation]
	if a == nil { // an operation added to the document after New
		a = compileAnswers(op.route.Operation.Responses)
	}
	if ref := a.status(status); ref != nil {
		return ref
	}
	return a.def
}

// onlyContentType reports whether an answer documents no header but Content-Type, which
// kin-openapi's response check leaves to the body's.
func onlyContentType(h openapi3.Headers) bool {
	for name := range h {
		if name != "Content-Type" {
			return false
		}
	}
	return true
}

func (s *Spec) validateResponseBody(op *Operation, status int, header http.Header, body []byte) error {
	ref := documentedAnswer(op, status)
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil
	}
	ct := header.Get("Content-Type")
	mt := ref.Value.Content.Get(ct)
	if mt == nil {
		return &Error{Kind: Invalid, Violations: []Violation{{Field: "header.Content-Type", Reason: fmt.Sprintf("%q is not a documented content type of a %d answer", ct, status)}}}
	}
	if mt.Schema == nil || mt.Schema.Value == nil || !strings.Contains(ct, "json") {
		return nil
	}
	if k := s.fast[mt.Schema.Value]; k != nil && k.accepts(body) {
		return nil
	}
	// Numbers decode as float64: exact for every integer up to 2^53, which is all validation needs
	// (the answer itself is passed on as the provider sent it, not re-encoded).
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return &Error{Kind: Invalid, Violations: []Violation{{Field: "body", Reason: "not valid JSON: " + err.Error()}}}
	}
	if err := mt.Schema.Value.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return &Error{Kind: Invalid, Violations: schemaViolations(err)}
	}
	return nil
}

func requestError(err error) *Error {
	v := violations(err, "")
	kind := Invalid
	for _, e := range flatten(err) {
		var re *openapi3filter.RequestError
		if errors.As(e, &re) {
			var se *openapi3.SchemaError
			if re.Parameter != nil || re.RequestBody == nil || !errors.As(re.Err, &se) {
				kind = Malformed
			}
		}
	}
	return &Error{Kind: kind, Violations: v}
}

// flatten splits a MultiError (only at the top: a parameter error keeps its nested errors, so its
// violation keeps the parameter's name).
func flatten(err error) []error {
	// The error itself, not what it wraps (errors.As would look there too).
	if me, ok := any(err).(openapi3.MultiError); ok {
		var out []error
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// violations turns kin-openapi's errors into field + reason pairs, without echoing values.
func violations(err error, prefix string) []Violation {
	var out []Violation
	for _, e := range flatten(err) {
		var re *openapi3filter.RequestError
		var rs *openapi3filter.ResponseError
		var se *openapi3.SchemaError
		switch {
		case errors.As(e, &re) && re.Parameter != nil:
			reason := re.Reason
			if re.Err != nil {
				if errors.As(re.Err, &se) {
					reason = schemaReason(se)
				} else if reason == "" || errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
					reason = re.Err.Error()
				}
			}
			out = append(out, Violation{Field: re.Parameter.In + "." + re.Parameter.Name, Reason: reason})
		case errors.As(e, &re) && re.Err != nil && !errors.As(re.Err, &se):
			reason := re.Reason
			if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
				reason = "a body is required"
			} else if reason == "" {
				reason = re.Err.Error()
			} else {
				reason += ": " + re.Err.Error()
			}
			out = append(out, Violation{Field: "body", Reason: reason})
		case errors.As(e, &re) && re.Err != nil:
			out = append(out, schemaViolations(re.Err)...)
		case errors.As(e, &re):
			out = append(out, Violation{Field: "body", Reason: re.Reason})
		case errors.As(e, &rs) && rs.Err != nil && errors.As(rs.Err, &se):
			out = append(out, schemaViolations(rs.Err)...)
		case errors.As(e, &rs):
			reason := rs.Reason
			if rs.Err != nil {
				reason = strings.TrimSpace(reason + " " + rs.Err.Error())
			}
			out = append(out, Violation{Field: "response", Reason: reason})
		default:
			out = append(out, Violation{Field: "body", Reason: e.Error()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func schemaViolations(err error) []Violation {
	var out []Violation
	for _, e := range flatten(err) {
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			field := "/" + strings.Join(se.JSONPointer(), "/")
			reason := schemaReason(se)
			// An unknown property is reported at its parent: name the property itself.
			if strings.HasSuffix(se.Reason, " is unsupported") {
				if _, rest, ok := strings.Cut(se.Reason, `property "`); ok {
					if name, _, ok := strings.Cut(rest, `"`); ok {
						field = strings.TrimSuffix(field, "/") + "/" + name
						reason = "unknown property"
					}
				}
			}
			out = append(out, Violation{Field: field, Reason: reason})
		} else {
			out = append(out, Violation{Field: "body", Reason: e.Error()})
		}
	}
	return out
}

func schemaReason(se *openapi3.SchemaError) string {
	if se.Reason != "" {
		return se.Reason
	}
	return "doesn't match the schema (" + se.SchemaField + ")"
}

// maxDepth is how deep duplicateKeys follows nesting: encoding/json refuses deeper bodies anyway
// (its own limit), and the validator then says so.
const maxDepth = 10000

// duplicateKeys reports object keys that appear twice in one object, exactly or differing only in
// case. Go's encoding/json binds keys case-insensitively and keeps the last, while the validator
// sees every key: without this check a handler could bind a value that was never validated.
//
// The pointer to the current value is kept as segments and joined only for a violation: building
// it at every level made a deeply nested body of a few kilobytes cost gigabytes.
func duplicateKeys(body []byte) []Violation {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []Violation
	var path []string
	pointer := func(last string) string { return "/" + strings.Join(append(path[:len(path):len(path)], last), "/") }
	var walk func() error
	walk = func() error {
		if len(path) > maxDepth {
			return errors.New("too deep")
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				folded := strings.ToLower(k)
				if seen[folded] {
					out = append(out, Violation{Field: pointer(k), Reason: "duplicate key (keys must be unique, also ignoring case)"})
				}
				seen[folded] = true
				path = append(path, k)
				err = walk()
				path = path[:len(path)-1]
				if err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				path = append(path, strconv.Itoa(i))
				err := walk()
				path = path[:len(path)-1]
				if err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(); err != nil {
		return nil // syntax errors and excessive depth are reported by the validator with its own message
	}
	return out
}

// ViolationsOf returns the violations of a validation error (an *Error, wrapped or not), none
// for any other error.
func ViolationsOf(err error) []Violation {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Violations
	}
	return nil
}
