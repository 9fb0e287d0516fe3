package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discard is a span processor that drops what it is given: the cost of recording spans, without
// the exporter's.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

// BenchmarkProxyCPUTraced is BenchmarkProxyCPU's list15 with tracing: without an exporter (the
// default) and a caller's traceparent to pass on, and with every span recorded (an exporter's
// cost left out).
func BenchmarkProxyCPUTraced(b *testing.B) {
	up := newCannedUpstream(b)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for _, bc := range []struct {
		name   string
		cfg    Config
		header string
	}{
		{"no-exporter", Config{}, ""},
		{"no-exporter-traceparent", Config{}, traceparent},
		{"recorded", Config{TracerProvider: tp}, ""},
		{"recorded-traceparent", Config{TracerProvider: tp}, traceparent},
	} {
		cfg := bc.cfg
		cfg.APIKeys, cfg.Logger, cfg.transport, cfg.MaxRetries = []string{"k"}, NewLogger(io.Discard, 8), up, 2
		cfg.Providers = map[string]ProviderConfig{"mijnklantportaal": {BaseURL: "http://upstream.test/v1", Credentials: map[string]string{"token": "t"}}}
		srv, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/providers/mijnklantportaal/payment-links", nil)
				r.Header.Set("Authorization", "Bearer k")
				if bc.header != "" {
					r.Header.Set("traceparent", bc.header)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
