package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"

	"github.com/paylinks/paylinks/impl/telemetry"
	"github.com/paylinks/paylinks/impl/validation"
)

// The span attributes paylinks adds to the semantic conventions' HTTP ones.
const (
	// attrProvider is the provider called: on its client spans, and on the server span of a
	// request that called one (several, sorted and joined by commas, for a merged list).
	attrProvider = attribute.Key("paylinks.provider")
	// attrOperation is the operationId of the curated spec: the unified API's on its server
	// spans, the provider's on passthrough server spans and on client spans.
	attrOperation = attribute.Key("paylinks.operation")
	// attrReplayed is on the server span of a POST with an Idempotency-Key: whether the answer was
	// a stored one.
	attrReplayed = attribute.Key("paylinks.idempotency.replayed")
	// attrViolations counts the spec violations found while answering a request (in its request,
	// our answer and the providers' answers); each has a "spec violation" event beside.
	attrViolations = attribute.Key("paylinks.spec_violations")
)

// untracedRoutes get no span: probes and scrapes would drown the traces that matter.
var untracedRoutes = []string{"/healthz", "/readyz", "/metrics"}

// startTracing sets up the tracer provider: Config.TracerProvider if given (its owner stops it),
// else the one Config.Tracing describes, which Close stops (Serve closes the server when it returns).
func (s *Server) startTracing() error {
	if s.cfg.TracerProvider != nil {
		s.tracer = s.cfg.TracerProvider
		return nil
	}
	p, err := telemetry.NewProvider(context.Background(), s.cfg.Tracing, s.log, nil)
	if err != nil {
		return err
	}
	s.tracer, s.ownTracer = p, p
	return nil
}

// stopTracing exports the spans still buffered and stops the exporters the server started, giving
// them up to ShutdownTimeout. Close calls it (so does New when it fails); it does its work once.
func (s *Server) stopTracing() {
	p := s.ownTracer
	s.ownTracer = nil
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		s.log.Warn("spans not exported before stopping", "error", err.Error())
	}
}

// traceRequests makes the server span of each request (see telemetry.Middleware).
func (s *Server) traceRequests() echo.MiddlewareFunc {
	return telemetry.Middleware(s.tracer, telemetry.ServerOptions{
		Skip: untracedRoutes,
		End: func(c echo.Context) []attribute.KeyValue {
			var attrs []attribute.KeyValue
			r := c.Request()
			if op := s.unifiedOps[r.Method+" "+c.Path()]; op != "" {
				attrs = append(attrs, attrOperation.String(op))
			}
			if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" {
				attrs = append(attrs, attrReplayed.Bool(c.Response().Header().Get("Idempotent-Replayed") == "true"))
			}
			return attrs
		},
	})
}

// retryTraced is the retry layer of a provider's client, traced: below it (around base) each
// attempt is a client span of its own, named by the spec path it is for and carrying the provider
// and the operation; above it the attempts of one call are counted.
func (s *Server) retryTraced(p *provider, base http.RoundTripper) http.RoundTripper {
	name := p.kit.Name
	attempts := telemetry.Attempts(s.tracer, base, telemetry.ClientOptions{
		Attributes: []attribute.KeyValue{attrProvider.String(name)},
		Describe: func(r *http.Request) (string, []attribute.KeyValue) {
			telemetry.Include(r.Context(), attrProvider, name)
			op := p.operation(r)
			if op == nil {
				return "", nil
			}
			return strings.TrimSuffix(p.baseURL.Path, "/") + op.Path(), []attribute.KeyValue{attrOperation.String(op.ID())}
		},
	})
	return telemetry.Calls(s.tracer, retrying(attempts, s.cfg.MaxRetries))
}

// operation finds the operation of the provider's spec a request to it is for: the one the
// passthrough matched, or by its path below the base URL.
func (p *provider) operation(r *http.Request) *validation.Operation {
	if op := validation.OperationFrom(r.Context()); op != nil {
		return op
	}
	path, ok := strings.CutPrefix(r.URL.Path, strings.TrimSuffix(p.baseURL.Path, "/"))
	if !ok {
		return nil
	}
	op, err := p.spec.Find(&http.Request{Method: r.Method, URL: &url.URL{Path: path}, Header: http.Header{}})
	if err != nil {
		return nil
	}
	return op
}

// operationsByRoute maps the routes Echo has for the unified API ("POST /v1/payment-links/:id/close")
// to their operationIds, so that every server span of the API names its operation: replays and
// requests refused before validation too.
func operationsByRoute(doc *openapi3.T) map[string]string {
	m := map[string]string{}
	for path, item := range doc.Paths.Map() {
		route := pathParam.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			m[method+" "+route] = op.OperationID
		}
	}
	return m
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// traceOperation names, on a passthrough request's server span, the provider and the operation
// of its spec the request is for.
func (s *Server) traceOperation(ctx context.Context, provider, operation string) {
	if !telemetry.Records(s.tracer) {
		return // no span to name: spare the context lookups
	}
	telemetry.SetAttribute(ctx, attrOperation.String(operation))
	telemetry.Include(ctx, attrProvider, provider)
}

// traceViolations counts spec violations on the request's server span, with an event saying where
// they were found.
func traceViolations(ctx context.Context, spec, operation, direction string, n int) {
	telemetry.Add(ctx, attrViolations, n)
	telemetry.AddEvent(ctx, "spec violation", attribute.String("paylinks.spec", spec), attrOperation.String(operation),
		attribute.String("paylinks.direction", direction), attribute.Int("paylinks.violations", n))
}
