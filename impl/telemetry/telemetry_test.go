package telemetry

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/otel/trace"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestSettingsFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr string
	}{
		{name: "nothing set: no export", env: nil, want: Settings{Protocol: ProtocolHTTP}},
		{name: "an endpoint alone means otlp", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			want: Settings{Exporters: []string{ExporterOTLP}, Protocol: ProtocolHTTP}},
		{name: "a traces endpoint alone means otlp", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
			want: Settings{Exporters: []string{ExporterOTLP}, Protocol: ProtocolHTTP}},
		{name: "otlp over grpc", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: Settings{Exporters: []string{ExporterOTLP}, Protocol: ProtocolGRPC}},
		{name: "the traces protocol wins", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: Settings{Exporters: []string{ExporterOTLP}, Protocol: ProtocolHTTP}},
		{name: "two exporters, once each", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp, Console,otlp"},
			want: Settings{Exporters: []string{ExporterOTLP, ExporterConsole}, Protocol: ProtocolHTTP}},
		{name: "none beats an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			want: Settings{Protocol: ProtocolHTTP}},
		{name: "the SDK disabled", env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "bogus"},
			want: Settings{}},
		{name: "a sampler", env: map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
			want: Settings{Exporters: []string{ExporterConsole}, Protocol: ProtocolHTTP}},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: `OTEL_TRACES_EXPORTER="zipkin"`},
		{name: "json protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`},
		{name: "unknown traces protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"}, wantErr: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="udp"`},
		{name: "unknown sampler", env: map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, wantErr: `OTEL_TRACES_SAMPLER="sometimes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SettingsFromEnv(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                       "",
		"page=2":                                 "page=2",
		"page=2&status=open":                     "page=2&status=open",
		"access_token=abc&page=2":                "access_token=REDACTED&page=2",
		"page=2&API_KEY=abc":                     "page=2&API_KEY=REDACTED",
		"X-Amz-Signature=abc&X-Amz-Credential=d": "X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED",
		"password=p&user=u":                      "password=REDACTED&user=u",
		"api%5Fkey=abc":                          "api%5Fkey=REDACTED",
		"token":                                  "token", // a name without a value holds no secret
	}
	for in, want := range tests {
		if got := RedactQuery(in); got != want {
			t.Errorf("RedactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "paylinks")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 1}, SpanID: trace.SpanID{0x00, 0xf0, 2}, TraceFlags: trace.FlagsSampled,
	})
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "with a span")
	log.InfoContext(context.Background(), "without")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines: %q", lines)
	}
	if want := `"trace_id":"` + sc.TraceID().String() + `","span_id":"` + sc.SpanID().String() + `"`; !strings.Contains(lines[0], want) || !strings.Contains(lines[0], `"service":"paylinks"`) {
		t.Errorf("line with a span: %s, want %s", lines[0], want)
	}
	for _, l := range lines[1:] {
		if strings.Contains(l, "trace_id") {
			t.Errorf("line without a span has a trace id: %s", l)
		}
	}
}

// exportOneSpan makes a provider from the environment, ends one span and shuts the provider down,
// which must export the span.
func exportOneSpan(t *testing.T, name string) {
	t.Helper()
	s, err := SettingsFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(context.Background(), s, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !Records(p) {
		t.Fatal("a provider with an exporter records nothing")
	}
	_, span := p.Tracer("test").Start(context.Background(), name)
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// spanNamesOf lists the service and span names of an OTLP export request.
func spanNamesOf(req *coltrace.ExportTraceServiceRequest) (services, spans []string) {
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.Resource.Attributes {
			if kv.Key == "service.name" {
				services = append(services, kv.Value.GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				spans = append(spans, s.Name)
			}
		}
	}
	return services, spans
}

// TestOTLPHTTPExportOnShutdown: with only OTEL_EXPORTER_OTLP_ENDPOINT set, spans go over OTLP/HTTP
// to it, named by OTEL_SERVICE_NAME, and Shutdown sends what is buffered.
func TestOTLPHTTPExportOnShutdown(t *testing.T) {
	var mu sync.Mutex
	var got []*coltrace.ExportTraceServiceRequest
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "paylinks-test")
	exportOneSpan(t, "exported over http")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d exports, want 1", len(got))
	}
	if services, spans := spanNamesOf(got[0]); !reflect.DeepEqual(services, []string{"paylinks-test"}) || !reflect.DeepEqual(spans, []string{"exported over http"}) {
		t.Errorf("exported services %v spans %v", services, spans)
	}
}

type collector struct {
	coltrace.UnimplementedTraceServiceServer
	mu  sync.Mutex
	got []*coltrace.ExportTraceServiceRequest
}

func (c *collector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// TestOTLPGRPCExportOnShutdown: OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends spans over OTLP/gRPC, with
// the service name paylinks when OTEL_SERVICE_NAME is not set.
func TestOTLPGRPCExportOnShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	gs := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(gs, c)
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_SERVICE_NAME", "")
	exportOneSpan(t, "exported over grpc")
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != 1 {
		t.Fatalf("%d exports, want 1", len(c.got))
	}
	if services, spans := spanNamesOf(c.got[0]); !reflect.DeepEqual(services, []string{"paylinks"}) || !reflect.DeepEqual(spans, []string{"exported over grpc"}) {
		t.Errorf("exported services %v spans %v", services, spans)
	}
}

func TestConsoleExporter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p, err := NewProvider(context.Background(), Settings{Exporters: []string{ExporterConsole}}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("test").Start(context.Background(), "printed")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Name":"printed"`) {
		t.Errorf("console output: %s", out.String())
	}
}

func TestNoExporterRecordsNothing(t *testing.T) {
	t.Parallel()
	p, err := NewProvider(context.Background(), Settings{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if Records(p) {
		t.Error("a provider without exporters records")
	}
	if _, span := p.Tracer("test").Start(context.Background(), "x"); span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("a provider without exporters made a span")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}
