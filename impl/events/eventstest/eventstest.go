// Package eventstest holds test helpers for webhook deliveries: a Receiver that verifies Standard
// Webhooks signatures, records every request and answers each by a script (failures, slowness,
// connection resets, going down and coming back on the same port), and a Clock tests move by hand.
package eventstest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/events/stdwebhook"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Action is how the Receiver answers one request.
type Action struct {
	Status     int           // HTTP status; 0 = 200
	RetryAfter string        // Retry-After header, if any
	Sleep      time.Duration // wait this long before answering (past the sender's timeout, say)
	Reset      bool          // hijack the connection and close it without an answer
	Body       string
	Location   string // a Location header (with a 3xx status)
}

// Request is one request the Receiver got.
type Request struct {
	ID        string // webhook-id
	Body      []byte
	Header    http.Header
	VerifyOK  bool
	VerifyErr error
	Answered  int // the status answered; 0 for a reset
	At        time.Time
}

// Receiver is a merchant's endpoint for tests, on 127.0.0.1.
type Receiver struct {
	t       testing.TB
	mu      sync.Mutex
	addr    string
	srv     *http.Server
	ln      net.Listener
	secrets []string
	script  []Action
	reqs    []Request
	now     func() time.Time
	got     chan struct{}
}

// NewReceiver starts a receiver verifying with the secrets given later by SetSecrets; it stops when
// the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{t: t, now: time.Now, got: make(chan struct{}, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.Down)
	return r
}

// URL is where the receiver listens.
func (r *Receiver) URL() string { return "http://" + r.addr + "/hooks" }

// SetSecrets sets the secrets signatures are verified against; SetNow the verifier's clock.
func (r *Receiver) SetSecrets(secrets ...string) {
	r.mu.Lock()
	r.secrets = secrets
	r.mu.Unlock()
}

// SetNow sets the clock the signature timestamps are checked against.
func (r *Receiver) SetNow(now func() time.Time) {
	r.mu.Lock()
	r.now = now
	r.mu.Unlock()
}

// Script sets the answers of the next requests, in order; once used up, requests get 200.
func (r *Receiver) Script(actions ...Action) {
	r.mu.Lock()
	r.script = append(r.script, actions...)
	r.mu.Unlock()
}

// Requests returns a copy of what was received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Wait waits until at least n requests came, or fails the test after timeout.
func (r *Receiver) Wait(n int, timeout time.Duration) []Request {
	r.t.Helper()
	deadline := time.After(timeout)
	for {
		if reqs := r.Requests(); len(reqs) >= n {
			return reqs
		}
		select {
		case <-r.got:
		case <-deadline:
			r.t.Fatalf("receiver got %d requests, want %d", len(r.Requests()), n)
		}
	}
}

// Down stops listening and drops every connection.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	}
}

// Up listens again on the same port.
func (r *Receiver) Up() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv, r.ln = srv, ln
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	var a Action
	if len(r.script) > 0 {
		a, r.script = r.script[0], r.script[1:]
	}
	rec := Request{ID: req.Header.Get(stdwebhook.HeaderID), Body: body, Header: req.Header.Clone(), At: time.Now()}
	if len(r.secrets) > 0 {
		if v, err := stdwebhook.NewVerifier(r.secrets...); err != nil {
			rec.VerifyErr = err
		} else {
			v.Now = r.now
			rec.VerifyErr = v.Verify(req.Header, body)
		}
	} else {
		rec.VerifyErr = errors.New("no secret set")
	}
	rec.VerifyOK = rec.VerifyErr == nil
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	if !a.Reset {
		rec.Answered = status
	}
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	if a.Sleep > 0 {
		select {
		case <-time.After(a.Sleep):
		case <-req.Context().Done():
		}
	}
	if a.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST, not FIN
				}
				_ = c.Close()
				return
			}
		}
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if a.Location != "" {
		w.Header().Set("Location", a.Location)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, a.Body)
}

// Status is a shorthand for an Action answering status.
func Status(code int) Action { return Action{Status: code} }

// RetryAfter is a shorthand for an Action answering status with Retry-After: seconds.
func RetryAfter(code, seconds int) Action {
	return Action{Status: code, RetryAfter: strconv.Itoa(seconds)}
}
