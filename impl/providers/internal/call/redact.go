package call

import (
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
)

// secretTag is the value of the struct tag that marks a config field as a credential:
// `paylinks:"secret"`.
const secretTag = "secret"

// Describe writes a provider config (a struct) for people without its credentials: every
// exported field by name, those tagged `paylinks:"secret"` only as set or not, and other
// non-string fields by type (an HTTP client), so that a config printed with %v, %+v or %#v, or
// logged, never shows a secret. A Config's String and GoString return it.
func Describe(cfg any) string {
	v := reflect.ValueOf(cfg)
	var b strings.Builder
	b.WriteString(v.Type().String() + "{")
	for i, f := range fields(v) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name + ": " + f.value)
	}
	b.WriteString("}")
	return b.String()
}

// LogValue is Describe for structured logs: a group of the config's fields, credentials
// redacted. A Config's LogValue returns it.
func LogValue(cfg any) slog.Value {
	fs := fields(reflect.ValueOf(cfg))
	attrs := make([]slog.Attr, len(fs))
	for i, f := range fs {
		attrs[i] = slog.String(f.name, f.value)
	}
	return slog.GroupValue(attrs...)
}

type field struct{ name, value string }

func fields(v reflect.Value) []field {
	var out []field
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		value := ""
		switch {
		case sf.Tag.Get("paylinks") == secretTag:
			value = Redacted(fv.String())
		case fv.Kind() == reflect.String:
			value = fmt.Sprintf("%q", fv.String())
		case fv.Kind() == reflect.Interface && fv.IsNil():
			value = "<nil>"
		case fv.Kind() == reflect.Interface:
			value = fv.Elem().Type().String()
		default:
			value = fmt.Sprint(fv.Interface())
		}
		out = append(out, field{sf.Name, value})
	}
	return out
}

// Redacted says whether a secret is set, and nothing of it.
func Redacted(secret string) string {
	if secret == "" {
		return "(none)"
	}
	return "(redacted)"
}

// Auth sets a provider's credentials on a request. It is a function, not the credentials, so that
// an adapter printed with %+v shows nothing of them.
type Auth func(*http.Request)

// Headers returns the Auth that sets each header to its value.
func Headers(headers map[string]string) Auth {
	return func(r *http.Request) {
		for k, v := range headers {
			r.Header.Set(k, v)
		}
	}
}
