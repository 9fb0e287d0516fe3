package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events"
)

// The unified API's events and webhook-endpoint operations, on the events engine. Its errors
// (not found, invalid input naming the field) are domain errors the problem mapping knows.

func (u *unified) ListEvents(ctx context.Context, req api.ListEventsRequestObject) (api.ListEventsResponseObject, error) {
	p := req.Params
	f := events.EventFilter{LinkID: deref(p.LinkId), Provider: deref(p.Provider), Cursor: deref(p.Cursor), Limit: deref(p.Limit)}
	if p.Type != nil {
		f.Type = string(*p.Type)
	}
	page, err := u.events.ListEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	out := api.ListEvents200JSONResponse{Data: make([]api.Event, 0, len(page.Items)), NextCursor: nonEmpty(page.NextCursor)}
	for _, e := range page.Items {
		ae, err := eventToAPI(e)
		if err != nil {
			return nil, err
		}
		out.Data = append(out.Data, ae)
	}
	return out, nil
}

// StreamEvents is served by Server.streamEvents, registered in its place: a stream cannot go
// through the strict handler, which writes an answer only once it is complete.
func (u *unified) StreamEvents(context.Context, api.StreamEventsRequestObject) (api.StreamEventsResponseObject, error) {
	return nil, errors.New("the event stream is served by its own handler")
}

