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
	"fmt"
	"net/http"
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

// Sandbox simulates Mollie payment links for one website profile. It is safe for concurrent use.
type Sandbox struct {
	cfg      sandbox.Config
	ids      *sandbox.IDs
	profile  string
	spec     *validation.Spec
	handler  http.Handler
	webhooks *sandbox.Webhooks
	idem     *sandbox.Replays

	mu      sync.Mutex
	links   map[string]*link
	nextSeq int
}

var (
	_ sandbox.Simulator         = (*Sandbox)(nil)
	_ sandbox.Notifier          = (*Sandbox)(nil)
	_ api.StrictServerInterface = (*Sandbox)(nil)
)

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
func New(cfg sandbox.Config) *Sandbox {
	cfg = cfg.Defaults()
	ids := sandbox.NewIDs(cfg.Seed)
	s := &Sandbox{
		cfg:      cfg,
		ids:      ids,
		profile:  ids.Next("pfl_", 10, base62),
		spec:     sandbox.LoadSpec(Name, api.GetSpec),
		webhooks: sandbox.NewWebhooks(cfg),
		idem:     sandbox.NewReplays(cfg.Clock, keyRetention),
		links:    map[string]*link{},
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

// Wait blocks until every webhook call started so far has ended (retries included).
func (s *Sandbox) Wait() { s.webhooks.Wait() }

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
	s.notify(l, p)
	s.mu.Unlock()
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
