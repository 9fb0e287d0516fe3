// Package server is `paylinks serve`: one Echo server with the unified API (/v1), a validated
// passthrough to each provider (/providers/<name>/…), the embedded sandboxes (/sandbox/…), the
// unified spec and its docs, health checks and Prometheus metrics.
//
// Every request to /v1 and /providers is authenticated with a paylinks API key and validated
// against its spec before any handler or provider sees it; every answer is validated before it
// leaves, and every provider answer as it arrives.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/events"
	"github.com/paylinks/paylinks/impl/idempotency"
	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/telemetry"
	"github.com/paylinks/paylinks/impl/validation"
)

// DemoAPIKey is the API key accepted in sandbox mode (only sandboxes, no PAYLINKS_API_KEYS).
const DemoAPIKey = "sk_sandbox_demo"

// Mode is how spec violations are handled.
type Mode string

// The validation modes.
const (
	// Enforce turns violations into problem answers; invalid data never passes.
	Enforce Mode = "enforce"
	// Report passes messages on, adds an X-Paylinks-Violations header, logs and counts.
	Report Mode = "report"
)

// ProviderConfig is the configuration of one provider. With no BaseURL the provider runs on its
// embedded sandbox.
type ProviderConfig struct {
	BaseURL     string
	Credentials map[string]string
	// Timeout bounds one call to the provider, retries included (default Config.ProviderTimeout).
	Timeout time.Duration
}

// Config is everything `paylinks serve` is made from.
type Config struct {
	Addr string
	// PublicURL is how callers reach this server (checkout links point here); default http://Addr.
	PublicURL string
	// APIKeys are the bearer keys callers authenticate with.
	APIKeys   []string
	Providers map[string]ProviderConfig
	// SandboxProviders names the providers without a base URL that run on their embedded sandbox
	// once some provider is live ("all" for every one); the others are then disabled. With no
	// provider live, every provider runs on its sandbox whatever this says.
	SandboxProviders []string
	// MaxProviderAnswerBytes bounds one answer of a provider (default 8 MiB).
	MaxProviderAnswerBytes int64
	// Mode applies to both hops: callers' requests and our answers, and providers' answers.
	Mode            Mode
	ProviderTimeout time.Duration
	// MaxRetries is how often a safe provider call (GET, or carrying an idempotency key) is retried.
	MaxRetries     int
	MaxBodyBytes   int64
	MaxHeaderBytes int
	// Idempotency stores Idempotency-Key records; nil means Redis at RedisURL, or in memory.
	Idempotency idempotency.Store
	// RedisURL is the Redis that instances behind one load balancer share for idempotency.
	RedisURL string
	// IdempotencyFailOpen serves requests with an Idempotency-Key without the guarantee when the
	// store is down (logged); the default refuses them with 503.
	IdempotencyFailOpen bool
	// IdempotencyMemoryBytes bounds the in-memory idempotency store (default 64 MiB).
	IdempotencyMemoryBytes int64
	CursorKey              []byte
	SandboxSeed            uint64
	ShutdownTimeout        time.Duration
	// LogFlush is how long the request lines of a Logger made by NewLogger may wait while Serve
	// runs, to be written several at once (at most maxLogFlush; 0: each line at once). Lines at
	// warn and above, and every other line, are written at once, after the lines held.
	LogFlush time.Duration
	// DrainGrace is how long, once Serve's context is done, /readyz answers 503 while requests are
	// still served, so that a load balancer stops sending new ones before the listener closes.
	DrainGrace time.Duration
	// MetricsKey, when set, is the bearer token GET /metrics requires.
	MetricsKey string
	// MetricsAddr, when set, serves /metrics on a listener of its own instead of on Addr.
	MetricsAddr string
	Logger      *slog.Logger
	// Kits are the providers this server knows; nil means kits.All (all built in).
	Kits []kits.Kit
	// Events configures link events (store, polling, delivery).
	Events EventsConfig
	// Tracing says where spans go (FromEnv reads it from OTEL_* variables); the zero value
	// exports nothing, and the caller's trace context is still passed on and logged.
	Tracing telemetry.Settings
	// TracerProvider, if set, makes the spans instead (tests, embedding); its owner stops it.
	TracerProvider trace.TracerProvider
	// Inbound configures the providers' webhooks in (secrets, registration).
	Inbound InboundConfig

	// transport replaces the connection pool to live providers (benchmarks without a network).
	transport http.RoundTripper
	// idempotencyLockTTL and idempotencyWait replace the derived ones (tests).
	idempotencyLockTTL, idempotencyWait time.Duration
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.Mode == "" {
		c.Mode = Enforce
	}
	if c.ProviderTimeout <= 0 {
		c.ProviderTimeout = 10 * time.Second
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 32 << 10
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.DrainGrace < 0 {
		c.DrainGrace = 0
	}
	if c.Logger == nil {
		c.Logger = NewLogger(os.Stderr, slog.LevelInfo)
	}
	if c.Kits == nil {
		c.Kits = kits.All
	}
	return c
}

// Server is a configured paylinks server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	echo      *echo.Echo
	client    *paylink.Client
	providers map[string]*provider
	// disabled are the known providers left out of a live deployment (see Config.SandboxProviders).
	disabled map[string]bool
	metrics  *metrics
	keys     []apiKey
	guard    *idempotency.Guard
	ready    atomic.Bool
	events   *events.Service
	inbound  *inbound.Service
	// inboundSides are the providers' inbound sides, whose resolvers the events engine runs.
	inboundSides []inbound.Provider
	// linkModes are the providers' modes (live or sandbox), by name, fixed once they are wired.
	linkModes map[string]api.ProviderInfoMode
	// sandboxHooks makes the sandboxes' webhook calls (sandboxWebhookClient), one pool for all.
	sandboxHooks *http.Client
	tempDir      string // a data directory made for this server, removed by Close
	closeOnce    sync.Once
	// streams ends the event streams when the server drains.
	streams    context.Context
	endStreams context.CancelFunc
	tracer     trace.TracerProvider
	ownTracer  *telemetry.Provider // the tracer provider Close stops, if the server made it
	// unifiedOps are the unified API's operationIds by Echo route ("GET /v1/payment-links/:id").
	unifiedOps map[string]string
	// requestBudget bounds one API request; writeTimeout, the server's, covers a request that
	// waits for another with its Idempotency-Key and then runs.
	requestBudget, writeTimeout time.Duration
	metricsAddr                 atomic.Pointer[string]
	// SandboxMode is true when every provider runs on its sandbox and no API keys are configured:
	// DemoAPIKey is then accepted.
	SandboxMode bool
	// live is true when some provider has a base URL: a live deployment.
	live bool
}

