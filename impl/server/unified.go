package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
)

// unified implements the generated strict server interface of the unified API on the domain Client.
// Errors it returns are domain errors; the error handler turns them into problems.
type unified struct {
	client  *paylink.Client
	modes   map[string]api.ProviderInfoMode
	events  *events.Service
	inbound *inbound.Service
	log     *slog.Logger
	// noProvider explains a provider this server does not serve (unknown, or disabled).
	noProvider func(name string) error
	// live is true in a live deployment: its sandboxed providers get a note saying so.
	live bool
	// linkWebhooks set the webhook URL of links created on a sandbox whose links name the URL it
	// calls (Mollie), by provider: paylinks' own inbound URL, unless the caller gave one.
	linkWebhooks map[string]func(options any) any
}

var _ api.StrictServerInterface = (*unified)(nil)

func (u *unified) CreatePaymentLink(ctx context.Context, req api.CreatePaymentLinkRequestObject) (api.CreatePaymentLinkResponseObject, error) {
	in, err := u.createInput(req.Body)
	if err != nil {
		return nil, err
	}
	in.IdempotencyKey = providerIdempotencyKey(ctx, deref(req.Params.IdempotencyKey))
	if set := u.linkWebhooks[in.Provider]; set != nil {
		in.Options = set(in.Options)
	}
	l, err := u.client.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	u.record(ctx, l)
	return api.CreatePaymentLink201JSONResponse{Body: u.toAPI(l, false)}, nil
}

// createInput maps the request body to the domain, turning amounts into exact minor units and the
// chosen provider's options into its adapter's options type.
func (u *unified) createInput(b *api.CreatePaymentLinkRequest) (paylink.CreateInput, error) {
	in := paylink.CreateInput{
		Provider:    b.Provider,
		Description: deref(b.Description),
		Reference:   deref(b.Reference),
		Reusable:    deref(b.Reusable),
	}
	p, ok := u.client.Provider(b.Provider)
	if !ok {
		return in, paylink.Invalid("/provider", u.noProvider(b.Provider).Error())
	}
	if b.Amount != nil {
		a, err := paylink.ParseAmount(b.Amount.Currency, b.Amount.Value)
		if err != nil {
			return in, paylink.Invalid("/amount/value", err.Error())
		}
		in.Amount = &a
	}
	if b.ExpiresAt != nil {
		in.ExpiresAt = b.ExpiresAt.UTC()
	}
	if b.Metadata != nil {
		in.Metadata = *b.Metadata
	}
	if b.ProviderOptions != nil {
		raw, _ := json.Marshal(b.ProviderOptions)
		var byProvider map[string]json.RawMessage
		_ = json.Unmarshal(raw, &byProvider)
		for name, opts := range byProvider {
			if name != b.Provider {
				return in, paylink.Invalid("/providerOptions/"+name, fmt.Sprintf("options for %s, but provider is %s", name, b.Provider))
			}
			dec, ok := p.(paylink.OptionsDecoder)
			if !ok {
				return in, paylink.Unsupported(name, "/providerOptions/"+name, "this provider takes no options")
			}
			o, err := dec.DecodeOptions(opts)
			if err != nil {
				return in, err
			}
			in.Options = o
		}
	}
	return in, nil
}

