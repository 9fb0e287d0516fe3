package telness_test

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/validation"
)

// spec is the curated Telness spec, prepared for validation once for every test.
var spec = func() *validation.Spec {
	doc, err := api.GetSpec()
	if err != nil {
		panic(err)
	}
	s, err := validation.New(doc)
	if err != nil {
		panic(err)
	}
	return s
}()

// validatingClient validates every answer against the curated spec in enforce mode, so any
// answer that breaks the spec fails the call that got it.
func validatingClient(prefix string) *http.Client {
	return &http.Client{Transport: &validation.Transport{Spec: spec, Prefix: prefix}}
}
