package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/paylinks/paylinks/impl/events/stdwebhook"
	"github.com/paylinks/paylinks/impl/events/store"
)

// responseExcerpt is how much of a receiver's answer the attempt log keeps.
const responseExcerpt = 1024

// Dispatcher delivers pending deliveries: it claims due ones under a lease, POSTs each event
// signed, and records every attempt and the delivery's next state, fenced by its lease. Several
// dispatchers (goroutines of one instance or other instances) share the work through the store.
//
// Policy: 2xx = delivered; 410 = failed and the endpoint disabled; anything else (3xx included:
// redirects are not followed), a timeout or a transport error = retry on the RetrySchedule, with
// a Retry-After on 429/503 honoured up to DeliveryConfig.RetryAfterCap; the schedule exhausted =
// failed; an endpoint whose every attempt failed for DisableAfter is disabled with a reason.
type Dispatcher struct {
	s *Service
	lifecycle

	mu          sync.Mutex
	inflight    int
	perEndpoint map[string]int

	wake     chan struct{}
	results  chan store.Result
	attempts sync.WaitGroup
}

func newDispatcher(s *Service) *Dispatcher {
	return &Dispatcher{s: s, lifecycle: newLifecycle(), perEndpoint: map[string]int{}, wake: make(chan struct{}, 1), results: make(chan store.Result, 1024)}
}

func (d *Dispatcher) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) start() {
	d.lifecycle.start(func() {
		committed := make(chan struct{})
		go func() {
			defer close(committed)
			d.commitLoop()
		}()
		d.loop()
		d.attempts.Wait()
		close(d.results)
		<-committed
	})
}

// stop stops claiming, waits for the attempts in flight until ctx ends, then cuts them short
// (recorded as interrupted, due again at once), and returns when every result is stored.
func (d *Dispatcher) stop(ctx context.Context) error {
	d.lifecycle.stop(ctx)
	return nil
}

func (d *Dispatcher) loop() {
	for {
		select {
		case <-d.stopCh:
			return
		default:
		}
		n, err := d.claimAndStart(d.ctx, func(r store.Result) { d.results <- r })
		if err != nil {
			d.s.log.Warn("events: claiming deliveries", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		if !d.sleep(d.s.cfg.Delivery.Idle, d.wake) {
			return
		}
	}
}

// commitLoop stores results in batches: whatever arrived while the previous batch was written.
func (d *Dispatcher) commitLoop() {
	batch := make([]store.Result, 0, 256)
	for r := range d.results {
		batch = append(batch[:0], r)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-d.results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		d.commit(batch)
	}
}

// commit stores results, retrying while the store is unreachable for up to a lease: past that the
// leases are gone and other instances attempt again (same webhook-id).
func (d *Dispatcher) commit(rs []store.Result) {
	deadline := time.Now().Add(d.s.cfg.Delivery.LeaseFor)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		applied, err := d.s.st.CompleteDeliveries(ctx, rs, d.s.now().UTC())
		cancel()
		if err == nil {
			for i, r := range rs {
				d.countOutcome(r, applied[i])
			}
			return
		}
		if time.Now().After(deadline) {
			d.s.log.Error("events: delivery results lost; the deliveries will be attempted again", "n", len(rs), "err", err)
			return
		}
		d.s.log.Warn("events: storing delivery results", "err", err, "retry_in", wait)
		time.Sleep(wait)
	}
}

func (d *Dispatcher) countOutcome(r store.Result, applied bool) {
	outcome := "retry"
	switch {
	case !applied:
		outcome = "late"
	case r.Status == store.DeliveryDelivered:
		outcome = "delivered"
	case r.Status == store.DeliveryFailed:
		outcome = "failed"
	}
	d.s.metrics.deliveries.WithLabelValues(outcome).Inc()
	if r.DisableEndpoint != "" && applied {
		d.s.log.Warn("events: webhook endpoint disabled", "delivery", r.DeliveryID, "reason", r.DisableEndpoint)
	}
}

// RunOnce claims the deliveries due now (as many as the concurrency allows), attempts them and
// stores the results before returning how many it attempted. Tests drive it with a moved clock.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	var mu sync.Mutex
	var rs []store.Result
	n, err := d.claimAndStart(ctx, func(r store.Result) {
		mu.Lock()
		rs = append(rs, r)
		mu.Unlock()
	})
	d.attempts.Wait()
	if len(rs) > 0 {
		applied, cerr := d.s.st.CompleteDeliveries(ctx, rs, d.s.now().UTC())
		if cerr != nil {
			return n, errors.Join(err, cerr)
		}
		for i, r := range rs {
			d.countOutcome(r, applied[i])
		}
	}
	return n, err
}

