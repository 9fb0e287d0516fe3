// Package hub2 is a stateful in-memory simulator of Hub2's payment-links API, as curated in
// openapi/hub2.yaml. It speaks Hub2's paths, its three auth headers (ApiKey, MerchantId,
// Environment), its standardized error body {status, code, message, request_id}, its bare-array
// list with date and status filters, and its UTC millisecond timestamps.
//
// It implements the generated strict server interface of gen/hub2 and the shared
// sandbox.Simulator, so it can be served on its own (Handler) or under /sandbox/hub2 by
// sandbox.Handler. It imports no adapter and nothing of the unified domain.
package hub2

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/validation"
)

// Name is the provider id under which the simulator is mounted.
const Name = "hub2"

// Defaults the sandbox applies where Hub2 documents or shows one.
const (
	// DefaultExpiry is Hub2's documented default lifetime of a link created without expirationDate.
	DefaultExpiry = 15 * time.Minute
	// maximumAttempts is the per-payer limit of failed payments Hub2 reports (3 in every example).
	maximumAttempts = 3
	// maxBody bounds a request body; Hub2's bodies are a few hundred bytes.
	maxBody = 1 << 20
)

// Currencies are the currencies the sandbox accepts, as Hub2 documents (both have no decimals).
var Currencies = []string{"XOF", "XAF"}

// Environments are the values Hub2 accepts in the Environment header.
var Environments = []string{"live", "sandbox"}

// defaultOperators are offered at checkout when create names none (Hub2's own examples).
var defaultOperators = []string{"Orange", "MTN", "Moov", "Wave"}

// Sandbox simulates Hub2. Links are scoped like Hub2's: a link is visible only to the merchant
// and environment it was created with. It is safe for concurrent use.
type Sandbox struct {
	cfg     sandbox.Config
	linkIDs *sandbox.IDs
	attIDs  *sandbox.IDs
	reqIDs  *sandbox.IDs
	// hookIDs and eventIDs make the subscriptions' and the calls' ids, apart from the links'.
	hookIDs  *sandbox.IDs
	eventIDs *sandbox.IDs
	webhooks *sandbox.Webhooks
	spec     *validation.Spec
	handler  http.Handler
	mu       sync.Mutex
	links    map[string]*link
	hooks    []*webhook // oldest first
	nextSeq  int
}

var (
	_ sandbox.Simulator         = (*Sandbox)(nil)
	_ sandbox.Notifier          = (*Sandbox)(nil)
	_ sandbox.Rotator           = (*Sandbox)(nil)
	_ api.StrictServerInterface = (*Sandbox)(nil)
)

// New returns an empty Hub2 sandbox. Ids (links, attempts, request ids) come from separate
// streams of cfg.Seed, so link ids depend only on the order of creates.
func New(cfg sandbox.Config) *Sandbox {
	cfg = cfg.Defaults()
	s := &Sandbox{
		cfg:      cfg,
		linkIDs:  sandbox.NewIDs(cfg.Seed),
		attIDs:   sandbox.NewIDs(cfg.Seed + 1),
		reqIDs:   sandbox.NewIDs(cfg.Seed + 2),
		hookIDs:  sandbox.NewIDs(cfg.Seed + 3),
		eventIDs: sandbox.NewIDs(cfg.Seed + 4),
		webhooks: sandbox.NewWebhooks(cfg),
		spec:     sandbox.LoadSpec(Name, api.GetSpec),
		links:    map[string]*link{},
	}
	s.handler = s.newHandler()
	return s
}

// Name returns "hub2".
func (s *Sandbox) Name() string { return Name }

// Clock returns the clock that drives expiry and timestamps.
func (s *Sandbox) Clock() *sandbox.Clock { return s.cfg.Clock }

// Handler serves Hub2's API with paths as in the spec (/payment-links…).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// link is the sandbox's record of one payment link.
type link struct {
	seq         int
	owner       principal
	id          string
	status      api.PaymentLinkStatus
	reference   string
	description *string
	amount      int64
	currency    string
	country     *string
	typ         api.PaymentLinkType
	// maximumPayments is nil for an unlimited multi_use link.
	maximumPayments *int
	successCount    int
	phone           *string
	methods         []string
	operators       []string
	successURL      *string
	failureURL      *string
	createdAt       time.Time
	updatedAt       time.Time
	expiresAt       time.Time
	attempts        []api.PaymentAttempt
}

// now is the sandbox time at Hub2's precision (milliseconds).
func (s *Sandbox) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Millisecond) }

// refresh applies what time did to the link since it was last read: an active link whose
// expirationDate has passed is expired from that instant on.
func (l *link) refresh(now time.Time) {
	if l.status == api.PaymentLinkStatusActive && !now.Before(l.expiresAt) {
		l.status = api.PaymentLinkStatusExpired
		l.updatedAt = l.expiresAt
	}
}

// lookup returns the link if it exists for this principal, refreshed. Callers hold s.mu.
func (s *Sandbox) lookup(p principal, id string) (*link, bool) {
	l, ok := s.links[id]
	if !ok || l.owner != p {
		return nil, false
	}
	l.refresh(s.now())
	return l, true
}

// Pay records a successful payment attempt. A single_use link, or a multi_use link reaching its
// maximumPayments, is completed by it; an unlimited multi_use link stays active.
func (s *Sandbox) Pay(linkID string) error {
	return s.attempt(linkID, true)
}

// Fail records a failed payment attempt; the link stays active and payable.
func (s *Sandbox) Fail(linkID string) error {
	return s.attempt(linkID, false)
}

func (s *Sandbox) attempt(linkID string, success bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkID]
	if !ok {
		return fmt.Errorf("%w: %s", sandbox.ErrNoLink, linkID)
	}
	now := s.now()
	l.refresh(now)
	if l.status != api.PaymentLinkStatusActive {
		return fmt.Errorf("%w: %s is %s", sandbox.ErrNotPayable, linkID, l.status)
	}
	a := api.PaymentAttempt{
		Id:        s.attIDs.Next("pay_", 21, sandbox.Nanoid),
		IntentId:  ptr(s.attIDs.Next("pi_", 21, sandbox.Nanoid)),
		CreatedAt: &now,
		UpdatedAt: &now,
		Amount:    ptr(l.amount),
		Currency:  ptr(l.currency),
		Method:    ptr(l.methods[0]),
		Country:   l.country,
		Number:    l.phone,
	}
	if success {
		a.Status = "successful"
		l.successCount++
		if l.maximumPayments != nil && l.successCount >= *l.maximumPayments {
			l.status = api.PaymentLinkStatusCompleted
		}
	} else {
		a.Status = "failed"
		a.Failure = &api.AttemptFailure{Message: ptr("The payer declined the payment (sandbox)")}
	}
	l.attempts = append(l.attempts, a)
	l.updatedAt = now
	s.notifyAttempt(l, a)
	return nil
}

// Checkout describes the link for the shared checkout page.
func (s *Sandbox) Checkout(linkID string) (sandbox.Checkout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkID]
	if !ok {
		return sandbox.Checkout{}, fmt.Errorf("%w: %s", sandbox.ErrNoLink, linkID)
	}
	l.refresh(s.now())
	c := sandbox.Checkout{
		Provider: Name,
		LinkID:   l.id,
		// XOF and XAF have no decimals: minor units are the amount people read.
		Amount:  fmt.Sprintf("%d %s", l.amount, l.currency),
		Status:  string(l.status),
		Payable: l.status == api.PaymentLinkStatusActive,
	}
	if l.description != nil {
		c.Description = *l.description
	}
	return c, nil
}
