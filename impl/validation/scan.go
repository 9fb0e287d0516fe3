package validation

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The fast path's single pass over an answer body: the JSON syntax, exactly as encoding/json
// (which the slow path decodes with) accepts it, and the compiled schema, checked together as the
// bytes are read. A check reads the value it is given and nothing else; strings are unescaped only
// when a check reads them (into one scratch buffer), numbers are read with strconv as
// encoding/json reads them, and nothing is allocated.
//
// Where the pass cannot be sure kin-openapi would agree, it says "not shown valid" and the body
// goes the slow way: invalid UTF-8 and \uD800-\uDFFF escapes (encoding/json replaces them with
// U+FFFD), nesting deeper than scanDepth.

// scanDepth bounds the nesting the pass follows (it recurses); deeper bodies go the slow way.
const scanDepth = 300

// scanner reads one body.
type scanner struct {
	b       []byte
	i       int
	depth   int
	scratch []byte // unescaped strings, reused
}

// accepts reports whether body is JSON that kin-openapi would find valid against the schema. False
// means "not shown valid": the caller asks kin-openapi.
func (k *check) accepts(body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	s := scanner{b: body}
	if !s.value(k) {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

// space skips JSON whitespace.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads one value and checks it against k; a nil k is any value at all (null included), as
// an array's items or an object's properties are when no schema describes them.
func (s *scanner) value(k *check) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	c := s.b[s.i]
	if c == 'n' {
		return s.literal("null") && (k == nil || k.nullable)
	}
	if k == nil || k.anything {
		return s.plain()
	}
	if len(k.anyOf) > 0 || len(k.allOf) > 0 {
		// Each applies to the same value: read it once per schema, from the same place.
		start, depth := s.i, s.depth
		if len(k.anyOf) > 0 {
			ok := false
			for _, a := range k.anyOf {
				s.i, s.depth = start, depth
				if s.value(a) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		for _, a := range k.allOf {
			s.i, s.depth = start, depth
			if !s.value(a) {
				return false
			}
		}
		s.i, s.depth = start, depth
	}
	switch {
	case c == '"':
		str, ok := s.str(true)
		if !ok || k.types&tString == 0 {
			return false
		}
		if k.enum != nil && !inEnum(k.enum, str) {
			return false
		}
		return k.validString(str)
	case k.enum != nil:
		return false // string enums only
	case c == '{':
		return k.types&tObject != 0 && s.object(k)
	case c == '[':
		return k.types&tArray != 0 && s.array(k)
	case c == 't':
		return k.types&tBoolean != 0 && s.literal("true")
	case c == 'f':
		return k.types&tBoolean != 0 && s.literal("false")
	default:
		f, ok := s.number()
		return ok && k.types&(tNumber|tInteger) != 0 && k.validFloat(f)
	}
}

func inEnum(enum []string, s []byte) bool {
	for _, e := range enum {
		if string(s) == e {
			return true
		}
	}
	return false
}

// plain reads a value no schema constrains: only its syntax can fail, and a number beyond
// float64's range, which encoding/json refuses.
func (s *scanner) plain() bool {
	switch s.b[s.i] {
	case '"':
		_, ok := s.str(false)
		return ok
	case '{':
		return s.object(nil)
	case '[':
		return s.array(nil)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, ok := s.number()
		return ok
	}
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// object reads an object (at its '{') and checks it against k (nil: no constraint).
func (s *scanner) object(k *check) bool {
	if s.depth++; s.depth > scanDepth {
		return false
	}
	s.i++
	checks := k != nil && k.hasObjectChecks
	var seen, n uint64
	var found []bool // required names, when the mask cannot hold them
	if checks && k.requiredMask == 0 && len(k.required) > 0 {
		found = make([]bool, len(k.required))
	}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return false
			}
			key, ok := s.str(checks)
			if !ok {
				return false
			}
			s.space()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			n++
			var next *check
			if checks {
				if found != nil {
					for j, name := range k.required {
						if string(key) == name {
							found[j] = true
						}
					}
				}
				if p, i := k.property(key); p != nil {
					if i < 64 {
						seen |= 1 << i
					}
					next = p
				} else if k.noAdditional {
					return false
				} else {
					next = k.additional // nil: anything
				}
			}
			// Duplicate keys are each checked: stricter than kin-openapi (the last one wins
			// there), never looser.
			if !s.value(next) {
				return false
			}
			if more, ok := s.after('}'); !ok {
				return false
			} else if !more {
				break
			}
		}
	}
	s.depth--
	if !checks {
		return true
	}
	if k.maxProperties != nil && n > *k.maxProperties {
		return false // duplicate keys count twice here: stricter than kin-openapi, never looser
	}
	for _, f := range found {
		if !f {
			return false
		}
	}
	return seen&k.requiredMask == k.requiredMask
}

// array reads an array (at its '[') and checks it against k (nil: no constraint).
func (s *scanner) array(k *check) bool {
	if s.depth++; s.depth > scanDepth {
		return false
	}
	s.i++
	var items *check
	if k != nil {
		items = k.items
	}
	var n uint64
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
	} else {
		for {
			if !s.value(items) {
				return false
			}
			n++
			if more, ok := s.after(']'); !ok {
				return false
			} else if !more {
				break
			}
		}
	}
	s.depth--
	return k == nil || n >= k.minItems && (k.maxItems == nil || n <= *k.maxItems)
}

