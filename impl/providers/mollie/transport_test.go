package mollie_test

import (
	"net/http"

	"github.com/paylinks/paylinks/impl/validation"
)

// validatingTransport validates every answer against the curated spec in enforce mode, so any
// answer that breaks the spec fails the call that got it.
func validatingTransport(prefix string) http.RoundTripper {
	return &validation.Transport{Spec: spec, Prefix: prefix}
}