func (u *unified) ListPaymentLinks(ctx context.Context, req api.ListPaymentLinksRequestObject) (api.ListPaymentLinksResponseObject, error) {
	if name := deref(req.Params.Provider); name != "" {
		if _, ok := u.client.Provider(name); !ok {
			return nil, paylink.Invalid("query.provider", u.noProvider(name).Error())
		}
	}
	q := paylink.ListQuery{
		Provider: deref(req.Params.Provider),
		Limit:    deref(req.Params.Limit),
		Cursor:   deref(req.Params.Cursor),
	}
	if req.Params.Status != nil {
		q.Status = paylink.Status(*req.Params.Status)
	}
	page, err := u.client.List(ctx, q)
	if err != nil {
		return nil, err
	}
	raw := expandRaw(req.Params.Expand)
	out := api.ListPaymentLinks200JSONResponse{Data: make([]api.PaymentLink, len(page.Links))}
	for i, l := range page.Links {
		out.Data[i] = u.toAPI(l, raw)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return out, nil
}

func (u *unified) GetPaymentLink(ctx context.Context, req api.GetPaymentLinkRequestObject) (api.GetPaymentLinkResponseObject, error) {
	l, err := u.client.Get(ctx, paylink.ID(req.Id))
	if err != nil {
		return nil, err
	}
	return api.GetPaymentLink200JSONResponse(u.toAPI(l, expandRaw(req.Params.Expand))), nil
}

func (u *unified) ClosePaymentLink(ctx context.Context, req api.ClosePaymentLinkRequestObject) (api.ClosePaymentLinkResponseObject, error) {
	l, err := u.client.Close(ctx, paylink.ID(req.Id), paylink.CloseInput{IdempotencyKey: providerIdempotencyKey(ctx, deref(req.Params.IdempotencyKey))})
	if err != nil {
		return nil, err
	}
	u.record(ctx, l)
	return api.ClosePaymentLink200JSONResponse{Body: u.toAPI(l, false)}, nil
}

func (u *unified) ListProviders(context.Context, api.ListProvidersRequestObject) (api.ListProvidersResponseObject, error) {
	out := api.ListProviders200JSONResponse{Data: []api.ProviderInfo{}}
	for _, p := range u.client.Providers() {
		c := p.Capabilities()
		info := api.ProviderInfo{
			Name: p.Name(),
			Mode: u.modes[p.Name()],
			Capabilities: api.Capabilities{
				Operations:        []api.CapabilitiesOperations{},
				Amounts:           c.Amounts,
				ReusableLinks:     c.ReusableLinks,
				OpenAmount:        c.OpenAmount,
				Currencies:        append([]string{}, c.Currencies...),
				NativeIdempotency: c.NativeIdempotency,
				Notes:             append([]string{}, c.Notes...),
			},
		}
		if u.live && info.Mode == api.ProviderInfoModeSandbox {
			info.Capabilities.Notes = append([]string{sandboxNote}, info.Capabilities.Notes...)
		}
		for _, op := range c.Operations {
			info.Capabilities.Operations = append(info.Capabilities.Operations, api.CapabilitiesOperations(op))
		}
		out.Data = append(out.Data, info)
	}
	return out, nil
}

// sandboxNote is the first note of a provider that runs on its sandbox in a live deployment.
const sandboxNote = "Runs on paylinks' embedded sandbox, not the real provider: no real money moves, and its links are marked sandbox: true."

// toAPI maps a domain link to the unified API's shape, marking sandbox links.
func (u *unified) toAPI(l paylink.Link, raw bool) api.PaymentLink { return markedLink(l, raw, u.modes) }

// markedLink is toAPI with links of a provider in sandbox mode marked sandbox: true.
func markedLink(l paylink.Link, raw bool, modes map[string]api.ProviderInfoMode) api.PaymentLink {
	out := toAPI(l, raw)
	if modes[l.Provider] == api.ProviderInfoModeSandbox {
		out.Sandbox = ptr(true)
	}
	return out
}

// toAPI maps a domain link to the unified API's shape; the provider's raw object only on request.
func toAPI(l paylink.Link, raw bool) api.PaymentLink {
	out := api.PaymentLink{
		Id:             string(l.ID),
		Provider:       l.Provider,
		ProviderLinkId: l.ProviderLinkID,
		Status:         api.PaymentLinkStatus(l.Status),
		ProviderStatus: l.ProviderStatus,
		Reusable:       l.Reusable,
		CreatedAt:      l.CreatedAt.UTC(),
		Description:    nonEmpty(l.Description),
		Reference:      nonEmpty(l.Reference),
		ExpiresAt:      nonZero(l.ExpiresAt),
		UpdatedAt:      nonZero(l.UpdatedAt),
		CompletedAt:    nonZero(l.CompletedAt),
		Url:            nonEmpty(l.URL),
	}
	if !l.Status.Valid() {
		out.Status = api.PaymentLinkStatusUnknown
	}
	if l.Amount != nil {
		out.Amount = &api.Amount{Currency: l.Amount.Currency, Value: l.Amount.Value(), Minor: l.Amount.Minor}
	}
	if len(l.Metadata) > 0 {
		m := api.Metadata(l.Metadata)
		out.Metadata = &m
	}
	if raw && len(l.Raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(l.Raw))
		dec.UseNumber() // keep the provider's numbers exactly as sent
		var m map[string]any
		if dec.Decode(&m) == nil {
			out.Raw = &m
		}
	}
	return out
}

func expandRaw(e *api.Expand) bool { return e != nil && slices.Contains(*e, "raw") }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
