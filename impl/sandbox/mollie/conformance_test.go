package mollie_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/mollie"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestSimulatorConformance holds the simulator to what every simulator does.
func TestSimulatorConformance(t *testing.T) { sandboxtest.RunSimulatorConformance(t, harness) }

// harness is the simulator as the conformance suites drive it.
var harness = sandboxtest.SimHarness{
	New:  func(cfg sandbox.Config) sandbox.Simulator { return mollie.New(cfg) },
	Spec: api.GetSpec,
	Authorize: func(r *http.Request, key string) {
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
	},
	Form: func(key string) string { return "test_" + key },
	Create: func(expiresAt time.Time) (string, any) {
		body := api.CreatePaymentLinkRequest{Description: "Bicycle tires", Amount: &api.AmountNullable{Currency: "EUR", Value: "24.95"}}
		if !expiresAt.IsZero() {
			body.ExpiresAt = &expiresAt
		}
		return "/v2/payment-links", body
	},
	LinkID: func(created []byte) string {
		var l api.PaymentLink
		_ = json.Unmarshal(created, &l)
		return l.Id
	},
	LinkPath: func(id string) string { return "/v2/payment-links/" + id },
}
