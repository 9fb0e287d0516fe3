package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// What every simulator that sends webhooks shares: the queue that calls the subscribers
// asynchronously with a few retries, the switches that disturb deliveries for tests (drop,
// duplicate, delay, reorder, mis-sign), and the log of what was sent. Each provider's package
// decides who is called for what, with which body and signature (its webhooks.go).

// Defaults of the webhook calls.
const (
	// DefaultWebhookTimeout bounds one call: a slow receiver must not hold the sandbox's workers.
	DefaultWebhookTimeout = 10 * time.Second
	// webhookWorkers is how many calls are in flight at once per simulator.
	webhookWorkers = 4
	// webhookLogSize is how many attempts the log keeps (the oldest go first).
	webhookLogSize = 1000
	// MaxWebhookDelay bounds the delay a switch can set.
	MaxWebhookDelay = time.Hour
)

// DefaultWebhookRetries are the waits before each retry of a call that failed (no answer, or not
// 2xx): a few, like a provider, but in seconds rather than hours.
var DefaultWebhookRetries = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}

// WebhookMode says what happens to the deliveries made while it is set.
type WebhookMode string

// The modes of a simulator's deliveries.
const (
	// Normal sends each delivery once, at once.
	Normal WebhookMode = "normal"
	// Drop sends nothing (the log says what was dropped): the poller must catch the change.
	Drop WebhookMode = "drop"
	// Duplicate sends each delivery twice, byte for byte.
	Duplicate WebhookMode = "duplicate"
	// Delay holds each delivery for Switches.Delay before sending it.
	Delay WebhookMode = "delay"
	// Reorder holds each delivery for a random time up to Switches.Delay, so later ones can
	// overtake it.
	Reorder WebhookMode = "reorder"
)

// Switches disturb a simulator's deliveries, for tests. The zero value is normal delivery. They
// apply to the deliveries made while they are set: a delivery keeps its fate (dropped, copied,
// delayed, forged) through its retries.
type Switches struct {
	Mode WebhookMode
	// Delay is the hold of Delay and the longest hold of Reorder (default 1 s).
	Delay time.Duration
	// MisSign signs with a key that is not the subscription's, as a forger would.
	MisSign bool
}

// Check validates the switches; its errors name the field.
func (s Switches) Check() error {
	switch s.Mode {
	case "", Normal, Drop, Duplicate, Delay, Reorder:
	default:
		return fmt.Errorf("mode: %q is not one of normal, drop, duplicate, delay, reorder", s.Mode)
	}
	if s.Delay < 0 || s.Delay > MaxWebhookDelay {
		return fmt.Errorf("delay: give a duration between 0 and %s", MaxWebhookDelay)
	}
	return nil
}

// Delivery is one webhook call a simulator makes.
type Delivery struct {
	URL string
	// Event is the provider's name of what happened (payment-link-paid, payment.succeeded), for
	// the log.
	Event  string
	Body   []byte
	Header http.Header
	// Sign adds the provider's signature to h for body, made with the subscription's secret(s),
	// or, when forged, with a key that is not theirs (ForgedSecret). nil: the provider does not
	// sign its calls (Mollie's classic webhooks).
	Sign func(h http.Header, body []byte, forged bool)
}

// ForgedSecret returns a random key, which no subscription has: what a mis-signed delivery is
// signed with.
func ForgedSecret() string { return "forged-" + crand.Text() }

// Signature values of the log.
const (
	SignatureOK     = "ok"
	SignatureForged = "forged"
	SignatureNone   = "none"
)

// Results of the log.
const (
	// ResultDelivered is a call answered 2xx.
	ResultDelivered = "delivered"
	// ResultFailed is a call that got no answer or one that is not 2xx; a retry follows while
	// any are left.
	ResultFailed = "failed"
	// ResultDropped is a delivery the Drop switch kept from being sent.
	ResultDropped = "dropped"
)

