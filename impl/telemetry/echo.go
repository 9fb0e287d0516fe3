package telemetry

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServerOptions tune Middleware.
type ServerOptions struct {
	// Skip are routes that get no span (health checks, metric scrapes): they would drown the
	// traces that matter. Their callers' trace context is still read.
	Skip []string
	// End returns attributes known once the request is answered (e.g. an idempotent replay).
	End func(c echo.Context) []attribute.KeyValue
}

// Middleware makes a server span per request, named by its method and route template
// ("GET /v1/payment-links/:id", never the raw path), a child of the trace context the caller sent
// (traceparent, tracestate, baggage), with the HTTP attributes of the semantic conventions. The
// span is in the request's context from there on: logs, provider calls and SetAttributes, Add and
// Include find it. A 5xx answer marks the span as an error.
//
// With a provider that records nothing, it only reads the caller's trace context into the
// request's context, so the trace id is still logged and passed on to providers; a request that
// brings none costs two map lookups.
//
// It must run after routing (Echo's Use, not Pre), so that the route is known.
func Middleware(tp trace.TracerProvider, o ServerOptions) echo.MiddlewareFunc {
	skip := map[string]bool{}
	for _, r := range o.Skip {
		skip[r] = true
	}
	if !Records(tp) {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				r := c.Request()
				// The server canonicalizes header names; Header.Get would allocate to do it again.
				if len(r.Header["Traceparent"]) == 0 && len(r.Header["Baggage"]) == 0 {
					return next(c)
				}
				if ctx := Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)); ctx != r.Context() {
					c.SetRequest(r.WithContext(ctx))
				}
				return next(c)
			}
		}
	}
	t := tracer(tp)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			ctx := Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			route := c.Path()
			if skip[route] {
				c.SetRequest(r.WithContext(ctx))
				return next(c)
			}
			method, attrs := serverAttributes(r, route)
			name := method
			switch {
			case method == "_OTHER":
				name = "HTTP"
			case route != "":
				name += " " + route
			}
			ctx, span := t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			defer span.End()
			req := &request{span: span}
			c.SetRequest(r.WithContext(context.WithValue(ctx, requestKey{}, req)))
			if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
				span.SetAttributes(attribute.String("paylinks.request_id", id))
			}

			if err := next(c); err != nil {
				c.Error(err) // answers now, so that the status is known
			}

			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
				span.SetStatus(codes.Error, "")
			}
			if o.End != nil {
				span.SetAttributes(o.End(c)...)
			}
			req.finish()
			return nil
		}
	}
}

// serverAttributes are the semantic conventions' attributes of an HTTP server request. The query
// is redacted (RedactQuery); no header but User-Agent is read.
func serverAttributes(r *http.Request, route string) (method string, attrs []attribute.KeyValue) {
	attrs = make([]attribute.KeyValue, 0, 12)
	switch method = r.Method; method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String(method))
	default:
		method = "_OTHER"
		attrs = append(attrs, semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(r.Method))
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs = append(attrs, semconv.URLScheme(scheme), semconv.URLPath(r.URL.Path))
	if q := r.URL.RawQuery; q != "" {
		attrs = append(attrs, semconv.URLQuery(RedactQuery(q)))
	}
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.ClientAddress(host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	attrs = append(attrs, semconv.NetworkProtocolVersion(strconv.Itoa(r.ProtoMajor)+minor(r.ProtoMajor, r.ProtoMinor)))
	return method, attrs
}

// minor is the ".1" of HTTP/1.1; HTTP/2 and 3 are named by their major version alone.
func minor(major, minor int) string {
	if major >= 2 {
		return ""
	}
	return "." + strconv.Itoa(minor)
}
