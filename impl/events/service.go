package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/paylinks/paylinks/impl/events/netguard"
	"github.com/paylinks/paylinks/impl/events/secretbox"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// Getter fetches a link from its provider: the poller's source of truth. *paylink.Client
// satisfies it. It must return an error matching paylink.ErrNotFound for a link the provider does
// not know.
type Getter interface {
	Get(ctx context.Context, id paylink.ID) (paylink.Link, error)
}

// Config configures a Service. Only Getter and RenderLink are needed to run the poller; everything
// else has a default.
type Config struct {
	// DataDir holds the SQLite file when DatabaseURL is empty; "" = DataDir("", os.Getenv).
	DataDir string
	// DatabaseURL (PAYLINKS_DATABASE_URL) selects PostgreSQL: postgres://… or postgresql://….
	DatabaseURL string
	// Store, when set, is used instead of opening one (tests); Close closes it.
	Store store.Store
	// SecretsKey (PAYLINKS_SECRETS_KEY) encrypts endpoint secrets at rest; "" stores them plain.
	SecretsKey string
	// AllowPrivate admits http:// endpoints and private, loopback and link-local targets
	// (sandbox mode, PAYLINKS_WEBHOOK_ALLOW_PRIVATE=true).
	AllowPrivate bool
	// Resolver resolves endpoint hosts at registration and at connect; nil = the system's.
	Resolver netguard.Resolver
	// PollSchedule (PAYLINKS_POLL_SCHEDULE) and RetrySchedule (PAYLINKS_WEBHOOK_RETRY_SCHEDULE):
	// "" = DefaultPollSchedule, DefaultRetrySchedule.
	PollSchedule  string
	RetrySchedule string
	// PollBudgets caps background polls per provider, shared by all instances through the
	// store; nil = DefaultPollBudgets. A provider without an entry is not capped.
	PollBudgets map[string]store.Rate
	// Providers, when set, are the provider names endpoint filters may name.
	Providers []string
	// Clock is the time source; nil = time.Now. Tests move it to run days of backoff at once.
	Clock func() time.Time
	// Logger gets operational logs (never secrets); nil = slog.Default().
	Logger *slog.Logger
	// Getter fetches links for the poller; without it the poller does not run.
	Getter Getter
	// RenderLink renders a link as GET /v1/payment-links/{id} answers it: data.link of events.
	RenderLink func(paylink.Link) (json.RawMessage, error)
	// Instance names this process in lease owners; "" = hostname-pid-random.
	Instance string
	// Delivery and Polling tune the dispatcher and the poller; zero values take the defaults.
	Delivery DeliveryConfig
	Polling  PollConfig
	// StreamLookback is how far back Stream re-reads to catch events another instance committed
	// late (ids are made before commit); default 5 s.
	StreamLookback time.Duration
	// StreamPoll is how often Stream reads the store for events of other instances; default 1 s.
	StreamPoll time.Duration
	// Resolvers resolve the provider webhooks kept by Receive, by provider name; without any the
	// inbox is not worked on by this instance.
	Resolvers map[string]Resolver
	// Inbox tunes the resolution of provider webhooks.
	Inbox InboxConfig
	// Retention (PAYLINKS_EVENTS_RETENTION) is how long events, their deliveries and attempts are
	// kept: 0 = DefaultRetention, negative = forever. An event with a delivery still pending is
	// kept whatever its age.
	Retention time.Duration
}

// DeliveryConfig tunes the dispatcher.
type DeliveryConfig struct {
	Timeout       time.Duration // per attempt; default 15 s
	LeaseFor      time.Duration // default 60 s: longer than Timeout, so a live attempt keeps its lease
	Concurrency   int           // attempts in flight per instance; default 64
	PerEndpoint   int           // attempts in flight per endpoint and instance; default 8
	RetryAfterCap time.Duration // the most a Retry-After on 429/503 delays a retry; default 1 h
	DisableAfter  time.Duration // an endpoint failing everything this long is disabled; default 5 days
	Jitter        float64       // ± fraction of each retry delay; default 0.2, negative = none
	Idle          time.Duration // how often an idle dispatcher looks for due deliveries; default 1 s
	// Transport carries the POSTs; nil = a netguard transport (SSRF guard on every connect).
	// Whatever is given, redirects are never followed.
	Transport http.RoundTripper
}

