package telemetry

import (
	"net/url"
	"strings"
)

// secretWords in a query parameter's name mark its value as a secret (access_token, api_key,
// X-Amz-Signature, password, session_id…): span attributes carry "REDACTED" in its place.
var secretWords = []string{"token", "key", "secret", "pass", "pwd", "auth", "credential", "sig", "session", "jwt", "bearer"}

// redacted replaces a secret value in a span attribute.
const redacted = "REDACTED"

// RedactQuery returns the raw query with the value of every parameter whose name suggests a
// secret replaced by REDACTED; the rest is kept as written (paging and filters help reading a
// trace).
func RedactQuery(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		if name, _, ok := strings.Cut(p, "="); ok && secretName(name) {
			parts[i], changed = name+"="+redacted, true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// secretName reports whether a query parameter's name suggests a secret.
func secretName(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
