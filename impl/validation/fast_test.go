package validation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/gen/telness"
)

// kinAccepts is the slow path's verdict: the body decoded as encoding/json does and visited by
// kin-openapi.
func kinAccepts(s *openapi3.Schema, body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	return s.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()) == nil
}

func specs(t testing.TB) map[string]*Spec {
	t.Helper()
	out := map[string]*Spec{}
	for name, get := range map[string]func() (*openapi3.T, error){
		"mijnklantportaal": mijnklantportaal.GetSpec, "hub2": hub2.GetSpec,
		"telness": telness.GetSpec, "paylinks": paylinks.GetSpec,
	} {
		doc, err := get()
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(doc)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

// The fast path is worth something only if the curated specs compile: a keyword it does not
// model would silently send every answer down the slow path.
func TestFastPathCompilesEveryResponseOfTheCuratedSpecs(t *testing.T) {
	t.Parallel()
	for name, s := range specs(t) {
		if len(s.fast) == 0 {
			t.Errorf("%s: no response schema found", name)
		}
		for schema, k := range s.fast {
			if k == nil {
				t.Errorf("%s: response schema %q is not compiled for the fast path", name, schema.Title+schema.Description)
			}
		}
	}
}

// Valid answers of the unified API, whose spec documents no response examples.
const (
	unifiedLink      = `{"id":"hub2_cGxfMQ","provider":"hub2","providerLinkId":"pl_1","url":"https://pay.hub2.example/pl_1","status":"active","providerStatus":"active","amount":{"currency":"XOF","value":"1000","minor":1000},"description":"Order 42","reference":"ref-42","reusable":false,"expiresAt":"2026-11-23T12:15:00Z","createdAt":"2026-11-23T12:00:00Z","updatedAt":"2026-11-23T12:00:00Z","metadata":{"order":"42"},"raw":{"id":"pl_1","status":"active"}}`
	unifiedProblem   = `{"type":"https://paylinks.dev/problems/validation_failed","title":"Validation failed","status":422,"code":"validation_failed","detail":"/amount/value: EUR allows at most 2 decimals","violations":[{"field":"/amount/value","reason":"EUR allows at most 2 decimals"}],"provider":"hub2","requestId":"req_1"}`
	unifiedProviders = `{"data":[{"name":"hub2","mode":"sandbox","capabilities":{"operations":["create","get","list","close"],"amounts":true,"reusableLinks":true,"openAmount":false,"currencies":["XOF","XAF"],"nativeIdempotency":false,"notes":["amounts in minor units"]}}]}`
)

// examples returns every documented example of every response body, which must all pass.
func examples(name string, s *Spec) map[*openapi3.Schema][][]byte {
	out := map[*openapi3.Schema][][]byte{}
	if name == "paylinks" {
		for name, body := range map[string]string{
			"PaymentLink": unifiedLink, "PaymentLinkList": `{"data":[` + unifiedLink + `,` + unifiedLink + `],"nextCursor":null}`,
			"ProviderList": unifiedProviders, "Problem": unifiedProblem,
		} {
			if ref := s.doc.Components.Schemas[name]; ref != nil {
				out[ref.Value] = append(out[ref.Value], []byte(body))
			}
		}
	}
	for _, item := range s.doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					if mt.Schema == nil {
						continue
					}
					add := func(v any) {
						if b, err := json.Marshal(v); err == nil && v != nil {
							out[mt.Schema.Value] = append(out[mt.Schema.Value], b)
						}
					}
					add(mt.Example)
					for _, ex := range mt.Examples {
						if ex.Value != nil {
							add(ex.Value.Value)
						}
					}
				}
			}
		}
	}
	return out
}

