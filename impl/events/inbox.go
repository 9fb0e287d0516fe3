package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// DefaultInboxRetrySchedule is how often a provider webhook whose resolution failed (the provider
// did not answer) is tried again: 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h after
// the previous try (about 16 hours), ±20 %. The poller watches the links meanwhile.
const DefaultInboxRetrySchedule = "now,1s,5s,30s,2m,10m,30m,1h,2h,4h,8h"

// InboxRetention is how long a resolved provider webhook is kept (and its copies recognised as
// duplicates): longer than any provider's retries.
const InboxRetention = 7 * 24 * time.Hour

// Inbound is a verified provider webhook to keep: the provider, what it says the message is about,
// the key copies share and the raw body.
type Inbound struct {
	Provider string
	// Kind is what the provider says the message is about (a MijnKlantportaal event type, a Hub2
	// event name); "" when unknown. At most 128 bytes are kept.
	Kind string
	// DedupKey is the provider's event id when it sends one, else a hash of the body.
	DedupKey string
	// Repeatable is true when DedupKey is a hash of the content: a copy arriving after the message
	// was resolved is resolved again, since identical bodies can carry news (Mollie's id=tr_…).
	Repeatable bool
	Body       []byte
}

// InboundMessage is a provider webhook being resolved.
type InboundMessage struct {
	ID         string
	Provider   string
	Kind       string
	Body       []byte
	ReceivedAt time.Time
	// Attempt counts the resolutions started, this one included.
	Attempt int
}

// Resolver is one provider's knowledge of its webhooks: which links a message concerns. It lives
// with the provider's inbound code (impl/inbound/…); the engine calls it with a Lookup, through
// which alone it may read links and make events, all of source provider_webhook.
type Resolver interface {
	// Resolve finds the links the message concerns and checks them through l. It returns an error
	// for a resolution to be tried again later (the provider did not answer), nil when done,
	// whether or not a link changed. A body it cannot read costs at most l.Candidates.
	Resolve(ctx context.Context, m InboundMessage, l *Lookup) error
	// Refs returns the ids this provider's webhooks may name for the link (Hub2's payment
	// intents), kept whenever paylinks reads the link (nil for none).
	Refs(link paylink.Link) []string
}

// InboxConfig tunes the resolution of provider webhooks.
type InboxConfig struct {
	// RetrySchedule (as PAYLINKS_WEBHOOK_RETRY_SCHEDULE); "" = DefaultInboxRetrySchedule.
	RetrySchedule string
	Batch         int           // messages claimed at once; default 16
	Concurrency   int           // resolutions in flight per instance; default 4
	LeaseFor      time.Duration // default 2 min
	Idle          time.Duration // how often an idle worker looks for due messages; default 1 s
	// Candidates bounds the links one unreadable message re-checks; default 20.
	Candidates int
	// RecheckBudget caps re-checks of candidate links per provider, shared by all instances;
	// zero = 60 a minute, burst 30. RecheckBudgets overrides it per provider; nil =
	// DefaultRecheckBudgets.
	RecheckBudget  store.Rate
	RecheckBudgets map[string]store.Rate
}

// DefaultRecheckBudgets keeps MijnKlantportaal's re-checks to 15 a minute: with the poller's 30
// (DefaultPollBudgets) they stay under its documented 60 requests a minute per key.
var DefaultRecheckBudgets = map[string]store.Rate{
	"mijnklantportaal": {Per: 15, Every: time.Minute, Burst: 10},
}

func (c InboxConfig) withDefaults() InboxConfig {
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.LeaseFor <= 0 {
		c.LeaseFor = 2 * time.Minute
	}
	if c.Idle <= 0 {
		c.Idle = time.Second
	}
	if c.Candidates <= 0 {
		c.Candidates = 20
	}
	if c.RecheckBudget.Per <= 0 || c.RecheckBudget.Every <= 0 {
		c.RecheckBudget = store.Rate{Per: 60, Every: time.Minute, Burst: 30}
	}
	if c.RecheckBudgets == nil {
		c.RecheckBudgets = DefaultRecheckBudgets
	}
	return c
}

