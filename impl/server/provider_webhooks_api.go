package server

import (
	"context"
	"errors"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
)

// The unified API's provider-webhooks operations, on impl/inbound. No answer carries a secret.

// ListProviderWebhooks implements GET /v1/provider-webhooks.
func (u *unified) ListProviderWebhooks(ctx context.Context, _ api.ListProviderWebhooksRequestObject) (api.ListProviderWebhooksResponseObject, error) {
	st, err := u.inbound.List(ctx)
	if err != nil {
		return nil, err
	}
	return api.ListProviderWebhooks200JSONResponse(providerWebhooksToAPI(st)), nil
}

// RegisterProviderWebhooks implements POST /v1/provider-webhooks/register.
func (u *unified) RegisterProviderWebhooks(ctx context.Context, req api.RegisterProviderWebhooksRequestObject) (api.RegisterProviderWebhooksResponseObject, error) {
	var names []string
	if req.Body != nil && req.Body.Providers != nil {
		names = *req.Body.Providers
	}
	st, err := u.inbound.Register(ctx, names)
	switch {
	case errors.Is(err, inbound.ErrPublicURL):
		return nil, paylink.Invalid("PAYLINKS_PUBLIC_URL", err.Error())
	case errors.Is(err, inbound.ErrUnknownProvider):
		return nil, paylink.Invalid("/providers", err.Error())
	case err != nil:
		return nil, err
	}
	return api.RegisterProviderWebhooks200JSONResponse(providerWebhooksToAPI(st)), nil
}

func providerWebhooksToAPI(st []inbound.Status) api.ProviderWebhooksList {
	out := api.ProviderWebhooksList{Data: make([]api.ProviderWebhooks, 0, len(st))}
	for _, s := range st {
		p := api.ProviderWebhooks{Provider: s.Provider, Receives: s.Receives, Registration: api.ProviderWebhooksRegistration(s.Registration),
			SecretSource: api.ProviderWebhooksSecretSource(s.SecretSource), Subscriptions: []api.ProviderWebhookSubscription{}, Note: nonEmpty(s.Note)}
		if len(s.InboundURLs) > 0 {
			urls := s.InboundURLs
			p.InboundUrls = &urls
		}
		for _, sub := range s.Subs {
			as := api.ProviderWebhookSubscription{Url: sub.URL, Events: sub.Events, Id: nonEmpty(sub.ID)}
			if as.Events == nil {
				as.Events = []string{}
			}
			if !sub.CreatedAt.IsZero() {
				at := sub.CreatedAt.UTC()
				as.CreatedAt = &at
			}
			if sub.Outcome != "" {
				o := api.ProviderWebhookSubscriptionOutcome(sub.Outcome)
				as.Outcome = &o
			}
			p.Subscriptions = append(p.Subscriptions, as)
		}
		out.Data = append(out.Data, p)
	}
	return out
}
