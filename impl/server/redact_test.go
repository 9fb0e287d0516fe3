package server

import (
	"encoding/json"
	"testing"
)

// A held secret is found however a provider's JSON encoder escaped it, in values and keys, and only
// as a whole string: a string that merely contains it, or a secret it contains, is left alone, as
// is everything around it.
func TestRedactJSONStrings(t *testing.T) {
	t.Parallel()
	held := map[string]bool{"ab/c<d>&e": true, "plainSecret123": true, `q"uote\d`: true}
	for _, tt := range []struct{ in, want string }{
		{`{"secret":"plainSecret123","id":"x"}`, `{"secret":"[redacted]","id":"x"}`},
		{`{"secret":"ab\/c<d>&e"}`, `{"secret":"[redacted]"}`},
		{`{"secret":"ab/c\u003Cd\u003E\u0026e"}`, `{"secret":"[redacted]"}`},
		{`{"secret":"ab/c\u003cd\u003e\u0026e"}`, `{"secret":"[redacted]"}`},
		{`{"secret":"\u0070lainSecret123"}`, `{"secret":"[redacted]"}`},
		{`{"secret":"q\"uote\\d"}`, `{"secret":"[redacted]"}`},
		{`{"plainSecret123":1}`, `{"[redacted]":1}`},
		{`[{"s":"plainSecret123"},{"s":"plainSecret123"}]`, `[{"s":"[redacted]"},{"s":"[redacted]"}]`},
		{`{"secret":"plainSecret1234","note":"plainSecret123 is held","x":"\"plainSecret123\""}`, ``},
		{`{"secret":"plainSecret12"}`, ``},
		{`{"a":"\\","b":"plainSecret123"}`, `{"a":"\\","b":"[redacted]"}`},
		{`{"cut":"plainSecret123`, ``},
		{``, ``},
	} {
		got, changed := redactJSONStrings([]byte(tt.in), held)
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if string(got) != want || changed != (tt.want != "") {
			t.Errorf("%s: %s (changed %v), want %s", tt.in, got, changed, want)
		}
		if changed && !json.Valid(got) {
			t.Errorf("%s: not JSON after redaction: %s", tt.in, got)
		}
	}
}
