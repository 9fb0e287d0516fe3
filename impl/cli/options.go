package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// keyValues is a repeatable key=value flag.
type keyValues map[string]string

// Type names the value in --help.
func (kv keyValues) Type() string { return "key=value" }

func (kv keyValues) String() string {
	parts := make([]string, 0, len(kv))
	for k, v := range kv {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// Set adds one key=value; its error is worded to follow the flag and its value.
func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("give key=value")
	}
	if _, dup := kv[k]; dup {
		return fmt.Errorf("key %s given twice", k)
	}
	kv[k] = v
	return nil
}

// parseExpiry reads an absolute RFC 3339 time or a duration from now ("24h", "90m", "7d").
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := parseDays(s)
	if err != nil {
		return time.Time{}, errors.New("give an RFC 3339 time (2030-05-14T21:00:00Z) or a duration from now (90m, 24h, 7d)")
	}
	if d <= 0 {
		return time.Time{}, errors.New("give a duration in the future, such as 24h")
	}
	return now.Add(d).UTC().Truncate(time.Second), nil
}

// parseDays reads a Go duration, or a whole number of days ("7d").
func parseDays(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		if n, nerr := strconv.Atoi(days); nerr == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return d, err
}

// plural writes "1 delivery", "3 deliveries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// providerOptions builds providerOptions.<provider> from key=value flags. The unified spec says
// which options each provider takes and of which type, so a provider's new option works here as
// soon as the spec has it.
func providerOptions(provider string, kv keyValues) (*api.ProviderOptions, error) {
	doc, err := api.GetSpec()
	if err != nil {
		return nil, err
	}
	ref := doc.Components.Schemas["ProviderOptions"]
	if ref == nil || ref.Value == nil {
		return nil, errors.New("the unified spec has no ProviderOptions schema")
	}
	schema := ref.Value.Properties[provider]
	if schema == nil || schema.Value == nil {
		known := slices.Sorted(maps.Keys(ref.Value.Properties))
		return nil, fmt.Errorf("--option: %s takes no provider options (providers with options: %s)", provider, strings.Join(known, ", "))
	}
	names := slices.Sorted(maps.Keys(schema.Value.Properties))
	opts := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		prop := schema.Value.Properties[k]
		if prop == nil || prop.Value == nil {
			return nil, fmt.Errorf("--option %s: %s has no option %q; it has %s", k, provider, k, strings.Join(names, ", "))
		}
		v, err := typed(prop.Value, kv[k])
		if err != nil {
			return nil, fmt.Errorf("--option %s=%s: %v", k, kv[k], err)
		}
		opts[k] = v
	}
	data, err := json.Marshal(map[string]any{provider: opts})
	if err != nil {
		return nil, err
	}
	var po api.ProviderOptions
	if err := json.Unmarshal(data, &po); err != nil {
		return nil, fmt.Errorf("--option: %v", err)
	}
	return &po, nil
}

// typed converts a flag's text to the type the schema gives the option.
func typed(s *openapi3.Schema, v string) (any, error) {
	switch {
	case s.Type.Is(openapi3.TypeInteger):
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errors.New("give a whole number")
		}
		return n, nil
	case s.Type.Is(openapi3.TypeNumber):
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return nil, errors.New("give a number")
		}
		return json.Number(v), nil
	case s.Type.Is(openapi3.TypeBoolean):
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errors.New("give true or false")
		}
		return b, nil
	case s.Type.Is(openapi3.TypeObject):
		var obj map[string]any
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return nil, fmt.Errorf("give a JSON object such as %s", objectExample(s))
		}
		return obj, nil
	case s.Type.Is(openapi3.TypeArray):
		items := []any{}
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			if s.Items == nil || s.Items.Value == nil {
				items = append(items, part)
				continue
			}
			item, err := typed(s.Items.Value, part)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", part, err)
			}
			items = append(items, item)
		}
		return items, nil
	default:
		return v, nil
	}
}

// objectExample is an example of an object option, from its schema's required properties
// ({"currency":"EUR","value":"5.00"} for an amount).
func objectExample(s *openapi3.Schema) string {
	examples := map[string]any{}
	for _, name := range s.Required {
		if p := s.Properties[name]; p != nil && p.Value != nil && p.Value.Example != nil {
			examples[name] = p.Value.Example
		}
	}
	b, err := json.Marshal(examples)
	if err != nil || len(examples) == 0 {
		return "{}"
	}
	return string(b)
}
