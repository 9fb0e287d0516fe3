package server

import (
	"net/http"

	hub2api "github.com/paylinks/paylinks/gen/hub2"
	mkpapi "github.com/paylinks/paylinks/gen/mijnklantportaal"
	telnessapi "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/providers/hub2"
	"github.com/paylinks/paylinks/impl/providers/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/providers/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	telnesssandbox "github.com/paylinks/paylinks/impl/sandbox/telness"
)

// Providers are the built-in providers, in the order lists and /v1/providers show them.
var Providers = []ProviderKit{
	{
		Name:               "mijnklantportaal",
		Spec:               mkpapi.GetSwagger,
		Credentials:        []string{"token"},
		SandboxCredentials: map[string]string{"token": "sandbox"},
		NewSandbox:         func(c sandbox.Config) sandbox.Simulator { return mkpsandbox.New(c) },
		NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
			return mijnklantportaal.New(mijnklantportaal.Config{BaseURL: baseURL, Token: c["token"], HTTPClient: doer})
		},
	},
	{
		Name:               "hub2",
		Spec:               hub2api.GetSwagger,
		Credentials:        []string{"api_key", "merchant_id", "environment"},
		SandboxCredentials: map[string]string{"api_key": "sandbox", "merchant_id": "sandbox", "environment": "sandbox"},
		NewSandbox:         func(c sandbox.Config) sandbox.Simulator { return hub2sandbox.New(c) },
		NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
			return hub2.New(hub2.Config{BaseURL: baseURL, APIKey: c["api_key"], MerchantID: c["merchant_id"], Environment: c["environment"], HTTPClient: doer})
		},
	},
	{
		Name:               "telness",
		Spec:               telnessapi.GetSwagger,
		Credentials:        []string{"api_key"},
		SandboxCredentials: map[string]string{"api_key": "sandbox"},
		NewSandbox:         func(c sandbox.Config) sandbox.Simulator { return telnesssandbox.New(c) },
		NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
			return telness.New(telness.Config{BaseURL: baseURL, APIKey: c["api_key"], HTTPClient: doer})
		},
	},
}
