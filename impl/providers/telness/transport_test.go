package telness_test

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// validatingClient validates every answer against the curated spec in enforce mode, so any
// answer that breaks the spec fails the call that got it.
func validatingClient(prefix string) *http.Client {
	return &http.Client{Transport: sandboxtest.Transport(api.GetSpec, prefix)}
}
