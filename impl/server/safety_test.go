package server

import (
	"testing"
)

// TestMediaTypesAreCaseInsensitive sends JSON bodies labelled with upper- and mixed-case media
// types: RFC 9110 §8.3.1 makes them the same type as application/json.
func TestMediaTypesAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	ts := start(t, Config{})
	for _, tt := range []struct{ path, body, contentType string }{
		{"/v1/payment-links", `{"provider":"mijnklantportaal","amount":{"currency":"EUR","value":"12.95"},"description":"Upper"}`, "APPLICATION/JSON"},
		{"/v1/payment-links", `{"provider":"mijnklantportaal","amount":{"currency":"EUR","value":"12.95"},"description":"Mixed"}`, "Application/Json; Charset=UTF-8"},
		{"/providers/mijnklantportaal/payment-links", `{"description":"Passthrough","amount":"12.95"}`, "APPLICATION/JSON"},
	} {
		status, h, body := ts.raw(t, "POST", tt.path, DemoAPIKey, tt.body, map[string]string{"Content-Type": tt.contentType})
		if status != 201 {
			t.Errorf("POST %s as %q: %d %s, want 201", tt.path, tt.contentType, status, body)
			problemOf(t, h, body)
		}
	}
}
