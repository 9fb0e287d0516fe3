package mollie_test

import (
	"testing"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/paylink/paylinktest"
	"github.com/paylinks/paylinks/impl/providers/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	molliesandbox "github.com/paylinks/paylinks/impl/sandbox/mollie"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestConformance holds the adapter to the contract every provider meets, against its sandbox.
func TestConformance(t *testing.T) {
	paylinktest.RunConformance(t, func(t *testing.T) paylinktest.Env {
		clock := sandbox.NewClock(start)
		sim := molliesandbox.New(sandbox.Config{Clock: clock, Seed: 9, Credentials: []string{testKey}})
		t.Cleanup(sim.Wait) // webhook calls end with the test
		srv := sandboxtest.Serve(t, sim, api.GetSpec)
		adapter := func(cfg mollie.Config) paylink.Provider {
			a, err := mollie.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		cfg := mollie.Config{BaseURL: srv.URL, APIKey: testKey, HTTPClient: srv.Client}
		refused := mollie.Config{BaseURL: srv.URL, APIKey: "test_refusedRefusedRefusedRefused", HTTPClient: srv.Client}
		return paylinktest.Env{
			Provider:        adapter(cfg),
			WrongCredential: adapter(refused),
			At: func(baseURL string) paylink.Provider {
				return adapter(mollie.Config{BaseURL: baseURL, APIKey: testKey})
			},
			Input:   func() paylink.CreateInput { return paylink.CreateInput{Description: "Bicycle tires"} },
			Pay:     sim.Pay,
			Now:     clock.Now,
			Advance: clock.Advance,
			Secrets: []string{testKey, refused.APIKey},
			Config:  cfg,
		}
	})
}

// TestConformanceCatchesMutants checks the suite fails deliberately broken variants of the adapter.
func TestConformanceCatchesMutants(t *testing.T) {
	paylinktest.CheckMutants(t, "TestConformance")
}
