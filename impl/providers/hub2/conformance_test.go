package hub2_test

import (
	"testing"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/paylink/paylinktest"
	hub2 "github.com/paylinks/paylinks/impl/providers/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2sandbox "github.com/paylinks/paylinks/impl/sandbox/hub2"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

const conformanceKey = "sk_test_conformance"

// TestConformance holds the adapter to the contract every provider meets, against its sandbox.
func TestConformance(t *testing.T) {
	paylinktest.RunConformance(t, func(t *testing.T) paylinktest.Env {
		clock := sandbox.NewClock(start)
		sim := hub2sandbox.New(sandbox.Config{Clock: clock, Seed: 5, Credentials: []string{conformanceKey}})
		srv := sandboxtest.Serve(t, sim, api.GetSpec)
		cfg := hub2.Config{BaseURL: srv.URL, APIKey: conformanceKey, MerchantID: "16", Environment: hub2.EnvironmentSandbox, HTTPClient: srv.Client}
		wrong := cfg
		wrong.APIKey = "sk_test_refused"
		return paylinktest.Env{
			Provider:        newAdapter(t, cfg),
			WrongCredential: newAdapter(t, wrong),
			At: func(baseURL string) paylink.Provider {
				return newAdapter(t, hub2.Config{BaseURL: baseURL, APIKey: conformanceKey, MerchantID: "16", Environment: hub2.EnvironmentLive})
			},
			Input: func() paylink.CreateInput {
				return paylink.CreateInput{Reference: "ORDER-12345", Description: "Order 12345", Options: hub2.Options{Country: "CI"}}
			},
			Pay:     sim.Pay,
			Now:     clock.Now,
			Advance: clock.Advance,
			Secrets: []string{cfg.APIKey, wrong.APIKey},
			Config:  cfg,
		}
	})
}

func newAdapter(t *testing.T, cfg hub2.Config) *hub2.Adapter {
	t.Helper()
	a, err := hub2.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestConformanceCatchesMutants checks the suite fails deliberately broken variants of the adapter.
func TestConformanceCatchesMutants(t *testing.T) {
	paylinktest.CheckMutants(t, "TestConformance")
}
