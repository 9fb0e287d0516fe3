package kits

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/hub2"
	hub2in "github.com/paylinks/paylinks/impl/inbound/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
)

// Hub2 is the kit of Hub2 (West and Central African mobile money, XOF and XAF).
var Hub2 = Kit{
	Name:  hub2.Name,
	Title: "Hub2",
	Spec:  api.GetSpec,
	Credentials: []Credential{
		{Name: "api_key", Secret: true, Sandbox: "sandbox"},
		{Name: "merchant_id", Sandbox: "sandbox"},
		{Name: "environment", Sandbox: hub2.EnvironmentSandbox},
	},
	NewSandbox: func(c sandbox.Config) sandbox.Simulator { return hub2sandbox.New(c) },
	NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
		return hub2.New(hub2.Config{BaseURL: baseURL, APIKey: c["api_key"], MerchantID: c["merchant_id"], Environment: c["environment"], HTTPClient: doer})
	},
	Inbound: hub2in.New,
	Sample: func() paylink.CreateInput {
		return paylink.CreateInput{Provider: hub2.Name, Amount: &paylink.Amount{Currency: "XOF", Minor: 1000},
			Description: "Order 1", Reference: "ORDER-1", Options: hub2.Options{Country: "CI"}}
	},
}