// provider is one provider as wired into the server.
type provider struct {
	kit     kits.Kit
	mode    api.ProviderInfoMode
	baseURL *url.URL
	spec    *validation.Spec
	adapter kits.Adapter
	http    *http.Client
	sim     sandbox.Simulator
}

// New checks the configuration and wires the server. It refuses to start with a real provider
// configured and no API key, so a live deployment is never open.
func New(cfg Config) (_ *Server, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Mode.check(); err != nil {
		return nil, err
	}
	if cfg.Idempotency == nil && cfg.RedisURL != "" {
		r, err := idempotency.NewRedis(cfg.RedisURL)
		if err != nil {
			return nil, err
		}
		if cfg.Logger != nil {
			idempotency.LogRedisTo(cfg.Logger)
		}
		cfg.Idempotency = r
	}
	if cfg.Idempotency == nil {
		cfg.Idempotency = idempotency.NewMemorySized(cfg.IdempotencyMemoryBytes)
	}
	if cfg.MaxProviderAnswerBytes > paylink.MaxAnswerBytes {
		return nil, fmt.Errorf("PAYLINKS_MAX_PROVIDER_ANSWER_BYTES=%d: at most %d (the adapters' own bound)", cfg.MaxProviderAnswerBytes, paylink.MaxAnswerBytes)
	}
	if cfg.MetricsAddr != "" && cfg.MetricsAddr == cfg.Addr {
		return nil, errors.New("the metrics address must differ from the API address")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, providers: map[string]*provider{}, metrics: newMetrics()}
	if mem, ok := cfg.Idempotency.(*idempotency.Memory); ok {
		s.metrics.registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "paylinks_idempotency_evicted_total",
				Help: "Idempotency answers the in-memory store forgot before their 24 h to stay within PAYLINKS_IDEMPOTENCY_MEMORY_BYTES."},
				func() float64 { return float64(mem.Evicted()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "paylinks_idempotency_memory_bytes",
				Help: "Bytes the in-memory idempotency store holds (bounded by PAYLINKS_IDEMPOTENCY_MEMORY_BYTES)."},
				func() float64 { _, b := mem.Size(); return float64(b) }))
	}
	for _, k := range cfg.APIKeys {
		if k = strings.TrimSpace(k); k != "" {
			s.keys = append(s.keys, apiKey{key: []byte(k), caller: callerID(k)})
		}
	}
	known := map[string]bool{}
	for _, k := range cfg.Kits {
		known[k.Name] = true
	}
	for name := range cfg.Providers {
		if !known[name] {
			return nil, fmt.Errorf("unknown provider %q in configuration", name)
		}
	}

	if err := s.startTracing(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.stopTracing()
		}
	}()

	// Once a provider is live, the others run on their sandbox only when named: a live deployment
	// must not quietly serve a simulator whose links anyone could mark paid.
	for _, pc := range cfg.Providers {
		s.live = s.live || pc.BaseURL != ""
	}
	sandboxed, err := sandboxedProviders(cfg.SandboxProviders, known)
	if err != nil {
		return nil, err
	}
	s.disabled = map[string]bool{}
	clock := sandbox.WallClock()
	seed, err := sandboxSeed(cfg)
	if err != nil {
		return nil, err
	}
	var sims []sandbox.Simulator
	var domain []paylink.Provider
	s.sandboxHooks = s.sandboxWebhookClient()
	for i, kit := range cfg.Kits {
		pc := cfg.Providers[kit.Name]
		if s.live && pc.BaseURL == "" && !sandboxed[kit.Name] {
			s.disabled[kit.Name] = true
			continue
		}
		p, err := s.wire(kit, pc, clock, seed+uint64(i))
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", kit.Name, err)
		}
		if p.sim != nil {
			sims = append(sims, p.sim)
		}
		s.providers[kit.Name] = p
		domain = append(domain, p.adapter)
	}
	switch {
	case s.live && len(s.keys) == 0:
		return nil, errors.New("a real provider is configured but no API key: set PAYLINKS_API_KEYS so the proxy is not open to anyone")
	case len(s.keys) == 0:
		s.SandboxMode = true
		s.keys = []apiKey{{key: []byte(DemoAPIKey), caller: callerID(DemoAPIKey)}}
	}
	s.budget()
	opts := []paylink.ClientOption{}
	if len(cfg.CursorKey) > 0 {
		opts = append(opts, paylink.WithCursorKey(cfg.CursorKey))
	}
	client, err := paylink.NewClient(domain, opts...)
	if err != nil {
		return nil, err
	}
	s.client = client
	s.linkModes = s.modes()
	if s.inboundSides, err = s.inboundProviders(); err != nil {
		return nil, err
	}
	if err := s.openEvents(); err != nil {
		return nil, err
	}
	if err := s.openInbound(); err != nil {
		s.Close()
		return nil, err
	}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	if err := s.routes(sims); err != nil {
		s.Close()
		return nil, err
	}
	s.registerSandboxes()
	return s, nil
}

