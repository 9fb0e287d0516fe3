package hub2

import (
	"context"
	"net/http"

	api "github.com/paylinks/paylinks/gen/hub2"
)

// CreateWebhook is not simulated yet: the sandbox answers 501 in Hub2's error body. (The curated
// spec documents the operation since paylinks registers webhooks at the real Hub2; a sandbox that
// sends webhooks is a later step.)
func (s *Sandbox) CreateWebhook(ctx context.Context, req api.CreateWebhookRequestObject) (api.CreateWebhookResponseObject, error) {
	return api.CreateWebhookdefaultJSONResponse{StatusCode: http.StatusNotImplemented,
		Body: s.errorBody(http.StatusNotImplemented, "Not Implemented", "the Hub2 sandbox does not simulate webhooks yet")}, nil
}
