// Package idempotency makes retried requests safe: the first request with a key runs, later ones
// with the same key and the same request get its stored answer, later ones with the same key and a
// different request are refused, and concurrent ones wait for the first instead of running again.
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
	"time"
)

// Errors of a Store and of Guard.Do.
var (
	// ErrMismatch: the key was used before with a different request.
	ErrMismatch = errors.New("idempotency key was already used with a different request")
	// ErrInFlight: another request with the key is running; wait and ask again.
	ErrInFlight = errors.New("a request with this idempotency key is in progress")
	// ErrUnavailable: the store cannot be reached.
	ErrUnavailable = errors.New("idempotency store unavailable")
	// ErrNotSaved: the request ran and its answer is returned, but the store could not keep it.
	ErrNotSaved = errors.New("answer could not be stored for the idempotency key")
)

// Response is a stored answer.
type Response struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// Store keeps idempotency records. Acquire either returns the stored answer for the key, claims the
// key for the caller (nil, nil), or fails with ErrMismatch or ErrInFlight. A claim lasts lockTTL
// unless Save or Release ends it first, so a crashed instance does not hold a key forever.
type Store interface {
	Acquire(ctx context.Context, key, fingerprint string, lockTTL time.Duration) (*Response, error)
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

// Guard runs requests under idempotency keys.
type Guard struct {
	Store Store
	// TTL is how long answers are kept (default 24 h).
	TTL time.Duration
	// LockTTL bounds how long a running request holds its key (default 2 min).
	LockTTL time.Duration
	// Poll is how often a waiting request asks again (default 25 ms).
	Poll time.Duration
}

// Do runs run once per key: it returns run's answer, or the stored answer of an earlier request
// with the same key and fingerprint (replayed true). Answers run marks as not worth keeping
// (keep false, e.g. a provider outage) release the key, so a retry runs again.
func (g *Guard) Do(ctx context.Context, key, fingerprint string, run func() (res Response, keep bool)) (res Response, replayed bool, err error) {
	ttl, lockTTL, poll := g.TTL, g.LockTTL, g.Poll
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if lockTTL <= 0 {
		lockTTL = 2 * time.Minute
	}
	if poll <= 0 {
		poll = 25 * time.Millisecond
	}
	for {
		stored, err := g.Store.Acquire(ctx, key, fingerprint, lockTTL)
		switch {
		case err == nil && stored != nil:
			return *stored, true, nil
		case err == nil:
			// The answer is made once: store it even if the caller went away meanwhile, and free
			// the key if making it panicked, so a retry need not wait for the lock to expire.
			sctx := context.WithoutCancel(ctx)
			released := false
			defer func() {
				if !released {
					_ = g.Store.Release(sctx, key)
				}
			}()
			res, keep := run()
			released = true
			if keep {
				err = g.Store.Save(sctx, key, fingerprint, res, ttl)
			} else {
				err = g.Store.Release(sctx, key)
			}
			if err != nil {
				// The request ran: its answer is returned all the same, never run again.
				return res, false, fmt.Errorf("%w: %w", ErrNotSaved, err)
			}
			return res, false, nil
		case errors.Is(err, ErrInFlight):
			select {
			case <-ctx.Done():
				return Response{}, false, ctx.Err()
			case <-time.After(poll):
			}
		default:
			return Response{}, false, err
		}
	}
}