// sandboxedProviders reads Config.SandboxProviders: provider names, or "all".
func sandboxedProviders(names []string, known map[string]bool) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		switch n = strings.TrimSpace(n); {
		case n == "":
		case n == "all":
			for k := range known {
				out[k] = true
			}
		case !known[n]:
			return nil, fmt.Errorf("PAYLINKS_SANDBOX_PROVIDERS: unknown provider %q", n)
		default:
			out[n] = true
		}
	}
	return out, nil
}

// budget derives the time limits from the providers' timeouts (each one covers a call with its
// retries). An API request may make two provider calls (a close reads the link first) and gets
// requestBudget for them. A request with an Idempotency-Key may first wait, up to requestBudget,
// for another with its key, then run: the server's write timeout covers both, so a caller never
// loses an answer that was made. The key's claim lasts well beyond a run, so it never lapses
// while its request may still be running.
func (s *Server) budget() {
	call := s.cfg.ProviderTimeout
	for _, p := range s.providers {
		call = max(call, p.http.Timeout)
	}
	s.requestBudget = 2*call + 5*time.Second
	lockTTL, wait := s.requestBudget+30*time.Second, s.requestBudget
	if s.cfg.idempotencyLockTTL > 0 {
		lockTTL = s.cfg.idempotencyLockTTL
	}
	if s.cfg.idempotencyWait > 0 {
		wait = s.cfg.idempotencyWait
	}
	s.guard = &idempotency.Guard{Store: s.cfg.Idempotency, LockTTL: lockTTL, MaxWait: wait}
	s.writeTimeout = wait + s.requestBudget + 10*time.Second
}

