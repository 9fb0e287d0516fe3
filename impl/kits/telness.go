package kits

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	telnesssandbox "github.com/paylinks/paylinks/impl/sandbox/telness"
)

// Telness is the kit of Telness Tech Connect (links for orders and invoices, no amount of their own).
var Telness = Kit{
	Name:        telness.Name,
	Title:       "Telness",
	Spec:        api.GetSpec,
	Credentials: []Credential{{Name: "api_key", Secret: true, Sandbox: "sandbox"}},
	NewSandbox:  func(c sandbox.Config) sandbox.Simulator { return telnesssandbox.New(c) },
	NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
		return telness.New(telness.Config{BaseURL: baseURL, APIKey: c["api_key"], HTTPClient: doer})
	},
	Sample: func() paylink.CreateInput {
		return paylink.CreateInput{Provider: telness.Name, Description: "Subscription", Options: telness.Options{OrderID: "ord_1"}}
	},
	LinkIDProperty: "paymentLinkId",
}
