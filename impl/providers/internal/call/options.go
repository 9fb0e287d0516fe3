package call

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/paylinks/paylinks/impl/paylink"
)

// DecodeOptions decodes the JSON of the unified API's providerOptions.<provider> into the
// provider's options type T and checks it with validate (when given): what an adapter's
// paylink.OptionsDecoder returns. An unknown field is refused rather than ignored, so that a
// misspelt option is never silently lost; violations point below field (/providerOptions/<provider>)
// at the option they are about. Empty data is the zero T.
func DecodeOptions[T any](provider, field string, data json.RawMessage, validate ...func(T) error) (any, error) {
	var o T
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, optionsViolation[T](provider, field, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, paylink.Invalid(field, "must be one JSON object")
		}
	}
	for _, v := range validate {
		if err := v(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// HTTPURL reports whether s is an absolute http(s) URL, as redirect and webhook options must be.
func HTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// optionsViolation names the option a decoding error is about, where the decoder says.
func optionsViolation[T any](provider, field string, err error) *paylink.ValidationError {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return paylink.Invalid(field+"/"+strings.ReplaceAll(te.Field, ".", "/"), fmt.Sprintf("must be a JSON %s, not %s", jsonKind(te.Type), te.Value))
	case te != nil:
		return paylink.Invalid(field, "must be a JSON object of "+provider+" options")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return paylink.Invalid(field+"/"+name, fmt.Sprintf("unknown option (%s takes %s)", provider, strings.Join(optionNames[T](), ", ")))
	}
	return paylink.Invalid(field, "is not valid JSON: "+err.Error())
}

// jsonKind is how JSON calls the values of a Go type.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	default:
		return t.Kind().String()
	}
}

// optionNames are the JSON names of T's fields, sorted.
func optionNames[T any]() []string {
	t := reflect.TypeFor[T]()
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// OptionsOf reads CreateInput.Options of a provider whose options type is T: T, *T, or nil (no
// options). Anything else is a violation at field naming the type expected.
func OptionsOf[T any](provider, field string, v any) (T, error) {
	var zero T
	switch o := v.(type) {
	case nil:
		return zero, nil
	case T:
		return o, nil
	case *T:
		if o == nil {
			return zero, nil
		}
		return *o, nil
	default:
		return zero, paylink.Invalid(field, fmt.Sprintf("got options of type %T; %s takes %T", v, provider, zero))
	}
}
