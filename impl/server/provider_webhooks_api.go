package server

import (
	"context"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

// ListProviderWebhooks implements GET /v1/provider-webhooks.
func (u *unified) ListProviderWebhooks(ctx context.Context, _ api.ListProviderWebhooksRequestObject) (api.ListProviderWebhooksResponseObject, error) {
	return nil, errNotYet
}

// RegisterProviderWebhooks implements POST /v1/provider-webhooks/register.
func (u *unified) RegisterProviderWebhooks(ctx context.Context, req api.RegisterProviderWebhooksRequestObject) (api.RegisterProviderWebhooksResponseObject, error) {
	return nil, errNotYet
}
