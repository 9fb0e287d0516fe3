package validation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// What a proxy forwards must be what was validated. These checks refuse what a validator lets
// through but a provider might read otherwise: parameters given twice (the validator reads the
// first, a provider maybe the last), parameters and body properties the spec does not document
// (a validator ignores them, a provider may act on them), and data after a JSON body.

// CheckQuery returns a violation for each query parameter the operation does not document, and for
// each single-valued one given more than once.
func (o *Operation) CheckQuery(q url.Values) []Violation {
	if len(q) == 0 {
		return nil
	}
	documented := map[string]bool{} // name → may repeat
	o.eachParameter(openapi3.ParameterInQuery, func(p *openapi3.Parameter) {
		documented[p.Name] = p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeArray)
	})
	var out []Violation
	for name, values := range q {
		repeats, ok := documented[name]
		switch {
		case !ok:
			out = append(out, Violation{Field: "query." + name, Reason: "not a parameter of this operation"})
		case len(values) > 1 && !repeats:
			out = append(out, Violation{Field: "query." + name, Reason: "given more than once; it takes one value"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// HeaderParameters returns the canonical names of the header parameters the operation documents.
// The slice is shared: do not modify it.
func (o *Operation) HeaderParameters() []string {
	if hs, ok := o.spec.headerParameters[o.route.Operation]; ok {
		return hs
	}
	return o.headerParameters() // an operation New did not see (the document changed since)
}

func (o *Operation) headerParameters() []string {
	var out []string
	o.eachParameter(openapi3.ParameterInHeader, func(p *openapi3.Parameter) {
		out = append(out, http.CanonicalHeaderKey(p.Name))
	})
	return out
}

// ResponseHeaders returns the canonical names of the provider's headers a proxy passes back in
// an answer of that status: ForwardedResponseHeaders and the headers the operation documents for
// it (or for its default answer). The slice is shared: do not modify it.
func (o *Operation) ResponseHeaders(status int) []string {
	r := documentedAnswer(o, status)
	if r == nil || r.Value == nil {
		return o.spec.forwardedResponse[nil]
	}
	if hs, ok := o.spec.forwardedResponse[r.Value]; ok {
		return hs
	}
	return responseHeaders(r.Value)
}

func responseHeaders(r *openapi3.Response) []string {
	out := canonical(ForwardedResponseHeaders)
	if r == nil {
		return out
	}
	for name := range r.Headers {
		out = append(out, http.CanonicalHeaderKey(name))
	}
	sort.Strings(out[len(ForwardedResponseHeaders):])
	return out
}

func canonical(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = http.CanonicalHeaderKey(n)
	}
	return out
}

// compileForwarding computes, once, the header parameters of each operation and the headers
// forwarded of each answer.
func (s *Spec) compileForwarding() {
	s.headerParameters = map[*openapi3.Operation][]string{}
	s.answers = map[*openapi3.Operation]*answers{}
	s.secretAnswers = map[*openapi3.Operation]bool{}
	s.forwardedResponse = map[*openapi3.Response][]string{nil: responseHeaders(nil)}
	for _, item := range s.doc.Paths.Map() {
		for _, op := range item.Operations() {
			o := &Operation{spec: s, route: &routers.Route{PathItem: item, Operation: op}}
			s.headerParameters[op] = o.headerParameters()
			s.answers[op] = compileAnswers(op.Responses)
			s.secretAnswers[op] = answersNameSecrets(op.Responses)
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					s.forwardedResponse[r.Value] = responseHeaders(r.Value)
				}
			}
		}
	}
}

// AnswersMayHoldSecrets reports whether an answer of the operation documents a property whose
// name says it holds a secret ("secret", "webhookSecret", "client_secret"…), at any depth: such
// answers are the ones a proxy must check for the secrets it keeps (a provider's webhook records
// list their secrets).
func (o *Operation) AnswersMayHoldSecrets() bool {
	if v, ok := o.spec.secretAnswers[o.route.Operation]; ok {
		return v
	}
	return answersNameSecrets(o.route.Operation.Responses) // an operation New did not see
}

func answersNameSecrets(rs *openapi3.Responses) bool {
	if rs == nil {
		return false
	}
	seen := map[*openapi3.Schema]bool{}
	for _, r := range rs.Map() {
		if r == nil || r.Value == nil {
			continue
		}
		for _, mt := range r.Value.Content {
			if mt != nil && schemaNamesSecret(mt.Schema, seen) {
				return true
			}
		}
	}
	return false
}

// schemaNamesSecret walks a schema (once each: schemas may refer to themselves) for a property
// named like a secret.
func schemaNamesSecret(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) bool {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return false
	}
	s := ref.Value
	seen[s] = true
	for name, p := range s.Properties {
		if containsFold(name, "secret") || schemaNamesSecret(p, seen) {
			return true
		}
	}
	if schemaNamesSecret(s.Items, seen) || schemaNamesSecret(s.Not, seen) {
		return true
	}
	if s.AdditionalProperties.Schema != nil && schemaNamesSecret(s.AdditionalProperties.Schema, seen) {
		return true
	}
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for _, sub := range list {
			if schemaNamesSecret(sub, seen) {
				return true
			}
		}
	}
	return false
}

func (o *Operation) eachParameter(in string, f func(*openapi3.Parameter)) {
	for _, ps := range []openapi3.Parameters{o.route.PathItem.Parameters, o.route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == in {
				f(p.Value)
			}
		}
	}
}