// mutations derives broken and odd variants of a valid body: each must be accepted by the fast
// path only if kin-openapi accepts it too.
func mutations(body []byte) [][]byte {
	var out [][]byte
	var walk func(v any, set func(any))
	var root any
	if json.Unmarshal(body, &root) != nil {
		return nil
	}
	snapshot := func() {
		b, _ := json.Marshal(root)
		out = append(out, b)
	}
	walk = func(v any, set func(any)) {
		for _, alt := range []any{nil, "", "x", 1.5, 3, -1, true, []any{}, map[string]any{}, "2024-02-30T10:00:00Z", strings.Repeat("a", 300)} {
			set(alt)
			snapshot()
		}
		set(v)
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				delete(v, k)
				snapshot()
				v[k] = child
				walk(child, func(n any) { v[k] = n })
			}
			v["unexpectedProperty"] = 1
			snapshot()
			delete(v, "unexpectedProperty")
		case []any:
			for i, child := range v {
				walk(child, func(n any) { v[i] = n })
			}
		}
	}
	walk(root, func(n any) { root = n })
	raw := []string{
		string(body) + " x", "\xff" + string(body), strings.Replace(string(body), `"`, `"\ud800`, 2),
		strings.Replace(string(body), "{", `{"dup":1,"dup":2,`, 1), strings.Replace(string(body), ":", ":1e400,\"z\":", 1),
		strings.Replace(string(body), "{", `{"raw":{"n":[1e400]},"metadata":{"x":{"n":1e400}},`, 1),
	}
	for _, r := range raw {
		out = append(out, []byte(r))
	}
	return out
}

// TestFastPathNeverAcceptsWhatKinRefuses runs every documented example and a few thousand
// variants of each (every value replaced by values of other types, every property removed, an
// unknown one added, broken JSON) through both paths.
func TestFastPathNeverAcceptsWhatKinRefuses(t *testing.T) {
	t.Parallel()
	for name, s := range specs(t) {
		accepted, refused := 0, 0
		for schema, bodies := range examples(name, s) {
			k := s.fast[schema]
			for _, body := range bodies {
				if !k.accepts(body) {
					t.Errorf("%s: fast path refuses the documented example %s", name, body)
				}
				for _, m := range mutations(body) {
					fast, kin := k.accepts(m), kinAccepts(schema, m)
					if fast && !kin {
						t.Errorf("%s: fast path accepts what kin-openapi refuses: %s", name, m)
					}
					if fast {
						accepted++
					} else {
						refused++
					}
				}
			}
		}
		if accepted == 0 || refused == 0 {
			t.Errorf("%s: %d variants accepted, %d refused: the comparison proves nothing", name, accepted, refused)
		}
	}
}

