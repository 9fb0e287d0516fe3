package mijnklantportaal_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	mkp "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox/sandboxtest"
)

// TestSimulatorConformance holds the simulator to what every simulator does.
func TestSimulatorConformance(t *testing.T) { sandboxtest.RunSimulatorConformance(t, harness) }

// harness is the simulator as the conformance suites drive it.
var harness = sandboxtest.SimHarness{
	New:  func(cfg sandbox.Config) sandbox.Simulator { return mkp.New(cfg) },
	Spec: api.GetSpec,
	Authorize: func(r *http.Request, token string) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	},
	Create: func(expiresAt time.Time) (string, any) {
		body := api.CreatePaymentLinkRequest{Description: "Contribution costs", Amount: "12.95"}
		if !expiresAt.IsZero() {
			body.ExpiresAt = &openapi_types.Date{Time: expiresAt} // MijnKlantportaal takes the day
		}
		return "/payment-links", body
	},
	LinkID: func(created []byte) string {
		var l api.PaymentLink
		_ = json.Unmarshal(created, &l)
		return l.Id
	},
	LinkPath: func(id string) string { return "/payment-links/" + id },
}
