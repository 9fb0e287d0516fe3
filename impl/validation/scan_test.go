package validation

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// anything is the compiled empty schema: the single pass then checks the syntax alone.
func anything(t testing.TB) *check {
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(`{}`), &s); err != nil {
		t.Fatal(err)
	}
	return compileSchema(&s)
}

var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// decodesLikeScan reports what the single pass must say of body under the empty schema:
// encoding/json decodes it (which also refuses numbers beyond float64), it is not null, and it
// has none of what the pass leaves to the slow path on purpose (invalid UTF-8 and surrogate
// escapes, which encoding/json replaces, and deep nesting).
func decodesLikeScan(body []byte) (want, decided bool) {
	if !utf8.Valid(body) || surrogateEscape.Match(body) {
		return false, true // the slow path decides
	}
	if bytes.Count(body, []byte("["))+bytes.Count(body, []byte("{")) > scanDepth {
		return false, false // maybe nested too deep for the pass, maybe not
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false, true
	}
	return v != nil, true
}

// TestScanSyntaxIsEncodingJSONs holds the single pass's reading of JSON to encoding/json's on
// bodies chosen at its edges: it must accept what encoding/json decodes and refuse the rest.
func TestScanSyntaxIsEncodingJSONs(t *testing.T) {
	t.Parallel()
	k := anything(t)
	for _, body := range scanEdges {
		want, decided := decodesLikeScan([]byte(body))
		if !decided {
			t.Fatalf("%q: not a case the pass decides", body)
		}
		if got := k.accepts([]byte(body)); got != want {
			t.Errorf("%q: accepted %v, encoding/json: %v", body, got, want)
		}
	}
}

var scanEdges = []string{
	`{}`, `[]`, ` { } `, "\t[\r\n]\n", `{"a":1}`, `{"a":[1,2,{"b":null}]}`, `"x"`, `0`, `-0`, `1.5e+3`, `1E-3`, `true`, `false`,
	`null`, ``, ` `, `{`, `}`, `[`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{a:1}`, `{'a':1}`,
	`01`, `-`, `-01`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1_000`, `NaN`, `Infinity`, `-Infinity`, `1e400`, `-1e400`, `1e-400`,
	`tru`, `truex`, `nul`, `[true false]`, `[1 2]`, `{"a":1 "b":2}`, `"unterminated`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`,
	`"\x"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`, `"\u"`, `"\U00e9"`, "\"tab\there\"", "\"nl\nhere\"", "\"\x00\"", "\"\x1f\"",
	"\"\x7f\"", `"é€😀"`, "\"\xff\"", "\"\xc3\"", `["a","b\"c"]`, `{"k\"ey":1}`, `{"":""}`, "[1]x", "[1] x", "[1]\x00",
	strings.Repeat("[", 250) + strings.Repeat("]", 250), `{"a":{"b":{"c":[[[[]]]]}}}`, `"a\u0000b"`, `[-0.0e-0]`,
	`"long string of plain text, long enough for the eight-byte steps ` + strings.Repeat("0123456789", 5) + `"`,
	`"eight bytes then a quote inside ` + strings.Repeat("x", 13) + `\"` + strings.Repeat("y", 17) + `"`,
	"\"a control character past the first eight bytes: \x01\"",
}

// FuzzScanSyntax holds the single pass to encoding/json on arbitrary bytes, both ways.
func FuzzScanSyntax(f *testing.F) {
	for _, b := range scanEdges {
		f.Add([]byte(b))
	}
	k := anything(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		want, decided := decodesLikeScan(body)
		got := k.accepts(body)
		if got {
			var v any
			if json.Unmarshal(body, &v) != nil {
				t.Fatalf("accepts %q, which encoding/json refuses", body)
			}
		}
		if decided && got != want {
			t.Fatalf("%q: accepted %v, encoding/json: %v", body, got, want)
		}
	})
}

// TestScanDecodesStrings: what a check reads of a string is its text, every escape decoded.
func TestScanDecodesStrings(t *testing.T) {
	t.Parallel()
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(`{"type":"object","properties":{"v":{"type":"string","enum":["a\"b","c\\d","e/f","\b\f\n\r\t","é€","plain"]},
		"n":{"type":"string","maxLength":2}}}`), &s); err != nil {
		t.Fatal(err)
	}
	k := compileSchema(&s)
	for body, want := range map[string]bool{
		`{"v":"a\"b"}`: true, `{"v":"c\\d"}`: true, `{"v":"e\/f"}`: true, `{"v":"e/f"}`: true, `{"v":"\b\f\n\r\t"}`: true,
		`{"v":"\u00e9\u20ac"}`: true, `{"v":"é\u20AC"}`: true, `{"v":"pl\u0061in"}`: true, `{"\u0076":"plain"}`: true,
		`{"v":"a\\\"b"}`: false, `{"v":"c\\\\d"}`: false, `{"v":"plain "}`: false, `{"v":"\u00e9"}`: false,
		`{"n":"\u00e9\u00e9"}`: true, `{"n":"\u00e9\u00e9\u00e9"}`: false, `{"v":"a\"b","n":"\\\\"}`: true, `{"n":"\\\\\\"}`: false,
	} {
		if got := k.accepts([]byte(body)); got != want {
			t.Errorf("%s: accepted %v, want %v (kin-openapi: %v)", body, got, want, kinAccepts(&s, []byte(body)))
		}
	}
}
