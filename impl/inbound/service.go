package inbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/events/netguard"
)

// DefaultMaxBody caps an inbound body: provider webhooks are a few KiB at most.
const DefaultMaxBody = 256 << 10

// RotationWindow is how long a replaced provider secret stays accepted (Hub2 keeps signing with
// the old one for 24 hours).
const RotationWindow = 24 * time.Hour

// ProviderInfo is a configured provider as the Service lists it.
type ProviderInfo struct {
	Name string
	// Live is false for a provider running on its embedded sandbox, which calls paylinks in
	// process: it is registered at start (RegisterSandboxes), whatever the public URL.
	Live bool
}

// Config configures a Service.
type Config struct {
	Events *events.Service
	// All lists every configured provider, in the order listings show them.
	All []ProviderInfo
	// Providers are the inbound sides of the providers that send webhooks.
	Providers []Provider
	// Registrars register subscriptions, by provider name.
	Registrars map[string]Registrar
	// EnvSecrets are the PAYLINKS_<PROVIDER>_WEBHOOK_SECRETS values, by provider name.
	EnvSecrets map[string]string
	// PublicURL is where providers reach paylinks (PAYLINKS_PUBLIC_URL), without a trailing slash.
	PublicURL string
	// AllowPrivate admits a public URL that is http or on a private, loopback or link-local address.
	AllowPrivate bool
	// MaxBody caps a body; 0 = DefaultMaxBody.
	MaxBody int64
	Logger  *slog.Logger
}

// Service receives provider webhooks and registers paylinks at the providers. It is safe for
// concurrent use.
type Service struct {
	cfg       Config
	providers map[string]Provider
	env       map[string]Keyring
	log       *slog.Logger

	received *prometheus.CounterVec
	drift    *prometheus.CounterVec

	mu      sync.Mutex
	logged  map[string]bool // assumptions and missing secrets already logged
	regLock sync.Mutex      // one registration at a time per instance

	keysMu   sync.Mutex
	keys     map[string]storedKeys // by provider
	keysGen  map[string]uint64     // by provider, counts forgetKeys: a read begun before one is not kept
	keysRead singleflight.Group    // one read of a provider's stored secrets at a time
}

// The stored secrets are read from the store at most once per keysFor, and again, at most once per
// keysAgain, when a call fails to verify with them: a stranger's flood of badly signed calls costs
// the store a read a second, and a secret stored by a registration on another instance verifies
// the calls that come a second or more after this instance last tried to read them (one made on
// this instance, at once); a call signed with it sooner is refused. Keys read more than keysUsable
// ago are not used: while the store cannot be read, calls are answered 500 and the provider retries.
var (
	keysFor         = 10 * time.Second // vars for the tests (export_test.go)
	keysAgain       = time.Second
	keysUsable      = time.Minute
	keysReadTimeout = 5 * time.Second
)

// errKeysUnread answers calls while the stored secrets could not be read a moment ago.
var errKeysUnread = errors.New("provider webhook secrets: the store could not be read a moment ago")

// storedKeys is a provider's keyring as last read and when that read began (zero: never), when
// the last read began (perhaps failed), and whether one is going on.
type storedKeys struct {
	keys        Keyring
	good, tried time.Time
	reading     bool
}

// New checks the configuration (the env secrets parse) and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Events == nil {
		return nil, errors.New("inbound: no events service")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	s := &Service{cfg: cfg, providers: map[string]Provider{}, env: map[string]Keyring{}, log: cfg.Logger, logged: map[string]bool{}, keys: map[string]storedKeys{}, keysGen: map[string]uint64{}}
	for _, p := range cfg.Providers {
		s.providers[p.Name()] = p
	}
	for name, v := range cfg.EnvSecrets {
		p, ok := s.providers[name]
		if !ok {
			return nil, fmt.Errorf("PAYLINKS_%s_WEBHOOK_SECRETS: %s sends no webhooks paylinks receives", strings.ToUpper(name), name)
		}
		k, err := ParseSecrets(p, v)
		if err != nil {
			return nil, fmt.Errorf("PAYLINKS_%s_WEBHOOK_SECRETS: %w", strings.ToUpper(name), err)
		}
		s.env[name] = k
	}
	s.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paylinks_inbound_webhooks_total",
		Help: "Provider webhooks received, by provider, result (received, merged, again, duplicate, ignored; bad_signature, unknown_type, not_a_link_type, malformed, too_large, unknown_provider, error) and the signature form that verified them.",
	}, []string{"provider", "result", "signature"})
	s.drift = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paylinks_inbound_drift_total",
		Help: "Provider webhook bodies that depart from the provider's curated schema (report mode: kept all the same), by provider.",
	}, []string{"provider"})
	return s, nil
}

