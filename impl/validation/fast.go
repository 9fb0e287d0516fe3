package validation

import (
	"bytes"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/getkin/kin-openapi/openapi3"
)

// The fast path for answer bodies.
//
// kin-openapi validates a value decoded into map[string]any: for a 15-link page that is ~500
// allocations and most of the proxy's CPU. Answers are nearly always valid, so each response
// schema is compiled once (in New) into a tree of checks that a single pass over the body's bytes
// runs as it reads them (scan.go): the JSON syntax and the schema are checked together, nothing is
// decoded but the strings a check reads, and nothing is allocated. The fast path only ever says "valid"; whenever it
// does not (a violation, or anything it does not model exactly), the body goes through
// kin-openapi as before, which decides and words the violations. So the fast path must never
// accept what kin-openapi refuses; it may refuse what kin-openapi accepts (that only costs time).
// A schema using a keyword the fast path does not model is not compiled and always goes the slow
// way. TestFastPathNeverAcceptsWhatKinRefuses and FuzzFastPath hold it to that.
//
// String formats are taken from kin-openapi's registry when New compiles a spec: a format defined
// later (openapi3.DefineStringFormatValidator) is checked by kin-openapi only, so define formats
// before calling New.

// types is a set of JSON types a schema permits.
type types uint8

const (
	tString types = 1 << iota
	tNumber
	tInteger
	tBoolean
	tObject
	tArray
	tAll = tString | tNumber | tInteger | tBoolean | tObject | tArray
)

// typeBits maps the schema types to their bits; null is nullable, not a bit.
var typeBits = map[string]types{
	openapi3.TypeString: tString, openapi3.TypeNumber: tNumber, openapi3.TypeInteger: tInteger,
	openapi3.TypeBoolean: tBoolean, openapi3.TypeObject: tObject, openapi3.TypeArray: tArray,
	openapi3.TypeNull: 0,
}

// check is a compiled schema.
type check struct {
	anything bool // the empty schema: any value but null
	nullable bool
	types    types
	enum     []string // string enums only

	anyOf, allOf []*check

	// strings
	minLength uint64
	maxLength *uint64
	pattern   *regexp.Regexp
	prefix    string // the pattern is "^" and this literal
	format    openapi3.StringFormatValidator
	dateTime  bool // format is this package's date-time, checked without copying the bytes

	// numbers
	min, max         *float64
	exclMin, exclMax bool
	intMin, intMax   float64 // range of an integer format; both 0 when there is none

	// objects
	properties      []property // sorted by name; few enough that a scan beats a map
	required        []string
	requiredMask    uint64 // bits of the required properties, when they all are in properties (≤ 64)
	noAdditional    bool
	additional      *check
	maxProperties   *uint64
	hasObjectChecks bool

	// arrays
	minItems uint64
	maxItems *uint64
	items    *check
}

// compileSchema compiles s, or returns nil when s uses something the fast path does not model.
func compileSchema(s *openapi3.Schema) *check {
	c := &compiler{done: map[*openapi3.Schema]*check{}}
	root := c.compile(s, nil)
	if c.unsupported {
		return nil
	}
	return root
}

type compiler struct {
	done        map[*openapi3.Schema]*check
	unsupported bool
}

// kinPattern turns \uXXXX into \x{XXXX} as kin-openapi does before compiling a pattern.
var kinPattern = regexp.MustCompile(`(?P<replaced_with_slash_x>\\u)(?P<code>[0-9A-F]{4})`)