// TestFastPathKeywords compares both paths keyword by keyword on schemas the curated specs may
// grow into.
func TestFastPathKeywords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		schema string
		values map[string]bool // value -> the fast path must accept it (false: must not)
	}{
		{`{"type":"integer","format":"int32","minimum":1,"maximum":100}`, map[string]bool{
			`1`: true, `100`: true, `1.0`: true, `0`: false, `101`: false, `1.5`: false, `"1"`: false, `null`: false, `3000000000`: false}},
		{`{"type":"number","minimum":0,"exclusiveMinimum":true,"maximum":1,"exclusiveMaximum":true}`, map[string]bool{
			`0.5`: true, `0`: false, `1`: false, `1e-300`: true, `-0`: false}},
		{`{"type":"string","minLength":2,"maxLength":3,"pattern":"^\\u0041"}`, map[string]bool{
			`"AB"`: true, `"ABCD"`: false, `"A"`: false, `"BB"`: false, `"Aé"`: true, `"A\u00e9"`: true, `"A\ud83d\ude00"`: false, `"A\ud800"`: false}},
		{`{"type":"string","format":"date-time","nullable":true}`, map[string]bool{
			`"2024-01-15T10:00:00Z"`: true, `null`: true, `"2024-01-15"`: false, `"2024-02-30T10:00:00Z"`: false}},
		{`{"type":"string","pattern":"^plk_"}`, map[string]bool{`"plk_1"`: true, `"plk_"`: true, `"xplk_1"`: false, `"PLK_1"`: false, `"pl"`: false}},
		{`{"type":"string","pattern":"^a.b"}`, map[string]bool{`"axb"`: true, `"a.b"`: true, `"ab"`: false}},
		{`{"type":"string","format":"date"}`, map[string]bool{`"2024-01-15"`: true, `"15-01-2024"`: false}},
		{`{"type":"string","enum":["open","paid"]}`, map[string]bool{`"open"`: true, `"Open"`: false, `"op\u0065n"`: true, `1`: false}},
		{`{"type":"object","required":["a"],"properties":{"a":{"type":"string"}},"additionalProperties":false,"maxProperties":2}`, map[string]bool{
			`{"a":"x"}`: true, `{}`: false, `{"a":1}`: false, `{"a":"x","b":1}`: false, `{"\u0061":"x"}`: true, `[]`: false, `{"a":"x","a":"y"}`: true, `{"a":"x","a":2}`: false}},
		{`{"type":"object","additionalProperties":{"type":"integer"}}`, map[string]bool{`{"x":1,"y":2}`: true, `{"x":"1"}`: false, `{}`: true}},
		{`{"type":"array","items":{"type":"boolean"},"minItems":1,"maxItems":2}`, map[string]bool{`[true]`: true, `[]`: false, `[true,false,true]`: false, `[1]`: false}},
		{`{"anyOf":[{"type":"string"},{"type":"integer"}]}`, map[string]bool{`"x"`: true, `2`: true, `2.5`: false, `{}`: false}},
		{`{"allOf":[{"type":"object","required":["a"]},{"type":"object","required":["b"]}]}`, map[string]bool{`{"a":1,"b":2}`: true, `{"a":1}`: false}},
		{`{}`, map[string]bool{`{"any":[1,"x",null]}`: true, `"x"`: true, `null`: false, `{"deep":[{"n":1e400}]}`: false, `1e400`: false}},
		{`{"type":"object"}`, map[string]bool{`{"n":1e308}`: true, `{"n":1e309}`: false, `{"a":[-1e999]}`: false}},
		{`{"type":"object","properties":{"a":{"type":"string"}}}`, map[string]bool{`{"a":"x","other":{"n":1e400}}`: false, `{"a":"x","other":{"n":1}}`: true}},
		{`{"type":"array"}`, map[string]bool{`[1,2]`: true, `[1e400]`: false}},
		{`{"type":"object","properties":{"n":{"type":"number"}}}`, map[string]bool{`{"n":1e400}`: false, `{"n":-0.0}`: true, `{"n":01}`: false, `{"n":NaN}`: false}},
	}
	for _, tt := range tests {
		var s openapi3.Schema
		if err := json.Unmarshal([]byte(tt.schema), &s); err != nil {
			t.Fatal(err)
		}
		k := compileSchema(&s)
		if k == nil {
			t.Fatalf("%s: not compiled", tt.schema)
		}
		for value, want := range tt.values {
			fast, kin := k.accepts([]byte(value)), kinAccepts(&s, []byte(value))
			if fast && !kin {
				t.Errorf("%s: fast path accepts %s, kin-openapi refuses it", tt.schema, value)
			}
			if fast != want {
				t.Errorf("%s: fast path on %s = %v, want %v (kin-openapi: %v)", tt.schema, value, fast, want, kin)
			}
		}
	}
}

