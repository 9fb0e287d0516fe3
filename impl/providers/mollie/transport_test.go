package mollie_test

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// validatingTransport validates every answer against the curated spec in enforce mode, so any
// answer that breaks the spec fails the call that got it.
func validatingTransport(prefix string) http.RoundTripper {
	return sandboxtest.Transport(api.GetSpec, prefix)
}