// CheckBody returns the violations of a JSON request body that a schema check lets through: data
// after the JSON value, keys given twice in one object, and properties its schema does not list,
// wherever they are and whatever the schema's additionalProperties says (a map, such as metadata,
// keeps its free keys); and any body the operation does not document, by its absence or its media
// type. Empty bodies, and bodies of documented media types other than JSON, are left to
// ValidateRequest.
func (o *Operation) CheckBody(contentType string, body []byte) []Violation {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	// A body the operation does not document (none at all, or in another media type, such as a
	// form a provider may read as readily as JSON) would reach the provider unchecked: a schema
	// check skips it, or in report mode lets it pass.
	rb := o.route.Operation.RequestBody
	if rb == nil || rb.Value == nil || len(rb.Value.Content) == 0 {
		var empty bytes.Buffer
		if json.Compact(&empty, body) == nil && empty.String() == "{}" {
			return nil // an empty object says nothing: clients that always send one may
		}
		return []Violation{{Field: "body", Reason: "this operation takes no body; send none"}}
	}
	mt, _, err := mime.ParseMediaType(contentType)
	var media *openapi3.MediaType
	if err == nil {
		media = rb.Value.Content.Get(mt)
	}
	if media == nil {
		types := make([]string, 0, len(rb.Value.Content))
		for t := range rb.Value.Content {
			types = append(types, t)
		}
		sort.Strings(types)
		return []Violation{{Field: "header.Content-Type", Reason: fmt.Sprintf("%q is not a media type this operation takes (%s)", contentType, strings.Join(types, ", "))}}
	}
	if !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil // a documented media type of another kind is ValidateRequest's
	}
	if !json.Valid(body) {
		// Two values, or one followed by anything, are not one JSON body (nor are broken ones,
		// which ValidateRequest words more precisely; this only names the first).
		dec := json.NewDecoder(bytes.NewReader(body))
		var v any
		if dec.Decode(&v) == nil {
			return []Violation{{Field: "body", Reason: "data after the JSON value: send exactly one JSON value"}}
		}
		return nil
	}
	// A key given twice is read as one value by the validator and maybe as the other by the
	// provider: refused here, in both modes, as ValidateRequest refuses it in enforce mode only.
	if v := duplicateKeys(body); len(v) > 0 {
		return v
	}
	if media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []Violation
	undocumented(media.Schema.Value, v, "", &out, 0)
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// undocumented appends a violation for each property of v that schema does not list.
func undocumented(schema *openapi3.Schema, v any, pointer string, out *[]Violation, depth int) {
	if schema == nil || depth > maxDepth {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		props, mapOf := properties(schema)
		for k, val := range v {
			field := pointer + "/" + escapePointer(k)
			switch ps, ok := props[k]; {
			case ok:
				undocumented(ps, val, field, out, depth+1)
			case mapOf != nil:
				undocumented(mapOf, val, field, out, depth+1)
			default:
				*out = append(*out, Violation{Field: field, Reason: "not a documented property; only documented properties are forwarded"})
			}
		}
	case []any:
		items := itemsOf(schema)
		for i, val := range v {
			undocumented(items, val, pointer+"/"+strconv.Itoa(i), out, depth+1)
		}
	}
}

// properties returns the properties a schema lists, with those of the schemas it combines
// (allOf, oneOf, anyOf; not "not", which lists what must be absent), and the schema of a map's
// values when the schema is a map (additionalProperties with a schema and no properties).
func properties(s *openapi3.Schema) (props map[string]*openapi3.Schema, mapOf *openapi3.Schema) {
	props = map[string]*openapi3.Schema{}
	var walk func(s *openapi3.Schema, depth int)
	walk = func(s *openapi3.Schema, depth int) {
		if s == nil || depth > 32 {
			return
		}
		for name, ref := range s.Properties {
			if _, seen := props[name]; !seen && ref != nil {
				props[name] = ref.Value
			}
		}
		if ap := s.AdditionalProperties.Schema; ap != nil && ap.Value != nil && len(s.Properties) == 0 && mapOf == nil {
			mapOf = ap.Value
		}
		for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
			for _, ref := range group {
				if ref != nil {
					walk(ref.Value, depth+1)
				}
			}
		}
	}
	walk(s, 0)
	return props, mapOf
}

func itemsOf(s *openapi3.Schema) *openapi3.Schema {
	if s.Items != nil && s.Items.Value != nil {
		return s.Items.Value
	}
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, ref := range group {
			if ref != nil && ref.Value != nil {
				if it := itemsOf(ref.Value); it != nil {
					return it
				}
			}
		}
	}
	return nil
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

// ForwardedRequestHeaders are the caller's headers (canonical names) a proxy passes on to a provider, besides
// Content-Type and the header parameters of the operation (single-valued: passed on once, as
// validated): everything else (method overrides, client addresses, cookies, the caller's own
// credentials) stays with the proxy.
var ForwardedRequestHeaders = []string{"Accept", "Accept-Language"}

// ForwardedResponseHeaders are the provider's headers a proxy passes back, besides the headers the
// operation documents for the answer.
var ForwardedResponseHeaders = []string{"Content-Type", "Retry-After", "Cache-Control", "ETag", "Last-Modified", "Vary"}
