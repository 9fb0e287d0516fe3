package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, in a registry of its own so that several servers
// (tests, embedding) do not collide.
type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	providerCalls *prometheus.CounterVec
	providerTime  *prometheus.HistogramVec
	violations    *prometheus.CounterVec
	replays       prometheus.Counter
	// requestsBy and latencyBy are requests and latency with their children remembered.
	requestsBy *labelCache[prometheus.Counter]
	latencyBy  *labelCache[prometheus.Observer]
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_http_requests_total", Help: "Requests answered, by route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paylinks_http_request_duration_seconds", Help: "Time to answer a request, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_provider_calls_total", Help: "HTTP calls to providers (each retry counts), by outcome.",
		}, []string{"provider", "method", "status"}),
		providerTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paylinks_provider_call_duration_seconds", Help: "Time of one HTTP call to a provider.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_spec_violations_total", Help: "Spec violations found, by spec, operation and direction.",
		}, []string{"spec", "operation", "direction"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paylinks_idempotent_replays_total", Help: "Answers replayed for a repeated Idempotency-Key.",
		}),
	}
	m.requestsBy, m.latencyBy = labelled(m.requests.WithLabelValues), labelled(m.latency.WithLabelValues)
	m.registry.MustRegister(m.requests, m.latency, m.providerCalls, m.providerTime, m.violations, m.replays,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument counts and times every call to a provider.
func (m *metrics) instrument(provider string, next http.RoundTripper) http.RoundTripper {
	took := m.providerTime.WithLabelValues(provider)
	calls := labelled(m.providerCalls.WithLabelValues)
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		markProviderCall(r.Context())
		res, err := next.RoundTrip(r)
		took.Observe(time.Since(start).Seconds())
		status := "error"
		if err == nil {
			status = statusLabel(res.StatusCode)
			markProviderAnswer(r.Context(), r.Method, res.StatusCode)
		} else {
			markProviderFailure(r, err)
		}
		calls.with(provider, methodLabel(r.Method), status).Inc()
		return res, err
	})
}

// labelCache remembers the child of a metric vector for each set of label values, which
// WithLabelValues would hash and look up on every request. Label values here are bounded
// (methods, routes, statuses, providers), so the cache is too. (A sync.Map would box the key: an
// allocation per lookup.)
type labelCache[M any] struct {
	get      func(...string) M
	mu       sync.RWMutex
	children map[[3]string]M
}

func labelled[M any](get func(...string) M) *labelCache[M] {
	return &labelCache[M]{get: get, children: map[[3]string]M{}}
}

// with returns the child for up to three label values.
func (c *labelCache[M]) with(a, b, d string) M {
	key := [3]string{a, b, d}
	c.mu.RLock()
	m, ok := c.children[key]
	c.mu.RUnlock()
	if ok {
		return m
	}
	values := []string{a, b, d} // allocated here only: slicing key would move it to the heap
	if d == "" {
		values = values[:2] // a two-label vector
	}
	m = c.get(values...)
	c.mu.Lock()
	c.children[key] = m
	c.mu.Unlock()
	return m
}

// statusClientClosed is the status logged and counted for a request whose caller went away before
// the answer: 499, as nginx names it.
const statusClientClosed = 499

// methodLabel bounds the method label: any method outside the standard ones is "other", so
// requests with made-up methods cannot grow the metrics without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusLabel bounds the status label to the three-digit codes HTTP has.
func statusLabel(status int) string {
	switch {
	case status < 100 || status > 999:
		return "other"
	case status < 100+len(statusLabels):
		return statusLabels[status-100]
	}
	return strconv.Itoa(status)
}

// statusLabels are the labels of the statuses HTTP defines, made once (strconv.Itoa allocates
// for numbers of three digits).
var statusLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// observe logs one line per request and records its metrics. Routes are the registered patterns
// and methods one of a fixed set, so the label values stay few whatever callers send.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		callerCtx := c.Request().Context()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		answered := status
		if callerCtx.Err() != nil {
			// The caller went away before the answer (nginx's 499): it did not get the answer the
			// handler made, which is logged beside it (a create may still have made its link).
			status = statusClientClosed
		}
		now := time.Now()
		elapsed := now.Sub(start)
		method := methodLabel(c.Request().Method)
		s.metrics.requestsBy.with(method, route, statusLabel(status)).Inc()
		s.metrics.latencyBy.with(method, route, "").Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		ctx := c.Request().Context()
		h := s.log.Handler()
		if !h.Enabled(ctx, level) {
			return nil
		}
		line := requestLine{
			id: c.Response().Header().Get(echo.HeaderXRequestID), method: c.Request().Method, route: route,
			path: c.Request().URL.Path, status: status, answered: answered, durationMS: float64(elapsed.Microseconds()) / 1000,
		}
		if jl, ok := h.(*jsonLogger); ok {
			_ = jl.writeRequest(ctx, now, level, line)
			return nil
		}
		_ = h.Handle(ctx, line.record(now, level))
		return nil
	}
}

// record is the request line as a record, for a handler other than NewLogger's.
func (l requestLine) record(t time.Time, level slog.Level) slog.Record {
	// Logged through the handler directly: Logger.LogAttrs would also take the caller's program
	// counter (runtime.Callers), which only a handler adding the source reads.
	rec := slog.NewRecord(t, level, "request", 0)
	rec.AddAttrs(
		slog.String("request_id", l.id),
		slog.String("method", l.method),
		slog.String("route", l.route),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Float64("duration_ms", l.durationMS),
	)
	if l.answered != l.status {
		rec.AddAttrs(slog.Int("answer_status", l.answered))
	}
	return rec
}
