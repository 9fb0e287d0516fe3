package events

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/eventstest"
	"github.com/paylinks/paylinks/impl/events/store"
	"github.com/paylinks/paylinks/impl/paylink"
)

// endpointFor registers the receiver and makes it verify with the endpoint's secret and clock.
func (e *env) endpointFor(t *testing.T, rcv *eventstest.Receiver, in EndpointInput) Endpoint {
	t.Helper()
	in.URL = rcv.URL()
	ep, secret, err := e.svc.CreateEndpoint(context.Background(), in)
	must(t, err)
	rcv.SetSecrets(secret)
	rcv.SetNow(e.clock.Now)
	return ep
}

func (e *env) deliveries(t *testing.T, endpointID string) []Delivery {
	t.Helper()
	p, err := e.svc.EndpointDeliveries(context.Background(), endpointID, DeliveryFilter{Limit: 100})
	must(t, err)
	return p.Items
}

func (e *env) runOnce(t *testing.T) int {
	t.Helper()
	n, err := e.svc.Dispatcher().RunOnce(context.Background())
	must(t, err)
	return n
}

// The receiver fault script: each failure is retried on the schedule (Retry-After honoured up to
// its cap), every attempt is logged, every request carries the same webhook-id and verifies, and
// the event is finally delivered.
func TestDeliveryFaultScript(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Delivery.Timeout = 300 * time.Millisecond })
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{})
	ctx := context.Background()
	evs, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_1", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	steps := []struct {
		action  eventstest.Action
		down    bool
		status  int
		errPart string
		next    time.Duration // the delay before the next attempt
	}{
		{action: eventstest.Status(500), status: 500, errPart: "HTTP 500", next: 5 * time.Second},
		{action: eventstest.RetryAfter(503, 1200), status: 503, errPart: "HTTP 503", next: 20 * time.Minute}, // Retry-After beats 5 min
		{action: eventstest.RetryAfter(429, 999999), status: 429, errPart: "HTTP 429", next: time.Hour},      // capped at 1 h (beats 30 min)
		{action: eventstest.Action{Sleep: 2 * time.Second}, errPart: "no answer within", next: 2 * time.Hour},
		{action: eventstest.Action{Reset: true}, errPart: "", next: 5 * time.Hour},
		{down: true, errPart: "refused", next: 10 * time.Hour},
		{action: eventstest.Action{Status: 302, Location: "/elsewhere"}, status: 302, errPart: "redirects are not followed", next: 14 * time.Hour},
		{action: eventstest.Action{Status: 204}, status: 204},
	}
	for _, st := range steps {
		if !st.down {
			rcv.Script(st.action)
		}
	}
	for i, st := range steps {
		if st.down {
			rcv.Down()
		}
		if n := e.runOnce(t); n != 1 {
			t.Fatalf("step %d: attempted %d deliveries", i, n)
		}
		if st.down {
			rcv.Up()
		}
		d := e.deliveries(t, ep.ID)[0]
		last := d.Attempts[len(d.Attempts)-1]
		if last.HTTPStatus != st.status || !strings.Contains(last.Error, st.errPart) || d.Attempt != i+1 {
			t.Fatalf("step %d: attempt %+v (delivery attempt %d)", i, last, d.Attempt)
		}
		if st.next == 0 {
			if d.Status != store.DeliveryDelivered || last.Outcome != store.OutcomeSucceeded {
				t.Fatalf("step %d: %s / %s", i, d.Status, last.Outcome)
			}
			break
		}
		if got := d.NextAttemptAt.Sub(e.clock.Now()); d.Status != store.DeliveryPending || got != st.next {
			t.Fatalf("step %d: %s, next attempt in %v, want %v", i, d.Status, got, st.next)
		}
		// Not due a moment before, due at its time.
		e.clock.Advance(st.next - time.Millisecond)
		if n := e.runOnce(t); n != 0 {
			t.Fatalf("step %d: a retry went out %v early", i, time.Millisecond)
		}
		e.clock.Advance(time.Millisecond)
	}
	reqs := rcv.Requests()
	if len(reqs) != len(steps)-1 { // the attempt while the receiver was down never arrived
		t.Fatalf("receiver got %d requests, want %d", len(reqs), len(steps)-1)
	}
	for i, r := range reqs {
		if r.ID != evs[0].ID || !r.VerifyOK {
			t.Fatalf("request %d: webhook-id %q (want %q), verify: %v", i, r.ID, evs[0].ID, r.VerifyErr)
		}
		if r.Header.Get("Content-Type") != "application/json" || string(r.Body) != string(must1(e.svc.Store().GetEvent(ctx, evs[0].ID)).Payload) {
			t.Fatalf("request %d: body %s", i, r.Body)
		}
	}
	d := e.deliveries(t, ep.ID)[0]
	if len(d.Attempts) != len(steps) {
		t.Fatalf("attempt log has %d entries, want %d", len(d.Attempts), len(steps))
	}
	for i, a := range d.Attempts {
		if a.Attempt != i+1 || a.StartedAt.IsZero() {
			t.Fatalf("attempt log entry %d: %+v", i, a)
		}
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDelivery410DisablesEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{})
	ctx := context.Background()
	rcv.Script(eventstest.Status(http.StatusGone))
	_, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_1", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	e.runOnce(t)
	got, _ := e.svc.GetEndpoint(ctx, ep.ID)
	if !got.Disabled || !strings.Contains(got.DisabledReason, "410") {
		t.Fatalf("endpoint after 410: %+v", got)
	}
	if d := e.deliveries(t, ep.ID)[0]; d.Status != store.DeliveryFailed {
		t.Fatalf("delivery after 410: %s", d.Status)
	}
	// New events skip a disabled endpoint.
	_, err = e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_2", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	if n := len(e.deliveries(t, ep.ID)); n != 1 {
		t.Fatalf("a disabled endpoint got %d deliveries", n)
	}
	if _, err := e.svc.TestEndpoint(ctx, ep.ID); !errors.Is(err, paylink.ErrInvalidInput) {
		t.Fatalf("test of a disabled endpoint: %v", err)
	}
}

