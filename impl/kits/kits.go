// Package kits is the registry of the providers paylinks ships. Each provider is a Kit: its name
// (from its adapter package), curated spec, credentials, sandbox, adapter constructor and a sample
// create. The server, its configuration, the docs and every "for each provider" test read All, so
// a provider added here is served, configured, documented and tested by construction.
//
// It lives outside impl/providers because it imports the sandboxes, which an adapter must never
// import. It is imported by the server and by tests, never by an adapter, a sandbox or the domain.
package kits

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/paylinks/paylinks/impl/inbound"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// All are the providers paylinks ships, in the order lists and GET /v1/providers show them.
// Adding a provider is one line here (and its kit in a file of its own).
var All = []Kit{MijnKlantportaal, Hub2, Telness, Mollie}

// Adapter is a provider adapter as the server needs it: the domain's Provider, plus the
// credentials injection the passthrough reuses.
type Adapter interface {
	paylink.Provider
	// Authorize adds the provider's credentials to an outgoing request.
	Authorize(ctx context.Context, req *http.Request) error
}

// Credential is one credential (or account setting) a provider is configured with.
type Credential struct {
	// Name is its name in PAYLINKS_<PROVIDER>_<NAME>, lower case ("api_key").
	Name string
	// Secret marks a credential proper, as opposed to a setting such as Hub2's environment: it has
	// no flag, and never shows in logs, answers or metrics.
	Secret bool
	// Sandbox is its value when the provider runs on its embedded sandbox and it is not set; it
	// is also a valid value of the credential's form (a Mollie key starts with test_).
	Sandbox string
}

// Kit is everything paylinks needs to know of one provider.
type Kit struct {
	// Name is the provider id: the adapter package's Name.
	Name string
	// Title is how people write the provider's name ("MijnKlantportaal").
	Title string
	// Spec returns the provider's curated spec (its gen package's GetSpec).
	Spec func() (*openapi3.T, error)
	// Credentials are what the adapter is configured with, in PAYLINKS_<PROVIDER>_<NAME>.
	Credentials []Credential
	// NewSandbox makes the provider's simulator.
	NewSandbox func(sandbox.Config) sandbox.Simulator
	// NewAdapter makes the adapter calling baseURL with the credentials (by Credential.Name)
	// through doer.
	NewAdapter func(baseURL string, credentials map[string]string, doer *http.Client) (Adapter, error)
	// Sample returns a valid create at the provider: what it requires, and an amount where it
	// takes one. Each call returns a fresh value.
	Sample func() paylink.CreateInput
	// Inbound makes the provider's inbound side (impl/inbound): how its webhooks are verified,
	// read and resolved, and registered. nil: the provider sends no webhooks paylinks receives.
	Inbound func(inbound.Deps) (inbound.Provider, error)
	// LinkWebhook, for a provider whose links name the URL it calls (Mollie's webhookUrl), returns
	// the create options (the adapter's Options, or nil) with url as that URL, unless they name one
	// already: paylinks serve points the links it creates on the provider's sandbox at itself.
	// nil: the provider is subscribed otherwise, or sends nothing.
	LinkWebhook func(options any, url string) any
	// LinkIDProperty is the property of the answer to the spec's CreatePaymentLink operation that
	// holds the provider's id of the link ("id" when empty): the passthrough reads it to watch a
	// link created through it.
	LinkIDProperty string
}

// CreatedLinkID reads the provider's id of a link from the answer to its CreatePaymentLink
// operation ("" when it holds none).
func (k Kit) CreatedLinkID(answer []byte) string {
	prop := k.LinkIDProperty
	if prop == "" {
		prop = "id"
	}
	var fields map[string]json.RawMessage
	var id string
	if json.Unmarshal(answer, &fields) != nil || json.Unmarshal(fields[prop], &id) != nil {
		return ""
	}
	return id
}

// Env is the environment variable of one of the provider's settings: Env("BASE_URL") is
// PAYLINKS_HUB2_BASE_URL.
func (k Kit) Env(setting string) string {
	return "PAYLINKS_" + strings.ToUpper(k.Name) + "_" + strings.ToUpper(setting)
}

// SandboxCredentials are the credentials the adapter uses on the embedded sandbox.
func (k Kit) SandboxCredentials() map[string]string {
	out := make(map[string]string, len(k.Credentials))
	for _, c := range k.Credentials {
		out[c.Name] = c.Sandbox
	}
	return out
}

// Lookup returns the kit of the named provider.
func Lookup(name string) (Kit, bool) {
	for _, k := range All {
		if k.Name == name {
			return k, true
		}
	}
	return Kit{}, false
}

// CreateBody is the body of POST /v1/payment-links for in: the unified API's JSON, with the
// provider's options under providerOptions.<provider> (each provider's Options carry the unified
// API's JSON names).
func CreateBody(in paylink.CreateInput) ([]byte, error) {
	body := map[string]any{"provider": in.Provider}
	if in.Amount != nil {
		body["amount"] = map[string]string{"currency": in.Amount.Currency, "value": in.Amount.Value()}
	}
	for k, v := range map[string]string{"description": in.Description, "reference": in.Reference} {
		if v != "" {
			body[k] = v
		}
	}
	if !in.ExpiresAt.IsZero() {
		body["expiresAt"] = in.ExpiresAt.UTC()
	}
	if in.Reusable {
		body["reusable"] = true
	}
	if len(in.Metadata) > 0 {
		body["metadata"] = in.Metadata
	}
	if in.Options != nil {
		body["providerOptions"] = map[string]any{in.Provider: in.Options}
	}
	return json.Marshal(body)
}
