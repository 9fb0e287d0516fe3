package kits

import (
	"net/http"

	api "github.com/paylinks/paylinks/gen/mijnklantportaal"
	mkpin "github.com/paylinks/paylinks/impl/inbound/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/paylink"
	"github.com/paylinks/paylinks/impl/providers/mijnklantportaal"
	"github.com/paylinks/paylinks/impl/sandbox"
	mkpsandbox "github.com/paylinks/paylinks/impl/sandbox/mijnklantportaal"
)

// MijnKlantportaal is the kit of MijnKlantportaal (Dutch customer portals, EUR).
var MijnKlantportaal = Kit{
	Name:        mijnklantportaal.Name,
	Title:       "MijnKlantportaal",
	Spec:        api.GetSpec,
	Credentials: []Credential{{Name: "token", Secret: true, Sandbox: "sandbox"}},
	NewSandbox:  func(c sandbox.Config) sandbox.Simulator { return mkpsandbox.New(c) },
	NewAdapter: func(baseURL string, c map[string]string, doer *http.Client) (Adapter, error) {
		return mijnklantportaal.New(mijnklantportaal.Config{BaseURL: baseURL, Token: c["token"], HTTPClient: doer})
	},
	Inbound: mkpin.New,
	Sample: func() paylink.CreateInput {
		return paylink.CreateInput{Provider: mijnklantportaal.Name, Amount: &paylink.Amount{Currency: "EUR", Minor: 1295}, Description: "Contribution costs"}
	},
}
