// Package mollie is a stateful in-memory simulator of Mollie's Payment Links API, as curated in
// openapi/mollie.yaml: its /v2 paths, bearer API keys (test_… and live_…, each mode seeing only its
// own links), HAL answers and errors {status, title, detail, field, _links}, cursor pagination
// (from, limit, _links.next/previous/self), archive and delete, the payments of a link, and the
// webhook Mollie sends when a payment changes status: a form-encoded POST of id=tr_… to the link's
// webhookUrl, best effort and asynchronous, which the receiver must confirm with a GET.
//
// It implements the generated strict server interface of gen/mollie and the shared
// sandbox.Simulator, so it can be served on its own (Handler) or under /sandbox/mollie by
// sandbox.Handler. It imports no adapter and nothing of the unified domain.
package mollie

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// Name is the provider id under which the simulator is mounted.
const Name = "mollie"

// base62 is the alphabet of Mollie's ids (pl_4Y0eZitmBnQ6IDoMqZQKh, tr_5B8cwPMGnU).
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// WebhookTimeout bounds one webhook call; Mollie documents no figure, a slow receiver must not hold
// the sandbox's goroutines for long.
const WebhookTimeout = 10 * time.Second

// Sandbox simulates Mollie payment links for one website profile. It is safe for concurrent use.
type Sandbox struct {
	cfg     sandbox.Config
	ids     *sandbox.IDs
	profile string
	spec    *validation.Spec
	handler http.Handler
	webhook *http.Client
	idem    *sandbox.Replays

	mu      sync.Mutex
	links   map[string]*link
	nextSeq int

	deliveries sync.WaitGroup
}

var (
	_ sandbox.Simulator         = (*Sandbox)(nil)
	_ api.StrictServerInterface = (*Sandbox)(nil)
)

// Option configures a Sandbox beyond the shared sandbox.Config.
type Option func(*Sandbox)

// WithWebhookClient sets the client that calls webhook URLs (default: a client with WebhookTimeout).
func WithWebhookClient(c *http.Client) Option { return func(s *Sandbox) { s.webhook = c } }

// link is the sandbox's record of one payment link.
type link struct {
	seq          int
	mode         api.Mode
	id           string
	description  string
	amount       *api.AmountNullable
	minimum      *api.AmountNullable
	archived     bool
	redirectURL  *string
	webhookURL   *string
	reusable     bool
	createdAt    time.Time
	updatedAt    *time.Time
	paidAt       *time.Time
	expiresAt    *time.Time
	methods      *[]string
	sequenceType string
	customerID   *string
	payments     []*payment
}

// payment is a payment made (or tried) through a link.
type payment struct {
	id        string
	status    api.PaymentStatus
	amount    api.Amount
	method    string
	createdAt time.Time
	paidAt    *time.Time
	failedAt  *time.Time
}

// New returns an empty Mollie sandbox. The embedded spec is parsed and compiled here, once; it is
// part of the binary, so a failure is a build defect and panics.
func New(cfg sandbox.Config, opts ...Option) *Sandbox {
	cfg = cfg.Defaults()
	ids := sandbox.NewIDs(cfg.Seed)
	s := &Sandbox{
		cfg:     cfg,
		ids:     ids,
		profile: ids.Next("pfl_", 10, base62),
		spec:    sandbox.LoadSpec(Name, api.GetSpec),
		webhook: &http.Client{Timeout: WebhookTimeout},
		idem:    sandbox.NewReplays(cfg.Clock, keyRetention),
		links:   map[string]*link{},
	}
	for _, o := range opts {
		o(s)
	}
	s.handler = s.newHandler()
	return s
}

// Name returns "mollie".
func (s *Sandbox) Name() string { return Name }

// Clock returns the clock that drives expiry and every timestamp.
func (s *Sandbox) Clock() *sandbox.Clock { return s.cfg.Clock }

// Handler serves Mollie's API with paths as in the spec (/v2/payment-links…).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// Wait blocks until every webhook call started so far has ended.
func (s *Sandbox) Wait() { s.deliveries.Wait() }