// wire builds one provider: its spec validator, its HTTP client (validating, retrying, measured),
// its sandbox when it has no base URL, and its adapter.
func (s *Server) wire(kit kits.Kit, pc ProviderConfig, clock *sandbox.Clock, seed uint64) (*provider, error) {
	doc, err := kit.Spec()
	if err != nil {
		return nil, err
	}
	spec, err := validation.New(doc)
	if err != nil {
		return nil, err
	}
	p := &provider{kit: kit, spec: spec, mode: api.ProviderInfoModeLive}
	creds := map[string]string{}
	for k, v := range pc.Credentials {
		creds[k] = v
	}
	var base http.RoundTripper // the provider's own transport (newTransport) unless a sandbox or a test's
	if s.cfg.transport != nil {
		base = s.cfg.transport
	}
	if pc.BaseURL == "" {
		p.mode = api.ProviderInfoModeSandbox
		p.sim = kit.NewSandbox(sandbox.Config{Clock: clock, Seed: seed, CheckoutBase: s.cfg.PublicURL + "/sandbox/checkout",
			WebhookClient: s.sandboxHooks})
		// The sandbox answers in process, but at the URL callers can reach it on, so the URLs it
		// hands out (page links) work from outside.
		pc.BaseURL = s.cfg.PublicURL + "/sandbox/" + kit.Name
		base = inProcess{sandbox.Handler("/sandbox", p.sim)}
		for k, v := range kit.SandboxCredentials() {
			if creds[k] == "" {
				creds[k] = v
			}
		}
	}
	for _, c := range kit.Credentials {
		if creds[c.Name] == "" {
			return nil, fmt.Errorf("credential %s is not set (%s)", c.Name, kit.Env(c.Name))
		}
	}
	u, err := url.Parse(pc.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: give an absolute http(s) URL", pc.BaseURL)
	}
	p.baseURL = u
	timeout := pc.Timeout
	if timeout <= 0 {
		timeout = s.cfg.ProviderTimeout
	}
	if base == nil {
		base = newTransport(timeout)
	}
	p.http = &http.Client{
		Timeout: timeout,
		Transport: &validation.Transport{
			Spec:    spec,
			Prefix:  u.Path,
			Report:  s.cfg.Mode == Report,
			MaxBody: s.cfg.MaxProviderAnswerBytes,
			Base:    s.retryTraced(p, s.metrics.instrument(kit.Name, base)),
			OnViolation: func(ctx context.Context, op string, ce *validation.ContractError) {
				s.metrics.violations.WithLabelValues(kit.Name, op, "response").Inc()
				s.log.WarnContext(ctx, "provider answer violates its spec", "provider", kit.Name, "operation", op, "status", ce.Status, "violations", ce.Violations, "mode", string(s.cfg.Mode))
				noteViolations(ctx, ce.Violations)
				traceViolations(ctx, kit.Name, op, "response", len(ce.Violations))
			},
		},
		// Redirects from a provider are not followed: credentials must not travel elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	p.adapter, err = kit.NewAdapter(pc.BaseURL, creds, p.http)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) routes(sims []sandbox.Simulator) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// No Pre middleware: with any, Echo makes a closure more per request (routing happens inside
	// one); nothing here needs to run before routing.
	useBuiltOnce(e,
		requestID, lowerMediaType,
		s.traceRequests(), // before observe, so that its log line has the trace id
		s.observe,
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}),
	)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	if s.cfg.MetricsAddr == "" {
		e.GET("/metrics", echo.WrapHandler(s.metricsHandler()))
	}
	if err := s.docs(e); err != nil {
		return err
	}
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/docs") })

	limit := middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: fmt.Sprintf("%dB", s.cfg.MaxBodyBytes)})

	doc, err := api.GetSpec()
	if err != nil {
		return err
	}
	s.unifiedOps = operationsByRoute(doc)
	spec, err := validation.New(doc)
	if err != nil {
		return err
	}
	// Idempotency wraps validation, so what is stored is the answer that was validated and sent.
	v1mw := []echo.MiddlewareFunc{limit, s.admit(s.requestBudget), s.idempotent, s.validateUnified(spec)}
	v1 := e.Group("/v1", v1mw...)
	api.RegisterHandlers(v1Router{e, v1mw}, api.NewStrictHandler(&unified{client: s.client, modes: s.linkModes, events: s.events, inbound: s.inbound, log: s.log, noProvider: s.unknownProvider, live: s.live, linkWebhooks: s.linkWebhooks()}, nil))
	v1.Any("/*", func(c echo.Context) error { return echo.ErrNotFound })
	// The event stream replaces its generated route: it is validated by its handler and its answer
	// never ends, so it cannot be buffered for answer validation.
	e.GET("/v1/events/stream", s.streamEvents, limit, s.authenticate)

	// Provider webhooks in: authenticated by the provider's signature only (see impl/inbound).
	e.POST("/webhooks/:provider", s.receiveWebhook)
	e.POST("/webhooks/:provider/:kind", s.receiveWebhook)

	// No budget: the passthrough's only work bound by its context is its one provider call, and
	// forward gives that call its deadline (the provider's timeout, shorter than the budget).
	passmw := []echo.MiddlewareFunc{limit, s.admit(0)}
	e.Group("/providers", passmw...) // what matches no provider's path: authenticated, then 404
	e.Any("/providers/:provider/*", chain(s.passthrough, passmw...))

	switch {
	case len(sims) > 0 && !s.live:
		e.Any("/sandbox/*", echo.WrapHandler(sandbox.Handler("/sandbox", sims...)))
	case len(sims) > 0:
		// A live deployment serves of its sandboxes only what people need: the checkout pages, and
		// the control API to callers with an API key. The sandboxes' own provider APIs stay
		// in-process, reached through paylinks only.
		sb := echo.WrapHandler(sandbox.Handler("/sandbox", sims...))
		e.Any("/sandbox/checkout/*", sb)
		e.Any("/sandbox/:provider/_control/*", sb, s.authenticate)
	}
	s.echo = e
	return nil
}

