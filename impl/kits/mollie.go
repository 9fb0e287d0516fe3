package kits

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/mollie"
	molliein "github.com/paylinks/paylinks/impl/inbound/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	molliesandbox "github.com/paylinks/paylinks/impl/sandbox/mollie"
)

// Mollie is the kit of Mollie Payment Links (many currencies, open amounts).
var Mollie = Kit{
	Name:  mollie.Name,
	Title: "Mollie",
	Spec:  api.GetSpec,
	// A Mollie API key says its mode by its prefix; the sandbox's is a test key.
	Credentials: []Credential{{Name: "api_key", Secret: true, Sandbox: "test_sandbox"}},
	NewSandbox:  func(c sandbox.Config) sandbox.Simulator { return molliesandbox.New(c) },
	NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
		return mollie.New(mollie.Config{BaseURL: baseURL, APIKey: c["api_key"], HTTPClient: doer})
	},
	Inbound: molliein.New,
	LinkWebhook: func(options any, url string) any {
		var o mollie.Options
		switch v := options.(type) {
		case nil:
		case mollie.Options:
			o = v
		case *mollie.Options:
			if v != nil {
				o = *v
			}
		default:
			return options // not Mollie's: the adapter refuses it
		}
		if o.WebhookURL == "" {
			o.WebhookURL = url
		}
		return o
	},
	Sample: func() paylink.CreateInput {
		return paylink.CreateInput{Provider: mollie.Name, Amount: &paylink.Amount{Currency: "EUR", Minor: 2495}, Description: "Order 12345",
			Options: mollie.Options{RedirectURL: "https://webshop.example.org/thanks"}}
	},
}
