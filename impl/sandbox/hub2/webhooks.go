package hub2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// Webhook subscriptions and the calls made for them. A subscription is a URL and the event names
// it listens to, scoped like links to one merchant and environment (CURATION HUB2-36). Payment
// links have no events of their own at Hub2: a payment on a link's page is a payment intent and a
// payment, and those are what is called (HUB2-38, names from third-party code):
//
//	payment_intent.created    an attempt starts              data: the intent (pi_…, purchaseReference, status payment_required)
//	payment.succeeded         it succeeds                    data: the payment (pay_…, intentId, status successful)
//	payment_intent.succeeded  …                              data: the intent (status successful, payments)
//	payment.failed            it fails                       data: the payment (status failed, failure)
//
// each in the envelope {id: evt_…, type, createdAt, data}, POSTed as application/json with
// `Hub2-Signature: s1=<lowercase hex HMAC-SHA256 of the raw body with the secret>` and, for 24 hours
// of the sandbox clock after a rotation, `,s0=<the same with the previous secret>` (HUB2-37). A link
// that is created, expires or is closed calls nobody: the poller sees those.

// SignatureHeader is the header the calls carry their signature in.
const SignatureHeader = "Hub2-Signature"

// RotationWindow is how long the previous secret still signs after a rotation (s0).
const RotationWindow = 24 * time.Hour

// The event names the sandbox sends.
const (
	EventIntentCreated   = "payment_intent.created"
	EventPaymentSuccess  = "payment.succeeded"
	EventIntentSucceeded = "payment_intent.succeeded"
	EventPaymentFailed   = "payment.failed"
)

// secretLength is the length of a subscription's secret (hex, as in Hub2's example).
const secretLength = 32

// webhook is a subscription.
type webhook struct {
	owner       principal
	id          string
	url         string
	events      []string
	description *string
	secret      string
	// previous signs s0 until previousUntil (the sandbox clock), after a rotation.
	previous      string
	previousUntil time.Time
	createdAt     time.Time
	updatedAt     time.Time
}

// Webhooks returns the sender of the sandbox's webhook calls (switches, log).
func (s *Sandbox) Webhooks() *sandbox.Webhooks { return s.webhooks }

// Sign returns the Hub2-Signature of body: s1 with the secret and, when previous is set, s0 with it.
func Sign(body []byte, secret, previous string) string {
	h := "s1=" + sandbox.HMACHex(secret, body)
	if previous != "" {
		h += ",s0=" + sandbox.HMACHex(previous, body)
	}
	return h
}

// CreateWebhook subscribes a URL to events for the caller's merchant and environment, and answers
// with the secret the calls are signed with (201). The URL must be an absolute http(s) URL.
func (s *Sandbox) CreateWebhook(ctx context.Context, req api.CreateWebhookRequestObject) (api.CreateWebhookResponseObject, error) {
	b := req.Body
	if u, err := url.Parse(b.Url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return api.CreateWebhook400JSONResponse{BadRequestJSONResponse: api.BadRequestJSONResponse(s.errorBody(http.StatusBadRequest, "invalid-url", "url must be an absolute http or https URL"))}, nil
	}
	p := principalFrom(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	w := &webhook{owner: p, id: s.hookIDs.Next("wh_", 21, sandbox.Nanoid), url: b.Url, events: slices.Compact(slices.Sorted(slices.Values(b.Events))),
		description: b.Description, secret: sandbox.NewSecret(secretLength, sandbox.Hex), createdAt: now, updatedAt: now}
	s.hooks = append(s.hooks, w)
	return answer(http.StatusCreated, webhookBody{
		Webhook:   api.Webhook{Id: w.id, Url: w.url, Events: &b.Events, Description: w.description, Secret: w.secret, Status: ptr("active")},
		CreatedAt: msTime(w.createdAt), UpdatedAt: msTime(w.updatedAt),
	}), nil
}

// RotateWebhookSecrets gives every subscription a new secret; the previous one still signs (s0)
// for RotationWindow of the sandbox clock. Hub2 rotates in its dashboard; its API has no call for it.
func (s *Sandbox) RotateWebhookSecrets() []sandbox.RotatedSecret {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]sandbox.RotatedSecret, 0, len(s.hooks))
	for _, w := range s.hooks {
		w.previous, w.previousUntil = w.secret, now.Add(RotationWindow)
		w.secret, w.updatedAt = sandbox.NewSecret(secretLength, sandbox.Hex), now
		out = append(out, sandbox.RotatedSecret{ID: w.id, URL: w.url, Secret: w.secret, PreviousUntil: w.previousUntil})
	}
	return out
}