// claimAndStart claims due deliveries within the free concurrency and starts an attempt for each;
// done receives each result.
func (d *Dispatcher) claimAndStart(ctx context.Context, done func(store.Result)) (int, error) {
	cfg := d.s.cfg.Delivery
	d.mu.Lock()
	free := cfg.Concurrency - d.inflight
	var skip []string
	for ep, n := range d.perEndpoint {
		if n >= cfg.PerEndpoint {
			skip = append(skip, ep)
		}
	}
	d.mu.Unlock()
	if free <= 0 {
		return 0, nil
	}
	claims, err := d.s.st.ClaimDeliveries(ctx, store.ClaimQuery{Owner: d.s.owner, Now: d.s.now().UTC(), LeaseFor: cfg.LeaseFor, Limit: free, SkipEndpoints: skip})
	if err != nil {
		return 0, err
	}
	release := map[string]string{}
	started := 0
	for _, c := range claims {
		d.mu.Lock()
		full := d.perEndpoint[c.Endpoint.ID] >= cfg.PerEndpoint
		if !full {
			d.inflight++
			d.perEndpoint[c.Endpoint.ID]++
		}
		d.mu.Unlock()
		if full {
			release[c.Delivery.ID] = c.Owner
			continue
		}
		started++
		d.attempts.Add(1)
		go func() {
			defer d.attempts.Done()
			r := d.attempt(ctx, c)
			d.mu.Lock()
			d.inflight--
			if d.perEndpoint[c.Endpoint.ID]--; d.perEndpoint[c.Endpoint.ID] <= 0 {
				delete(d.perEndpoint, c.Endpoint.ID)
			}
			d.mu.Unlock()
			done(r)
			d.kick()
		}()
	}
	if len(release) > 0 {
		if err := d.s.st.ReleaseDeliveries(context.WithoutCancel(ctx), release); err != nil {
			d.s.log.Warn("events: releasing deliveries", "err", err)
		}
	}
	return started, nil
}

// keys opens the endpoint's signing keys: the current secret, and the previous one while a
// rotation's overlap lasts.
func (d *Dispatcher) keys(e store.Endpoint, at time.Time) ([][]byte, error) {
	cur, err := d.s.openSecret(e.Secret, e.ID)
	if err != nil {
		return nil, err
	}
	k, err := stdwebhook.Key(cur)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{k}
	if e.PreviousSecret != "" && e.PreviousSecretUntil.After(at) {
		prev, err := d.s.openSecret(e.PreviousSecret, e.ID+"/previous")
		if err != nil {
			return nil, err
		}
		if pk, err := stdwebhook.Key(prev); err == nil {
			keys = append(keys, pk)
		}
	}
	return keys, nil
}

// attempt makes one POST and turns its outcome into a Result.
func (d *Dispatcher) attempt(ctx context.Context, c store.Claim) store.Result {
	s, cfg := d.s, d.s.cfg.Delivery
	start := s.now().UTC()
	r := store.Result{DeliveryID: c.Delivery.ID, EndpointID: c.Endpoint.ID, Owner: c.Owner, Attempt: c.Delivery.Attempt + 1}
	rec := store.Attempt{StartedAt: start}
	status, errText, retryAfter := d.post(ctx, c, start, &rec)
	rec.HTTPStatus, rec.Error = status, errText
	now := s.now().UTC()
	r.Record = rec
	switch {
	case status >= 200 && status < 300:
		r.Record.Outcome, r.Status, r.EndpointOK = store.OutcomeSucceeded, store.DeliveryDelivered, true
		return r
	case ctx.Err() != nil && d.ctx.Err() != nil:
		// Our own shutdown cut the attempt short: due again at once, on this or another instance,
		// and no mark against the endpoint.
		r.Record.Outcome, r.Status, r.NextAttemptAt, r.ScheduleIndex = store.OutcomeFailed, store.DeliveryPending, now, c.Delivery.ScheduleIndex
		r.Record.Error, r.NoEndpointEffect = "interrupted by paylinks shutting down", true
		return r
	case status == http.StatusGone:
		r.Record.Outcome, r.Status = store.OutcomeFailed, store.DeliveryFailed
		r.DisableEndpoint = "the endpoint answered 410 Gone at " + now.Format(time.RFC3339)
		return r
	}
	r.Record.Outcome = store.OutcomeFailed
	r.DisableIfFailingSince = now.Add(-cfg.DisableAfter)
	delay, ok := s.retries.After(c.Delivery.ScheduleIndex, max(cfg.Jitter, 0))
	if !ok {
		r.Status = store.DeliveryFailed
		return r
	}
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && retryAfter > 0 {
		delay = max(delay, min(retryAfter, cfg.RetryAfterCap))
	}
	r.Status, r.NextAttemptAt, r.ScheduleIndex = store.DeliveryPending, now.Add(delay), c.Delivery.ScheduleIndex+1
	return r
}

// post sends the event and returns the HTTP status (0 without an answer), why it failed (""
// for a 2xx) and the answer's Retry-After.
func (d *Dispatcher) post(ctx context.Context, c store.Claim, start time.Time, rec *store.Attempt) (int, string, time.Duration) {
	t0 := time.Now()
	defer func() { rec.Duration = time.Since(t0); d.s.metrics.latency.Observe(rec.Duration.Seconds()) }()
	keys, err := d.keys(c.Endpoint, start)
	if err != nil {
		return 0, "cannot sign: " + err.Error(), 0
	}
	ctx, cancel := context.WithTimeout(ctx, d.s.cfg.Delivery.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint.URL, bytes.NewReader(c.Event.Payload))
	if err != nil {
		return 0, "bad endpoint URL: " + err.Error(), 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paylinks-webhooks/1")
	stdwebhook.SetHeaders(req.Header, c.Event.ID, start, c.Event.Payload, keys...)
	resp, err := d.s.client.Do(req)
	if err != nil {
		return 0, transportError(err, d.s.cfg.Delivery.Timeout), 0
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, responseExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	rec.Response = string(excerpt)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, "", 0
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Sprintf("HTTP %d: redirects are not followed; register the final URL", resp.StatusCode), 0
	default:
		return resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode), retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
}

// transportError describes a failed POST without repeating the URL (it may carry a token).
func transportError(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("no answer within %s", timeout)
		}
		err = ue.Err
	}
	return err.Error()
}

// retryAfter reads a Retry-After header: delta-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, int64(7*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