// PollConfig tunes the poller.
type PollConfig struct {
	Batch       int           // links claimed at once; default 32
	Concurrency int           // provider GETs in flight per instance; default 8
	LeaseFor    time.Duration // default 60 s
	ExpiryGrace time.Duration // the extra poll comes this long after expiresAt; default 5 s
	MaxBackoff  time.Duration // cap of the error backoff; default 30 min
	Idle        time.Duration // how often an idle poller looks for due links; default 1 s
}

// DefaultPollBudgets keeps background polls of MijnKlantportaal to half of its documented 60
// requests a minute per key, leaving the rest to callers' own requests.
var DefaultPollBudgets = map[string]store.Rate{
	"mijnklantportaal": {Per: 30, Every: time.Minute, Burst: 10},
}

// Service is the events engine. Its methods are safe for concurrent use.
type Service struct {
	cfg     Config
	st      store.Store
	box     *secretbox.Box
	guard   netguard.Policy
	polls   PollSchedule
	retries RetrySchedule
	now     func() time.Time
	log     *slog.Logger
	owner   string
	metrics *metrics
	client  *http.Client

	mu   sync.Mutex
	subs map[chan struct{}]struct{}

	poller     *Poller
	dispatcher *Dispatcher
	inbox      *Inbox
	janitor    *janitor
	watches    *watchGroup
}

// Open makes a Service: it parses the schedules, opens the store (running its migrations) and
// prepares the poller and dispatcher, which Start runs.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	s := &Service{cfg: cfg, now: cfg.Clock, log: cfg.Logger, subs: map[chan struct{}]struct{}{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	var err error
	if s.polls, err = ParsePollSchedule(cfg.PollSchedule); err != nil {
		return nil, fmt.Errorf("PAYLINKS_POLL_SCHEDULE: %w", err)
	}
	if s.retries, err = ParseRetrySchedule(cfg.RetrySchedule); err != nil {
		return nil, fmt.Errorf("PAYLINKS_WEBHOOK_RETRY_SCHEDULE: %w", err)
	}
	inboxRetries := cfg.Inbox.RetrySchedule
	if inboxRetries == "" {
		inboxRetries = DefaultInboxRetrySchedule
	}
	inboxSchedule, err := ParseRetrySchedule(inboxRetries)
	if err != nil {
		return nil, fmt.Errorf("inbox retry schedule: %w", err)
	}
	if s.box, err = secretbox.New(cfg.SecretsKey); err != nil {
		return nil, fmt.Errorf("PAYLINKS_SECRETS_KEY: %w", err)
	}
	if s.cfg.PollBudgets == nil {
		s.cfg.PollBudgets = DefaultPollBudgets
	}
	if s.cfg.StreamLookback <= 0 {
		s.cfg.StreamLookback = 5 * time.Second
	}
	if s.cfg.StreamPoll <= 0 {
		s.cfg.StreamPoll = time.Second
	}
	s.cfg.Delivery = s.cfg.Delivery.withDefaults()
	if s.cfg.Polling.Idle <= 0 {
		// An idle poller looks for due links twice as often as the schedule polls them, so a
		// fast schedule (tests, sandboxes) is not slowed down to the one-second default.
		s.cfg.Polling.Idle = min(time.Second, s.polls.Shortest()/2)
	}
	s.cfg.Polling = s.cfg.Polling.withDefaults()
	s.cfg.Inbox = s.cfg.Inbox.withDefaults()
	if s.cfg.Retention == 0 {
		s.cfg.Retention = DefaultRetention
	}
	s.guard = netguard.Policy{AllowPrivate: cfg.AllowPrivate, Resolver: cfg.Resolver}
	s.owner = cfg.Instance
	if s.owner == "" {
		s.owner = instanceName()
	}
	rt := s.cfg.Delivery.Transport
	if rt == nil {
		rt = s.guard.Transport()
	}
	s.client = &http.Client{
		Transport:     rt,
		Timeout:       s.cfg.Delivery.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.st = cfg.Store
	if s.st == nil {
		dir := cfg.DataDir
		if dir == "" && !store.IsPostgresURL(cfg.DatabaseURL) {
			if dir, err = DataDir("", os.Getenv); err != nil {
				return nil, err
			}
		}
		if s.st, err = store.Open(ctx, cfg.DatabaseURL, dir); err != nil {
			return nil, err
		}
	}
	s.metrics = newMetrics(s)
	s.poller = newPoller(s)
	s.dispatcher = newDispatcher(s)
	s.inbox = newInbox(s, inboxSchedule)
	s.janitor = &janitor{s: s, lifecycle: newLifecycle()}
	s.watches = &watchGroup{s: s}
	return s, nil
}

