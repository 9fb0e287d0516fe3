package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// A caller's trace context, as a W3C traceparent header carries it.
const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	traceparent   = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

// recordSpans returns a tracer provider that records every span in memory.
func recordSpans(t *testing.T) (*tracetest.SpanRecorder, trace.TracerProvider) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

// serverSpans waits until n server spans named name have ended (a span ends just after its
// answer is sent) and returns them, in the order they ended.
func serverSpans(t *testing.T, rec *tracetest.SpanRecorder, name string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.SpanKind() == trace.SpanKindServer && s.Name() == name {
				found = append(found, s)
			}
		}
		if len(found) >= n {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server spans %q ended, want %d; spans: %v", len(found), name, n, spanNames(rec.Ended()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// childSpans are the ended spans whose parent is span, in the order they started.
func childSpans(rec *tracetest.SpanRecorder, parent sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	return out
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.SpanKind().String()+" "+s.Name())
	}
	return out
}

// attrs are a span's attributes by key, as text.
func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// wantAttrs fails the test for every attribute of want the span lacks or has another value of.
func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %q: attribute %s = %q, want %q (all: %v)", s.SpanKind(), s.Name(), k, got[k], v, got)
		}
	}
}

// noSecrets fails the test if any attribute or event attribute of any span contains a secret.
func noSecrets(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	for _, s := range spans {
		kvs := slices.Clone(s.Attributes())
		for _, e := range s.Events() {
			kvs = append(kvs, e.Attributes...)
		}
		kvs = append(kvs, attribute.String("name", s.Name()), attribute.String("status", s.Status().Description))
		for _, kv := range kvs {
			for _, secret := range secrets {
				if strings.Contains(kv.Value.String(), secret) {
					t.Errorf("%s %q: attribute %s = %q holds a secret", s.SpanKind(), s.Name(), kv.Key, kv.Value.String())
				}
			}
		}
	}
}

// logLine waits for the request log line of path with the given status and returns it.
func logLine(t *testing.T, ts *testServer, method, path string, status int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(ts.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["method"] == method && m["path"] == path && m["status"] == float64(status) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request log line for %s %s %d in:\n%s", method, path, status, ts.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTracesUnifiedCreateOnSandbox: one unified create, with the caller's traceparent, at a
// provider running on its embedded sandbox gives a server span that continues the caller's trace,
// with a client span per provider call below it; the log line names the trace; the same create
// again with its Idempotency-Key is a replay, with no provider call.
func TestTracesUnifiedCreateOnSandbox(t *testing.T) {
	t.Parallel()
	rec, tp := recordSpans(t)
	ts := start(t, Config{TracerProvider: tp})
	body := `{"provider":"mijnklantportaal","description":"Traced","amount":{"currency":"EUR","value":"12.95"}}`
	headers := map[string]string{"traceparent": traceparent, "Idempotency-Key": "traced-1"}
	if status, _, b := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, body, headers); status != 201 {
		t.Fatalf("create: %d %v", status, b)
	}
	srv := serverSpans(t, rec, "POST /v1/payment-links", 1)[0]
	if got := srv.SpanContext().TraceID().String(); got != callerTraceID {
		t.Errorf("server span in trace %s, want the caller's %s", got, callerTraceID)
	}
	if got := srv.Parent(); got.SpanID().String() != callerSpanID || !got.IsRemote() {
		t.Errorf("server span's parent %s (remote %v), want the caller's span %s", got.SpanID(), got.IsRemote(), callerSpanID)
	}
	wantAttrs(t, srv, map[string]string{
		"http.request.method": "POST", "http.route": "/v1/payment-links", "http.response.status_code": "201",
		"url.path": "/v1/payment-links", "paylinks.operation": "CreatePaymentLink", "paylinks.provider": "mijnklantportaal",
		"paylinks.idempotency.replayed": "false",
	})
	calls := childSpans(rec, srv)
	if len(calls) == 0 {
		t.Fatalf("no span below the server span; spans: %v", spanNames(rec.Ended()))
	}
	for _, c := range calls {
		if c.SpanKind() != trace.SpanKindClient || attrs(c)["paylinks.provider"] != "mijnklantportaal" {
			t.Errorf("below the server span: %s %q %v, want client spans of calls to mijnklantportaal", c.SpanKind(), c.Name(), attrs(c))
		}
	}
	wantAttrs(t, calls[0], map[string]string{
		"paylinks.operation": "CreatePaymentLink", "url.template": "/sandbox/mijnklantportaal/payment-links",
		"http.request.method": "POST", "http.response.status_code": "201",
	})
	if calls[0].Name() != "POST /sandbox/mijnklantportaal/payment-links" {
		t.Errorf("client span named %q, want its method and spec path", calls[0].Name())
	}

	line := logLine(t, ts, "POST", "/v1/payment-links", 201)
	if line["trace_id"] != callerTraceID || line["span_id"] != srv.SpanContext().SpanID().String() {
		t.Errorf("log line trace_id %v span_id %v, want %s and the server span's %s", line["trace_id"], line["span_id"], callerTraceID, srv.SpanContext().SpanID())
	}

	if status, h, b := ts.do(t, "POST", "/v1/payment-links", DemoAPIKey, body, headers); status != 201 || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %v %v", status, h, b)
	}
	replay := serverSpans(t, rec, "POST /v1/payment-links", 2)[1]
	wantAttrs(t, replay, map[string]string{"paylinks.idempotency.replayed": "true", "paylinks.operation": "CreatePaymentLink"})
	if below := childSpans(rec, replay); len(below) != 0 {
		t.Errorf("a replay called the provider: %v", spanNames(below))
	}
}