// v1Router registers the generated routes, which carry their /v1 prefix, behind the /v1 group's
// middleware, chained once (chain).
type v1Router struct {
	e  *echo.Echo
	mw []echo.MiddlewareFunc
}

func (r v1Router) route(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.Add(method, path, chain(h, append(r.mw[:len(r.mw):len(r.mw)], m...)...))
}

// chain wraps h in the middleware once, in the order Echo applies a group's (the first outermost).
// Echo's groups and routes with middleware of their own wrap the handler again on every request:
// a closure per middleware per request.
func chain(h echo.HandlerFunc, m ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(m) - 1; i >= 0; i-- {
		h = m[i](h)
	}
	return h
}
func (r v1Router) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodConnect, p, h, m...)
}
func (r v1Router) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodDelete, p, h, m...)
}
func (r v1Router) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodGet, p, h, m...)
}
func (r v1Router) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodHead, p, h, m...)
}
func (r v1Router) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodOptions, p, h, m...)
}
func (r v1Router) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodPatch, p, h, m...)
}
func (r v1Router) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodPost, p, h, m...)
}
func (r v1Router) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodPut, p, h, m...)
}
func (r v1Router) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.route(http.MethodTrace, p, h, m...)
}

func (s *Server) modes() map[string]api.ProviderInfoMode {
	m := map[string]api.ProviderInfoMode{}
	for n, p := range s.providers {
		m[n] = p.mode
	}
	return m
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// Client returns the domain client the server runs on.
func (s *Server) Client() *paylink.Client { return s.client }

// Simulator returns the sandbox of the provider, if it runs on one.
func (s *Server) Simulator(name string) (sandbox.Simulator, bool) {
	p, ok := s.providers[name]
	if !ok || p.sim == nil {
		return nil, false
	}
	return p.sim, true
}

// Serve answers requests on the listener until ctx is done, then drains: /readyz answers 503 for
// DrainGrace while requests are still served (without keep-alive, so clients reconnect
// elsewhere), then the listener closes and the requests in flight finish (up to ShutdownTimeout).
// With MetricsAddr set, /metrics is served on a listener of its own meanwhile.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	defer s.Close()
	if jl, ok := s.log.Handler().(*jsonLogger); ok && s.cfg.LogFlush > 0 {
		// Stopped (before Close, deferred earlier) when Serve returns: the lines still held are
		// written then, none lost at shutdown.
		defer jl.out.hold(min(s.cfg.LogFlush, maxLogFlush))()
	}
	var ms *http.Server
	if s.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		addr := mln.Addr().String()
		s.metricsAddr.Store(&addr)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metricsHandler())
		ms = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		go func() { _ = ms.Serve(mln) }()
		defer ms.Close() // after a graceful Shutdown, a no-op
	}
	s.logStart(ln.Addr().String())
	s.events.Start()
	if s.cfg.Inbound.Register {
		go s.registerAtStart(ctx)
	}
	hs.RegisterOnShutdown(s.endStreams)
	s.ready.Store(true)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	if s.cfg.DrainGrace > 0 {
		s.log.Info("draining: /readyz answers 503 while requests are still served", "grace", s.cfg.DrainGrace.String())
		hs.SetKeepAlivesEnabled(false)
		select {
		case err := <-errc:
			return err
		case <-time.After(s.cfg.DrainGrace):
		}
	}
	s.log.Info("shutting down: draining requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	// Deliveries and polls in flight finish (or give their leases back) once no request can add
	// more work.
	if serr := s.events.Stop(sctx); serr != nil {
		s.log.Warn("events: stopped before the work in flight finished; its leases are given back", "error", serr.Error())
	}
	if ms != nil {
		_ = ms.Shutdown(sctx)
	}
	if gerr := s.guard.Close(sctx); gerr != nil {
		s.log.Error("idempotency records could not be written before stopping: their keys stay 'outcome unknown' until they expire", "error", gerr.Error())
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// MetricsAddr returns the address /metrics is served on when MetricsAddr is set, once Serve has
// started ("" before).
func (s *Server) MetricsAddr() string {
	if a := s.metricsAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// errMetricsKey is a request to /metrics without the metrics key.
var errMetricsKey = errors.New("the metrics key is required: send Authorization: Bearer <PAYLINKS_METRICS_KEY>")

// metricsHandler serves the Prometheus metrics, behind MetricsKey when one is set.
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
	if s.cfg.MetricsKey == "" {
		return h
	}
	want := []byte(s.cfg.MetricsKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := bearer(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			writeProblem(w, w.Header().Get(echo.HeaderXRequestID), errMetricsKey)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) logStart(addr string) {
	var live, sand []string
	for _, k := range s.cfg.Kits {
		switch p, ok := s.providers[k.Name]; {
		case !ok:
		case p.sim != nil:
			sand = append(sand, k.Name)
		default:
			live = append(live, k.Name)
		}
	}
	var disabled []string
	for _, k := range s.cfg.Kits {
		if s.disabled[k.Name] {
			disabled = append(disabled, k.Name)
		}
	}
	s.log.Info("paylinks serving", "addr", addr, "public_url", s.cfg.PublicURL, "mode", string(s.cfg.Mode), "live_providers", live, "sandbox_providers", sand, "disabled_providers", disabled)
	if s.live && len(sand) > 0 {
		s.log.Warn("a live deployment with sandboxed providers: their links are sandbox links (no real money moves); their control API needs an API key", "sandbox_providers", sand)
	}
	if s.SandboxMode {
		s.log.Warn("SANDBOX MODE: every provider is an embedded sandbox and no PAYLINKS_API_KEYS are set; the demo API key is accepted", "demo_key", DemoAPIKey)
	}
}

func (s *Server) readyz(c echo.Context) error {
	if !s.ready.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
	}
	if err := s.events.Store().Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "event store unreachable"})
	}
	if p, ok := s.cfg.Idempotency.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(c.Request().Context()); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "idempotency store unreachable"})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// authenticate requires a configured API key as a bearer token. The key is compared in constant
