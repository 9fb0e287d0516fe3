// Package mijnklantportaal is a stateful in-memory simulator of the MijnKlantportaal API v1 payment
// links, speaking the curated spec openapi/mijnklantportaal.yaml: bearer auth with Laravel's
// "Unauthenticated." answer, Laravel-style 422 validation errors, the page envelope with absolute
// page URLs, ATOM times with the Europe/Amsterdam offset, and the link lifecycle open → paid |
// expired | closed driven by the sandbox clock and the control API of package sandbox.
//
// It implements the generated strict server interface, so the sandbox and the typed client are two
// sides of the same spec. It imports no provider adapter.
package mijnklantportaal

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Amsterdam must be known on hosts without zoneinfo

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// Name is the provider id, the sandbox's mount point under /sandbox/.
const Name = "mijnklantportaal"

// PerPage is the page size of both list operations, as documented (per_page 15).
const PerPage = 15

// Compile-time checks: the sandbox is both a simulator and the provider's server.
var (
	_ sandbox.Simulator         = (*Sandbox)(nil)
	_ sandbox.Notifier          = (*Sandbox)(nil)
	_ api.StrictServerInterface = (*Sandbox)(nil)
)

// Sandbox simulates MijnKlantportaal. It is safe for concurrent use.
type Sandbox struct {
	cfg  sandbox.Config
	ids  *sandbox.IDs
	spec *validation.Spec
	// zone is the portal's time zone: times are written with its offset and expiry dates end at
	// its midnight.
	zone *time.Location
	// initErr is why the zone could not be loaded (its data is embedded, so it cannot fail on any
	// host); the handler then answers 500, since New has no error to return.
	initErr error
	handler http.Handler
	// recordIDs makes the webhook records' ids, apart from the links' so that link ids depend only
	// on the order of creates.
	recordIDs *sandbox.IDs
	webhooks  *sandbox.Webhooks

	mu      sync.Mutex
	links   map[string]*link
	order   []*link   // creation order, oldest first
	records []*record // webhook records, oldest first
}

// link is the sandbox's record of a payment link.
type link struct {
	id          string
	description string
	amount      paylink.Amount
	reusable    bool
	expiresAt   time.Time // zero: never expires
	createdAt   time.Time
	// status is open, paid or closed as set by create, Pay and close; expired is applied lazily
	// by refresh when the clock passes expiresAt.
	status   api.PaymentLinkStatus
	payments []api.PaymentLinkPayment // oldest first
}

// New returns a sandbox with no links.
func New(cfg sandbox.Config) *Sandbox {
	cfg = cfg.Defaults()
	s := &Sandbox{cfg: cfg, ids: sandbox.NewIDs(cfg.Seed), recordIDs: sandbox.NewIDs(cfg.Seed + 1), webhooks: sandbox.NewWebhooks(cfg),
		spec: sandbox.LoadSpec(Name, api.GetSpec), links: map[string]*link{}}
	s.zone, s.initErr = time.LoadLocation("Europe/Amsterdam")
	s.handler = s.newHandler()
	return s
}

// Name returns the provider id.
func (s *Sandbox) Name() string { return Name }

// Clock returns the clock that drives expiry.
func (s *Sandbox) Clock() *sandbox.Clock { return s.cfg.Clock }

// Handler serves the provider API with paths as in the spec (/payment-links, …).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// Pay records a successful payment, as a payer on the checkout page would: a payment with status
// paid appears in the link's payments, and a single-use link becomes paid. Reusable links stay
// open, as MijnKlantportaal documents them ("can be used multiple times after a payment was
// successful").
func (s *Sandbox) Pay(linkID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.payable(linkID)
	if err != nil {
		return err
	}
	now := s.now()
	l.payments = append(l.payments, api.PaymentLinkPayment{
		Id:            s.ids.Next("plp_", 14, sandbox.Alnum),
		PaymentLinkId: l.id,
		Currency:      api.PaymentLinkPaymentCurrencyEUR,
		Amount:        l.amount.Value(),
		Status:        "paid",
		Integration:   ptr("sandbox"),
		CreatedAt:     now,
	})
	if !l.reusable {
		l.status = api.PaymentLinkStatusPaid
	}
	s.notify(api.WebhookEventTypePaymentLinkPaid, l)
	return nil
}

// Fail records an abandoned payment. MijnKlantportaal shows nothing of failed attempts on the link,
// so nothing changes; the link stays payable. It fails like Pay for unknown or unpayable links.
func (s *Sandbox) Fail(linkID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.payable(linkID)
	return err
}

// payable returns the link if it can be paid now. The caller holds s.mu.
func (s *Sandbox) payable(linkID string) (*link, error) {
	l, ok := s.get(linkID)
	if !ok {
		return nil, sandbox.ErrNoLink
	}
	if l.status != api.PaymentLinkStatusOpen {
		return nil, fmt.Errorf("%w: the link is %s", sandbox.ErrNotPayable, l.status)
	}
	return l, nil
}

// Checkout describes the link for the checkout page.
func (s *Sandbox) Checkout(linkID string) (sandbox.Checkout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.get(linkID)
	if !ok {
		return sandbox.Checkout{}, sandbox.ErrNoLink
	}
	return sandbox.Checkout{
		Provider:    Name,
		LinkID:      l.id,
		Description: l.description,
		Amount:      l.amount.String(),
		Status:      string(l.status),
		Payable:     l.status == api.PaymentLinkStatusOpen,
	}, nil
}

// get returns the link with its expiry applied. The caller holds s.mu.
func (s *Sandbox) get(linkID string) (*link, bool) {
	l, ok := s.links[linkID]
	if ok {
		s.refresh(l, s.now())
	}
	return l, ok
}

// now is the clock's time to the second: ATOM has no fractions, and stored times must be the ones
// the API shows.
func (s *Sandbox) now() time.Time { return s.cfg.Clock.Now().Truncate(time.Second) }

// refresh expires an open link whose expiry has passed, and calls the payment-link-expired records
// the one time it does. Paid and closed links keep their status. The caller holds s.mu.
func (s *Sandbox) refresh(l *link, now time.Time) {
	if l.status == api.PaymentLinkStatusOpen && !l.expiresAt.IsZero() && !now.Before(l.expiresAt) {
		l.status = api.PaymentLinkStatusExpired
		s.notify(api.WebhookEventTypePaymentLinkExpired, l)
	}
}

// toAPI is the link as the API shows it. checkoutUrl is null once the link cannot be paid.
func (s *Sandbox) toAPI(l *link) api.PaymentLink {
	out := api.PaymentLink{
		Id:          l.id,
		Description: l.description,
		Currency:    api.PaymentLinkCurrencyEUR,
		Amount:      l.amount.Value(),
		Reusable:    l.reusable,
		Status:      l.status,
		CreatedAt:   l.createdAt.In(s.zone),
	}
	if !l.expiresAt.IsZero() {
		out.ExpiresAt = ptr(l.expiresAt.In(s.zone))
	}
	if l.status == api.PaymentLinkStatusOpen {
		out.CheckoutUrl = ptr(strings.TrimSuffix(s.cfg.CheckoutBase, "/") + "/" + Name + "/" + l.id)
	}
	return out
}

// expiryOf is the instant a link created with the expiry date d expires: the end of that day in
// Europe/Amsterdam, i.e. midnight starting the next day. The provider does not document the time
// of day (MKP-7); the end of the day is the reading under which a link is usable on the whole date
// the merchant gave.
func expiryOf(d time.Time, zone *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, zone)
}

func ptr[T any](v T) *T { return &v }
