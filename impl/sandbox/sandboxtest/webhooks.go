package sandboxtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/sandbox"
)

// WebhookHarness is what the webhook suite needs of a simulator that sends webhooks, beyond its
// SimHarness.
type WebhookHarness struct {
	SimHarness
	// Subscribe makes the simulator at baseURL call target when a link is paid or expires (and for
	// nothing else), through the provider's own API. It returns the secrets the calls are signed
	// with, and, for a provider whose links name their webhook URL (Mollie), the create that makes
	// a link calling target.
	Subscribe func(t *testing.T, baseURL, credential, target string) Subscription
	// Verify checks a call as paylinks' inbound side does, with the subscription's secrets. nil:
	// the provider does not sign its calls.
	Verify func(header http.Header, body []byte, secrets []string) error
	// Paid and Expired are the event names the simulator's log gives a payment and an expiry;
	// Expired is "" for a provider that calls nobody when a link expires.
	Paid, Expired string
}

// Subscription is what WebhookHarness.Subscribe made.
type Subscription struct {
	Secrets []string
	// Create, when set, replaces SimHarness.Create for the links of the test.
	Create func(expiresAt time.Time) (path string, body any)
}

// RunWebhookConformance runs the checks every simulator that sends webhooks passes: a payment calls
// the subscriber, signed; a payment answers without waiting for the subscriber; a failed call is
// retried; the switches drop, copy, delay and mis-sign calls; expiry calls when the clock passes
// it, read or not; the control API sets the switches and serves the log.
func RunWebhookConformance(t *testing.T, h WebhookHarness) {
	for _, s := range []struct {
		name string
		run  func(*testing.T, WebhookHarness)
	}{
		{"Delivered", delivered},
		{"Asynchronous", asynchronous},
		{"Retried", retried},
		{"Dropped", dropped},
		{"Duplicated", duplicated},
		{"Delayed", delayed},
		{"MisSigned", misSigned},
		{"ExpiryByTheClock", expiryByTheClock},
		{"ControlAPI", controlAPI},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, h)
		})
	}
}

// Call is a webhook call a Receiver got.
type Call struct {
	Header http.Header
	Body   []byte
}

// Receiver is a subscriber's endpoint on 127.0.0.1 that records the calls and answers each by a
// script of statuses (200 once the script is used up), until the test ends.
type Receiver struct {
	URL string

	mu      sync.Mutex
	calls   []Call
	script  []int
	block   chan struct{}
	arrived chan struct{}
}

// NewReceiver starts a receiver answering the statuses of script in turn, then 200.
func NewReceiver(t testing.TB, script ...int) *Receiver {
	t.Helper()
	r := &Receiver{script: script, arrived: make(chan struct{}, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.calls = append(r.calls, Call{Header: req.Header.Clone(), Body: body})
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		block := r.block
		r.mu.Unlock()
		r.arrived <- struct{}{}
		if block != nil {
			<-block
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

// Calls returns the calls received so far.
func (r *Receiver) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Wait waits until n calls arrived (at most 10 s) and returns them.
func (r *Receiver) Wait(t testing.TB, n int) []Call {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.Calls()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("%d webhook calls after 10 s, want %d", len(r.Calls()), n)
		}
	}
	return r.Calls()
}

// hold makes the receiver wait before answering until the returned function is called.
func (r *Receiver) hold() (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.block = make(chan struct{})
	var once sync.Once
	b := r.block
	return func() { once.Do(func() { close(b) }) }
}

// webhookEnv is a simulator mounted as paylinks serves it, subscribed to a receiver.
type webhookEnv struct {
	sim  sandbox.Simulator
	wh   *sandbox.Webhooks
	base string
	root string
	rcv  *Receiver
	sub  Subscription
	h    WebhookHarness
}

func newWebhookEnv(t *testing.T, h WebhookHarness, script ...int) *webhookEnv {
	t.Helper()
	sim := h.New(sandbox.Config{Clock: sandbox.NewClock(start), WebhookRetries: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}})
	n, ok := sim.(sandbox.Notifier)
	if !ok {
		t.Fatalf("%s sends webhooks but is no sandbox.Notifier", sim.Name())
	}
	t.Cleanup(n.Webhooks().Wait) // no call outlives the test's receiver
	srv := httptest.NewServer(sandbox.Handler("/sandbox", sim))
	t.Cleanup(srv.Close)
	e := &webhookEnv{sim: sim, wh: n.Webhooks(), root: srv.URL, base: srv.URL + "/sandbox/" + sim.Name(), rcv: NewReceiver(t, script...), h: h}
	e.sub = h.Subscribe(t, e.base, credential, e.rcv.URL)
	return e
}

// create creates a link through the provider API (expiring at expiresAt; zero: the default).
func (e *webhookEnv) create(t *testing.T, expiresAt time.Time) string {
	t.Helper()
	h := e.h.SimHarness
	if e.sub.Create != nil {
		h.Create = e.sub.Create
	}
	id, status := h.create(t, e.base, credential, expiresAt)
	if id == "" {
		t.Fatalf("creating a link: %d", status)
	}
	return id
}

// verify checks a call's signature with the subscription's secrets.
func (e *webhookEnv) verify(c Call) error {
	if e.h.Verify == nil {
		return nil
	}
	return e.h.Verify(c.Header, c.Body, e.sub.Secrets)
}

// attempts returns the log's attempts of the event.
func (e *webhookEnv) attempts(event string) []sandbox.WebhookAttempt {
	var out []sandbox.WebhookAttempt
	for _, a := range e.wh.Log() {
		if a.Event == event {
			out = append(out, a)
		}
	}
	return out
}

func (e *webhookEnv) signature() string {
	if e.h.Verify == nil {
		return sandbox.SignatureNone
	}
	return sandbox.SignatureOK
}

func delivered(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h)
	id := e.create(t, time.Time{})
	if err := e.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	calls := e.rcv.Wait(t, 1)
	if err := e.verify(calls[0]); err != nil {
		t.Errorf("the call does not verify: %v", err)
	}
	e.wh.Wait()
	if len(e.rcv.Calls()) != 1 {
		t.Errorf("%d calls for one payment", len(e.rcv.Calls()))
	}
	log := e.attempts(h.Paid)
	if len(log) != 1 || log[0].Result != sandbox.ResultDelivered || log[0].Status != http.StatusOK || log[0].URL != e.rcv.URL ||
		log[0].Attempt != 1 || log[0].Signature != e.signature() || log[0].Delivery == "" || log[0].At.IsZero() {
		t.Errorf("log %+v", e.wh.Log())
	}
}

