package telness

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// keyRetention is how long Telness keeps an idempotency key: "Keys are expired after 24 hours".
const keyRetention = 24 * time.Hour

// idempotent replays the stored answer when an X-Idempotency-Key comes back with the same request
// (method, path and body, compared after canonicalising the JSON) on create and cancel, answers
// 409 idempotency_key_mismatch when it comes back with another, and 409 idempotency_key_locked
// while the first is still in progress. Keys are scoped to the API key that used them and
// forgotten 24 h (sandbox clock) after first use; the store is the sandboxes' shared one.
func (s *Sandbox) idempotent() echo.MiddlewareFunc {
	return s.idem.Middleware(sandbox.ReplayConfig{
		Header:     "X-Idempotency-Key",
		Operations: map[string]bool{"CreatePaymentLink": true, "CancelPaymentLink": true},
		Scope:      func(r *http.Request) string { return r.Header.Get("X-API-Key") },
		Refuse: func(c echo.Context, err error) error {
			if errors.Is(err, sandbox.ErrKeyInProgress) {
				return writeError(c, http.StatusConflict, api.Error{Message: "A request with this idempotency key is in progress", Code: ptr(codeKeyLocked)})
			}
			return writeError(c, http.StatusConflict, api.Error{Message: "Idempotency key was used with a different request", Code: ptr(codeKeyMismatch)})
		},
	})
}
