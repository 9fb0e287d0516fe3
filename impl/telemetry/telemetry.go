// Package telemetry is paylinks' OpenTelemetry tracing: the tracer provider the standard OTEL_*
// variables configure, the W3C propagators, an Echo middleware that makes a server span per
// request, an http.RoundTripper that makes a client span per attempt of a call, and a slog handler
// that writes the trace id on every line logged with a context.
//
// With no exporter configured, nothing is recorded: a caller's trace context is still read, logged
// and passed on, at the cost of reading and writing two headers.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// scope names the instrumentation in the spans it makes.
const scope = "github.com/paylinks/paylinks/impl/telemetry"

// Propagator reads and writes the W3C trace context (traceparent, tracestate) and baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// The exporters Settings knows, as OTEL_TRACES_EXPORTER names them.
const (
	ExporterOTLP    = "otlp"
	ExporterConsole = "console"
)

// The OTLP protocols, as OTEL_EXPORTER_OTLP_PROTOCOL names them.
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Settings say where spans go. The zero value exports nothing.
type Settings struct {
	// Exporters are ExporterOTLP and/or ExporterConsole; none means spans are not recorded.
	Exporters []string
	// Protocol is the OTLP exporter's: ProtocolHTTP (the default) or ProtocolGRPC.
	Protocol string
}

// Exporting reports whether spans are recorded and exported.
func (s Settings) Exporting() bool { return len(s.Exporters) > 0 }

// samplers are the values of OTEL_TRACES_SAMPLER the SDK understands.
var samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// SettingsFromEnv reads the standard variables that choose an exporter:
//
//	OTEL_SDK_DISABLED=true                  no export, whatever else is set
//	OTEL_TRACES_EXPORTER                    otlp, console, both (comma-separated) or none
//	OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT    with OTEL_TRACES_EXPORTER unset: otlp to it
//	OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL    http/protobuf (default) or grpc
//
// Unlike the OpenTelemetry default (otlp to localhost), nothing at all means no export: a server
// started with no configuration does not try to reach a collector that is not there. The
// exporters and the SDK read the other OTEL_* variables (endpoint, headers, timeout, sampler,
// batching, service name, resource attributes) themselves. An unknown value is an error naming
// its variable.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	var s Settings
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return s, nil
	}
	if v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); v != "" {
		for _, name := range strings.Split(strings.ToLower(v), ",") {
			switch name = strings.TrimSpace(name); name {
			case "none":
			case ExporterOTLP, ExporterConsole:
				if !slices.Contains(s.Exporters, name) {
					s.Exporters = append(s.Exporters, name)
				}
			default:
				return Settings{}, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: use otlp, console or none", v)
			}
		}
	} else if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		s.Exporters = []string{ExporterOTLP}
	}
	name, v := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if v == "" {
		name, v = "OTEL_EXPORTER_OTLP_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch s.Protocol = strings.ToLower(strings.TrimSpace(v)); s.Protocol {
	case "":
		s.Protocol = ProtocolHTTP
	case ProtocolHTTP, ProtocolGRPC:
	default:
		return Settings{}, fmt.Errorf("%s=%q: use http/protobuf or grpc", name, v)
	}
	if v := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))); v != "" && !slices.Contains(samplers, v) {
		return Settings{}, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: use one of %s", v, strings.Join(samplers, ", "))
	}
	return s, nil
}

// Provider is a tracer provider and how to stop it.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
}

// Shutdown exports the spans still buffered and stops the exporters; a Provider that exports
// nothing has nothing to do.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// NewProvider makes the tracer provider the settings describe: with no exporter one that records
// nothing (spans are not even made, the incoming context is passed on as it came), else the SDK's,
// batching spans to the exporters. The OTLP exporters read their endpoint, headers, timeout,
// compression and certificates from the OTEL_EXPORTER_OTLP_* variables, the SDK its sampler
// (OTEL_TRACES_SAMPLER), batching (OTEL_BSP_*) and resource (OTEL_SERVICE_NAME, default paylinks;
// OTEL_RESOURCE_ATTRIBUTES). Export failures are logged to log (OpenTelemetry reports them through
// its one global error handler, which this sets).
func NewProvider(ctx context.Context, s Settings, log *slog.Logger, console io.Writer) (*Provider, error) {
	if !s.Exporting() {
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("paylinks"), semconv.ServiceVersion(version())),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	var exporters []sdktrace.SpanExporter
	for _, name := range s.Exporters {
		var exp sdktrace.SpanExporter
		switch {
		case name == ExporterConsole:
			if console == nil {
				console = os.Stdout
			}
			exp, err = stdouttrace.New(stdouttrace.WithWriter(console))
		case s.Protocol == ProtocolGRPC:
			exp, err = otlptracegrpc.New(ctx)
		default:
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			for _, e := range exporters {
				_ = e.Shutdown(ctx)
			}
			return nil, fmt.Errorf("trace exporter %s: %w", name, err)
		}
		exporters = append(exporters, exp)
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	if log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("opentelemetry", "error", err.Error())
		}))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	// The SDK's Shutdown exports what the batchers still hold before it stops them.
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown}, nil
}

// Records reports whether tp makes spans at all: the no-op provider (and nil) does not, and then
// the instrumentation only passes the trace context on.
func Records(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	if p, ok := tp.(*Provider); ok {
		return Records(p.TracerProvider)
	}
	return true
}

// version is the module version of the binary (as `paylinks version` shows it), or "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// tracer is the tracer of this instrumentation from tp.
func tracer(tp trace.TracerProvider) trace.Tracer {
	return tp.Tracer(scope, trace.WithInstrumentationVersion(version()), trace.WithSchemaURL(semconv.SchemaURL))
}