// WebhookAttempt is one entry of the log: a call made, or a delivery dropped.
type WebhookAttempt struct {
	// Delivery identifies the delivery (a copy of Duplicate has the same, with Copy set).
	Delivery string    `json:"delivery"`
	Copy     bool      `json:"copy,omitempty"`
	At       time.Time `json:"at"`
	URL      string    `json:"url"`
	Event    string    `json:"event"`
	Attempt  int       `json:"attempt"`
	// Status is the HTTP status answered; 0 when there was none.
	Status int `json:"status"`
	// Signature is ok, forged (MisSign) or none (the provider does not sign).
	Signature string `json:"signature"`
	Result    string `json:"result"`
	Error     string `json:"error,omitempty"`
}

// Webhooks sends a simulator's deliveries: asynchronously (Send never waits on a receiver), a few
// at a time, retried on failure, disturbed by the switches, and logged. It is safe for concurrent
// use.
type Webhooks struct {
	client  *http.Client
	retries []time.Duration

	mu      sync.Mutex
	sw      Switches
	queue   []*outgoing
	workers int
	seq     int
	log     []WebhookAttempt
	// pending counts the deliveries not finished: queued, in flight, held or waiting to retry.
	pending sync.WaitGroup
}

// outgoing is a delivery on its way, with its fate.
type outgoing struct {
	Delivery
	id      string
	copy    bool
	forged  bool
	attempt int
}

// NewWebhooks returns the sender of a simulator made with cfg (its WebhookClient and
// WebhookRetries).
func NewWebhooks(cfg Config) *Webhooks {
	w := &Webhooks{client: cfg.WebhookClient, retries: cfg.WebhookRetries}
	if w.client == nil {
		w.client = &http.Client{
			Timeout: DefaultWebhookTimeout,
			// A provider does not follow a receiver's redirect: the call failed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if w.retries == nil {
		w.retries = DefaultWebhookRetries
	}
	return w
}

// Set replaces the switches (Check's errors are returned and nothing changes).
func (w *Webhooks) Set(s Switches) error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.Mode == "" {
		s.Mode = Normal
	}
	if s.Delay == 0 && (s.Mode == Delay || s.Mode == Reorder) {
		s.Delay = time.Second
	}
	w.mu.Lock()
	w.sw = s
	w.mu.Unlock()
	return nil
}

// Switches returns the switches in force.
func (w *Webhooks) Switches() Switches {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sw
	if s.Mode == "" {
		s.Mode = Normal
	}
	return s
}

// Log returns the attempts made (and the deliveries dropped), oldest first; the last
// webhookLogSize are kept.
func (w *Webhooks) Log() []WebhookAttempt {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WebhookAttempt(nil), w.log...)
}

// Wait blocks until every delivery sent so far has ended: delivered, dropped, or failed for good
// after its retries (tests).
func (w *Webhooks) Wait() { w.pending.Wait() }

// Send queues a delivery and returns at once; the switches in force decide its fate. It may be
// called with the simulator's lock held.
func (w *Webhooks) Send(d Delivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	o := &outgoing{Delivery: d, id: fmt.Sprintf("whd_%d", w.seq), forged: w.sw.MisSign && d.Sign != nil}
	o.Header = d.Header.Clone()
	if o.Header == nil {
		o.Header = http.Header{}
	}
	if d.Sign != nil {
		d.Sign(o.Header, d.Body, o.forged)
	}
	sw := w.sw
	if sw.Mode == Drop {
		w.record(WebhookAttempt{Delivery: o.id, At: time.Now().UTC(), URL: d.URL, Event: d.Event, Signature: o.signature(), Result: ResultDropped})
		return
	}
	copies := []*outgoing{o}
	if sw.Mode == Duplicate {
		c := *o
		c.copy = true
		copies = append(copies, &c)
	}
	for _, c := range copies {
		w.pending.Add(1)
		var hold time.Duration
		switch sw.Mode {
		case Delay:
			hold = sw.Delay
		case Reorder:
			hold = rand.N(sw.Delay + 1)
		}
		if hold > 0 {
			time.AfterFunc(hold, func() { w.enqueue(c) })
			continue
		}
		w.enqueueLocked(c)
	}
}

