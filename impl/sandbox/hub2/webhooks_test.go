package hub2_test

import (
	"context"
	"net/http"
	"testing"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// The webhook registration is in the curated spec but not simulated yet: 501 in Hub2's error body.
func TestCreateWebhookNotSimulated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Credentials: []string{"sk_test"}})
	res, err := e.client.CreateWebhookWithResponse(context.Background(), api.CreateWebhookRequest{
		Url: "https://paylinks.example.com/webhooks/hub2", Events: []string{"payment.succeeded"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusNotImplemented || res.JSONDefault == nil || res.JSONDefault.Status != 501 || res.JSONDefault.RequestId == nil {
		t.Fatalf("POST /webhooks: %d %s", res.StatusCode(), res.Body)
	}
}