func TestRetriesExhaustedThenRecovered(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RetrySchedule = "now,1s,1s" })
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{})
	ctx := context.Background()
	rcv.Script(eventstest.Status(500), eventstest.Status(500), eventstest.Status(500))
	_, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_1", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	for i := 0; i < 3; i++ {
		if n := e.runOnce(t); n != 1 {
			t.Fatalf("attempt %d: %d", i, n)
		}
		e.clock.Advance(time.Second)
	}
	if n := e.runOnce(t); n != 0 {
		t.Fatal("a fourth attempt was made")
	}
	d := e.deliveries(t, ep.ID)[0]
	if d.Status != store.DeliveryFailed || len(d.Attempts) != 3 {
		t.Fatalf("after exhaustion: %s with %d attempts", d.Status, len(d.Attempts))
	}
	if n, err := e.svc.Recover(ctx, ep.ID, t0.Add(-time.Hour), time.Time{}); err != nil || n != 1 {
		t.Fatalf("recover = %d, %v", n, err)
	}
	e.runOnce(t)
	if d = e.deliveries(t, ep.ID)[0]; d.Status != store.DeliveryDelivered || len(d.Attempts) != 4 {
		t.Fatalf("after recover: %s with %d attempts", d.Status, len(d.Attempts))
	}
	if rs := rcv.Requests(); rs[3].ID != rs[0].ID {
		t.Fatal("a recovered delivery changed its webhook-id")
	}
}

func TestEndpointFailingForDaysIsDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.RetrySchedule = "now,24h,24h,24h,24h,24h,24h"
		c.Delivery.DisableAfter = 5 * 24 * time.Hour
	})
	rcv := eventstest.NewReceiver(t)
	ep := e.endpointFor(t, rcv, EndpointInput{})
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		rcv.Script(eventstest.Status(500))
	}
	_, err := e.svc.Observe(ctx, Observation{Link: link("hub2", "pl_1", paylink.StatusActive), Source: SourceAPI})
	must(t, err)
	for day := 0; day <= 5; day++ {
		e.runOnce(t)
		got, _ := e.svc.GetEndpoint(ctx, ep.ID)
		if got.Disabled != (day == 5) {
			t.Fatalf("day %d: disabled = %v (%s)", day, got.Disabled, got.DisabledReason)
		}
		e.clock.Advance(24 * time.Hour)
	}
	got, _ := e.svc.GetEndpoint(ctx, ep.ID)
	if !strings.Contains(got.DisabledReason, "failed since") {
		t.Fatalf("reason = %q", got.DisabledReason)
	}
	// Re-enabling resumes the pending delivery at once.
	f := false
	_, err = e.svc.UpdateEndpoint(ctx, ep.ID, EndpointPatch{Disabled: &f})
	must(t, err)
	if n := e.runOnce(t); n != 1 {
		t.Fatalf("after re-enabling: %d attempts", n)
	}
}
