package server

import (
	"log/slog"
	"net/http"
	"strconv"
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
	m.registry.MustRegister(m.requests, m.latency, m.providerCalls, m.providerTime, m.violations, m.replays,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument counts and times every call to a provider.
func (m *metrics) instrument(provider string, next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		res, err := next.RoundTrip(r)
		m.providerTime.WithLabelValues(provider).Observe(time.Since(start).Seconds())
		status := "error"
		if err == nil {
			status = strconv.Itoa(res.StatusCode)
		}
		m.providerCalls.WithLabelValues(provider, r.Method, status).Inc()
		return res, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// observe logs one line per request and records its metrics. Routes are the registered patterns,
// so the label values stay few whatever ids callers send.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(c.Request().Method, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(c.Request().Context(), level, "request",
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.String("path", c.Request().URL.Path),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		)
		return nil
	}
}
