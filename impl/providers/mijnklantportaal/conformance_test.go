package mijnklantportaal_test

import (
	"testing"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/paylink/paylinktest"
	"github.com/paylinks/paylinks/impl/providers/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestConformance holds the adapter to the contract every provider meets, against its sandbox.
func TestConformance(t *testing.T) {
	paylinktest.RunConformance(t, conformanceEnv)
}

// TestConformanceCatchesMutants checks the suite fails deliberately broken variants of the adapter.
func TestConformanceCatchesMutants(t *testing.T) {
	paylinktest.CheckMutants(t, "TestConformance")
}

func conformanceEnv(t *testing.T) paylinktest.Env {
	clock := sandbox.NewClock(t0)
	sim := mkpsandbox.New(sandbox.Config{Clock: clock, Seed: 3, Credentials: []string{token}})
	srv := sandboxtest.Serve(t, sim, api.GetSpec)
	cfg := mijnklantportaal.Config{BaseURL: srv.URL, Token: token, HTTPClient: srv.Client}
	make := func(cfg mijnklantportaal.Config) paylink.Provider {
		t.Helper()
		a, err := mijnklantportaal.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	wrong := cfg
	wrong.Token = "wrong-" + token
	return paylinktest.Env{
		Provider:        make(cfg),
		WrongCredential: make(wrong),
		At: func(baseURL string) paylink.Provider {
			return make(mijnklantportaal.Config{BaseURL: baseURL, Token: token})
		},
		Input:   func() paylink.CreateInput { return paylink.CreateInput{Description: "Contribution costs"} },
		Pay:     sim.Pay,
		Now:     clock.Now,
		Advance: clock.Advance,
		Secrets: []string{token, wrong.Token},
		Config:  cfg,
	}
}
