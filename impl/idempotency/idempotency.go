// Package idempotency makes retried requests safe: the first request with a key runs, later ones
// with the same key and the same request get its stored answer, later ones with the same key and a
// different request are refused, and concurrent ones wait for the first instead of running again.
//
// One key never runs twice while its first run's outcome may still be stored: a claim on a key
// whose answer was neither stored nor released by its deadline (its instance died, or the store
// went away at the wrong moment) leaves the outcome unknown, and the key is refused with
// ErrOutcomeUnknown rather than run again. An answer the store could not take is kept in memory
// and saved again until the store takes it.
//
// Records live in a Store: in memory for one instance (the default), in Redis for several.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Errors of a Store and of Guard.Do.
var (
	// ErrMismatch: the key was used before with a different request.
	ErrMismatch = errors.New("idempotency key was already used with a different request")
	// ErrInFlight: another request with the key is running; wait and ask again.
	ErrInFlight = errors.New("a request with this idempotency key is in progress")
	// ErrOutcomeUnknown: a request with the key ran, but its answer was neither stored nor
	// released in time: it may have had its effect. The key is not run again.
	ErrOutcomeUnknown = errors.New("the outcome of the first request with this idempotency key is not known yet")
	// ErrUnavailable: the store cannot be reached.
	ErrUnavailable = errors.New("idempotency store unavailable")
	// ErrNotSaved: the request ran and its answer is returned, but the store could not keep it
	// yet; the Guard goes on saving it in the background.
	ErrNotSaved = errors.New("answer could not be stored for the idempotency key yet")
)

// Response is a stored answer.
type Response struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// Store keeps idempotency records. Acquire either returns the stored answer for the key, claims the
// key for the caller (nil, nil), or fails with ErrMismatch, ErrInFlight or ErrOutcomeUnknown.
//
// A claim is a record of its own, kept ttl like an answer: until lockTTL has passed it is in
// flight (ErrInFlight), after that its outcome is unknown (ErrOutcomeUnknown) until Save or
// Release ends it. So a claim whose instance died is never mistaken for a free key.
type Store interface {
	Acquire(ctx context.Context, key, fingerprint string, lockTTL, ttl time.Duration) (*Response, error)
	Save(ctx context.Context, key, fingerprint string, res Response, ttl time.Duration) error
	Release(ctx context.Context, key string) error
}

// Fingerprint identifies a request by what makes it the same request: method, path and body.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Defaults of a Guard.
const (
	DefaultTTL     = 24 * time.Hour
	DefaultLockTTL = 2 * time.Minute
)

// Guard runs requests under idempotency keys. Its zero value is not usable: set Store. Call Close
// when done, so that answers still to be stored get a last try.
type Guard struct {
	Store Store
	// TTL is how long answers are kept (default 24 h).
	TTL time.Duration
	// LockTTL is how long a running request holds its key as in flight (default 2 min); run must
	// end well within it.
	LockTTL time.Duration
	// Poll is how often a waiting request asks again (default 25 ms).
	Poll time.Duration
	// MaxWait bounds how long a request waits for another one with its key before giving up with
	// ErrInFlight (default LockTTL).
	MaxWait time.Duration
	// SaveTimeout bounds one attempt to store an answer (default 2 s).
	SaveTimeout time.Duration

	once    sync.Once
	mu      sync.Mutex
	pending map[string]*pendingWrite // answers and releases the store has not taken yet, by key
	stop    chan struct{}
	closed  bool
	writers sync.WaitGroup
}

// pendingWrite is an answer to store (res set) or a claim to release (res nil) that failed once.
type pendingWrite struct {
	fingerprint string
	res         *Response
	since       time.Time
}

func (g *Guard) init() {
	g.once.Do(func() {
		g.pending = map[string]*pendingWrite{}
		g.stop = make(chan struct{})
	})
}

func (g *Guard) ttl() time.Duration     { return positive(g.TTL, DefaultTTL) }
func (g *Guard) lockTTL() time.Duration { return positive(g.LockTTL, DefaultLockTTL) }

func positive(d, fallback time.Duration) time.Duration {
	if d <= 0 {
		return fallback
	}
	return d
}