func asynchronous(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h)
	release := e.rcv.hold()
	t.Cleanup(release) // before the receiver closes
	id := e.create(t, time.Time{})
	done := make(chan error, 1)
	go func() { done <- e.sim.Pay(id) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pay waited for the subscriber")
	}
	e.rcv.Wait(t, 1)
	release()
}

func retried(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h, http.StatusInternalServerError, http.StatusServiceUnavailable)
	id := e.create(t, time.Time{})
	if err := e.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	calls := e.rcv.Wait(t, 3)
	e.wh.Wait()
	if len(e.rcv.Calls()) != 3 || !bytes.Equal(calls[0].Body, calls[2].Body) {
		t.Errorf("%d calls, want the failed one retried twice with the same body", len(e.rcv.Calls()))
	}
	var results []string
	for _, a := range e.attempts(h.Paid) {
		results = append(results, a.Result)
	}
	if strings.Join(results, ",") != "failed,failed,delivered" {
		t.Errorf("log %+v", e.wh.Log())
	}
	// A receiver that keeps failing is given up on after the retries.
	gone := newWebhookEnv(t, h, 500, 500, 500, 500)
	id = gone.create(t, time.Time{})
	if err := gone.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	gone.rcv.Wait(t, 3)
	gone.wh.Wait()
	if n := len(gone.attempts(h.Paid)); n != 3 {
		t.Errorf("%d attempts for a receiver failing every call, want 1 and 2 retries", n)
	}
}

func dropped(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h)
	if err := e.wh.Set(sandbox.Switches{Mode: sandbox.Drop}); err != nil {
		t.Fatal(err)
	}
	id := e.create(t, time.Time{})
	if err := e.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	e.wh.Wait()
	if n := len(e.rcv.Calls()); n != 0 {
		t.Errorf("%d calls while dropping", n)
	}
	if log := e.attempts(h.Paid); len(log) != 1 || log[0].Result != sandbox.ResultDropped || log[0].Status != 0 {
		t.Errorf("log %+v", e.wh.Log())
	}
}

func duplicated(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h)
	if err := e.wh.Set(sandbox.Switches{Mode: sandbox.Duplicate}); err != nil {
		t.Fatal(err)
	}
	id := e.create(t, time.Time{})
	if err := e.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	calls := e.rcv.Wait(t, 2)
	e.wh.Wait()
	if len(e.rcv.Calls()) != 2 || !bytes.Equal(calls[0].Body, calls[1].Body) || e.verify(calls[1]) != nil {
		t.Errorf("%d calls, want two identical signed copies", len(e.rcv.Calls()))
	}
	log := e.attempts(h.Paid)
	if len(log) != 2 || log[0].Delivery != log[1].Delivery || log[0].Copy == log[1].Copy {
		t.Errorf("log %+v", log)
	}
}

