// Package telness is a stateful in-memory simulator of the Telness Tech Connect payment-link API
// (openapi/telness.yaml): create, get and cancel, X-API-Key authentication, X-Idempotency-Key
// replay with 24 h retention, and the ACTIVE → COMPLETED | EXPIRED | CANCELLED lifecycle.
//
// It implements the generated strict server interface of gen/telness, so the sandbox and the
// typed client are two sides of the same curated spec, and it plugs into the shared control API
// and checkout page of impl/sandbox. Telness documents no list endpoint, so there is none here.
//
// It imports impl/sandbox, impl/validation and gen/telness only; no adapter.
package telness

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// Name is the provider id the sandbox is mounted under (/sandbox/telness/…).
const Name = "telness"

var (
	_ sandbox.Simulator         = (*Sandbox)(nil)
	_ api.StrictServerInterface = (*Sandbox)(nil)
)

// Sandbox simulates Telness payment links. It is safe for concurrent use.
type Sandbox struct {
	cfg     sandbox.Config
	ids     *sandbox.IDs
	spec    *validation.Spec
	idem    *sandbox.Replays
	handler http.Handler

	mu    sync.Mutex
	links map[string]*link
}

// link is the sandbox's record of a payment link: the PaymentLink it shows plus what Telness keeps
// but does not return (the order or invoice it collects for, failed attempts).
type link struct {
	id          string
	url         string
	status      api.PaymentLinkStatus
	description *string
	paymentID   string
	metadata    map[string]string
	orderID     string
	invoiceID   string
	expiresAt   time.Time // zero: never expires
	createdAt   time.Time
	updatedAt   time.Time
	completedAt time.Time
	failed      int
}

// New returns an empty sandbox. The embedded spec is parsed and compiled here, once; it is part of
// the binary, so a failure is a build defect and panics rather than being reported per request.
func New(cfg sandbox.Config) *Sandbox {
	cfg = cfg.Defaults()
	s := &Sandbox{
		cfg:   cfg,
		ids:   sandbox.NewIDs(cfg.Seed),
		spec:  sandbox.LoadSpec(Name, api.GetSpec),
		idem:  sandbox.NewReplays(cfg.Clock, keyRetention),
		links: map[string]*link{},
	}
	s.handler = s.newHandler()
	return s
}

// Name returns the provider id, "telness".
func (s *Sandbox) Name() string { return Name }

// Clock returns the clock that drives expiry and the 24 h idempotency-key retention.
func (s *Sandbox) Clock() *sandbox.Clock { return s.cfg.Clock }

// Handler serves the Telness API with paths as in its spec (/payment-links, …).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// now is the sandbox time in whole seconds: Telness writes RFC 3339 UTC without fractions, and
// keeping stored times at that precision means what is read back equals what was stored.
func (s *Sandbox) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Second) }

// lookup returns the link with its status brought up to date. Expiry is evaluated lazily on every
// read, so advancing the clock is all it takes. The caller holds s.mu.
func (s *Sandbox) lookup(id string) (*link, bool) {
	l, ok := s.links[id]
	if !ok {
		return nil, false
	}
	if l.status == api.PaymentLinkStatusActive && !l.expiresAt.IsZero() && !s.cfg.Clock.Now().Before(l.expiresAt) {
		l.status = api.PaymentLinkStatusExpired
		l.updatedAt = l.expiresAt // it changed when it expired, not when someone looked
	}
	return l, true
}

// Pay records a successful payment: an ACTIVE link becomes COMPLETED with a paymentId and
// completedAt. Links are single-use, so any other status is refused with sandbox.ErrNotPayable.
func (s *Sandbox) Pay(linkID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(linkID)
	if !ok {
		return sandbox.ErrNoLink
	}
	if l.status != api.PaymentLinkStatusActive {
		return fmt.Errorf("%w: it is %s", sandbox.ErrNotPayable, l.status)
	}
	now := s.now()
	l.status = api.PaymentLinkStatusCompleted
	l.paymentID = s.ids.UUIDLike()
	l.completedAt = now
	l.updatedAt = now
	return nil
}

// Fail records a failed payment attempt. Telness shows nothing of it on the link, which stays
// ACTIVE and payable; only a link that could be paid can have a failed attempt.
func (s *Sandbox) Fail(linkID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(linkID)
	if !ok {
		return sandbox.ErrNoLink
	}
	if l.status != api.PaymentLinkStatusActive {
		return fmt.Errorf("%w: it is %s", sandbox.ErrNotPayable, l.status)
	}
	l.failed++
	return nil
}

// Checkout describes the link for the checkout page. Telness links carry no amount (it belongs to
// the order or invoice), so Amount is empty.
func (s *Sandbox) Checkout(linkID string) (sandbox.Checkout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lookup(linkID)
	if !ok {
		return sandbox.Checkout{}, sandbox.ErrNoLink
	}
	c := sandbox.Checkout{
		Provider: Name,
		LinkID:   l.id,
		Status:   string(l.status),
		Payable:  l.status == api.PaymentLinkStatusActive,
	}
	if l.description != nil {
		c.Description = *l.description
	}
	return c, nil
}

// view renders the link as the API shows it. The caller holds s.mu.
func (l *link) view() api.PaymentLink {
	md := api.PaymentLinkMetadata{} // Telness shows "metadata": {} on links created without any
	for k, v := range l.metadata {
		md[k] = v
	}
	p := api.PaymentLink{
		PaymentLinkId: l.id,
		Url:           l.url,
		Status:        l.status,
		CreatedAt:     l.createdAt,
		UpdatedAt:     l.updatedAt,
		Description:   l.description,
		Metadata:      &md,
	}
	if !l.expiresAt.IsZero() {
		t := l.expiresAt
		p.ExpiresAt = &t
	}
	if l.status == api.PaymentLinkStatusCompleted { // TEL-5: only on COMPLETED links
		id, t := l.paymentID, l.completedAt
		p.PaymentId, p.CompletedAt = &id, &t
	}
	return p
}
