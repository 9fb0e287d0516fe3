package events

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus collectors; the server registers Collectors().
type metrics struct {
	emitted     *prometheus.CounterVec
	deliveries  *prometheus.CounterVec
	latency     prometheus.Histogram
	polls       *prometheus.CounterVec
	backlog     *backlogCollector
	resolutions *prometheus.CounterVec
	inboxLog    *backlogCollector
}

func newMetrics(s *Service) *metrics {
	return &metrics{
		emitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_events_emitted_total", Help: "Link events emitted, by type and by the source that saw the transition first.",
		}, []string{"type", "source"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_webhook_deliveries_total", Help: "Webhook delivery attempts by outcome: delivered, retry (failed, will retry), failed (given up or 410), late (result after the lease was lost).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "paylinks_webhook_attempt_duration_seconds", Help: "Duration of webhook delivery attempts.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_provider_polls_total", Help: "Background polls of links at their provider, by provider and result (ok, not_found, error, throttled).",
		}, []string{"provider", "result"}),
		backlog: &backlogCollector{s: s, what: "backlog", read: s.st.Backlog,
			pending: prometheus.NewDesc("paylinks_webhook_backlog", "Deliveries waiting for an attempt or a retry (enabled endpoints).", nil, nil),
			oldest:  prometheus.NewDesc("paylinks_webhook_oldest_undelivered_age_seconds", "Age of the oldest pending delivery (0 when none).", nil, nil),
		},
		resolutions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylinks_inbox_resolutions_total", Help: "Provider webhooks resolved (their links read at the provider), by provider and outcome: done, again (a copy arrived meanwhile), retry, failed.",
		}, []string{"provider", "outcome"}),
		inboxLog: &backlogCollector{s: s, what: "inbox backlog", read: s.st.InboxBacklog,
			pending: prometheus.NewDesc("paylinks_inbox_backlog", "Provider webhooks received and not resolved yet.", nil, nil),
			oldest:  prometheus.NewDesc("paylinks_inbox_oldest_pending_age_seconds", "Age of the oldest provider webhook not resolved yet (0 when none).", nil, nil),
		},
	}
}

// Collectors returns the engine's collectors for the server's registry:
//
//	paylinks_events_emitted_total{type,source}
//	paylinks_webhook_deliveries_total{outcome}
//	paylinks_webhook_attempt_duration_seconds
//	paylinks_webhook_backlog, paylinks_webhook_oldest_undelivered_age_seconds (read from the store at scrape time)
//	paylinks_provider_polls_total{provider,result}
//	paylinks_inbox_resolutions_total{provider,outcome}
//	paylinks_inbox_backlog, paylinks_inbox_oldest_pending_age_seconds (read from the store at scrape time)
func (s *Service) Collectors() []prometheus.Collector {
	m := s.metrics
	return []prometheus.Collector{m.emitted, m.deliveries, m.latency, m.polls, m.backlog, m.resolutions, m.inboxLog}
}

// backlogCollector reads a backlog (a count and the time of its oldest item) from the store when
// scraped, so every instance reports the deployment's backlog, not its own.
type backlogCollector struct {
	s               *Service
	what            string
	read            func(context.Context) (int, time.Time, error)
	pending, oldest *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.oldest }

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.read(ctx)
	if err != nil {
		c.s.log.Warn("events: "+c.what+" metric", "err", err)
		return
	}
	age := 0.0
	if n > 0 {
		age = c.s.now().Sub(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
