package hub2_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
	hub2 "github.com/paylinks/paylinks/impl/sandbox/hub2"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestSimulatorConformance holds the simulator to what every simulator does.
func TestSimulatorConformance(t *testing.T) { sandboxtest.RunSimulatorConformance(t, harness) }

// harness is the simulator as the conformance suites drive it.
var harness = sandboxtest.SimHarness{
	New:  func(cfg sandbox.Config) sandbox.Simulator { return hub2.New(cfg) },
	Spec: api.GetSpec,
	// Hub2 takes three headers; only the API key is a secret.
	Authorize: func(r *http.Request, key string) {
		if key != "" {
			r.Header.Set("ApiKey", key)
		}
		r.Header.Set("MerchantId", "16")
		r.Header.Set("Environment", "sandbox")
	},
	Create: func(expiresAt time.Time) (string, any) {
		body := order(1000)
		if !expiresAt.IsZero() {
			body.ExpirationDate = &expiresAt
		}
		return "/payment-links", body
	},
	LinkID: func(created []byte) string {
		var l api.CreatedPaymentLink
		_ = json.Unmarshal(created, &l)
		return l.Id
	},
	LinkPath: func(id string) string { return "/payment-links/" + id },
}