// ones and highs are the byte-wise constants of the eight-at-a-time test: a word has a zero byte
// if (w-ones)&^w&highs is not zero, and a byte below n if (w-ones*n)&^w&highs is not (n ≤ 0x80).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// after reads what follows an element of an array or object: a comma (more to come) or the
// closer (the end); anything else is not JSON.
func (s *scanner) after(closer byte) (more, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true, true
	case closer:
		s.i++
		return false, true
	}
	return false, false
}

// stringByte marks the bytes that end the plain run of a string: the quote, the backslash and
// the control characters (which JSON does not allow raw).
var stringByte = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// str reads a string (at its '"'). With decode, it returns its text, unescaped (valid until the
// next call); otherwise only its syntax is checked.
func (s *scanner) str(decode bool) ([]byte, bool) {
	s.i++
	start := s.i
	b := s.b
	i := s.i
	// Eight bytes at a time while none of them ends the plain run (the usual case: ids, URLs,
	// dates), then byte by byte.
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, e := w^(ones*'"'), w^(ones*'\\')
		if ((q-ones)&^q|(e-ones)&^e|(w-ones*0x20)&^w)&highs != 0 {
			break
		}
	}
	for i < len(b) && !stringByte[b[i]] {
		i++
	}
	if i < len(b) && b[i] == '"' {
		s.i = i + 1
		return b[start:i], true // no escape: the body's own bytes
	}
	out := s.scratch[:0]
	if decode {
		out = append(out, b[start:i]...)
	}
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			s.scratch = out
			return out, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			if decode {
				out = append(out, c)
			}
			i++
			continue
		}
		if i+1 >= len(b) {
			return nil, false
		}
		var r byte
		switch b[i+1] {
		case '"', '\\', '/':
			r = b[i+1]
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			if i+6 > len(b) {
				return nil, false
			}
			v, ok := hex4(b[i+2 : i+6])
			if !ok {
				return nil, false
			}
			if v >= 0xD800 && v <= 0xDFFF {
				return nil, false // a surrogate: encoding/json may rewrite it; the slow path decides
			}
			if decode {
				out = utf8.AppendRune(out, v)
			}
			i += 6
			continue
		default:
			return nil, false
		}
		if decode {
			out = append(out, r)
		}
		i += 2
	}
	return nil, false
}

// hex4 reads the four hexadecimal digits of a \u escape.
func hex4(h []byte) (rune, bool) {
	var v rune
	for _, c := range h {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// number reads a number in JSON's grammar and its value as encoding/json reads it: beyond
// float64's range is an error.
func (s *scanner) number() (float64, bool) {
	b, i := s.b, s.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	s.i = i
	f, err := strconv.ParseFloat(unsafe.String(&b[start], i-start), 64)
	return f, err == nil
}