// Receive stores a verified provider webhook durably; once it returns nil the webhook may be
// acknowledged. It returns the store's outcome (store.Received, Merged, Again or Duplicate) and
// wakes this instance's inbox worker.
func (s *Service) Receive(ctx context.Context, in Inbound) (string, error) {
	if in.Provider == "" || in.DedupKey == "" {
		return "", errors.New("events: inbound message without provider or dedup key")
	}
	if len(in.Kind) > 128 {
		in.Kind = in.Kind[:128]
	}
	now := s.now().UTC()
	outcome, _, err := s.st.Receive(ctx, store.InboxMessage{ID: store.NewID("ibx", now), Provider: in.Provider, Kind: in.Kind,
		DedupKey: in.DedupKey, Repeatable: in.Repeatable, Body: in.Body}, now)
	if err != nil {
		return "", err
	}
	if outcome != store.Duplicate {
		s.inbox.kick()
	}
	return outcome, nil
}

// Lookup is what a Resolver may do while it resolves one message of its provider: read links at
// the provider and observe them (source provider_webhook), find links by the ids the provider's
// webhooks name, and list the provider's open links to re-check.
type Lookup struct {
	s        *Service
	provider string
	// Checked lists the links observed through this Lookup (for logs and tests).
	mu      sync.Mutex
	checked []paylink.ID
}

// Provider is the provider whose message is being resolved.
func (l *Lookup) Provider() string { return l.provider }

// Check reads the link at its provider and observes it: an event is emitted if, and only if, the
// provider's answer shows a transition. A link of another provider is refused: a webhook speaks
// for its own provider only. The error matches paylink.ErrNotFound when the provider does not
// know the link.
func (l *Lookup) Check(ctx context.Context, id paylink.ID) (paylink.Link, []Event, error) {
	prov, _, err := id.Parse()
	if err != nil {
		return paylink.Link{}, nil, err
	}
	if prov != l.provider {
		return paylink.Link{}, nil, fmt.Errorf("events: a %s webhook cannot check the %s link %s", l.provider, prov, id)
	}
	if l.s.cfg.Getter == nil {
		return paylink.Link{}, nil, errors.New("events: no Getter configured")
	}
	link, err := l.s.cfg.Getter.Get(ctx, id)
	if err != nil {
		return paylink.Link{}, nil, err
	}
	evs, err := l.Observe(ctx, link)
	return link, evs, err
}

// Observe observes a link the resolver read at the provider by other means (a list): the
// provider's answer, never a body of a webhook.
func (l *Lookup) Observe(ctx context.Context, link paylink.Link) ([]Event, error) {
	if link.Provider != l.provider {
		return nil, fmt.Errorf("events: a %s webhook cannot observe a %s link", l.provider, link.Provider)
	}
	evs, err := l.s.Observe(ctx, Observation{Link: link, Source: SourceProviderWebhook})
	l.mu.Lock()
	l.checked = append(l.checked, link.ID)
	l.mu.Unlock()
	return evs, err
}

// LinksByRef returns the links of the provider that any of the refs (as the Resolver's Refs made
// them) belongs to, the most recently seen first, at most n.
func (l *Lookup) LinksByRef(ctx context.Context, refs []string, n int) ([]paylink.ID, error) {
	ids, err := l.s.st.LinksByRef(ctx, l.provider, refs, n)
	return toIDs(ids), err
}

// Candidates returns the provider's open links (known to paylinks and not terminal), the most
// recently watched first: what a message that names no link it can read may concern. They are at
// most InboxConfig.Candidates, fewer when the provider's re-check budget (shared by every
// instance) is short: the poller checks the others anyway.
func (l *Lookup) Candidates(ctx context.Context) ([]paylink.ID, error) {
	cfg := l.s.cfg.Inbox
	states, err := l.s.st.OpenLinks(ctx, l.provider, terminalStatuses, cfg.Candidates)
	if err != nil || len(states) == 0 {
		return nil, err
	}
	budget, ok := cfg.RecheckBudgets[l.provider]
	if !ok {
		budget = cfg.RecheckBudget
	}
	got, _, err := l.s.st.TakeTokens(ctx, "recheck:"+l.provider, budget, len(states), l.s.now().UTC())
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, got)
	for _, st := range states[:got] {
		ids = append(ids, st.LinkID)
	}
	if got < len(states) {
		l.s.log.Info("events: re-check budget short; the poller checks the other links", "provider", l.provider, "rechecked", got, "open", len(states))
	}
	return toIDs(ids), nil
}

