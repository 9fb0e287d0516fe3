package telness

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/validation"
)

// keyRetention is how long Telness keeps an idempotency key: "Keys are expired after 24 hours".
const keyRetention = 24 * time.Hour

// idempotency remembers, per API key and X-Idempotency-Key, the request a key was first used with
// and the answer it got.
type idempotency struct {
	mu      sync.Mutex
	records map[string]*idemRecord
}

type idemRecord struct {
	fingerprint string
	firstUsed   time.Time
	done        bool // false while the first request is still being handled
	status      int
	body        []byte
}

func newIdempotency() *idempotency { return &idempotency{records: map[string]*idemRecord{}} }

// idempotentOps are the operations that take X-Idempotency-Key.
var idempotentOps = map[string]bool{"CreatePaymentLink": true, "CancelPaymentLink": true}

// idempotent replays the stored answer when a key comes back with the same request (method, path
// and body, compared after canonicalising the JSON), answers 409 idempotency_key_mismatch when it
// comes back with another, and 409 idempotency_key_locked while the first is still in progress.
// Keys are scoped to the API key that used them and forgotten 24 h (sandbox clock) after first use.
// Answers of 5xx are not stored, so a retry can still succeed.
func (s *Sandbox) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		op, _ := c.Get(ctxOperation).(*validation.Operation)
		key := c.Request().Header.Get("X-Idempotency-Key")
		if op == nil || key == "" || !idempotentOps[op.ID()] {
			return next(c)
		}
		body, _ := c.Get(ctxBody).([]byte)
		r := c.Request()
		scope := r.Header.Get("X-API-Key") + "\x00" + key
		fp := r.Method + " " + r.URL.Path + "\n" + canonicalJSON(body)

		rec, code := s.idem.begin(scope, fp, s.cfg.Clock.Now())
		switch code {
		case codeKeyMismatch:
			return writeError(c, http.StatusConflict, api.Error{Message: "Idempotency key was used with a different request", Code: ptr(codeKeyMismatch)})
		case codeKeyLocked:
			return writeError(c, http.StatusConflict, api.Error{Message: "A request with this idempotency key is in progress", Code: ptr(codeKeyLocked)})
		}
		if rec != nil {
			c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			c.Response().WriteHeader(rec.status)
			_, err := c.Response().Write(rec.body)
			return err
		}

		var buf bytes.Buffer
		w := c.Response().Writer
		c.Response().Writer = &teeWriter{ResponseWriter: w, buf: &buf}
		err := next(c)
		c.Response().Writer = w
		if err != nil || !c.Response().Committed {
			s.idem.forget(scope)
			return err
		}
		s.idem.finish(scope, c.Response().Status, buf.Bytes())
		return nil
	}
}

// begin looks the key up. It returns the finished record to replay, or an error code, or neither
// when the request is new (it is then recorded as in progress).
func (m *idempotency) begin(scope, fingerprint string, now time.Time) (*idemRecord, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, r := range m.records {
		if !now.Before(r.firstUsed.Add(keyRetention)) {
			delete(m.records, k)
		}
	}
	r, ok := m.records[scope]
	switch {
	case !ok:
		m.records[scope] = &idemRecord{fingerprint: fingerprint, firstUsed: now}
		return nil, ""
	case r.fingerprint != fingerprint:
		return nil, codeKeyMismatch
	case !r.done:
		return nil, codeKeyLocked
	default:
		cp := *r
		return &cp, ""
	}
}

func (m *idempotency) finish(scope string, status int, body []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[scope]
	if !ok {
		return
	}
	if status >= 500 {
		delete(m.records, scope)
		return
	}
	r.done, r.status, r.body = true, status, bytes.Clone(body)
}

func (m *idempotency) forget(scope string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, scope)
}

// canonicalJSON re-encodes a JSON body with sorted keys and no insignificant whitespace, so
// `{"a":1, "b":2}` and `{"b":2,"a":1}` are the same request. Numbers keep their literal form.
// The body was validated (and checked for duplicate keys) before, so decoding loses nothing.
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

// teeWriter copies what the handler writes so it can be replayed.
type teeWriter struct {
	http.ResponseWriter
	buf *bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}