func TestFastPathLeavesUnmodelledSchemasToKin(t *testing.T) {
	t.Parallel()
	for _, schema := range []string{
		`{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
		`{"not":{"type":"string"}}`,
		`{"type":"array","uniqueItems":true}`,
		`{"type":"number","multipleOf":0.01}`,
		`{"type":"object","minProperties":1}`,
		`{"type":"object","properties":{"secret":{"type":"string","writeOnly":true}}}`,
		`{"type":"string","enum":["a",1]}`,
		`{"type":"string","pattern":"(?<=a)b"}`,
		`{"type":"string","maxLength":9223372036854775808}`,
		`{"type":"array","maxItems":9223372036854775808}`,
	} {
		var s openapi3.Schema
		if err := json.Unmarshal([]byte(schema), &s); err != nil {
			t.Fatal(err)
		}
		if compileSchema(&s) != nil {
			t.Errorf("%s: compiled, but the fast path does not model it", schema)
		}
	}
}

// FuzzFastPath holds the fast path to kin-openapi's verdict on arbitrary bodies against every
// response schema of the curated specs.
func FuzzFastPath(f *testing.F) {
	all := specs(f)
	var schemas []*openapi3.Schema
	var checks []*check
	var names []string
	for _, name := range []string{"mijnklantportaal", "hub2", "telness", "paylinks"} {
		s := all[name]
		for schema, bodies := range examples(name, s) {
			schemas = append(schemas, schema)
			checks = append(checks, s.fast[schema])
			names = append(names, fmt.Sprintf("%s#%d", name, len(names)))
			for _, b := range bodies {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"a":"\ud800"}`))
	f.Add([]byte(`{"data":[{"raw":{"n":[1e400]}}],"nextCursor":null}`))
	f.Add([]byte("{\"id\":\"a\x01\\n\"}"))
	f.Add([]byte("{\"id\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for i, schema := range schemas {
			if checks[i].accepts(body) && !kinAccepts(schema, body) {
				t.Fatalf("%s: fast path accepts what kin-openapi refuses: %q", names[i], body)
			}
		}
	})
}

// TestRequestFastPathNeverAcceptsWhatKinRefuses sends requests with good and bad path and header
// parameters, query strings and bodies to every operation of the curated specs.
func TestRequestFastPathNeverAcceptsWhatKinRefuses(t *testing.T) {
	t.Parallel()
	values := []string{"plk_00000000000001", "x", "a b", "a,b", "é", "%41", strings.Repeat("k", 300), "-", "pl_1"}
	// The curated specs' query parameters (page, limit, testmode, from, cursor, status, dates…) with
	// good values and values at and past their bounds, in the forms kin-openapi parses and those it
	// refuses or reads otherwise.
	queries := []string{"", "?limit=1", "?page=x", "?page=1", "?page=2", "?page=0", "?page=007", "?page=-1", "?page=+1", "?page=1.0",
		"?page=1e2", "?page=", "?page=1&page=2", "?page=%31", "?page=99999999999999999999", "?page=2147483648", "?page=1&unknown=1",
		"?limit=250", "?limit=251", "?limit=100", "?limit=101", "?limit=0", "?testmode=true", "?testmode=false", "?testmode=1",
		"?testmode=yes", "?from=pl_1", "?from=tr_1", "?from=x", "?from=pl_", "?from=pl_%00", "?cursor=abc", "?cursor=" + strings.Repeat("c", 5000),
		"?status=open", "?status=nonsense", "?provider=hub2", "?provider=x", "?fromCreatedAt=2024-01-01T00:00:00Z",
		"?fromCreatedAt=2024-01-01", "?fromCreatedAt=2024-02-30T00:00:00Z", "?sort=asc", "?sort=sideways", "?page=2;x=1", "?page=%zz",
		"?limit=5&page=2&testmode=true&from=pl_1"}
	for name, s := range specs(t) {
		accepted := 0
		for path, item := range s.doc.Paths.Map() {
			for method, op := range item.Operations() {
				for _, v := range values {
					for _, header := range []string{"", v} {
						for _, query := range queries {
							for _, body := range []string{"", `{}`} {
								target := strings.NewReplacer("{linkId}", url.PathEscape(v), "{id}", url.PathEscape(v), "{paymentLinkId}", url.PathEscape(v)).Replace(path) + query
								r := httptest.NewRequest(method, target, strings.NewReader(body))
								if header != "" {
									for _, p := range append(item.Parameters, op.Parameters...) {
										if p.Value.In == "header" {
											r.Header.Set(p.Value.Name, header)
										}
									}
								}
								if body != "" {
									r.Header.Set("Content-Type", "application/json")
								}
								found, err := s.Find(r)
								if err != nil {
									continue
								}
								var b []byte
								if body != "" {
									b = []byte(body)
								}
								rc := s.requests[op]
								fast := rc != nil && rc.accepts(found.req, found.params, b)
								if fast {
									accepted++
									if err := s.validateRequestKin(context.Background(), found, b); err != nil {
										t.Errorf("%s %s %s (header %q): fast path accepts, kin-openapi says %v", name, method, target, header, err)
									}
								}
							}
						}
					}
				}
			}
		}
		if accepted == 0 {
			t.Errorf("%s: the fast path accepted no request", name)
		}
	}
}