// time and never logged.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		caller, err := s.authenticated(c.Request())
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), requestStateKey{}, &requestState{caller: caller})))
		return next(c)
	}
}

// authenticated is who sends r (callerID of its key), or errUnauthorized.
func (s *Server) authenticated(r *http.Request) (string, error) {
	token, ok := bearer(headerValue(r.Header, echo.HeaderAuthorization))
	caller, known := s.caller(token)
	if !ok || !known {
		return "", errUnauthorized
	}
	return caller, nil
}

// requestState is what the middleware of an API request learns of it, kept once in the request's
// context (one value, one allocation) from authenticate or admit on.
type requestState struct {
	// caller is who is calling (a hash of the API key, never the key): idempotency keys are
	// scoped by it.
	caller string
	// callerCtx is the request's context as the caller gave it (admit): done when the caller
	// goes away, unlike the context admit hands on.
	callerCtx context.Context
	// calls is the bookkeeping of the provider calls of the run guarded is making (nil outside one).
	calls atomic.Pointer[providerCalls]
	// notes are the violations of providers' answers let through in report mode.
	notes violationNotes
}

type requestStateKey struct{}

// stateOf is the request's state, or nil before authenticate.
func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(requestStateKey{}).(*requestState)
	return st
}

// callerOf is who is calling, or "" before authenticate.
func callerOf(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.caller
	}
	return ""
}

