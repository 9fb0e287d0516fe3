package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/paylinks/paylinks/impl/kits"
)

// The tables of the tests that must cover every provider are built here from the kits, so a
// provider added to kits.All is in them without anyone typing its name.

// providerSecrets are a distinct secret per provider (in the form the provider's credentials take),
// marked by tag so that a test can find them wherever they leak.
func providerSecrets(tag string) map[string]string {
	out := map[string]string{}
	for _, k := range kits.All {
		for _, c := range k.Credentials {
			if c.Secret {
				out[k.Name+"/"+c.Name] = c.Sandbox + "-" + k.Name + "-secret-" + tag
			}
		}
	}
	return out
}

// liveEverywhere configures every provider as live at the upstream, under /<provider>, with its
// secrets from providerSecrets and the sandbox values of its other settings.
func liveEverywhere(url string, secrets map[string]string) map[string]ProviderConfig {
	out := map[string]ProviderConfig{}
	for _, k := range kits.All {
		creds := map[string]string{}
		for _, c := range k.Credentials {
			creds[c.Name] = c.Sandbox
			if s, ok := secrets[k.Name+"/"+c.Name]; ok {
				creds[c.Name] = s
			}
		}
		out[k.Name] = ProviderConfig{BaseURL: url + "/" + k.Name, Credentials: creds}
	}
	return out
}

// sampleBody is the unified create body of the kit's sample.
func sampleBody(t testing.TB, k kits.Kit) string {
	t.Helper()
	b, err := kits.CreateBody(k.Sample())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type route struct{ method, path, body string }

// everyRoute is a request to every route that can reach a provider: the unified API on each
// provider's links, every operation of each provider's spec through the passthrough (the body
// from the spec's example), and some routes that reach none.
func everyRoute(t testing.TB) []route {
	t.Helper()
	out := []route{
		{"GET", "/v1/payment-links", ""},
		{"GET", "/v1/providers", ""},
		{"GET", "/v1/refunds", ""},
		{"GET", "/providers/paypal/payment-links", ""},
	}
	for _, k := range kits.All {
		id := unifiedID(k.Name, "lnk_1")
		out = append(out,
			route{"GET", "/v1/payment-links?provider=" + k.Name + "&status=active&limit=5", ""},
			route{"POST", "/v1/payment-links", sampleBody(t, k)},
			route{"GET", "/v1/payment-links/" + id, ""},
			route{"POST", "/v1/payment-links/" + id + "/close", ""},
			route{"DELETE", "/v1/payment-links/" + id, ""},
		)
		doc, err := k.Spec()
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range slices.Sorted(func(yield func(string) bool) {
			for p := range doc.Paths.Map() {
				if !yield(p) {
					return
				}
			}
		}) {
			for method, op := range doc.Paths.Value(path).Operations() {
				body := ""
				if op.RequestBody != nil && op.RequestBody.Value != nil {
					body = "{}"
					if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Example != nil {
						b, _ := json.Marshal(mt.Example)
						body = string(b)
					}
				}
				out = append(out, route{method, "/providers/" + k.Name + pathParam.ReplaceAllString(path, "lnk_1"), body})
			}
		}
	}
	return out
}

// TestEveryRouteCoversEveryProvider: the table reaches each provider through both APIs.
func TestEveryRouteCoversEveryProvider(t *testing.T) {
	t.Parallel()
	routes := everyRoute(t)
	for _, k := range kits.All {
		var unified, passthrough bool
		for _, r := range routes {
			unified = unified || (r.method == http.MethodPost && strings.Contains(r.body, `"provider":"`+k.Name+`"`))
			passthrough = passthrough || strings.HasPrefix(r.path, "/providers/"+k.Name+"/")
		}
		if !unified || !passthrough {
			t.Errorf("%s: unified create %v, passthrough %v", k.Name, unified, passthrough)
		}
	}
}
