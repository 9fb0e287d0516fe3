package server

import (
	"strings"
	"testing"
)

// A provider that answers a close with a link that is still open has not closed it: the caller
// gets a 502 saying so, never a 200 with an active link.
func TestCloseAnsweredWithAnOpenLinkIsAProviderError(t *testing.T) {
	t.Parallel()
	// MijnKlantportaal answers every call, the DELETE included, with the same open link.
	up := newUpstream(t, answer(200, "application/json", mkpLink))
	ts := start(t, Config{APIKeys: []string{"key"}, Providers: map[string]ProviderConfig{
		"mijnklantportaal": {BaseURL: up.URL + "/v1", Credentials: map[string]string{"token": "tok"}},
	}})
	status, h, raw := ts.raw(t, "POST", "/v1/payment-links/"+unifiedID("mijnklantportaal", "plk_1")+"/close", "key", "", nil)
	if status != 502 {
		t.Fatalf("status %d, want 502: %s", status, raw)
	}
	p := problemOf(t, h, raw)
	detail, _ := p["detail"].(string)
	if p["code"] != "provider_error" || p["provider"] != "mijnklantportaal" || !strings.Contains(detail, "did not close the payment link") {
		t.Errorf("problem %v, want provider_error saying mijnklantportaal did not close the link", p)
	}
	var methods []string
	for _, r := range up.requests() {
		methods = append(methods, r.Method)
	}
	if strings.Join(methods, " ") != "DELETE GET" {
		t.Errorf("provider calls %v, want the close and one read back", methods)
	}
}
