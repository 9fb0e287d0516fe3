package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// The logger's lines are what slog's own JSON handler writes, levels included, but for the
// redacted secrets.
func TestLoggerLines(t *testing.T) {
	t.Parallel()
	var got, want bytes.Buffer
	ours := NewLogger(&got, slog.LevelDebug)
	plain := slog.New(slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the times differ
			}
			return a
		}}))
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2, slog.LevelError + 4} {
		for _, lg := range []*slog.Logger{ours, plain} {
			lg.LogAttrs(context.Background(), l, "request", slog.String("request_id", "req_1"), slog.Int("status", 200),
				slog.Float64("duration_ms", 1.5), slog.Group("g", slog.String("level", "x")))
		}
	}
	gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d lines, want %d", len(gotLines), len(wantLines))
	}
	for i := range gotLines {
		if gotLines[i] == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(gotLines[i]), &m); err != nil {
			t.Fatalf("line %q: %v", gotLines[i], err)
		}
		if _, ok := m["time"]; !ok {
			t.Errorf("line %q has no time", gotLines[i])
		}
		_, rest, _ := strings.Cut(gotLines[i], `"level"`)
		if want := strings.TrimPrefix(wantLines[i], "{"); `"level"`+rest != want {
			t.Errorf("line\n%s\nwant (time aside)\n{%s", gotLines[i], want)
		}
	}

	got.Reset()
	ours.Info("call", "Authorization", "Bearer sk_1", "provider_token", "t0k", slog.Group("h", slog.String("X-Api-Key", "k")), "path", "/v1")
	for _, secret := range []string{"sk_1", "t0k", `"k"`} {
		if strings.Contains(got.String(), secret) {
			t.Errorf("secret %s logged: %s", secret, got.String())
		}
	}
	if !strings.Contains(got.String(), `"path":"/v1"`) || strings.Count(got.String(), "[redacted]") != 3 {
		t.Errorf("want three redactions and the path: %s", got.String())
	}
}

// The remembered children of a metric vector are the vector's own: counts land under their labels.
func TestLabelCache(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	m.requestsBy.with("GET", "/a", "200").Inc()
	m.requestsBy.with("GET", "/a", "200").Inc()
	m.requestsBy.with("GET", "/a", "500").Inc()
	m.latencyBy.with("GET", "/a", "").Observe(0.1)
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			key := f.GetName() + " " + strings.Join(labels, " ")
			switch {
			case metric.GetCounter() != nil:
				got[key] = metric.GetCounter().GetValue()
			case metric.GetHistogram() != nil:
				got[key] = float64(metric.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"paylinks_http_requests_total GET /a 200":       2,
		"paylinks_http_requests_total GET /a 500":       1,
		"paylinks_http_request_duration_seconds GET /a": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "paylinks_http_") && want[k] == 0 {
			t.Errorf("unexpected series %s", k)
		}
	}
}
