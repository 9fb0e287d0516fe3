package telness_test

import (
	"testing"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/paylink/paylinktest"
	"github.com/paylinks/paylinks/impl/providers/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
	tsandbox "github.com/paylinks/paylinks/impl/sandbox/telness"
)

// TestConformance holds the adapter to the contract every provider meets, against its sandbox.
func TestConformance(t *testing.T) {
	paylinktest.RunConformance(t, func(t *testing.T) paylinktest.Env {
		clock := sandbox.NewClock(start)
		sim := tsandbox.New(sandbox.Config{Clock: clock, Seed: 7, Credentials: []string{apiKey}})
		srv := sandboxtest.Serve(t, sim, api.GetSpec)
		adapter := func(cfg telness.Config) paylink.Provider {
			a, err := telness.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		cfg := telness.Config{BaseURL: srv.URL, APIKey: apiKey, HTTPClient: srv.Client}
		refused := telness.Config{BaseURL: srv.URL, APIKey: "tn_refused_key", HTTPClient: srv.Client}
		return paylinktest.Env{
			Provider:        adapter(cfg),
			WrongCredential: adapter(refused),
			At: func(baseURL string) paylink.Provider {
				return adapter(telness.Config{BaseURL: baseURL, APIKey: apiKey})
			},
			Input: func() paylink.CreateInput {
				return paylink.CreateInput{Description: "Invoice 2024-001", Reference: "INV-2024-001",
					Metadata: map[string]string{"campaign": "spring"}, Options: telness.Options{InvoiceID: "inv_2024_001"}}
			},
			Pay:     sim.Pay,
			Now:     clock.Now,
			Advance: clock.Advance,
			Secrets: []string{apiKey, refused.APIKey},
			Config:  cfg,
		}
	})
}

// TestConformanceCatchesMutants checks the suite fails deliberately broken variants of the
// adapter; a list in the wrong order cannot show at a provider without a list.
func TestConformanceCatchesMutants(t *testing.T) {
	paylinktest.CheckMutants(t, "TestConformance", "oldest-first")
}
