package server

import (
	"bytes"
	"context"
	"encoding/json"
	"go.opentelemetry.io/otel/trace"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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

// The request line observe writes directly is byte for byte what NewLogger's handler writes of the
// same record: the fast path changes the cost of the line, never the line.
func TestRequestLineIsSlogs(t *testing.T) {
	t.Parallel()
	var direct, viaSlog bytes.Buffer
	jd := NewLogger(&direct, slog.LevelDebug).Handler().(*jsonLogger)
	js := NewLogger(&viaSlog, slog.LevelDebug).Handler().(*jsonLogger)
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
	}))
	odd := "\x00\x1f<>&\"\\\n\r\t\u2028\u2029\x7f\xff é 😀 \xe2\x80"
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		amsterdam = time.FixedZone("CET", 3600)
	}
	lines := []requestLine{
		{id: "req_1", method: "GET", route: "/providers/:provider/*", path: "/providers/mijnklantportaal/payment-links", status: 200, answered: 200, durationMS: 1.5},
		{id: "req_2", method: "DELETE", route: "unmatched", path: "/x", status: 499, answered: 204, durationMS: 0},
		{id: odd, method: odd, route: odd, path: odd, status: 500, answered: 500, durationMS: 0.001},
		{id: "", method: "PATCH", route: "/v1/x", path: "/v1/x", status: 201, answered: 201, durationMS: 123456.789},
		{id: "r", method: "GET", route: "/", path: "/", status: 200, answered: 200, durationMS: 1e21},
		{id: "r", method: "GET", route: "/", path: "/", status: 200, answered: 200, durationMS: 1e-7},
	}
	for _, ctx := range []context.Context{context.Background(), traced} {
		for _, when := range []time.Time{time.Now(), time.Date(2026, 3, 29, 2, 30, 0, 120000, amsterdam), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)} {
			for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
				for _, l := range lines {
					direct.Reset()
					viaSlog.Reset()
					if err := jd.writeRequest(ctx, when, level, l); err != nil {
						t.Fatal(err)
					}
					if err := js.Handle(ctx, l.record(when, level)); err != nil {
						t.Fatal(err)
					}
					if direct.String() != viaSlog.String() {
						t.Errorf("direct\n%s\nslog\n%s", direct.String(), viaSlog.String())
					}
				}
			}
		}
	}
}

// BenchmarkRequestLine: the request line written directly against the same line through the
// handler (the path a logger other than NewLogger's takes).
func BenchmarkRequestLine(b *testing.B) {
	jl := NewLogger(io.Discard, slog.LevelInfo).Handler().(*jsonLogger)
	l := requestLine{id: "req_0123456789abcdef01234567", method: "GET", route: "/providers/:provider/*",
		path: "/providers/mijnklantportaal/payment-links", status: 200, answered: 200, durationMS: 1.234}
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = jl.writeRequest(ctx, time.Now(), slog.LevelInfo, l)
		}
	})
	b.Run("slog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = jl.Handle(ctx, l.record(time.Now(), slog.LevelInfo))
		}
	})
}

// While hold runs, request lines at info wait and go out together; any other line first writes
// out those held, then itself; what is still held when hold ends is written then.
func TestRequestLinesHeld(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	lg := NewLogger(&out, slog.LevelInfo)
	jl := lg.Handler().(*jsonLogger)
	ctx, now := context.Background(), time.Now()
	line := func(id string, status int) requestLine {
		return requestLine{id: id, method: "GET", route: "/", path: "/", status: status, answered: status}
	}
	lines := func() string {
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var m map[string]any
			if l != "" && json.Unmarshal([]byte(l), &m) == nil {
				id, _ := m["request_id"].(string)
				if id == "" {
					id, _ = m["msg"].(string)
				}
				ids = append(ids, id)
			}
		}
		return strings.Join(ids, " ")
	}

	stop := jl.out.hold(time.Hour) // no tick in this test
	_ = jl.writeRequest(ctx, now, slog.LevelInfo, line("r1", 200))
	_ = jl.writeRequest(ctx, now, slog.LevelInfo, line("r2", 200))
	if got := lines(); got != "" {
		t.Fatalf("written while held: %q", got)
	}
	lg.Info("other")
	if got := lines(); got != "r1 r2 other" {
		t.Fatalf("lines %q, want the held ones first", got)
	}
	_ = jl.writeRequest(ctx, now, slog.LevelInfo, line("r3", 200))
	_ = jl.writeRequest(ctx, now, slog.LevelWarn, line("r4", 502)) // at warn: at once, after r3
	if got := lines(); got != "r1 r2 other r3 r4" {
		t.Fatalf("lines %q after a warning", got)
	}
	_ = jl.writeRequest(ctx, now, slog.LevelInfo, line("r5", 200))
	stop()
	if got := lines(); got != "r1 r2 other r3 r4 r5" {
		t.Fatalf("lines %q after hold ended", got)
	}
	_ = jl.writeRequest(ctx, now, slog.LevelInfo, line("r6", 200))
	if got := lines(); !strings.HasSuffix(got, " r6") {
		t.Fatalf("lines %q: not written at once when not held", got)
	}

	// The interval, and the size bound.
	out.Reset()
	stop = jl.out.hold(20 * time.Millisecond)
	defer func() { stop() }() // the last one
	_ = jl.writeRequest(ctx, now, slog.LevelInfo, line("t1", 200))
	for deadline := time.Now().Add(5 * time.Second); lines() != "t1"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a held line was not written within its interval")
		}
	}
	stop()
	out.Reset()
	stop = jl.out.hold(time.Hour)
	n := 0
	for ; out.Len() == 0 && n < 1000; n++ {
		_ = jl.writeRequest(ctx, now, slog.LevelInfo, line(strings.Repeat("x", 100), 200))
	}
	if out.Len() == 0 || n*200 > 2*maxHeld {
		t.Fatalf("%d lines held, %d bytes written: the size bound did not write them", n, out.Len())
	}
}

// Serve holds request lines (LogFlush) and writes the last ones before it returns: none is lost at
// shutdown.
func TestServeWritesHeldLinesAtShutdown(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Addr: ln.Addr().String(), Logger: NewLogger(&out, slog.LevelInfo), LogFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	waitReady(t, url)
	for range 5 {
		res, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	requests := func() int { return strings.Count(out.String(), `"route":"/healthz"`) }
	if n := requests(); n != 0 {
		t.Fatalf("%d request lines written while held for an hour", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := requests(); n != 5 {
		t.Fatalf("%d request lines after Serve returned, want 5:\n%s", n, out.String())
	}
}