// Collectors returns the Service's Prometheus collectors.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.received, s.drift}
}

// Resolvers returns the providers' resolvers for events.Config.Resolvers.
func Resolvers(ps []Provider) map[string]events.Resolver {
	out := map[string]events.Resolver{}
	for _, p := range ps {
		out[p.Name()] = p
	}
	return out
}

// Receipt is the answer to an accepted call.
type Receipt struct {
	// Outcome is the inbox's (received, merged, again, duplicate) or "ignored".
	Outcome string
}

// Receive handles one call to /webhooks/<provider>[/<kind>]: it reads at most MaxBody of the body,
// verifies it, reports drift, and keeps it in the inbox. Its errors are *Refusal (answer with
// their status; nothing is kept) or others (the inbox is unavailable: answer 500, the provider
// retries).
func (s *Service) Receive(ctx context.Context, provider, kind string, header http.Header, body io.Reader) (Receipt, error) {
	p, ok := s.providers[provider]
	if !ok {
		s.count(provider, "unknown_provider", "")
		return Receipt{}, &Refusal{Status: http.StatusNotFound, Result: "unknown_provider", Reason: fmt.Sprintf("paylinks receives no webhooks from %q", provider)}
	}
	raw, err := io.ReadAll(io.LimitReader(body, s.cfg.MaxBody+1))
	if err != nil {
		s.count(provider, "malformed", "")
		return Receipt{}, Malformed("the body could not be read")
	}
	if int64(len(raw)) > s.cfg.MaxBody {
		s.count(provider, "too_large", "")
		return Receipt{}, &Refusal{Status: http.StatusRequestEntityTooLarge, Result: "too_large", Reason: fmt.Sprintf("webhook bodies are limited to %d bytes", s.cfg.MaxBody)}
	}
	keys, at, err := s.keyring(ctx, p, keysFor, false)
	if err != nil {
		s.count(provider, "error", "")
		return Receipt{}, err
	}
	call := Call{Kind: kind, Header: header, Body: raw}
	acc, err := p.Verify(call, keys)
	if r := (*Refusal)(nil); errors.As(err, &r) && r.Result == "bad_signature" {
		// Perhaps signed with a secret stored since the keys were read (on another instance).
		again, againAt, kerr := s.keyring(ctx, p, keysAgain, true)
		if kerr != nil {
			s.count(provider, "error", "")
			return Receipt{}, kerr
		}
		if againAt.After(at) { // read since: verify again
			keys = again
			acc, err = p.Verify(call, keys)
		}
	}
	if err != nil {
		var r *Refusal
		if !errors.As(err, &r) {
			r = Malformed(err.Error())
		}
		s.count(provider, r.Result, "")
		if r.Result == "bad_signature" && keys.Empty() && p.SecretsNeeded() {
			s.once("nosecret/"+provider, func() {
				s.log.WarnContext(ctx, "provider webhooks refused: no secret to verify them", "provider", provider, "fix", ErrNoSecret.Error())
			})
		}
		return Receipt{}, r
	}
	if acc.Assumption != "" {
		s.once("assume/"+provider+"/"+acc.Signature, func() {
			s.log.InfoContext(ctx, "provider webhook verified under an assumption (see openapi/CURATION.md)", "provider", provider, "signature", acc.Signature, "assumption", acc.Assumption)
		})
	}
	if drift := p.Drift(call); len(drift) > 0 {
		s.drift.WithLabelValues(provider).Inc()
		s.log.WarnContext(ctx, "provider webhook body departs from its curated schema (kept: report mode)", "provider", provider, "kind", acc.Kind, "violations", drift)
	}
	if acc.Ignore {
		s.count(provider, "ignored", acc.Signature)
		return Receipt{Outcome: "ignored"}, nil
	}
	kept := raw
	if acc.Body != nil {
		kept = acc.Body
	}
	outcome, err := s.cfg.Events.Receive(ctx, events.Inbound{Provider: provider, Kind: acc.Kind, DedupKey: acc.DedupKey, Repeatable: acc.Repeatable, Body: kept})
	if err != nil {
		s.count(provider, "error", acc.Signature)
		return Receipt{}, fmt.Errorf("inbox: %w", err)
	}
	s.count(provider, outcome, acc.Signature)
	return Receipt{Outcome: outcome}, nil
}

