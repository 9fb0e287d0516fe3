package inbound

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// HMACSHA256 is the HMAC-SHA256 of body keyed with secret.
func HMACSHA256(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// maxStrings bounds what Strings collects from one body.
const maxStrings = 1000

// Strings returns the string values of a JSON document, depth first, with the key each was found
// under ("" in arrays and at the top), at most 1000; nil when the body is not JSON. Providers read
// link ids from bodies whose shape is not documented with it.
func Strings(body []byte) []KeyValue {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil
	}
	var out []KeyValue
	var walk func(key string, v any)
	walk = func(key string, v any) {
		if len(out) >= maxStrings {
			return
		}
		switch x := v.(type) {
		case string:
			out = append(out, KeyValue{key, x})
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys) // a stable order, whatever the map's
			for _, k := range keys {
				walk(k, x[k])
			}
		}
	}
	walk("", doc)
	return out
}

// KeyValue is a string of a JSON document and the key it was found under.
type KeyValue struct{ Key, Value string }

// CheckSchema lists how a decoded document departs from a schema of a curated spec (nil when it
// conforms).
func CheckSchema(s *openapi3.Schema, v any) []string {
	if s == nil {
		return nil
	}
	err := s.VisitJSON(v, openapi3.MultiErrors())
	if err == nil {
		return nil
	}
	var out []string
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			out = append(out, describe(e))
		}
		return out
	}
	return []string{describe(err)}
}

func describe(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: %s", jsonPointer(se.JSONPointer()), se.Reason)
	}
	return err.Error()
}

func jsonPointer(p []string) string {
	s := ""
	for _, x := range p {
		s += "/" + x
	}
	if s == "" {
		return "/"
	}
	return s
}

// JSONDrift checks a JSON body against a schema: a body that is not JSON is drift too.
func JSONDrift(s *openapi3.Schema, body []byte) []string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"the body is not JSON"}
	}
	return CheckSchema(s, v)
}

// Schema returns a component schema of a curated spec (its gen package's GetSpec), or nil.
func Schema(spec func() (*openapi3.T, error), name string) *openapi3.Schema {
	doc, err := spec()
	if err != nil || doc.Components == nil {
		return nil
	}
	if ref := doc.Components.Schemas[name]; ref != nil {
		return ref.Value
	}
	return nil
}