// TestTracesLiveProviderRetry: a unified create at a live provider (an HTTP server standing in for
// Telness, answering the first attempt 503) gives a server span with one client span per attempt,
// the second marked as a resend; the provider received the trace context of each attempt; no
// secret (caller's key, provider key, base URL password, query token) is in any span.
func TestTracesLiveProviderRetry(t *testing.T) {
	t.Parallel()
	const (
		callerKey   = "caller-secret-key-5f1c"
		providerKey = "telness-secret-key-9a7e"
		urlPassword = "url-password-secret-3b2d"
		queryToken  = "query-token-secret-77c1"
	)
	sandbox := start(t, Config{})
	var failed atomic.Bool
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && failed.CompareAndSwap(false, true) {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		r.URL.Path = "/sandbox/telness" + r.URL.Path
		r.RequestURI = ""
		sandbox.Handler().ServeHTTP(w, r)
	})
	base := strings.Replace(up.URL, "http://", "http://paylinks:"+urlPassword+"@", 1)
	rec, tp := recordSpans(t)
	ts := start(t, Config{TracerProvider: tp, APIKeys: []string{callerKey}, MaxRetries: 2,
		Providers: map[string]ProviderConfig{"telness": {BaseURL: base, Credentials: map[string]string{"api_key": providerKey}}}})

	body := `{"provider":"telness","reference":"ord-1","providerOptions":{"telness":{"orderId":"ord_1"}}}`
	status, _, created := ts.do(t, "POST", "/v1/payment-links", callerKey, body, map[string]string{"traceparent": traceparent, "Idempotency-Key": "retry-1"})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	srv := serverSpans(t, rec, "POST /v1/payment-links", 1)[0]
	if srv.SpanContext().TraceID().String() != callerTraceID || srv.Parent().SpanID().String() != callerSpanID {
		t.Errorf("server span %s with parent %s, want a child of the caller's %s", srv.SpanContext().TraceID(), srv.Parent().SpanID(), traceparent)
	}
	wantAttrs(t, srv, map[string]string{"paylinks.provider": "telness", "paylinks.operation": "CreatePaymentLink"})
	attempts := childSpans(rec, srv)
	if len(attempts) != 2 {
		t.Fatalf("%d spans below the server span, want 2 attempts: %v", len(attempts), spanNames(attempts))
	}
	wantAttrs(t, attempts[0], map[string]string{"http.response.status_code": "503", "paylinks.provider": "telness", "paylinks.operation": "CreatePaymentLink", "url.template": "/payment-links"})
	wantAttrs(t, attempts[1], map[string]string{"http.response.status_code": "201", "http.request.resend_count": "1", "paylinks.operation": "CreatePaymentLink"})
	if _, ok := attrs(attempts[0])["http.request.resend_count"]; ok {
		t.Errorf("the first attempt is marked as a resend: %v", attrs(attempts[0]))
	}
	// Each attempt told the provider its own span, in the caller's trace.
	seen := up.requests()
	if len(seen) != 2 {
		t.Fatalf("provider got %d requests, want 2", len(seen))
	}
	for i, r := range seen {
		want := "00-" + callerTraceID + "-" + attempts[i].SpanContext().SpanID().String() + "-01"
		if got := r.Header.Get("traceparent"); got != want {
			t.Errorf("attempt %d: provider got traceparent %q, want %q", i+1, got, want)
		}
	}

	// A passthrough read with a token in its query: the passthrough forwards documented parameters
	// only, so it is refused before any provider call, and the span shows the query without it.
	id, _ := created["providerLinkId"].(string)
	if status, _, b := ts.do(t, "GET", "/providers/telness/payment-links/"+id+"?access_token="+queryToken, callerKey, "", map[string]string{"traceparent": traceparent}); status != 400 {
		t.Fatalf("passthrough get with an undocumented parameter: %d %v, want 400", status, b)
	}
	get := serverSpans(t, rec, "GET /providers/:provider/*", 1)[0]
	wantAttrs(t, get, map[string]string{"paylinks.provider": "telness", "url.query": "access_token=REDACTED"})
	if calls := childSpans(rec, get); len(calls) != 0 {
		t.Errorf("passthrough: %d spans below the server span of a refused request: %v", len(calls), spanNames(calls))
	}
	if n := len(up.requests()); n != 2 {
		t.Errorf("provider got %d requests, want the 2 attempts of the create only", n)
	}
	// A passthrough read the provider gets: the client span's URL has no userinfo.
	if status, _, b := ts.do(t, "GET", "/providers/telness/payment-links/"+id, callerKey, "", map[string]string{"traceparent": traceparent}); status != 200 {
		t.Fatalf("passthrough get: %d %v", status, b)
	}
	get = serverSpans(t, rec, "GET /providers/:provider/*", 2)[1]
	wantAttrs(t, get, map[string]string{"paylinks.provider": "telness", "paylinks.operation": "GetPaymentLink"})
	calls := childSpans(rec, get)
	if len(calls) != 1 {
		t.Fatalf("passthrough: %d spans below the server span, want 1: %v", len(calls), spanNames(calls))
	}
	if u := attrs(calls[0])["url.full"]; !strings.HasSuffix(u, "/payment-links/"+id) || strings.Contains(u, "@") {
		t.Errorf("passthrough client span url.full = %q, want the URL without userinfo", u)
	}
	if r := up.requests()[2]; !strings.Contains(r.Header.Get("traceparent"), calls[0].SpanContext().SpanID().String()) {
		t.Errorf("provider got traceparent %q, want the client span", r.Header.Get("traceparent"))
	}

	noSecrets(t, rec.Ended(), callerKey, providerKey, urlPassword, queryToken)
}