func (s *Service) count(provider, result, signature string) {
	if _, ok := s.providers[provider]; !ok {
		provider = "unknown" // a label per path segment a stranger sends would be unbounded
	}
	s.received.WithLabelValues(provider, result, signature).Inc()
}

func (s *Service) once(key string, f func()) {
	s.mu.Lock()
	done := s.logged[key]
	s.logged[key] = true
	s.mu.Unlock()
	if !done {
		f()
	}
}

// keyring returns the provider's secrets: from the environment and from the subscriptions stored
// at registration. The stored ones are read again when the last good read began maxAge ago or
// more, but not within keysAgain of the last attempt. Meanwhile a first check (wait false) uses the
// keys as they were, if read less than keysUsable ago; a check again (wait true) waits for a read
// going on, and fails (500) if the last attempt did. A read is shared by the calls that want one
// while it goes on, and goes on if they hang up (bounded by keysReadTimeout). at is when the read
// of the keys returned began.
func (s *Service) keyring(ctx context.Context, p Provider, maxAge time.Duration, wait bool) (k Keyring, at time.Time, err error) {
	name := p.Name()
	now := time.Now()
	s.keysMu.Lock()
	e := s.keys[name]
	usable := !e.good.IsZero() && now.Sub(e.good) < keysUsable
	lastFailed := e.good.Before(e.tried)
	var ch <-chan singleflight.Result
	switch {
	case !e.good.IsZero() && now.Sub(e.good) < maxAge:
		s.keysMu.Unlock()
		return e.keys, e.good, nil
	case e.reading && usable && !wait:
		s.keysMu.Unlock()
		return e.keys, e.good, nil
	case e.reading:
		ch = s.readKeys(p) // joined
	case now.Sub(e.tried) < keysAgain:
		s.keysMu.Unlock()
		if usable && (!wait || !lastFailed) {
			return e.keys, e.good, nil
		}
		return Keyring{}, time.Time{}, errKeysUnread
	default:
		e.tried, e.reading = now, true
		s.keys[name] = e
		ch = s.readKeys(p)
	}
	s.keysMu.Unlock()
	select {
	case r := <-ch:
		if r.Err != nil {
			return Keyring{}, time.Time{}, r.Err
		}
		got := r.Val.(readKeys)
		return got.keys, got.at, nil
	case <-ctx.Done():
		return Keyring{}, time.Time{}, fmt.Errorf("provider webhook secrets: %w", ctx.Err())
	}
}

// readKeys starts the read of the provider's stored secrets, or joins the one going on; keysMu is
// held (DoChan does not wait). The key names the generation: a read begun before this instance
// stored new secrets is not joined.
func (s *Service) readKeys(p Provider) <-chan singleflight.Result {
	gen := s.keysGen[p.Name()]
	key := fmt.Sprintf("%s/%d", p.Name(), gen)
	return s.keysRead.DoChan(key, func() (any, error) { return s.readShared(p, key, gen) })
}

// readShared reads the provider's secrets for every call waiting, and keeps them unless this
// instance stored new ones since the generation gen.
func (s *Service) readShared(p Provider, key string, gen uint64) (readKeys, error) {
	name, start := p.Name(), time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), keysReadTimeout)
	defer cancel()
	k, err := s.readKeyring(ctx, p)
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	s.keysRead.Forget(key) // with reading cleared below, under keysMu: a later call starts a new read
	if s.keysGen[name] != gen {
		return readKeys{k, start}, err // forgotten meanwhile: the entry is a newer read's
	}
	e := s.keys[name]
	e.reading = false
	if err == nil {
		e.keys, e.good = k, start
	}
	s.keys[name] = e
	return readKeys{k, start}, err
}

// readKeys is a keyring and when its read began.
type readKeys struct {
	keys Keyring
	at   time.Time
}

// forgetKeys has the next call read the provider's stored secrets (this instance stored new ones).
func (s *Service) forgetKeys(provider string) {
	s.keysMu.Lock()
	delete(s.keys, provider) // a read going on keeps going, and is then not kept
	s.keysGen[provider]++
	s.keysMu.Unlock()
}

