package telemetry

import (
	"context"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// request is what the server span of a request collects while the request runs, from wherever
// its context reaches (a provider call knows its provider, a validator its violations). Calls may
// come from several goroutines (a list asks providers at once).
type request struct {
	span   trace.Span
	mu     sync.Mutex
	counts map[attribute.Key]int64
	sets   map[attribute.Key][]string
}

type requestKey struct{}

func requestOf(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}

// SetAttribute sets an attribute on the server span of the request ctx belongs to. Without one
// (nothing recorded, or outside a request) it does nothing, and allocates nothing.
func SetAttribute(ctx context.Context, kv attribute.KeyValue) {
	if r := requestOf(ctx); r != nil {
		r.span.SetAttributes(kv)
	}
}

// AddEvent adds an event to the server span of the request ctx belongs to.
func AddEvent(ctx context.Context, name string, kv ...attribute.KeyValue) {
	if r := requestOf(ctx); r != nil {
		r.span.AddEvent(name, trace.WithAttributes(kv...))
	}
}

// Add adds n to the integer attribute key of the request's server span (set when the request ends).
func Add(ctx context.Context, key attribute.Key, n int) {
	if r := requestOf(ctx); r != nil {
		r.mu.Lock()
		if r.counts == nil {
			r.counts = map[attribute.Key]int64{}
		}
		r.counts[key] += int64(n)
		r.mu.Unlock()
	}
}

// Include adds value to the distinct values of the attribute key of the request's server span: it
// ends as that value, or the sorted values joined by commas when there are several.
func Include(ctx context.Context, key attribute.Key, value string) {
	if r := requestOf(ctx); r != nil {
		r.mu.Lock()
		if r.sets == nil {
			r.sets = map[attribute.Key][]string{}
		}
		if !slices.Contains(r.sets[key], value) {
			r.sets[key] = append(r.sets[key], value)
		}
		r.mu.Unlock()
	}
}

// finish sets what the request collected on its span.
func (r *request) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.counts {
		r.span.SetAttributes(k.Int64(n))
	}
	for k, vs := range r.sets {
		slices.Sort(vs)
		r.span.SetAttributes(k.String(strings.Join(vs, ",")))
	}
}