// compile builds the check of s. sameValue are the schemas applied to the same value on the way
// here (through allOf/anyOf): kin-openapi skips a schema met twice on one value, which the fast
// path does not model.
func (c *compiler) compile(s *openapi3.Schema, sameValue []*openapi3.Schema) *check {
	if s == nil {
		c.unsupported = true
		return &check{}
	}
	for _, seen := range sameValue {
		if seen == s {
			c.unsupported = true
			return &check{}
		}
	}
	if k, ok := c.done[s]; ok && len(sameValue) == 0 {
		return k
	}
	k := &check{}
	if len(sameValue) == 0 {
		c.done[s] = k // before the children: a recursive schema refers to itself
	}
	if s.Always != nil || len(s.OneOf) > 0 || s.Not != nil || s.Discriminator != nil ||
		s.UniqueItems || s.MultipleOf != nil || s.MinProps != 0 || s.ReadOnly || s.WriteOnly ||
		s.Const != nil || len(s.PrefixItems) > 0 || s.Contains != nil || s.MinContains != nil ||
		s.MaxContains != nil || len(s.PatternProperties) > 0 || len(s.DependentSchemas) > 0 ||
		s.PropertyNames != nil || s.UnevaluatedItems.Schema != nil || s.UnevaluatedItems.Has != nil ||
		s.UnevaluatedProperties.Schema != nil || s.UnevaluatedProperties.Has != nil ||
		s.If != nil || s.Then != nil || s.Else != nil || len(s.DependentRequired) > 0 {
		c.unsupported = true
		return k
	}
	k.nullable = s.Nullable || s.Type.IncludesNull()
	if s.IsEmpty() {
		k.anything = true
		return k
	}
	k.types = tAll
	if s.Type != nil {
		k.types = 0
		for _, t := range *s.Type {
			bit, ok := typeBits[t]
			if !ok {
				c.unsupported = true
			}
			k.types |= bit
		}
	}
	for _, e := range s.Enum {
		str, ok := e.(string)
		if !ok {
			c.unsupported = true
		}
		k.enum = append(k.enum, str)
	}
	chain := append(sameValue[:len(sameValue):len(sameValue)], s)
	for _, r := range s.AnyOf {
		k.anyOf = append(k.anyOf, c.compile(r.Value, chain))
	}
	for _, r := range s.AllOf {
		k.allOf = append(k.allOf, c.compile(r.Value, chain))
	}

	for _, m := range []*uint64{s.MaxLength, s.MaxItems, s.MaxProps} {
		if m != nil && *m > math.MaxInt64 {
			c.unsupported = true // kin-openapi compares as int64: such a bound refuses everything
		}
	}
	k.minLength, k.maxLength = s.MinLength, s.MaxLength
	if s.Pattern != "" {
		pattern := kinPattern.ReplaceAllString(s.Pattern, `\x{${code}}`)
		re, err := regexp.Compile(pattern)
		if err != nil {
			c.unsupported = true
		}
		k.pattern = re
		// "^literal" (an id prefix, typically) is a prefix test: no regexp machine needed.
		if rest, anchored := strings.CutPrefix(pattern, "^"); anchored && err == nil {
			if lit, err := regexp.Compile(rest); err == nil {
				if prefix, complete := lit.LiteralPrefix(); complete {
					k.pattern, k.prefix = nil, prefix
				}
			}
		}
	}
	if s.Format != "" {
		switch {
		case k.types&(tNumber|tInteger) != 0 && k.types&tNumber == 0:
			// An integer: kin-openapi checks int32 and int64 ranges; others are not modelled.
			switch s.Format {
			case "int32":
				k.intMin, k.intMax = math.MinInt32, math.MaxInt32
			case "int64":
				k.intMin, k.intMax = -(1 << 62), 1<<62 // well inside: the edges go the slow way
			default:
				if _, ok := openapi3.SchemaIntegerFormats[s.Format]; ok {
					c.unsupported = true
				}
			}
		case k.types&tNumber != 0:
			if _, ok := openapi3.SchemaNumberFormats[s.Format]; ok {
				c.unsupported = true
			}
		}
		k.format = openapi3.SchemaStringFormats[s.Format] // nil: an unknown format, not checked
		_, k.dateTime = k.format.(dateTime)
	}
	k.min, k.max = s.Min, s.Max
	if s.ExclusiveMin.IsSet() {
		if s.ExclusiveMin.Value != nil {
			c.unsupported = true // the 3.1 form
		}
		k.exclMin = s.ExclusiveMin.Bool != nil && *s.ExclusiveMin.Bool && s.Min != nil
	}
	if s.ExclusiveMax.IsSet() {
		if s.ExclusiveMax.Value != nil {
			c.unsupported = true
		}
		k.exclMax = s.ExclusiveMax.Bool != nil && *s.ExclusiveMax.Bool && s.Max != nil
	}

	for _, name := range componentNames(s.Properties) {
		k.properties = append(k.properties, property{name, c.compile(s.Properties[name].Value, nil)})
	}
	k.required = s.Required
	if len(k.properties) <= 64 {
		for _, name := range s.Required {
			i := slices.IndexFunc(k.properties, func(p property) bool { return p.name == name })
			if i < 0 {
				k.requiredMask = 0
				break
			}
			k.requiredMask |= 1 << i
		}
	}
	if h := s.AdditionalProperties.Has; h != nil && !*h {
		k.noAdditional = true
	}
	if r := s.AdditionalProperties.Schema; r != nil {
		k.additional = c.compile(r.Value, nil)
	}
	k.maxProperties = s.MaxProps
	k.hasObjectChecks = k.properties != nil || len(k.required) > 0 || k.noAdditional || k.additional != nil || k.maxProperties != nil

	k.minItems, k.maxItems = s.MinItems, s.MaxItems
	if s.Items != nil {
		k.items = c.compile(s.Items.Value, nil)
	}
	return k
}