// TestTraceContextWithoutExporter: with no exporter (the default) nothing is recorded, yet the
// caller's trace context reaches the provider and the log line; without one, none is made up.
func TestTraceContextWithoutExporter(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, answer(http.StatusCreated, "application/json", telnessLink))
	ts := start(t, Config{APIKeys: []string{"k"}, Providers: map[string]ProviderConfig{"telness": {BaseURL: up.URL, Credentials: map[string]string{"api_key": "key"}}}})
	body := `{"provider":"telness","providerOptions":{"telness":{"orderId":"ord_1"}}}`
	if status, _, b := ts.do(t, "POST", "/v1/payment-links", "k", body, map[string]string{"traceparent": traceparent}); status != 201 {
		t.Fatalf("create: %d %v", status, b)
	}
	if got := up.requests()[0].Header.Get("traceparent"); got != traceparent {
		t.Errorf("provider got traceparent %q, want the caller's %q", got, traceparent)
	}
	line := logLine(t, ts, "POST", "/v1/payment-links", 201)
	if line["trace_id"] != callerTraceID {
		t.Errorf("log line trace_id %v, want %s: %v", line["trace_id"], callerTraceID, line)
	}

	if status, _, b := ts.do(t, "POST", "/v1/payment-links", "k", body, nil); status != 201 {
		t.Fatalf("create without a trace context: %d %v", status, b)
	}
	if got := up.requests()[1].Header.Get("traceparent"); got != "" {
		t.Errorf("provider got traceparent %q with none from the caller", got)
	}
}

