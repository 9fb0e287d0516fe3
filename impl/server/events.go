package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
)

// EventsConfig configures link events: where they are kept and how they are polled and delivered.
type EventsConfig struct {
	// DataDir holds the SQLite database (and the sandboxes' seed). "" = a temporary directory
	// removed when the server stops: events then do not survive a restart (tests, embedding).
	// `paylinks serve` always sets it (--data-dir, PAYLINKS_DATA_DIR, or the per-user default).
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://…) for several instances.
	DatabaseURL string
	// SecretsKey encrypts webhook secrets at rest.
	SecretsKey string
	// AllowPrivate admits http:// and private, loopback and link-local webhook targets. Sandbox
	// deployments (no live provider) always do.
	AllowPrivate bool
	// PollSchedule and RetrySchedule override the defaults (see impl/events).
	PollSchedule  string
	RetrySchedule string
	// DeliveryTimeout bounds one delivery attempt (default 15 s); a delivery's lease, after which
	// another instance takes over the delivery of a stopped one, is four times as long.
	DeliveryTimeout time.Duration
	// Retention is how long events, their deliveries and attempts are kept (default 30 days;
	// negative: forever). An event with a delivery still pending is kept whatever its age.
	Retention time.Duration
	// Tune, when set, adjusts the engine's configuration before it is opened (tests).
	Tune func(*events.Config)
}

// SandboxPollSchedule is the default poll schedule when every provider is a sandbox.
const SandboxPollSchedule = "1s:10m,30s:1h,10m:24h,1h"

// sandboxRecheckBudget is the re-check budget when every provider is a sandbox: so large that it
// never binds.
var sandboxRecheckBudget = store.Rate{Per: 1 << 20, Every: time.Second, Burst: 1 << 20}

// openEvents opens the event store and engine the server feeds and serves.
func (s *Server) openEvents() error {
	ec := s.cfg.Events
	dir := ec.DataDir
	if dir == "" && ec.DatabaseURL == "" {
		tmp, err := os.MkdirTemp("", "paylinks-events-")
		if err != nil {
			return err
		}
		dir, s.tempDir = tmp, tmp
	}
	cfg := events.Config{
		DataDir:       dir,
		DatabaseURL:   ec.DatabaseURL,
		SecretsKey:    ec.SecretsKey,
		AllowPrivate:  ec.AllowPrivate || !s.live,
		PollSchedule:  ec.PollSchedule,
		RetrySchedule: ec.RetrySchedule,
		Logger:        s.log,
		Getter:        s.client,
		RenderLink:    s.renderLink,
		Resolvers:     inbound.Resolvers(s.inboundSides),
		Retention:     ec.Retention,
	}
	for _, p := range s.client.Providers() {
		cfg.Providers = append(cfg.Providers, p.Name())
	}
	if ec.DeliveryTimeout > 0 {
		cfg.Delivery.Timeout, cfg.Delivery.LeaseFor = ec.DeliveryTimeout, 4*ec.DeliveryTimeout
	}
	if !s.live {
		// Sandboxes have no rate limits to respect and answer in process: poll them as fast as the
		// schedule says, and by default every second at first, so a payment made on a checkout
		// page shows at once.
		cfg.PollBudgets = map[string]store.Rate{}
		// Nor to the re-checks a webhook naming no link costs (Mollie's, some of Hub2's): a burst
		// of payments on checkout pages must not leave them to the poller.
		cfg.Inbox.RecheckBudgets = map[string]store.Rate{}
		cfg.Inbox.RecheckBudget = sandboxRecheckBudget
		if cfg.PollSchedule == "" {
			cfg.PollSchedule = SandboxPollSchedule
		}
	}
	if ec.Tune != nil {
		ec.Tune(&cfg)
	}
	svc, err := events.Open(context.Background(), cfg)
	if err != nil {
		s.removeTempDir()
		return fmt.Errorf("events: %w", err)
	}
	s.events = svc
	for _, c := range svc.Collectors() {
		if err := s.metrics.registry.Register(c); err != nil {
			return err
		}
	}
	where := "PostgreSQL (PAYLINKS_DATABASE_URL)"
	if !store.IsPostgresURL(ec.DatabaseURL) {
		where = filepath.Join(dir, "paylinks.db")
	}
	s.log.Info("link events", "store", where, "durable", s.tempDir == "")
	if s.tempDir != "" {
		s.log.Warn("events are kept in a temporary directory and lost when the server stops: set a data directory")
	}
	if s.live && !svc.Encrypts() {
		s.log.Warn("PAYLINKS_SECRETS_KEY is not set: webhook secrets are stored unencrypted")
	}
	return nil
}