func callerID(apiKey string) string {
	sum := sha256.Sum256([]byte("paylinks caller\x00" + apiKey))
	return hex.EncodeToString(sum[:16])
}

// providerIdempotencyKey is the key sent to a provider that honours idempotency keys itself: one
// credential serves every caller, so the caller's key is scoped by the caller before it leaves.
func providerIdempotencyKey(ctx context.Context, key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(callerOf(ctx) + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

// useBuiltOnce installs mws as Echo's global middleware, in order, with their chain built once.
// Echo wraps each request's handler in its global middleware anew (a closure per middleware per
// request); this chain is built at start and ends in the handler the router found for the
// request (c.Handler(), route middleware included), which is what Echo would have wrapped.
func useBuiltOnce(e *echo.Echo, mws ...echo.MiddlewareFunc) {
	h := func(c echo.Context) error { return c.Handler()(c) }
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	e.Use(func(echo.HandlerFunc) echo.HandlerFunc { return h })
}

// requestID gives each request its id, in the answer's X-Request-Id (where the request line, the
// problems, traces and the provider call read it): the caller's own if it is short and plain
// (letters, digits, ".", "_", "-"), so that it cannot forge log lines or bloat every answer;
// otherwise a new one. Echo's RequestID middleware does this but for the check, which took a
// middleware of its own in front of it.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := headerValue(c.Request().Header, echo.HeaderXRequestID)
		if id == "" || !plainID(id) {
			id = newRequestID()
		}
		c.Response().Header()[echo.HeaderXRequestID] = []string{id}
		return next(c)
	}
}

// headerValue is http.Header.Get for a name written in canonical form (as every constant name
// here is), without Get's canonicalisation of the name on each call of the request path.
func headerValue(h http.Header, canonical string) string {
	if vs := h[canonical]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// lowerMediaType writes the Content-Type's media type in lower case: media types are
// case-insensitive (RFC 9110 §8.3.1), while the body binder and the validators compare them as
// written, so `APPLICATION/JSON` would otherwise be refused with 415. Parameters are kept.
func lowerMediaType(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		// A lower-case media type without parameters or spaces (application/json) is already
		// what ParseMediaType and FormatMediaType would make of it.
		if ct := headerValue(h, echo.HeaderContentType); ct != "" && strings.ContainsAny(ct, "ABCDEFGHIJKLMNOPQRSTUVWXYZ; \t") {
			if mt, params, err := mime.ParseMediaType(ct); err == nil {
				if canon := mime.FormatMediaType(mt, params); canon != "" && canon != ct {
					h.Set(echo.HeaderContentType, canon)
				}
			}
		}
		return next(c)
	}
}

func plainID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// bearer reads a bearer token; the scheme is case-insensitive (RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// apiKey is a key callers authenticate with, and who they are (a hash of it, computed once).
type apiKey struct {
	key    []byte
	caller string
}

// caller finds the key in constant time (every key is compared) and returns its caller id.
func (s *Server) caller(token string) (string, bool) {
	found := -1
	for i, k := range s.keys {
		found = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(k.key, []byte(token)), i, found)
	}
	if token == "" || found < 0 {
		return "", false
	}
	return s.keys[found].caller, true
}

// handleError writes any error as a problem; it is echo's error handler, so it sees errors of
// every route but the sandboxes, which answer in their provider's own error shapes.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if callerContext(c).Err() != nil && errors.Is(err, context.Canceled) {
		// The caller went away and its request was cut short: nobody reads an answer, and it is no
		// server error. (A request that runs on after its caller left still gets its answer
		// written: under an Idempotency-Key it is the one stored.)
		s.log.InfoContext(c.Request().Context(), "caller went away before the answer", "path", c.Request().URL.Path)
		return
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	p := writeProblem(c.Response(), rid, err)
	c.Response().Committed = true
	if p.Status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "request_id", rid, "status", p.Status, "code", string(p.Code), "error", err.Error())
	}
}