// readKeyring reads the provider's secrets: from the environment and from the store.
func (s *Service) readKeyring(ctx context.Context, p Provider) (Keyring, error) {
	k := Keyring{}
	env := s.env[p.Name()]
	k.Add("", env.all...)
	for kind, secrets := range env.byKind {
		k.Add(kind, secrets...)
	}
	stored, err := s.cfg.Events.ProviderWebhooks(ctx, p.Name())
	if err != nil {
		return k, fmt.Errorf("provider webhook secrets: %w", err)
	}
	for _, w := range stored {
		kind := ""
		if len(p.Kinds()) > 0 {
			kind = w.Name
		}
		k.Add(kind, w.Secret, w.PreviousSecret)
	}
	return k, nil
}

// HeldSecrets returns the secrets paylinks keeps to verify a provider's webhooks (from the
// environment, and stored at registration, the previous ones included), so that they can be kept
// out of what paylinks shows. A provider that sends no webhooks has none.
func (s *Service) HeldSecrets(ctx context.Context, provider string) ([]string, error) {
	p, ok := s.providers[provider]
	if !ok {
		return nil, nil
	}
	k, err := s.readKeyring(ctx, p) // as they are now, whatever the cache holds
	if err != nil {
		return nil, err
	}
	return k.All(), nil
}

// Status is how one provider's webhooks reach paylinks (GET /v1/provider-webhooks). It holds no
// secret.
type Status struct {
	Provider     string
	Receives     bool
	InboundURLs  []string
	Registration string // api, per_link, none
	SecretSource string // stored, env, stored_and_env, none, not_needed
	Subs         []SubscriptionInfo
	Note         string
}

// SubscriptionInfo is a subscription without its secret.
type SubscriptionInfo struct {
	ID        string
	URL       string
	Events    []string
	CreatedAt time.Time
	Outcome   string
}

// inboundURLs are the URLs the provider must call.
func (s *Service) inboundURLs(p Provider) []string {
	base := s.cfg.PublicURL + "/webhooks/" + p.Name()
	if len(p.Kinds()) == 0 {
		return []string{base}
	}
	var out []string
	for _, k := range followedKinds(p) {
		out = append(out, base+"/"+k)
	}
	return out
}

// followedKinds are the kinds a provider's Verify accepts (it refuses the others).
func followedKinds(p Provider) []string {
	if f, ok := p.(interface{ Followed() []string }); ok {
		return f.Followed()
	}
	return p.Kinds()
}

// List returns every configured provider's status.
func (s *Service) List(ctx context.Context) ([]Status, error) {
	stored, err := s.cfg.Events.ProviderWebhooks(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(s.cfg.All))
	for _, info := range s.cfg.All {
		var subs []SubscriptionInfo
		for _, w := range stored {
			if w.Provider == info.Name {
				subs = append(subs, SubscriptionInfo{ID: w.RemoteID, URL: w.URL, Events: w.Events, CreatedAt: w.CreatedAt})
			}
		}
		out = append(out, s.status(info, subs))
	}
	return out, nil
}

func (s *Service) status(info ProviderInfo, subs []SubscriptionInfo) Status {
	st := Status{Provider: info.Name, Registration: "none", SecretSource: "none", Subs: subs}
	p, receives := s.providers[info.Name]
	if !receives {
		st.Note = info.Name + " sends no webhooks paylinks can receive; its links are polled"
		return st
	}
	st.Receives, st.InboundURLs = true, s.inboundURLs(p)
	_, canRegister := s.cfg.Registrars[info.Name]
	switch {
	case canRegister:
		st.Registration = "api"
		if !info.Live {
			st.Note = info.Name + " runs on its embedded sandbox: paylinks subscribes there when it starts, and the sandbox calls it in process"
		}
	case !info.Live:
		st.Registration = "per_link"
		st.Note = info.Name + " runs on its embedded sandbox: links created through paylinks name its inbound URL as their webhook URL unless the caller gives one"
	default:
		st.Registration = "per_link"
		st.Note = "each link names the URL the provider calls: create links with it as their webhook URL"
	}
	_, env := s.env[info.Name]
	switch {
	case !p.SecretsNeeded():
		st.SecretSource = "not_needed"
	case env && len(subs) > 0:
		st.SecretSource = "stored_and_env"
	case env:
		st.SecretSource = "env"
	case len(subs) > 0:
		st.SecretSource = "stored"
	}
	return st
}

// ErrPublicURL wraps a public URL providers cannot be pointed at.
var ErrPublicURL = errors.New("public URL")

