package mijnklantportaal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The webhook-record operations are in the curated spec but not simulated yet: each answers 501
// with the provider's error body.
func TestWebhookRecordsNotSimulated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodPost, "/webhooks", `{"url":"https://paylinks.example.com/webhooks/mijnklantportaal/payment-link-paid","type":"payment-link-paid"}`},
		{http.MethodGet, "/webhooks", ""},
		{http.MethodGet, "/webhooks/wbh_abc12345def678", ""},
	} {
		req, _ := http.NewRequest(tt.method, e.srv.URL+mount+tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		_ = bearer(token)(context.Background(), req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var body struct{ Message string }
		if res.StatusCode != http.StatusNotImplemented || json.Unmarshal(b, &body) != nil || body.Message == "" {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, res.StatusCode, b)
		}
	}
}
