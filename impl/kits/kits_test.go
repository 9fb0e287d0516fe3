package kits_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paylinks/paylinks/impl/kits"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// Every kit names one provider the same everywhere (kit, adapter, simulator, sample), holds what
// the server needs, and its sample creates a link at its sandbox with the sandbox credentials.
func TestKits(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for _, k := range kits.All {
		seen[k.Name]++
	}
	for _, k := range kits.All {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			if seen[k.Name] > 1 || k.Name == "" || strings.ToLower(k.Name) != k.Name || k.Title == "" {
				t.Fatalf("kit %q (%q): names are unique, lower case, and have a title", k.Name, k.Title)
			}
			if got, ok := kits.Lookup(k.Name); !ok || got.Name != k.Name {
				t.Errorf("Lookup(%q) = %q, %v", k.Name, got.Name, ok)
			}
			secrets := 0
			for _, c := range k.Credentials {
				if c.Sandbox == "" || c.Name != strings.ToLower(c.Name) {
					t.Errorf("credential %+v: lower case, with a sandbox value", c)
				}
				if c.Secret {
					secrets++
				}
			}
			if secrets == 0 {
				t.Error("no credential is a secret")
			}
			if doc, err := k.Spec(); err != nil || doc.Paths.Len() == 0 {
				t.Errorf("spec: %v", err)
			}

			clock := sandbox.NewClock(time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC))
			sim := k.NewSandbox(sandbox.Config{Clock: clock, Seed: 1})
			srv := sandboxtest.Serve(t, sim, k.Spec)
			a, err := k.NewAdapter(srv.URL, k.SandboxCredentials(), srv.Client)
			if err != nil {
				t.Fatal(err)
			}
			if sim.Name() != k.Name || a.Name() != k.Name {
				t.Fatalf("kit %q, simulator %q, adapter %q: one provider has one name", k.Name, sim.Name(), a.Name())
			}
			in := k.Sample()
			if in.Provider != k.Name {
				t.Errorf("the sample is for %q", in.Provider)
			}
			c, err := paylink.NewClient([]paylink.Provider{a}, paylink.WithClock(clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.Create(context.Background(), in)
			if err != nil || l.Status != paylink.StatusActive {
				t.Fatalf("creating the sample: %+v, %v", l, err)
			}
			body, err := kits.CreateBody(in)
			var decoded map[string]any
			if err != nil || json.Unmarshal(body, &decoded) != nil || decoded["provider"] != k.Name {
				t.Errorf("CreateBody: %s, %v", body, err)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	if got := kits.Hub2.Env("base_url"); got != "PAYLINKS_HUB2_BASE_URL" {
		t.Errorf("Env = %q", got)
	}
}