type property struct {
	name  string
	check *check
}

func (k *check) property(key []byte) (*check, int) {
	for i, p := range k.properties {
		if string(key) == p.name {
			return p.check, i
		}
	}
	return nil, -1
}

func componentNames(m openapi3.Schemas) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (k *check) validString(s []byte) bool {
	if k.minLength != 0 || k.maxLength != nil {
		// kin-openapi counts runes (its UTF-16 correction never applies to decoded text).
		n := uint64(utf8.RuneCount(s))
		if n < k.minLength || (k.maxLength != nil && n > *k.maxLength) {
			return false
		}
	}
	if k.pattern != nil && !k.pattern.Match(s) || k.prefix != "" && !bytes.HasPrefix(s, []byte(k.prefix)) {
		return false
	}
	switch {
	case k.dateTime:
		// The string lives only for this call; the check keeps nothing of it.
		if dateTime.Validate(dateTime{}, unsafe.String(unsafe.SliceData(s), len(s))) != nil {
			return false
		}
	case k.format != nil:
		if k.format.Validate(string(s)) != nil {
			return false
		}
	}
	return true
}

// validFloat checks a number against a number or integer schema.
func (k *check) validFloat(f float64) bool {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	if k.types&tNumber == 0 {
		if f != math.Trunc(f) {
			return false
		}
		if (k.intMin != 0 || k.intMax != 0) && (f < k.intMin || f > k.intMax) {
			return false
		}
	}
	if k.min != nil && (f < *k.min || (k.exclMin && f == *k.min)) {
		return false
	}
	if k.max != nil && (f > *k.max || (k.exclMax && f == *k.max)) {
		return false
	}
	return true
}

// requestCheck is the fast path for requests without a body (most GETs and closes): their
// parameters are checked with compiled checks, kin-openapi deciding otherwise. String parameters
// in the path and in headers are modelled, and string, integer and boolean parameters in the query
// (form style, one plain value each); an operation with any other kind of parameter, or a required
// body, always goes to kin-openapi.
type requestCheck struct {
	path, header, query []paramCheck
}

type paramCheck struct {
	name     string
	required bool
	check    *check
}