// Register subscribes paylinks at the named providers that have a registration API (every
// configured one when names is empty), live or on their embedded sandbox, and stores the secrets.
// Providers without one are reported as they are. A provider that fails does not stop the others;
// the first failure is returned with the statuses.
func (s *Service) Register(ctx context.Context, names []string) ([]Status, error) {
	s.regLock.Lock()
	defer s.regLock.Unlock()
	known := map[string]ProviderInfo{}
	for _, info := range s.cfg.All {
		known[info.Name] = info
	}
	var infos []ProviderInfo
	for _, n := range names {
		info, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("%w: unknown provider %q", ErrUnknownProvider, n)
		}
		if !slices.ContainsFunc(infos, func(i ProviderInfo) bool { return i.Name == n }) {
			infos = append(infos, info)
		}
	}
	if len(names) == 0 {
		infos = s.cfg.All
	}
	needsURL := slices.ContainsFunc(infos, func(i ProviderInfo) bool { _, ok := s.cfg.Registrars[i.Name]; return ok && i.Live })
	if needsURL {
		if _, err := (netguard.Policy{AllowPrivate: s.cfg.AllowPrivate}).CheckURL(s.cfg.PublicURL); err != nil {
			return nil, fmt.Errorf("%w %q cannot be given to providers (set PAYLINKS_PUBLIC_URL to the https URL they reach paylinks at): %w", ErrPublicURL, s.cfg.PublicURL, err)
		}
	}
	return s.registerAll(ctx, infos, false)
}

// RegisterSandboxes subscribes paylinks at every provider that runs on its embedded sandbox and
// has a registration API, afresh: a sandbox starts empty, so the subscriptions stored by an earlier
// run name nothing it knows. The sandbox calls paylinks in process, so the public URL need not be
// reachable from anywhere. Errors are Register's.
func (s *Service) RegisterSandboxes(ctx context.Context) ([]Status, error) {
	s.regLock.Lock()
	defer s.regLock.Unlock()
	var infos []ProviderInfo
	for _, info := range s.cfg.All {
		if _, ok := s.cfg.Registrars[info.Name]; ok && !info.Live {
			infos = append(infos, info)
		}
	}
	return s.registerAll(ctx, infos, true)
}

// registerAll registers each provider; afresh ignores what is stored. The caller holds regLock.
func (s *Service) registerAll(ctx context.Context, infos []ProviderInfo, afresh bool) ([]Status, error) {
	var out []Status
	var firstErr error
	for _, info := range infos {
		st, err := s.register(ctx, info, afresh)
		if err != nil {
			s.log.ErrorContext(ctx, "provider webhook registration failed", "provider", info.Name, "error", err.Error())
			if firstErr == nil {
				firstErr = err
			}
		}
		out = append(out, st)
	}
	return out, firstErr
}

// ErrUnknownProvider matches Register's error for a name that is not configured.
var ErrUnknownProvider = errors.New("unknown provider")

func (s *Service) register(ctx context.Context, info ProviderInfo, afresh bool) (Status, error) {
	reg, ok := s.cfg.Registrars[info.Name]
	p, receives := s.providers[info.Name]
	if !ok || !receives {
		st, err := s.List(ctx)
		for _, x := range st {
			if x.Provider == info.Name {
				return x, err
			}
		}
		return Status{Provider: info.Name}, err
	}
	var known []events.ProviderWebhook
	if !afresh {
		var err error
		if known, err = s.cfg.Events.ProviderWebhooks(ctx, info.Name); err != nil {
			return Status{Provider: info.Name}, err
		}
	}
	subs, err := reg.Register(ctx, s.cfg.PublicURL+"/webhooks/"+p.Name(), known)
	var infos []SubscriptionInfo
	for _, sub := range subs {
		if sub.Outcome != Existing {
			serr := s.cfg.Events.SaveProviderWebhook(ctx, sub.Webhook, RotationWindow)
			s.forgetKeys(info.Name)
			if serr != nil {
				return s.status(info, infos), serr
			}
			s.log.InfoContext(ctx, "provider webhook subscription stored", "provider", info.Name, "name", sub.Webhook.Name, "url", sub.Webhook.URL, "outcome", sub.Outcome)
		}
		w := sub.Webhook
		infos = append(infos, SubscriptionInfo{ID: w.RemoteID, URL: w.URL, Events: w.Events, CreatedAt: w.CreatedAt, Outcome: sub.Outcome})
	}
	return s.status(info, infos), err
}

// HashKey is the dedup key of a body without an event id: its SHA-256, with a prefix (the kind)
// when the same body may mean different things under different kinds.
func HashKey(prefix string, body []byte) string {
	return "sha256:" + prefix + ":" + sha256Hex(body)
}