// Bodies fastjson's validator lets through but encoding/json refuses, found by review: raw control
// characters in a string or key that also holds an escape. And nesting deep enough to make a
// recursive validator slow or overflow its stack must be refused fast, by the depth-limited parse.
func TestFastPathRefusesWhatFastjsonLetsThrough(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	for _, tt := range []struct{ schema, body string }{
		{`{"type":"string"}`, "\"\x01\\n\""},
		{`{"type":"object","properties":{"d":{"type":"string"}}}`, "{\"d\":\"line1\nline2 \\\"quoted\\\"\"}"},
		{`{"type":"object"}`, "{\"k\tey\\n\":1}"},
		{`{}`, deep},
		{`{}`, strings.Repeat("[", 20000)}, // unterminated: fastjson's validator took seconds on it
		{`{"type":"array"}`, deep},
	} {
		var s openapi3.Schema
		if err := json.Unmarshal([]byte(tt.schema), &s); err != nil {
			t.Fatal(err)
		}
		k := compileSchema(&s)
		if kinAccepts(&s, []byte(tt.body)) {
			t.Fatalf("%s: kin-openapi accepts %.40q: the case proves nothing", tt.schema, tt.body)
		}
		if k.accepts([]byte(tt.body)) {
			t.Errorf("%s: fast path accepts %.40q, which encoding/json refuses", tt.schema, tt.body)
		}
	}
}

