package server

import (
	"context"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// Adapter is a provider adapter as the server needs it: the domain Provider, plus the credentials
// injection the passthrough reuses.
type Adapter interface {
	paylink.Provider
	// Authorize adds the provider's credentials to an outgoing request.
	Authorize(ctx context.Context, req *http.Request) error
}

// ProviderKit is everything the server needs to know of one provider. Adding a provider is one
// kit in Providers.
type ProviderKit struct {
	Name string
	// Spec returns the provider's curated spec (its gen package's GetSwagger).
	Spec func() (*openapi3.T, error)
	// Credentials names the provider's credentials, as in PAYLINKS_<PROVIDER>_<NAME>.
	Credentials []string
	// SandboxCredentials fill in unset credentials when the provider runs on its sandbox.
	SandboxCredentials map[string]string
	NewSandbox         func(sandbox.Config) sandbox.Simulator
	NewAdapter         func(baseURL string, credentials map[string]string, doer *http.Client) (Adapter, error)
}
