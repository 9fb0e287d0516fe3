package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// The keys under which a simulator's validating middleware hands the matched operation's id and
// the validated body to the middlewares after it (the idempotency replay among them).
const (
	CtxOperationID = "sandbox.operation"
	CtxBody        = "sandbox.body"
)

// Errors of Replays.Begin: the key was first used with another request, or its first request is
// still being handled.
var (
	ErrKeyReused     = errors.New("idempotency key used with another request")
	ErrKeyInProgress = errors.New("a request with this idempotency key is in progress")
)

// Replays is a provider's idempotency-key store: per scope (the caller's credential and the key)
// the request a key was first used with and the answer it got, kept for a retention measured on
// the sandbox clock. Records are found by key and expire in the order they were made (the clock
// only moves forward), so a request costs the same however many keys were used. Answers of 5xx are
// not kept, so a retry can still succeed. It is safe for concurrent use.
type Replays struct {
	clock     *Clock
	retention time.Duration
	mu        sync.Mutex
	records   map[string]*replay
	// byAge holds the records oldest first; a record forgotten early stays in it until its turn,
	// and is then skipped because the map holds another record (or none) for its scope.
	byAge []*replay
	// examined counts the records looked at to expire old ones (tests check it stays small).
	examined int
}

type replay struct {
	scope       string
	fingerprint string
	firstUsed   time.Time
	done        bool // false while the first request is still being handled
	status      int
	contentType string
	body        []byte
}

// NewReplays returns an empty store whose keys are forgotten retention after first use.
func NewReplays(clock *Clock, retention time.Duration) *Replays {
	return &Replays{clock: clock, retention: retention, records: map[string]*replay{}}
}

// Answer is a stored answer to replay.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// Begin looks the scope up for a request with the fingerprint (see Fingerprint). It returns the
// stored answer to replay, ErrKeyReused or ErrKeyInProgress, or neither when the request is new:
// it is then recorded as in progress, to Finish or Forget.
func (m *Replays) Begin(scope, fingerprint string) (*Answer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	m.expire(now)
	r, ok := m.records[scope]
	switch {
	case !ok:
		r = &replay{scope: scope, fingerprint: fingerprint, firstUsed: now}
		m.records[scope] = r
		m.byAge = append(m.byAge, r)
		return nil, nil
	case r.fingerprint != fingerprint:
		return nil, ErrKeyReused
	case !r.done:
		return nil, ErrKeyInProgress
	default:
		return &Answer{Status: r.status, ContentType: r.contentType, Body: bytes.Clone(r.body)}, nil
	}
}

// expire forgets the records first used retention or longer ago. The caller holds m.mu.
func (m *Replays) expire(now time.Time) {
	n := 0
	for ; n < len(m.byAge); n++ {
		r := m.byAge[n]
		m.examined++
		if now.Before(r.firstUsed.Add(m.retention)) {
			break
		}
		if m.records[r.scope] == r {
			delete(m.records, r.scope)
		}
		m.byAge[n] = nil
	}
	m.byAge = m.byAge[n:]
	if cap(m.byAge) > 64 && len(m.byAge) < cap(m.byAge)/4 {
		m.byAge = append([]*replay(nil), m.byAge...) // let the array shrink once mostly expired
	}
}

// Finish stores the answer of the scope's request; a 5xx is forgotten instead.
func (m *Replays) Finish(scope string, a Answer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[scope]
	if !ok {
		return
	}
	if a.Status >= 500 {
		delete(m.records, scope)
		return
	}
	r.done, r.status, r.contentType, r.body = true, a.Status, a.ContentType, bytes.Clone(a.Body)
}

// Forget drops the scope's record, so that the key can be used again.
func (m *Replays) Forget(scope string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, scope)
}

// Fingerprint identifies a request for Replays: method, path and the JSON body with sorted keys
// and no insignificant whitespace, so `{"a":1, "b":2}` and `{"b":2,"a":1}` are the same request.
// Numbers keep their literal form. The body was validated (and checked for duplicate keys)
// before, so decoding loses nothing.
func Fingerprint(method, path string, body []byte) string {
	return method + " " + path + "\n" + canonicalJSON(body)
}

func canonicalJSON(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(body)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(body)
	}
	return string(out)
}

// ReplayConfig says how a provider takes idempotency keys.
type ReplayConfig struct {
	// Header carries the key ("X-Idempotency-Key", "Idempotency-Key").
	Header string
	// Operations are the ids of the operations that take a key.
	Operations map[string]bool
	// Scope is whose keys a request's are: its credential.
	Scope func(*http.Request) string
	// Refuse answers a request whose key is taken (ErrKeyReused, ErrKeyInProgress) in the
	// provider's error shape.
	Refuse func(c echo.Context, err error) error
}

// Middleware replays the stored answer when a key comes back with the same request, and refuses
// it with another request or while the first is still running. It runs after the validating
// middleware, which sets CtxOperationID and CtxBody.
func (m *Replays) Middleware(cfg ReplayConfig) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			op, _ := c.Get(CtxOperationID).(string)
			key := c.Request().Header.Get(cfg.Header)
			if key == "" || !cfg.Operations[op] {
				return next(c)
			}
			body, _ := c.Get(CtxBody).([]byte)
			r := c.Request()
			scope := cfg.Scope(r) + "\x00" + key
			stored, err := m.Begin(scope, Fingerprint(r.Method, r.URL.Path, body))
			switch {
			case err != nil:
				return cfg.Refuse(c, err)
			case stored != nil:
				c.Response().Header().Set(echo.HeaderContentType, stored.ContentType)
				c.Response().WriteHeader(stored.Status)
				_, err := c.Response().Write(stored.Body)
				return err
			}
			var buf bytes.Buffer
			w := c.Response().Writer
			c.Response().Writer = &teeWriter{ResponseWriter: w, buf: &buf}
			err = next(c)
			c.Response().Writer = w
			if err != nil || !c.Response().Committed {
				m.Forget(scope)
				return err
			}
			m.Finish(scope, Answer{Status: c.Response().Status, ContentType: w.Header().Get(echo.HeaderContentType), Body: buf.Bytes()})
			return nil
		}
	}
}

// teeWriter copies what the handler writes so it can be replayed.
type teeWriter struct {
	http.ResponseWriter
	buf *bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}
