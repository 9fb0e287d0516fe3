package call

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
)

// The values of the struct tag that marks a config field as a credential: `paylinks:"secret"`
// shows only whether it is set; `paylinks:"secret,prefix"` also its prefix up to the first "_",
// which says the kind of key and nothing of the secret (Mollie's "test_" and "live_").
const (
	secretTag       = "secret"
	secretPrefixTag = "secret,prefix"
)

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
		value := f.value
		if f.quote {
			value = fmt.Sprintf("%q", value)
		}
		b.WriteString(f.name + ": " + value)
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

// field is one field of a config as it may be shown; quote marks a string value, which Describe
// writes quoted (and a log handler as the string it is).
type field struct {
	name, value string
	quote       bool
}

func fields(v reflect.Value) []field {
	var out []field
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		value, quote := "", false
		switch tag := sf.Tag.Get("paylinks"); {
		case tag == secretTag:
			value = Redacted(fv.String())
		case tag == secretPrefixTag:
			value = Redacted(fv.String())
			if prefix, _, ok := strings.Cut(fv.String(), "_"); ok && len(prefix) <= 8 {
				value = "(redacted " + prefix + "_… key)"
			}
		case fv.Kind() == reflect.String:
			value, quote = fv.String(), true
		case fv.Kind() == reflect.Interface && fv.IsNil():
			value = "<nil>"
		case fv.Kind() == reflect.Interface:
			value = fv.Elem().Type().String()
		default:
			value = fmt.Sprint(fv.Interface())
		}
		out = append(out, field{sf.Name, value, quote})
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
// an adapter printed with %+v shows nothing of them. An adapter embeds it, which gives it the
// Authorize method the server's passthrough calls.
type Auth func(*http.Request)

// Authorize sets the credentials on a request: the adapter's own calls (as the generated client's
// request editor) and the requests a passthrough forwards.
func (f Auth) Authorize(_ context.Context, r *http.Request) error {
	f(r)
	return nil
}

// Headers returns the Auth that sets each header to its value.
func Headers(headers map[string]string) Auth {
	return func(r *http.Request) {
		for k, v := range headers {
			r.Header.Set(k, v)
		}
	}
}