// now is the sandbox time at Mollie's precision (whole seconds).
func (s *Sandbox) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Second) }

// expired reports whether the link's expiry has passed at now.
func (l *link) expired(now time.Time) bool { return l.expiresAt != nil && !now.Before(*l.expiresAt) }

// payable reports whether a customer can pay on the link now: not archived, not expired, and not
// a single-use link that was paid.
func (l *link) payable(now time.Time) bool {
	return !l.archived && !l.expired(now) && (l.reusable || l.paidAt == nil)
}

// state names what the checkout page shows: open, paid, archived or expired.
func (l *link) state(now time.Time) string {
	switch {
	case l.paidAt != nil && !l.reusable:
		return "paid"
	case l.archived:
		return "archived"
	case l.expired(now):
		return "expired"
	default:
		return "open"
	}
}

// Pay records a successful payment on the link, as a customer on its page would: a paid payment
// (tr_…) of the link's amount (else its minimum, else 10.00 EUR), paidAt on a first payment, and
// a webhook call when the link has a webhookUrl.
func (s *Sandbox) Pay(linkID string) error {
	return s.attempt(linkID, api.PaymentStatusPaid)
}

// Fail records a failed payment on the link; the link stays payable. Mollie calls the webhook for
// it too, as for any payment status change.
func (s *Sandbox) Fail(linkID string) error {
	return s.attempt(linkID, api.PaymentStatusFailed)
}

func (s *Sandbox) attempt(linkID string, status api.PaymentStatus) error {
	s.mu.Lock()
	l, ok := s.links[linkID]
	if !ok {
		s.mu.Unlock()
		return sandbox.ErrNoLink
	}
	now := s.now()
	if !l.payable(now) {
		s.mu.Unlock()
		return fmt.Errorf("%w: it is %s", sandbox.ErrNotPayable, l.state(now))
	}
	p := &payment{id: s.ids.Next("tr_", 10, base62), status: status, amount: paymentAmount(l), method: "ideal", createdAt: now}
	if status == api.PaymentStatusPaid {
		p.paidAt = &now
		if l.paidAt == nil {
			l.paidAt = &now
		}
		l.updatedAt = &now
	} else {
		p.failedAt = &now
	}
	l.payments = append(l.payments, p)
	var hook string
	if l.webhookURL != nil {
		hook = *l.webhookURL
	}
	s.mu.Unlock()
	if hook != "" {
		s.notify(hook, p.id)
	}
	return nil
}

// paymentAmount is what a payment on the link is for; the caller holds s.mu.
func paymentAmount(l *link) api.Amount {
	switch {
	case l.amount != nil:
		return api.Amount(*l.amount)
	case l.minimum != nil:
		return api.Amount(*l.minimum)
	default:
		return api.Amount{Currency: "EUR", Value: "10.00"}
	}
}

// notify POSTs id=<payment id> to the webhook URL, as Mollie does: form-encoded, asynchronous and
// best effort (one attempt, the answer ignored). The call carries no status: the receiver reads it.
func (s *Sandbox) notify(hook, paymentID string) {
	s.deliveries.Add(1)
	go func() {
		defer s.deliveries.Done()
		ctx, cancel := context.WithTimeout(context.Background(), WebhookTimeout)
		defer cancel()
		body := url.Values{"id": {paymentID}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewBufferString(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "Mollie HTTP client/1.0")
		if rsp, err := s.webhook.Do(req); err == nil {
			rsp.Body.Close()
		}
	}()
}

// Checkout describes the link for the checkout page.
func (s *Sandbox) Checkout(linkID string) (sandbox.Checkout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkID]
	if !ok {
		return sandbox.Checkout{}, sandbox.ErrNoLink
	}
	now := s.now()
	// A link without an amount shows what Pay charges: its minimum, else 10.00 EUR.
	a := paymentAmount(l)
	c := sandbox.Checkout{Provider: Name, LinkID: l.id, Description: l.description, Amount: a.Value + " " + a.Currency, Status: l.state(now), Payable: l.payable(now)}
	return c, nil
}