func (c DeliveryConfig) withDefaults() DeliveryConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 15*time.Second)
	def(&c.LeaseFor, 60*time.Second)
	def(&c.RetryAfterCap, time.Hour)
	def(&c.DisableAfter, 5*24*time.Hour)
	def(&c.Idle, time.Second)
	if c.LeaseFor <= c.Timeout {
		c.LeaseFor = 4 * c.Timeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 8
	}
	if c.Jitter == 0 {
		c.Jitter = 0.2
	}
	return c
}

func (c PollConfig) withDefaults() PollConfig {
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.LeaseFor <= 0 {
		c.LeaseFor = 60 * time.Second
	}
	if c.ExpiryGrace <= 0 {
		c.ExpiryGrace = 5 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Minute
	}
	if c.Idle <= 0 {
		c.Idle = time.Second
	}
	return c
}

func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Store is the store the Service uses (for health checks and tests).
func (s *Service) Store() store.Store { return s.st }

// Encrypts reports whether secrets are encrypted at rest: a live deployment without
// PAYLINKS_SECRETS_KEY should warn at startup.
func (s *Service) Encrypts() bool { return s.box.Encrypts() }

// Start runs the poller (when a Getter is configured), the dispatcher and the inbox (when
// Resolvers are configured) until Stop.
func (s *Service) Start() {
	if s.cfg.Getter != nil {
		s.poller.start()
	}
	s.dispatcher.start()
	if len(s.cfg.Resolvers) > 0 {
		s.inbox.start()
	}
	s.janitor.start()
}

// Stop stops claiming work, lets the polls, attempts and resolutions in flight finish until ctx
// ends, then abandons the rest, giving their leases back so another instance takes them at once.
func (s *Service) Stop(ctx context.Context) error {
	s.inbox.lifecycle.stop(ctx)
	s.janitor.lifecycle.stop(ctx)
	return errors.Join(s.poller.stop(ctx), s.dispatcher.stop(ctx))
}

// Close stops the Service (if started) and closes its store.
func (s *Service) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Delivery.Timeout+time.Second)
	defer cancel()
	return errors.Join(s.Stop(ctx), s.st.Close())
}

// Poller returns the poller, for tests and tools that run it step by step.
func (s *Service) Poller() *Poller { return s.poller }

// Dispatcher returns the dispatcher, for tests and tools that run it step by step.
func (s *Service) Dispatcher() *Dispatcher { return s.dispatcher }

// Inbox returns the inbox worker, for tests and tools that run it step by step.
func (s *Service) Inbox() *Inbox { return s.inbox }

// notify wakes the streams and the local dispatcher: new events are in the store.
func (s *Service) notify() {
	s.mu.Lock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	s.dispatcher.kick()
}

// Subscribe returns a channel that receives a value (coalesced) whenever this instance stores new
// events, and a cancel func. Events of other instances are found by polling the store (Stream
// does both).
func (s *Service) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}