// eventBody is the envelope of a call.
type eventBody struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedAt msTime `json:"createdAt"`
	Data      any    `json:"data"`
}

// paymentBody is a payment as the calls carry it.
type paymentBody struct {
	ID        string              `json:"id"`
	IntentID  string              `json:"intentId"`
	Status    string              `json:"status"`
	Amount    int64               `json:"amount"`
	Currency  string              `json:"currency"`
	Method    string              `json:"method"`
	Country   *string             `json:"country,omitempty"`
	Failure   *api.AttemptFailure `json:"failure,omitempty"`
	CreatedAt msTime              `json:"createdAt"`
}

// intentBody is a payment intent as the calls carry it: the link's purchase reference is the
// intent's.
type intentBody struct {
	ID                string        `json:"id"`
	PurchaseReference string        `json:"purchaseReference"`
	Status            string        `json:"status"`
	Amount            int64         `json:"amount"`
	Currency          string        `json:"currency"`
	Payments          []paymentBody `json:"payments"`
	CreatedAt         msTime        `json:"createdAt"`
}

// notifyAttempt calls the link owner's subscriptions about a payment attempt on the link. The
// caller holds s.mu; the calls are made asynchronously.
func (s *Sandbox) notifyAttempt(l *link, a api.PaymentAttempt) {
	pay := paymentBody{ID: a.Id, IntentID: *a.IntentId, Status: a.Status, Amount: l.amount, Currency: l.currency, Method: *a.Method,
		Country: l.country, Failure: a.Failure, CreatedAt: msTime(*a.CreatedAt)}
	intent := intentBody{ID: *a.IntentId, PurchaseReference: l.reference, Status: "payment_required", Amount: l.amount, Currency: l.currency,
		Payments: []paymentBody{}, CreatedAt: msTime(*a.CreatedAt)}
	s.notify(l.owner, EventIntentCreated, intent)
	if a.Status == "successful" {
		s.notify(l.owner, EventPaymentSuccess, pay)
		intent.Status, intent.Payments = "successful", []paymentBody{pay}
		s.notify(l.owner, EventIntentSucceeded, intent)
		return
	}
	s.notify(l.owner, EventPaymentFailed, pay)
}

// notify calls the owner's subscriptions to the event. The caller holds s.mu.
func (s *Sandbox) notify(owner principal, event string, data any) {
	var body []byte
	now := s.now()
	for _, w := range s.hooks {
		if w.owner != owner || !slices.Contains(w.events, event) {
			continue
		}
		if body == nil {
			var err error
			if body, err = json.Marshal(eventBody{ID: s.eventIDs.Next("evt_", 21, sandbox.Nanoid), Type: event, CreatedAt: msTime(now), Data: data}); err != nil {
				return // the bodies are plain data and always encode
			}
		}
		secret, previous := w.secret, ""
		if now.Before(w.previousUntil) {
			previous = w.previous
		}
		s.webhooks.Send(sandbox.Delivery{
			URL: w.url, Event: event, Body: body,
			Header: http.Header{"Content-Type": {"application/json"}},
			Sign: func(h http.Header, body []byte, forged bool) {
				s1, s0 := secret, previous
				if forged {
					s1 = sandbox.ForgedSecret()
					if s0 != "" {
						s0 = sandbox.ForgedSecret()
					}
				}
				h.Set(SignatureHeader, Sign(body, s1, s0))
			},
		})
	}
}