func delayed(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h)
	if err := e.wh.Set(sandbox.Switches{Mode: sandbox.Delay, Delay: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	id := e.create(t, time.Time{})
	if err := e.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	if n := len(e.rcv.Calls()); n != 0 {
		t.Errorf("%d calls at once, want them held", n)
	}
	if log := e.attempts(h.Paid); len(log) != 0 {
		t.Errorf("logged before it was sent: %+v", log)
	}
	e.rcv.Wait(t, 1)
	// Reorder holds each call a random time up to the delay: both arrive, in some order.
	if err := e.wh.Set(sandbox.Switches{Mode: sandbox.Reorder, Delay: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.sim.Pay(e.create(t, time.Time{})); err != nil {
			t.Fatal(err)
		}
	}
	e.rcv.Wait(t, 3)
}

func misSigned(t *testing.T, h WebhookHarness) {
	if h.Verify == nil {
		t.Skip("the provider does not sign its calls")
	}
	e := newWebhookEnv(t, h)
	if err := e.wh.Set(sandbox.Switches{MisSign: true}); err != nil {
		t.Fatal(err)
	}
	id := e.create(t, time.Time{})
	if err := e.sim.Pay(id); err != nil {
		t.Fatal(err)
	}
	calls := e.rcv.Wait(t, 1)
	if err := e.verify(calls[0]); err == nil {
		t.Error("a mis-signed call verifies")
	}
	e.wh.Wait()
	if log := e.attempts(h.Paid); len(log) != 1 || log[0].Signature != sandbox.SignatureForged {
		t.Errorf("log %+v", log)
	}
	// Back to normal: signed again.
	if err := e.wh.Set(sandbox.Switches{}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Pay(e.create(t, time.Time{})); err != nil {
		t.Fatal(err)
	}
	if err := e.verify(e.rcv.Wait(t, 2)[1]); err != nil {
		t.Errorf("after the switch is off: %v", err)
	}
}

func expiryByTheClock(t *testing.T, h WebhookHarness) {
	if h.Expired == "" {
		t.Skip("the provider calls nobody when a link expires")
	}
	e := newWebhookEnv(t, h)
	soon := e.create(t, start.Add(time.Hour))
	e.create(t, start.Add(30*24*time.Hour))
	if err := e.sim.Clock().Advance(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	// Nobody read the link: moving the clock alone expired it and called.
	calls := e.rcv.Wait(t, 1)
	if err := e.verify(calls[0]); err != nil {
		t.Errorf("the expiry call does not verify: %v", err)
	}
	if !bytes.Contains(calls[0].Body, []byte(soon)) {
		t.Errorf("the expiry call does not name %s: %s", soon, calls[0].Body)
	}
	if c, err := e.sim.Checkout(soon); err != nil || c.Payable {
		t.Errorf("after the clock passed its expiry: %+v %v", c, err)
	}
	e.wh.Wait()
	if log := e.attempts(h.Expired); len(log) != 1 || len(e.rcv.Calls()) != 1 {
		t.Errorf("%d expiry calls, log %+v; want one, for the link that expired", len(e.rcv.Calls()), e.wh.Log())
	}
}

func controlAPI(t *testing.T, h WebhookHarness) {
	e := newWebhookEnv(t, h)
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, e.base+"/_control/webhooks"+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return res.StatusCode, out
	}
	if status, sw := call(http.MethodGet, "", ""); status != http.StatusOK || sw["mode"] != "normal" || sw["missign"] != false {
		t.Errorf("GET switches: %d %v", status, sw)
	}
	for _, tt := range []struct{ body, field string }{
		{`{"mode":"sometimes"}`, "mode"},
		{`{"mode":"delay","delay":"soon"}`, "delay"},
		{`{"mode":"delay","delay":"-1s"}`, "delay"},
		{`{"mode":"delay","delay":"2h"}`, "delay"},
		{`{"missign":"yes"}`, "missign"},
		{`{"drop":true}`, "drop"},
		{`[]`, "body"},
	} {
		if status, out := call(http.MethodPost, "", tt.body); status != http.StatusBadRequest || !strings.HasPrefix(out["error"].(string), tt.field+":") {
			t.Errorf("POST %s: %d %v, want 400 naming %s", tt.body, status, out, tt.field)
		}
	}
	if status, sw := call(http.MethodGet, "", ""); status != http.StatusOK || sw["mode"] != "normal" {
		t.Errorf("a refused POST changed the switches: %v", sw)
	}
	if status, sw := call(http.MethodPost, "", `{"mode":"delay","delay":"250ms","missign":true}`); status != http.StatusOK || sw["delay"] != "250ms" || sw["missign"] != true {
		t.Errorf("POST: %d %v", status, sw)
	}
	if got := e.wh.Switches(); got.Mode != sandbox.Delay || got.Delay != 250*time.Millisecond || !got.MisSign {
		t.Errorf("switches %+v", got)
	}
	if status, _ := call(http.MethodPost, "", `{"mode":"normal"}`); status != http.StatusOK {
		t.Fatal(status)
	}
	if err := e.sim.Pay(e.create(t, time.Time{})); err != nil {
		t.Fatal(err)
	}
	e.rcv.Wait(t, 1)
	e.wh.Wait()
	status, log := call(http.MethodGet, "/log", "")
	data, _ := log["data"].([]any)
	if status != http.StatusOK || len(data) != 1 {
		t.Fatalf("GET log: %d %v", status, log)
	}
	entry := data[0].(map[string]any)
	for k, want := range map[string]any{"url": e.rcv.URL, "event": h.Paid, "status": float64(200), "signature": e.signature(), "result": "delivered", "attempt": float64(1)} {
		if entry[k] != want {
			t.Errorf("log entry %s = %v, want %v", k, entry[k], want)
		}
	}
	if _, ok := entry["at"].(string); !ok {
		t.Errorf("log entry without a time: %v", entry)
	}
}