// Checked returns the links observed through this Lookup so far.
func (l *Lookup) Checked() []paylink.ID {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]paylink.ID(nil), l.checked...)
}

func toIDs(ids []string) []paylink.ID {
	out := make([]paylink.ID, len(ids))
	for i, id := range ids {
		out[i] = paylink.ID(id)
	}
	return out
}

// refsOf returns the refs the provider's Resolver keeps for the link.
func (s *Service) refsOf(l paylink.Link) []string {
	r, ok := s.cfg.Resolvers[l.Provider]
	if !ok {
		return nil
	}
	return r.Refs(l)
}

// Inbox resolves the provider webhooks kept in the store: it claims due messages (leases: one
// instance resolves a message), hands each to its provider's Resolver and records the outcome:
// done, or tried again on the InboxConfig.RetrySchedule, or failed once it is exhausted. Resolved
// messages are purged after InboxRetention (Service.Purge).
type Inbox struct {
	s *Service
	lifecycle
	wake    chan struct{}
	retries RetrySchedule
}

func newInbox(s *Service, retries RetrySchedule) *Inbox {
	return &Inbox{s: s, lifecycle: newLifecycle(), wake: make(chan struct{}, 1), retries: retries}
}

func (b *Inbox) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Inbox) start() {
	b.run(b.s.log, "resolving provider webhooks", b.s.cfg.Inbox.Idle, b.wake, b.RunOnce)
}

// RunOnce resolves the messages due now (one batch) and returns how many it handled.
func (b *Inbox) RunOnce(ctx context.Context) (int, error) {
	s, cfg := b.s, b.s.cfg.Inbox
	now := s.now().UTC()
	msgs, err := s.st.ClaimInbox(ctx, store.InboxClaim{Owner: s.owner, Now: now, LeaseFor: cfg.LeaseFor, Limit: cfg.Batch})
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	return len(msgs), each(msgs, cfg.Concurrency, func(m store.InboxMessage) error { return b.resolve(ctx, m) })
}

// resolve resolves one leased message and records the outcome.
func (b *Inbox) resolve(ctx context.Context, m store.InboxMessage) error {
	s := b.s
	res := store.InboxResult{ID: m.ID, Owner: m.LeaseOwner, Hints: m.Hints, Status: store.InboxDone}
	r, ok := s.cfg.Resolvers[m.Provider]
	var err error
	if !ok {
		err = fmt.Errorf("no resolver for provider %q on this instance", m.Provider)
	} else {
		l := &Lookup{s: s, provider: m.Provider}
		err = r.Resolve(ctx, InboundMessage{ID: m.ID, Provider: m.Provider, Kind: m.Kind, Body: m.Body, ReceivedAt: m.ReceivedAt, Attempt: m.Attempt}, l)
		if err == nil {
			s.log.Debug("events: provider webhook resolved", "inbox", m.ID, "provider", m.Provider, "kind", m.Kind, "links_checked", len(l.Checked()))
		}
	}
	outcome := "done"
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopping: the lease expires and another instance resolves it
		}
		res.Error = err.Error()
		if delay, more := b.retries.After(m.Attempt-1, s.cfg.Delivery.Jitter); more {
			res.Status, res.NextAttemptAt, outcome = store.InboxPending, s.now().UTC().Add(delay), "retry"
			s.log.Warn("events: provider webhook not resolved; retrying", "inbox", m.ID, "provider", m.Provider, "attempt", m.Attempt, "retry_at", res.NextAttemptAt, "err", err)
		} else {
			res.Status, outcome = store.InboxFailed, "failed"
			s.log.Error("events: provider webhook given up; the poller still watches its links", "inbox", m.ID, "provider", m.Provider, "attempts", m.Attempt, "err", err)
		}
	}
	applied, ferr := s.st.FinishInbox(ctx, res, s.now().UTC())
	if ferr != nil {
		return ferr
	}
	if !applied && res.Status != store.InboxPending {
		outcome = "again" // a copy arrived meanwhile: resolved once more
		b.kick()
	}
	s.metrics.resolutions.WithLabelValues(m.Provider, outcome).Inc()
	return nil
}