func (o *outgoing) signature() string {
	switch {
	case o.Sign == nil:
		return SignatureNone
	case o.forged:
		return SignatureForged
	}
	return SignatureOK
}

func (w *Webhooks) enqueue(o *outgoing) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.enqueueLocked(o)
}

// enqueueLocked queues o and starts a worker if fewer than webhookWorkers run; workers end when
// the queue is empty, so an idle simulator holds no goroutine.
func (w *Webhooks) enqueueLocked(o *outgoing) {
	w.queue = append(w.queue, o)
	if w.workers < webhookWorkers {
		w.workers++
		go w.work()
	}
}

func (w *Webhooks) work() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.workers--
			w.mu.Unlock()
			return
		}
		o := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.mu.Unlock()
		w.attempt(o)
	}
}

// attempt makes one call of o and, if it failed, schedules the next retry or gives up.
func (w *Webhooks) attempt(o *outgoing) {
	o.attempt++
	status, err := w.call(o)
	a := WebhookAttempt{Delivery: o.id, Copy: o.copy, At: time.Now().UTC(), URL: o.URL, Event: o.Event, Attempt: o.attempt, Status: status, Signature: o.signature(), Result: ResultDelivered}
	if err != nil {
		a.Result, a.Error = ResultFailed, err.Error()
	}
	w.mu.Lock()
	w.record(a)
	w.mu.Unlock()
	if err == nil || o.attempt > len(w.retries) {
		w.pending.Done()
		return
	}
	time.AfterFunc(w.retries[o.attempt-1], func() { w.enqueue(o) })
}

// errNot2xx is an answer that is not a success.
var errNot2xx = errors.New("the receiver answered with a status other than 2xx")

func (w *Webhooks) call(o *outgoing) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(o.Body))
	if err != nil {
		return 0, err
	}
	req.Header = o.Header.Clone()
	res, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("%w: %d", errNot2xx, res.StatusCode)
	}
	return res.StatusCode, nil
}

// record appends to the log; the caller holds w.mu.
func (w *Webhooks) record(a WebhookAttempt) {
	if len(w.log) >= webhookLogSize {
		copy(w.log, w.log[1:])
		w.log = w.log[:len(w.log)-1]
	}
	w.log = append(w.log, a)
}

// HMACHex is the lowercase hex HMAC-SHA256 of body keyed with secret: how Hub2 signs its calls, and
// how the MijnKlantportaal sandbox is assumed to.
func HMACHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// NewSecret returns a random webhook secret of n characters of the alphabet (at most 256), as
// providers hand them out. Secrets come from crypto/rand, never from the simulator's seed.
func NewSecret(n int, alphabet string) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		_, _ = crand.Read(buf) // never fails (crypto/rand)
		for _, c := range buf {
			// Bytes past the largest multiple of the alphabet are skipped, so every character is
			// equally likely.
			if int(c) < 256-256%len(alphabet) && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// Notifier is a simulator that sends webhooks: the control API serves its switches and log.
type Notifier interface {
	Webhooks() *Webhooks
}

// Rotator is a simulator whose provider rotates webhook secrets (Hub2 signs with the previous
// secret too, for a while): the control API rotates them, since the provider's own API does not.
type Rotator interface {
	// RotateWebhookSecrets gives every subscription a new secret and returns them.
	RotateWebhookSecrets() []RotatedSecret
}

// RotatedSecret is a subscription's new secret after a rotation.
type RotatedSecret struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
	// PreviousUntil is when the previous secret stops signing (the simulator's clock).
	PreviousUntil time.Time `json:"previousSecretUntil"`
}