// compileRequest returns the request check of an operation, or nil when it is not modelled.
func compileRequest(item *openapi3.PathItem, op *openapi3.Operation) *requestCheck {
	rc := &requestCheck{}
	seen := map[string]bool{}
	for _, ps := range []openapi3.Parameters{op.Parameters, item.Parameters} { // the operation's win
		for _, ref := range ps {
			p := ref.Value
			if p == nil || p.Schema == nil || p.Schema.Value == nil || p.Content != nil {
				return nil
			}
			if seen[p.In+"\x00"+p.Name] {
				continue
			}
			seen[p.In+"\x00"+p.Name] = true
			k := compileSchema(p.Schema.Value)
			if k == nil || k.anything || len(k.anyOf) > 0 || len(k.allOf) > 0 {
				return nil
			}
			switch p.In {
			case openapi3.ParameterInPath, openapi3.ParameterInHeader:
				if k.types != tString || p.Style != "" && p.Style != openapi3.SerializationSimple {
					return nil
				}
				if p.In == openapi3.ParameterInPath {
					rc.path = append(rc.path, paramCheck{p.Name, true, k})
				} else {
					rc.header = append(rc.header, paramCheck{p.Name, p.Required, k})
				}
			case openapi3.ParameterInQuery:
				// kin-openapi reads one value of a form-style primitive (explode or not) and parses
				// it by the schema's type. An empty value allowed is not modelled.
				if p.Style != "" && p.Style != openapi3.SerializationForm || p.AllowEmptyValue {
					return nil
				}
				// (An enum of integers or booleans is not compiled at all.)
				if k.types != tString && k.types != tInteger && k.types != tBoolean {
					return nil
				}
				rc.query = append(rc.query, paramCheck{p.Name, p.Required, k})
			default:
				return nil
			}
		}
	}
	if rb := op.RequestBody; rb != nil && (rb.Value == nil || rb.Value.Required) {
		return nil
	}
	return rc
}

// accepts reports whether kin-openapi would accept the request; false means "ask it".
func (rc *requestCheck) accepts(r *http.Request, pathParams map[string]string, body []byte) bool {
	if len(body) > 0 {
		return false
	}
	for _, p := range rc.path {
		v, ok := pathParams[p.name]
		if !ok || v == "" || strings.ContainsRune(v, '%') || !p.check.validParam(v) {
			return false
		}
	}
	for _, p := range rc.header {
		vs, present := r.Header[http.CanonicalHeaderKey(p.name)]
		if len(vs) == 0 {
			if p.required || present { // present with no value: kin-openapi calls it empty
				return false
			}
			continue
		}
		// One plain value only: lists, escapes and empty values are kin-openapi's to decode.
		if v := vs[0]; len(vs) > 1 || v == "" || strings.ContainsAny(v, ",%") || !p.check.validParam(v) {
			return false
		}
	}
	return rc.acceptsQuery(r.URL.RawQuery)
}

// acceptsQuery checks the query string: each parameter documented, given once, with a plain
// value of its type (integers in decimal digits, booleans as true or false); the required ones
// present.
func (rc *requestCheck) acceptsQuery(raw string) bool {
	if raw == "" {
		for _, p := range rc.query {
			if p.required {
				return false
			}
		}
		return true
	}
	q, err := url.ParseQuery(raw) // as kin-openapi reads it, but refusing what it would drop
	if err != nil {
		return false
	}
	for _, p := range rc.query {
		if _, ok := q[p.name]; !ok && p.required {
			return false
		}
	}
	for name, vs := range q {
		i := slices.IndexFunc(rc.query, func(p paramCheck) bool { return p.name == name })
		if i < 0 || len(vs) != 1 || vs[0] == "" {
			return false
		}
		k, v := rc.query[i].check, vs[0]
		switch k.types {
		case tString:
			if strings.ContainsAny(v, ",%") || !k.validParam(v) {
				return false
			}
		case tInteger:
			// Digits only, few enough to be exact in a float64 (and within int32 for its format).
			digits := 15
			if k.intMax == math.MaxInt32 {
				digits = 9
			}
			if len(v) > digits || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
				return false
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !k.validFloat(float64(n)) {
				return false
			}
		case tBoolean:
			if v != "true" && v != "false" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// validParam checks a string parameter value against a string schema.
func (k *check) validParam(v string) bool {
	if !utf8.ValidString(v) {
		return false
	}
	if k.enum != nil && !slices.Contains(k.enum, v) {
		return false
	}
	return k.validString(unsafe.Slice(unsafe.StringData(v), len(v))) // read only
}