// Events returns the events engine the server runs on.
func (s *Server) Events() *events.Service { return s.events }

// Close releases what New opened (the event store, a temporary data directory) for a server that
// was never served or has stopped serving. Serve closes it by itself when it returns.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.events != nil {
			err = s.events.Close()
		}
		s.removeTempDir()
		s.stopTracing() // after the drain: the last requests' spans are exported too
	})
	return err
}

func (s *Server) removeTempDir() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// renderLink renders a link exactly as GET /v1/payment-links/{id} answers it: data.link of events.
func (s *Server) renderLink(l paylink.Link) (json.RawMessage, error) {
	return json.Marshal(markedLink(l, false, s.linkModes))
}

// record tells the events engine what the unified API just saw of a link (source api). The
// caller's answer does not wait on a failure: the link exists at the provider either way, so a
// store that is down is retried in the background for a while, and logged if it stays down.
func (u *unified) record(ctx context.Context, l paylink.Link) {
	if u.events == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	obs := events.Observation{Link: l, Source: events.SourceAPI}
	if _, err := u.events.Observe(ctx, obs); err == nil {
		return
	} else {
		u.log.ErrorContext(ctx, "link event not stored; retrying in the background", "link", string(l.ID), "error", err.Error())
	}
	go func() {
		for wait := time.Second; wait <= 5*time.Minute; wait *= 2 {
			time.Sleep(wait)
			if _, err := u.events.Observe(ctx, obs); err == nil {
				return
			}
		}
		u.log.ErrorContext(ctx, "link event lost: the event store stayed unavailable; the link is not watched", "link", string(l.ID))
	}()
}

// sandboxSeed is the sandboxes' id seed: the configured one, or a random one kept in the data
// directory, so a restarted server never hands out ids its event store already knows.
func sandboxSeed(cfg Config) (uint64, error) {
	if cfg.SandboxSeed != 0 {
		return cfg.SandboxSeed, nil
	}
	random := func() uint64 {
		for {
			if v := rand.Uint64(); v != 0 {
				return v
			}
		}
	}
	if cfg.Events.DataDir == "" {
		return random(), nil
	}
	path := filepath.Join(cfg.Events.DataDir, "sandbox-seed")
	if raw, err := os.ReadFile(path); err == nil {
		v, perr := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
		if perr != nil || v == 0 {
			return 0, fmt.Errorf("%s: not a seed (delete it to make a new one)", path)
		}
		return v, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	v := random()
	if err := os.MkdirAll(cfg.Events.DataDir, 0o700); err != nil {
		return 0, fmt.Errorf("data directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(strconv.FormatUint(v, 10)+"\n"), 0o600); err != nil {
		return 0, err
	}
	return v, nil
}

// streamEvents serves GET /v1/events/stream: Server-Sent Events read from the event log, resumable
// with Last-Event-ID. It bypasses answer validation (the answer never ends), not authentication.
func (s *Server) streamEvents(c echo.Context) error {
	r := c.Request()
	q := r.URL.Query()
	types := map[events.Type]bool{}
	for _, t := range q["type"] {
		if !events.Type(t).Valid() {
			return paylink.Invalid("query.type", fmt.Sprintf("%q is not an event type", t))
		}
		types[events.Type(t)] = true
	}
	for name := range q {
		if name != "type" && name != "after" {
			return paylink.Invalid("query."+name, "unknown parameter (type and after are known)")
		}
	}
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = q.Get("after")
	}
	if err := events.CheckEventID(after); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel) // a draining server ends its streams
	defer stop()

	w := c.Response()
	rc := http.NewResponseController(w.Writer)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout would cut the stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var mu sync.Mutex
	write := func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write([]byte(": paylinks event stream\n\n")); err != nil {
		return nil
	}
	// The keep-alive writer must be gone before the handler returns: net/http then writes the
	// answer's end to the same buffer, without our lock.
	var keepAlive sync.WaitGroup
	defer func() { cancel(); keepAlive.Wait() }()
	keepAlive.Add(1)
	go func() {
		defer keepAlive.Done()
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if write([]byte(": keep-alive\n\n")) != nil {
					cancel()
					return
				}
			}
		}
	}()
	err := s.events.Stream(ctx, after, func(e events.Event) error {
		if len(types) > 0 && !types[e.Type] {
			return nil
		}
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return write(fmt.Appendf(nil, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data))
	})
	if err != nil && ctx.Err() == nil {
		s.log.WarnContext(r.Context(), "event stream ended", "error", err.Error())
	}
	return nil
}
