package telemetry

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ClientOptions tune the client spans of Attempts.
type ClientOptions struct {
	// Attributes are set on every span (e.g. the provider called).
	Attributes []attribute.KeyValue
	// Describe, if set, returns the template of a request's URL path (e.g. /v1/payment-links/{id})
	// and attributes of the request (e.g. its operation). It is called once per attempt, with the
	// request's context (SetAttributes and Include reach the server span from there).
	Describe func(*http.Request) (template string, attrs []attribute.KeyValue)
}

// Calls goes above a retry layer, Attempts below it: it marks each call so that its attempts know
// which resend they are (http.request.resend_count). With a provider that records nothing it is
// next itself.
func Calls(tp trace.TracerProvider, next http.RoundTripper) http.RoundTripper {
	if !Records(tp) {
		return next
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return next.RoundTrip(r.WithContext(context.WithValue(r.Context(), callKey{}, new(atomic.Int64))))
	})
}

type callKey struct{}

// Attempts makes a client span per request it sends, so that below a retry layer each attempt of
// a call is a span of its own, and passes the trace context on in the request's headers
// (traceparent, tracestate, baggage). The spans are otelhttp's, named "{method} {template}", with
// the URL's userinfo left out and the values of secret-looking query parameters redacted
// (RedactQuery); no header is recorded.
//
// With a provider that records nothing it makes no span and writes the trace context of the
// request's context (a caller's, read by Middleware) into the headers, if there is one.
func Attempts(tp trace.TracerProvider, next http.RoundTripper, o ClientOptions) http.RoundTripper {
	if !Records(tp) {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			ctx := r.Context()
			if !trace.SpanContextFromContext(ctx).IsValid() && baggage.FromContext(ctx).Len() == 0 {
				return next.RoundTrip(r)
			}
			out := r.WithContext(ctx) // a RoundTripper must not change the request it was given
			out.Header = r.Header.Clone()
			Propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
			return next.RoundTrip(out)
		})
	}
	// Below otelhttp: the span is started; annotate it, and put the real query back.
	annotate := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		a, _ := r.Context().Value(attemptKey{}).(*attempt)
		if a == nil {
			return next.RoundTrip(r)
		}
		span := trace.SpanFromContext(r.Context())
		span.SetAttributes(a.attrs...)
		if a.template != "" {
			span.SetAttributes(semconv.URLTemplate(a.template))
		}
		if a.resend > 0 {
			span.SetAttributes(semconv.HTTPRequestResendCount(a.resend))
		}
		if a.url != nil {
			r = r.WithContext(r.Context())
			r.URL = a.url
		}
		return next.RoundTrip(r)
	})
	traced := otelhttp.NewTransport(annotate,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // paylinks' metrics are Prometheus'
		otelhttp.WithSpanOptions(trace.WithAttributes(o.Attributes...)),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if a, _ := r.Context().Value(attemptKey{}).(*attempt); a != nil && a.template != "" {
				return r.Method + " " + a.template
			}
			return r.Method
		}),
	)
	// Above otelhttp: describe the attempt, and hide secrets of the query from the span's url.full.
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		a := &attempt{}
		if n, ok := r.Context().Value(callKey{}).(*atomic.Int64); ok {
			a.resend = int(n.Add(1) - 1)
		}
		if o.Describe != nil {
			a.template, a.attrs = o.Describe(r)
		}
		out := r.WithContext(context.WithValue(r.Context(), attemptKey{}, a))
		if q := RedactQuery(r.URL.RawQuery); q != r.URL.RawQuery {
			a.url = r.URL
			shown := *r.URL
			shown.RawQuery = q
			out.URL = &shown
		}
		return traced.RoundTrip(out)
	})
}

// attempt is what the layers around otelhttp tell each other about one attempt.
type attempt struct {
	template string
	attrs    []attribute.KeyValue
	resend   int
	url      *url.URL // the real URL, when the span's shows a redacted query
}

type attemptKey struct{}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