func TestRequestFastPathEdges(t *testing.T) {
	t.Parallel()
	doc := func(version string) *openapi3.T {
		d, err := openapi3.NewLoader().LoadFromData([]byte(`openapi: ` + version + `
info: {title: t, version: "1"}
paths:
  /x/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, maxLength: 3}}
        - {name: X-Opt, in: header, schema: {type: string, pattern: '^\\u0041'}}
      responses:
        "200": {description: ok}
`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	s30, err := New(doc("3.0.3"))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/x/abc", nil)
	r.Header["X-Opt"] = []string{} // present, without a value
	op, err := s30.Find(r)
	if err != nil {
		t.Fatal(err)
	}
	if rc := s30.requests[op.route.Operation]; rc == nil || rc.accepts(op.req, op.params, nil) {
		t.Errorf("a header present without a value is accepted by the fast path (or it is not compiled)")
	}
	if err := s30.ValidateRequest(context.Background(), op, nil); err == nil {
		t.Errorf("a header present without a value passes validation")
	}
	s31, err := New(doc("3.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range s31.requests {
		if rc != nil {
			t.Errorf("a 3.1 document has request fast paths: its parameters follow JSON Schema 2020-12")
		}
	}
}

// TestRequestFastPathQuery holds the query fast path to kin-openapi on parameters of each modelled
// kind, at and past their bounds: what the fast path accepts, kin-openapi accepts, and plain
// values of every kind do take the fast path.
func TestRequestFastPathQuery(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /q:
    get:
      parameters:
        - {name: n, in: query, schema: {type: integer, format: int32, minimum: 1, maximum: 10}}
        - {name: big, in: query, schema: {type: integer}}
        - {name: b, in: query, schema: {type: boolean}}
        - {name: s, in: query, schema: {type: string, maxLength: 3, pattern: '^a'}}
        - {name: e, in: query, schema: {type: string, enum: [x, y]}}
        - {name: d, in: query, schema: {type: string, format: date-time}}
      responses:
        "200": {description: ok}
  /r:
    get:
      parameters:
        - {name: must, in: query, required: true, schema: {type: integer, maximum: 5, exclusiveMaximum: true}}
      responses:
        "200": {description: ok}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(doc)
	if err != nil {
		t.Fatal(err)
	}
	fastOnes := []string{"/q", "/q?n=1", "/q?n=10", "/q?n=05", "/q?big=123456789012345", "/q?b=true", "/q?b=false", "/q?s=ab", "/q?s=a%2Bb",
		"/q?e=x", "/q?d=2024-01-01T00:00:00Z", "/q?n=3&b=true&s=a&e=y", "/r?must=4"}
	others := []string{"/q?n=0", "/q?n=11", "/q?n=-1", "/q?n=+1", "/q?n=1.0", "/q?n=1e1", "/q?n=", "/q?n=x", "/q?n=2147483648",
		"/q?n=1&n=2", "/q?n=&n=2", "/q?big=1234567890123456", "/q?big=99999999999999999999", "/q?b=1", "/q?b=TRUE", "/q?b=", "/q?b=yes",
		"/q?s=abcd", "/q?s=b", "/q?s=", "/q?s=a,b", "/q?s=a%25", "/q?e=z", "/q?d=2024-02-30T00:00:00Z", "/q?d=2024-01-01",
		"/q?unknown=1", "/q?n=1;b=true", "/q?n=%zz", "/r", "/r?must=5", "/r?must=", "/r?must=4&must=9", "/r?other=4"}
	for _, target := range append(append([]string(nil), fastOnes...), others...) {
		op, err := s.Find(httptest.NewRequest("GET", target, nil))
		if err != nil {
			t.Fatal(err)
		}
		rc := s.requests[op.route.Operation]
		if rc == nil {
			t.Fatalf("%s: no request fast path", target)
		}
		fast := rc.accepts(op.req, op.params, nil)
		kinErr := s.validateRequestKin(context.Background(), op, nil)
		if fast && kinErr != nil {
			t.Errorf("%s: fast path accepts, kin-openapi says %v", target, kinErr)
		}
		if slices.Contains(fastOnes, target) && !fast {
			t.Errorf("%s: not accepted by the fast path (kin-openapi: %v)", target, kinErr)
		}
	}
	for _, unmodelled := range []string{
		`{name: l, in: query, schema: {type: array, items: {type: string}}}`,
		`{name: f, in: query, schema: {type: number}}`,
		`{name: o, in: query, schema: {type: integer, enum: [1, 2]}}`,
		`{name: p, in: query, style: pipeDelimited, schema: {type: string}}`,
		`{name: a, in: query, allowEmptyValue: true, schema: {type: string}}`,
	} {
		d, err := openapi3.NewLoader().LoadFromData([]byte("openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\npaths:\n  /q:\n    get:\n      parameters:\n        - " +
			unmodelled + "\n      responses:\n        \"200\": {description: ok}\n"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, rc := range s.requests {
			if rc != nil {
				t.Errorf("%s: compiled, but the fast path does not model it", unmodelled)
			}
		}
	}
}

// Answers that document headers still have them checked (by kin-openapi); those that document
// none skip that step and are judged by their body alone.
func TestResponseHeadersChecked(t *testing.T) {
	t.Parallel()
	s := specs(t)["mijnklantportaal"]
	op, err := s.Find(httptest.NewRequest("GET", "/payment-links", nil))
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tt := range []struct {
		name   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"429 with a number of seconds", 429, http.Header{"Content-Type": {"application/json"}, "Retry-After": {"42"}}, `{"message":"slow down"}`, true},
		{"429 with words in Retry-After", 429, http.Header{"Content-Type": {"application/json"}, "Retry-After": {"soon"}}, `{"message":"slow down"}`, false},
		{"429 with words in a rate-limit header", 429, http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Remaining": {"many"}}, `{"message":"slow down"}`, false},
		{"200 page", 200, json, `{"current_page":1,"data":[],"first_page_url":"u","from":null,"next_page_url":null,"path":"p","per_page":15,"prev_page_url":null,"to":null}`, true},
		{"200 page with a bad body", 200, json, `{"current_page":"one"}`, false},
		{"200 of another type", 200, http.Header{"Content-Type": {"text/html"}}, `<p>`, false},
		{"undocumented status", 418, json, `{}`, false},
	} {
		err := s.ValidateResponse(context.Background(), op, tt.status, tt.header, []byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
