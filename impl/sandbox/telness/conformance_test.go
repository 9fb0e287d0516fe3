package telness_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	api "github.com/paylinks/paylinks/gen/telness"
	"github.com/paylinks/paylinks/impl/sandbox"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
	"github.com/paylinks/paylinks/impl/sandbox/telness"
)

// TestSimulatorConformance holds the simulator to what every simulator does. Telness links never
// expire unless created with expiresAt.
func TestSimulatorConformance(t *testing.T) {
	sandboxtest.RunSimulatorConformance(t, sandboxtest.SimHarness{
		New:  func(cfg sandbox.Config) sandbox.Simulator { return telness.New(cfg) },
		Spec: api.GetSpec,
		Authorize: func(r *http.Request, key string) {
			if key != "" {
				r.Header.Set("X-API-Key", key)
			}
		},
		Create: func(expiresAt time.Time) (string, any) {
			body := api.CreatePaymentLinkRequest{OrderId: ptr("ord_1"), Description: ptr("Order 1")}
			if !expiresAt.IsZero() {
				body.ExpiresAt = &expiresAt
			}
			return "/payment-links", body
		},
		LinkID: func(created []byte) string {
			var l api.PaymentLink
			_ = json.Unmarshal(created, &l)
			return l.PaymentLinkId
		},
		LinkPath: func(id string) string { return "/payment-links/" + id },
	})
}