// TestServeExportsSpansOnStop: with an OTLP endpoint in the environment (and nothing else), the
// server exports its spans, and a graceful stop sends those still buffered.
func TestServeExportsSpansOnStop(t *testing.T) {
	var mu sync.Mutex
	var exported []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					exported = append(exported, s.Name)
				}
			}
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "600000") // nothing leaves before the stop
	cfg, err := FromEnv(func(k string) string {
		if strings.HasPrefix(k, "OTEL_") {
			return os.Getenv(k)
		}
		return "" // the rest as defaults: a developer's PAYLINKS_* do not change the test
	})
	if err != nil {
		t.Fatal(err)
	}
	var before int
	t.Run("serve until stopped", func(t *testing.T) {
		ts := start(t, cfg) // stopped gracefully when this subtest ends
		if status, _, b := ts.do(t, "GET", "/v1/providers", DemoAPIKey, "", nil); status != 200 {
			t.Fatalf("providers: %d %v", status, b)
		}
		mu.Lock()
		before = len(exported)
		mu.Unlock()
	})
	mu.Lock()
	defer mu.Unlock()
	if before != 0 || !slices.Contains(exported, "GET /v1/providers") {
		t.Errorf("exported before the stop %d spans, after %v; want the request's span, on the stop", before, exported)
	}
}

// TestTracesCountSpecViolations: the server span counts the spec violations found in the caller's
// request and in a provider's answer, each place with an event.
func TestTracesCountSpecViolations(t *testing.T) {
	t.Parallel()
	rec, tp := recordSpans(t)
	ts := start(t, Config{TracerProvider: tp})
	if status, _, b := ts.do(t, "GET", "/v1/payment-links?limit=many", DemoAPIKey, "", nil); status/100 != 4 {
		t.Fatalf("invalid limit: %d %v", status, b)
	}
	list := serverSpans(t, rec, "GET /v1/payment-links", 1)[0]
	wantAttrs(t, list, map[string]string{"paylinks.spec_violations": "1", "paylinks.operation": "ListPaymentLinks"})
	wantEvent(t, list, map[string]string{"paylinks.spec": "paylinks", "paylinks.direction": "request", "paylinks.violations": "1"})

	up := newUpstream(t, answer(http.StatusOK, "application/json", `{"paymentLinkId":"tl_1","status":42}`))
	report := start(t, Config{TracerProvider: tp, Mode: Report, APIKeys: []string{"k"},
		Providers: map[string]ProviderConfig{"telness": {BaseURL: up.URL, Credentials: map[string]string{"api_key": "key"}}}})
	status, h, _ := report.do(t, "GET", "/providers/telness/payment-links/tl_1", "k", "", nil)
	if status != 200 || h.Get("X-Paylinks-Violations") == "" {
		t.Fatalf("report mode: %d %v", status, h)
	}
	get := serverSpans(t, rec, "GET /providers/:provider/*", 1)[0]
	n := strings.Count(h.Get("X-Paylinks-Violations"), ";") + 1
	wantAttrs(t, get, map[string]string{"paylinks.spec_violations": strconv.Itoa(n), "paylinks.provider": "telness", "paylinks.operation": "GetPaymentLink"})
	wantEvent(t, get, map[string]string{"paylinks.spec": "telness", "paylinks.direction": "response", "paylinks.violations": strconv.Itoa(n)})
}

// wantEvent fails the test unless the span has a "spec violation" event with those attributes.
func wantEvent(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	for _, e := range s.Events() {
		got := map[string]string{}
		for _, kv := range e.Attributes {
			got[string(kv.Key)] = kv.Value.String()
		}
		match := e.Name == "spec violation"
		for k, v := range want {
			match = match && got[k] == v
		}
		if match {
			return
		}
	}
	t.Errorf("%q: no spec violation event with %v in %v", s.Name(), want, s.Events())
}