// Do runs run once per key: it returns run's answer, or the stored answer of an earlier request
// with the same key and fingerprint (replayed true). Answers run marks as not worth keeping
// (keep false, e.g. a provider outage) release the key, so a retry runs again; so do answers with
// no HTTP status (below 100), which are never stored.
//
// ctx bounds the waiting only: run itself must bound its own work, within LockTTL.
func (g *Guard) Do(ctx context.Context, key, fingerprint string, run func() (res Response, keep bool)) (res Response, replayed bool, err error) {
	g.init()
	ttl, lockTTL := g.ttl(), g.lockTTL()
	poll, maxWait := positive(g.Poll, 25*time.Millisecond), positive(g.MaxWait, lockTTL)
	giveUp := time.Now().Add(maxWait)
	for {
		if p, ok := g.pendingFor(key); ok {
			switch {
			case p.fingerprint != fingerprint:
				return Response{}, false, ErrMismatch
			case p.res != nil:
				return *p.res, true, nil
			}
			// A release still to be made: the key stays claimed until it is.
		}
		stored, err := g.Store.Acquire(ctx, key, fingerprint, lockTTL, ttl)
		switch {
		case err == nil && stored != nil && stored.Status < 100:
			return Response{}, false, ErrOutcomeUnknown // not an answer: never replayed
		case err == nil && stored != nil:
			return *stored, true, nil
		case err == nil:
			return g.runClaimed(ctx, key, fingerprint, ttl, run)
		case errors.Is(err, ErrInFlight):
			if !time.Now().Before(giveUp) {
				return Response{}, false, err
			}
			timer := time.NewTimer(poll)
			select {
			case <-ctx.Done():
				timer.Stop()
				return Response{}, false, ctx.Err()
			case <-timer.C:
			}
		default:
			return Response{}, false, err
		}
	}
}

// runClaimed runs a claimed key's request and stores (or releases) its outcome. The answer is made
// once: it is stored even if the caller went away meanwhile, and the key is freed if making it
// panicked, so a retry need not wait for the claim to lapse.
func (g *Guard) runClaimed(ctx context.Context, key, fingerprint string, ttl time.Duration, run func() (Response, bool)) (Response, bool, error) {
	sctx := context.WithoutCancel(ctx)
	done := false
	defer func() {
		if !done {
			g.write(sctx, key, fingerprint, nil, ttl)
		}
	}()
	res, keep := run()
	done = true
	if res.Status < 100 {
		keep = false
	}
	var out *Response
	if keep {
		out = &res
	}
	if err := g.write(sctx, key, fingerprint, out, ttl); err != nil {
		// The request ran: its answer is returned all the same, never run again.
		return res, false, fmt.Errorf("%w: %w", ErrNotSaved, err)
	}
	return res, false, nil
}

// write stores the answer (or releases the key when res is nil). When the store refuses, the write
// is kept in memory, replayed to requests with the key on this instance, and retried in the
// background until the store takes it or the record's TTL has passed.
func (g *Guard) write(ctx context.Context, key, fingerprint string, res *Response, ttl time.Duration) error {
	err := g.writeOnce(ctx, key, fingerprint, res, ttl)
	if err == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return err
	}
	g.pending[key] = &pendingWrite{fingerprint: fingerprint, res: res, since: time.Now()}
	g.writers.Add(1)
	go g.retryWrite(key, ttl)
	return err
}

func (g *Guard) writeOnce(ctx context.Context, key, fingerprint string, res *Response, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, positive(g.SaveTimeout, 2*time.Second))
	defer cancel()
	if res == nil {
		return g.Store.Release(ctx, key)
	}
	if ttl <= 0 {
		// Its day is over while it waited to be written (at Close): nothing to keep, and a
		// non-positive expiry would keep it in Redis for good.
		return nil
	}
	return g.Store.Save(ctx, key, fingerprint, *res, ttl)
}

// retryWrite retries a pending write with backoff (100 ms doubling to 5 s).
func (g *Guard) retryWrite(key string, ttl time.Duration) {
	defer g.writers.Done()
	wait := 100 * time.Millisecond
	for {
		timer := time.NewTimer(wait)
		select {
		case <-g.stop:
			timer.Stop()
			return // Close makes the last attempt
		case <-timer.C:
		}
		wait = min(2*wait, 5*time.Second)
		p, ok := g.pendingFor(key)
		if !ok {
			return
		}
		if time.Since(p.since) > ttl {
			g.forget(key, p) // the record would have expired by now anyway
			return
		}
		if g.writeOnce(context.Background(), key, p.fingerprint, p.res, ttl-time.Since(p.since)) == nil {
			g.forget(key, p)
			return
		}
	}
}

func (g *Guard) pendingFor(key string) (*pendingWrite, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.pending[key]
	return p, ok
}

func (g *Guard) forget(key string, p *pendingWrite) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending[key] == p {
		delete(g.pending, key)
	}
}

// Pending returns how many answers and releases wait to be written to the store.
func (g *Guard) Pending() int {
	g.init()
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}

// Close stops the background writes and makes a last attempt at each one still pending, within
// ctx. The error names the keys whose records could not be written: their claims stay in the
// store as outcome unknown until the TTL passes.
func (g *Guard) Close(ctx context.Context) error {
	g.init()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	close(g.stop)
	g.mu.Unlock()
	g.writers.Wait()

	g.mu.Lock()
	left := make(map[string]*pendingWrite, len(g.pending))
	for k, p := range g.pending {
		left[k] = p
	}
	g.mu.Unlock()
	var failed []string
	for key, p := range left {
		if err := g.writeOnce(ctx, key, p.fingerprint, p.res, g.ttl()-time.Since(p.since)); err != nil {
			failed = append(failed, key)
			continue
		}
		g.forget(key, p)
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%w: %d records not written, keys %v", ErrUnavailable, len(failed), failed)
	}
	return nil
}