func (u *unified) GetEvent(ctx context.Context, req api.GetEventRequestObject) (api.GetEventResponseObject, error) {
	e, err := u.events.GetEvent(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	ae, err := eventToAPI(e)
	if err != nil {
		return nil, err
	}
	return api.GetEvent200JSONResponse(ae), nil
}

func (u *unified) ListEventDeliveries(ctx context.Context, req api.ListEventDeliveriesRequestObject) (api.ListEventDeliveriesResponseObject, error) {
	ds, err := u.events.EventDeliveries(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return api.ListEventDeliveries200JSONResponse{Data: deliveriesToAPI(ds)}, nil
}

func (u *unified) RedeliverEvent(ctx context.Context, req api.RedeliverEventRequestObject) (api.RedeliverEventResponseObject, error) {
	var endpoint string
	if req.Body != nil {
		endpoint = deref(req.Body.EndpointId)
	}
	n, err := u.events.Redeliver(ctx, req.Id, endpoint)
	if err != nil {
		return nil, err
	}
	return api.RedeliverEvent202JSONResponse{Scheduled: n}, nil
}

func (u *unified) CreateWebhookEndpoint(ctx context.Context, req api.CreateWebhookEndpointRequestObject) (api.CreateWebhookEndpointResponseObject, error) {
	b := req.Body
	in := events.EndpointInput{URL: b.Url, Description: deref(b.Description), EventTypes: typeStrings(b.EventTypes), Providers: providerStrings(b.Providers)}
	e, secret, err := u.events.CreateEndpoint(ctx, in)
	if err != nil {
		return nil, err
	}
	return api.CreateWebhookEndpoint201JSONResponse(withSecret(e, secret)), nil
}

func (u *unified) ListWebhookEndpoints(ctx context.Context, req api.ListWebhookEndpointsRequestObject) (api.ListWebhookEndpointsResponseObject, error) {
	page, err := u.events.ListEndpoints(ctx, deref(req.Params.Cursor), deref(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListWebhookEndpoints200JSONResponse{Data: make([]api.WebhookEndpoint, 0, len(page.Items)), NextCursor: nonEmpty(page.NextCursor)}
	for _, e := range page.Items {
		out.Data = append(out.Data, endpointToAPI(e))
	}
	return out, nil
}

func (u *unified) GetWebhookEndpoint(ctx context.Context, req api.GetWebhookEndpointRequestObject) (api.GetWebhookEndpointResponseObject, error) {
	e, err := u.events.GetEndpoint(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetWebhookEndpoint200JSONResponse(endpointToAPI(e)), nil
}

func (u *unified) UpdateWebhookEndpoint(ctx context.Context, req api.UpdateWebhookEndpointRequestObject) (api.UpdateWebhookEndpointResponseObject, error) {
	b := req.Body
	p := events.EndpointPatch{URL: b.Url, Description: b.Description, Disabled: b.Disabled}
	if b.EventTypes != nil {
		ts := typeStrings(b.EventTypes)
		p.EventTypes = &ts
	}
	if b.Providers != nil {
		ps := providerStrings(b.Providers)
		p.Providers = &ps
	}
	e, err := u.events.UpdateEndpoint(ctx, req.Id, p)
	if err != nil {
		return nil, err
	}
	return api.UpdateWebhookEndpoint200JSONResponse(endpointToAPI(e)), nil
}

func (u *unified) DeleteWebhookEndpoint(ctx context.Context, req api.DeleteWebhookEndpointRequestObject) (api.DeleteWebhookEndpointResponseObject, error) {
	if err := u.events.DeleteEndpoint(ctx, req.Id); err != nil {
		return nil, err
	}
	return api.DeleteWebhookEndpoint204Response{}, nil
}

func (u *unified) RotateWebhookEndpointSecret(ctx context.Context, req api.RotateWebhookEndpointSecretRequestObject) (api.RotateWebhookEndpointSecretResponseObject, error) {
	var overlap *time.Duration
	if req.Body != nil && req.Body.PreviousSecretExpiresIn != nil {
		d := time.Duration(*req.Body.PreviousSecretExpiresIn) * time.Second
		overlap = &d
	}
	e, secret, err := u.events.RotateSecret(ctx, req.Id, overlap)
	if err != nil {
		return nil, err
	}
	return api.RotateWebhookEndpointSecret200JSONResponse(withSecret(e, secret)), nil
}

func (u *unified) TestWebhookEndpoint(ctx context.Context, req api.TestWebhookEndpointRequestObject) (api.TestWebhookEndpointResponseObject, error) {
	e, err := u.events.TestEndpoint(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	ae, err := eventToAPI(e)
	if err != nil {
		return nil, err
	}
	return api.TestWebhookEndpoint202JSONResponse(ae), nil
}

func (u *unified) RecoverWebhookEndpoint(ctx context.Context, req api.RecoverWebhookEndpointRequestObject) (api.RecoverWebhookEndpointResponseObject, error) {
	var until time.Time
	if req.Body.Until != nil {
		until = *req.Body.Until
	}
	n, err := u.events.Recover(ctx, req.Id, req.Body.Since, until)
	if err != nil {
		return nil, err
	}
	return api.RecoverWebhookEndpoint202JSONResponse{Scheduled: n}, nil
}

func (u *unified) ListEndpointDeliveries(ctx context.Context, req api.ListEndpointDeliveriesRequestObject) (api.ListEndpointDeliveriesResponseObject, error) {
	p := req.Params
	f := events.DeliveryFilter{Cursor: deref(p.Cursor), Limit: deref(p.Limit)}
	if p.Status != nil {
		f.Status = string(*p.Status)
	}
	page, err := u.events.EndpointDeliveries(ctx, req.Id, f)
	if err != nil {
		return nil, err
	}
	return api.ListEndpointDeliveries200JSONResponse{Data: deliveriesToAPI(page.Items), NextCursor: nonEmpty(page.NextCursor)}, nil
}

// eventToAPI is an event in the unified API's shape: its payload, which is what receivers get.
func eventToAPI(e events.Event) (api.Event, error) {
	out := api.Event{Id: e.ID, Type: api.EventType(e.Type), Timestamp: e.Timestamp.UTC(), Data: api.EventData{
		EndpointId: nonEmpty(e.Data.EndpointID),
	}}
	if len(e.Data.Link) > 0 {
		var l api.PaymentLink
		if err := json.Unmarshal(e.Data.Link, &l); err != nil {
			return out, err
		}
		out.Data.Link = &l
	}
	if e.Data.PreviousStatus != nil {
		ps := api.EventDataPreviousStatus(*e.Data.PreviousStatus)
		out.Data.PreviousStatus = &ps
	}
	if e.Type != events.EndpointTest {
		src := api.EventDataSource(e.Data.Source)
		out.Data.Source = &src
		seq := e.Data.Sequence
		out.Data.Sequence = &seq
	}
	return out, nil
}

func endpointToAPI(e events.Endpoint) api.WebhookEndpoint {
	out := api.WebhookEndpoint{
		Id: e.ID, Url: e.URL, Description: nonEmpty(e.Description), Disabled: e.Disabled, DisabledReason: nonEmpty(e.DisabledReason),
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(), PreviousSecretExpiresAt: nonZero(e.PreviousSecretUntil),
		EventTypes: []api.EventType{}, Providers: []api.ProviderName{},
	}
	for _, t := range e.EventTypes {
		out.EventTypes = append(out.EventTypes, api.EventType(t))
	}
	for _, p := range e.Providers {
		out.Providers = append(out.Providers, api.ProviderName(p))
	}
	return out
}

func withSecret(e events.Endpoint, secret string) api.WebhookEndpointWithSecret {
	a := endpointToAPI(e)
	return api.WebhookEndpointWithSecret{
		Id: a.Id, Url: a.Url, Description: a.Description, Disabled: a.Disabled, DisabledReason: a.DisabledReason,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, PreviousSecretExpiresAt: a.PreviousSecretExpiresAt,
		EventTypes: a.EventTypes, Providers: a.Providers, Secret: secret,
	}
}

func deliveriesToAPI(ds []events.Delivery) []api.Delivery {
	out := make([]api.Delivery, 0, len(ds))
	for _, d := range ds {
		ad := api.Delivery{Id: d.ID, EventId: d.EventID, EndpointId: d.EndpointID, Status: api.DeliveryStatus(d.Status),
			CreatedAt: d.CreatedAt.UTC(), Attempts: make([]api.DeliveryAttempt, 0, len(d.Attempts))}
		if d.Status == "pending" {
			ad.NextAttemptAt = nonZero(d.NextAttemptAt)
		}
		for _, a := range d.Attempts {
			aa := api.DeliveryAttempt{Attempt: a.Attempt, AttemptedAt: a.StartedAt.UTC(), DurationMs: a.Duration.Milliseconds(),
				Error: nonEmpty(a.Error), Response: nonEmpty(a.Response), Outcome: api.DeliveryAttemptOutcome(a.Outcome)}
			if a.HTTPStatus != 0 {
				st := a.HTTPStatus
				aa.HttpStatus = &st
			}
			ad.Attempts = append(ad.Attempts, aa)
		}
		out = append(out, ad)
	}
	return out
}

func typeStrings(ts *[]api.EventType) []string {
	if ts == nil {
		return nil
	}
	out := make([]string, len(*ts))
	for i, t := range *ts {
		out[i] = string(t)
	}
	return out
}

func providerStrings(ps *[]api.ProviderName) []string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(*ps))
	for i, p := range *ps {
		out[i] = string(p)
	}
	return out
}
